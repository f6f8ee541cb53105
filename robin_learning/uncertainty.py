"""Why and how much a frame is worth annotating, from the model's own instance table.

Per instance, the uncertainty is the largest of ``1 - score``, ``1 - type_score`` and
``1 - geometric_iou`` (when the depth-only segmenter ran): any one of them low means the model
may be wrong about that package. A frame's score is the mean of its ``top_k`` most uncertain
instances, so one doubtful package in a clean pile counts, but a pile full of doubts counts more.
A failed or QA-flagged pick adds a fixed bonus: the cell already paid for that error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robin_core.records import PickRecord

#: QA verdicts that flag a pick (``ok`` and ``not_run`` do not).
FLAGGING_VERDICTS = frozenset({'double_pick', 'drop', 'misplace', 'missed', 'suspect'})


@dataclass(frozen=True)
class UncertaintyParams:
    """Thresholds of the queueing rules.

    Attributes:
        min_instance_score: instances below it make a ``low_instance_confidence`` frame.
        min_type_score: instances below it make a ``low_type_confidence`` frame.
        min_geometric_iou: model/geometric IoU below it is ``geometric_disagreement``.
        top_k: instances averaged into the frame score.
        pick_bonus: added to the score of a frame whose pick failed or was QA-flagged.
        min_area_px: smaller instances are ignored (specks, edge slivers).
    """

    min_instance_score: float = 0.6
    min_type_score: float = 0.7
    min_geometric_iou: float = 0.5
    top_k: int = 3
    pick_bonus: float = 1.0
    min_area_px: int = 150


@dataclass
class FrameUncertainty:
    """Score and reasons of one frame."""

    score: float
    reasons: list[str] = field(default_factory=list)
    instance_uncertainty: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def should_queue(self) -> bool:
        return bool(self.reasons)


def instance_uncertainty(table: np.ndarray) -> np.ndarray:
    """Per-row uncertainty in [0, 1] of an INSTANCE_DTYPE table."""
    if table.size == 0:
        return np.zeros(0)
    u = np.maximum(1.0 - table['score'].astype(np.float64), 1.0 - table['type_score'].astype(np.float64))
    g = table['geometric_iou'].astype(np.float64)
    return np.clip(np.maximum(u, np.where(np.isfinite(g), 1.0 - g, 0.0)), 0.0, 1.0)


def pick_reasons(record: PickRecord | None) -> list[str]:
    """``pick_failed`` / ``qa_flagged`` from a pick record (none for a missing record)."""
    if record is None:
        return []
    out = []
    if record.outcome == 'failed':
        out.append('pick_failed')
    if record.verdict in FLAGGING_VERDICTS:
        out.append('qa_flagged')
    return out


def score_frame(table: np.ndarray, params: UncertaintyParams = UncertaintyParams(),
                record: PickRecord | None = None) -> FrameUncertainty:
    """Uncertainty score and queue reasons of a frame's instance table (+ its pick record)."""
    t = table[table['area_px'] >= params.min_area_px] if table.size else table
    u = instance_uncertainty(t)
    reasons = []
    if t.size:
        if (t['score'] < params.min_instance_score).any():
            reasons.append('low_instance_confidence')
        if (t['type_score'] < params.min_type_score).any():
            reasons.append('low_type_confidence')
        g = t['geometric_iou']
        if (np.isfinite(g) & (g < params.min_geometric_iou)).any():
            reasons.append('geometric_disagreement')
    picked = pick_reasons(record)
    top = np.sort(u)[::-1][: params.top_k]
    score = float(top.mean()) if top.size else 0.0
    if picked:
        score += params.pick_bonus
    return FrameUncertainty(score, reasons + picked, u)
