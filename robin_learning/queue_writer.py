"""Decide whether a perceived frame enters the annotation queue, save it, and bound the disk.

The plain half of the annotation queue node. Frames are scored by
:func:`robin_learning.uncertainty.score_frame`; uncertain ones are queued at most once per
``min_interval_s`` (a pile that stays unsure for a minute is one lesson, not 30), a small
``random_rate`` of confident frames is queued too (an unbiased sample for evaluation and the
random baseline), and frames of failed or QA-flagged picks are queued whenever they are still
in the recent-frame buffer. Files live in ``<image_dir>/<cell>/<stamp>/``.
"""

from __future__ import annotations

import json
import shutil
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from robin_core.records import PickRecord
from robin_learning.frame_assembler import FrameParts
from robin_learning.ground_truth_annotator import GT_LABELS, GT_TYPES
from robin_learning.instances import prediction_from_table
from robin_learning.queue_store import AnnotationQueue, NewFrame
from robin_learning.uncertainty import UncertaintyParams, pick_reasons, score_frame


@dataclass(frozen=True)
class WriterParams:
    """Queueing policy of the node (see config/learning.yaml)."""

    cell_id: str = 'cell_0'
    min_interval_s: float = 2.0
    random_rate: float = 0.02
    max_frames: int = 5000
    max_disk_mb: float = 2000.0
    recent_frames: int = 60


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob('*') if p.is_file()) / 1e6 if path.exists() else 0.0


class QueueWriter:
    """Scores, rate-limits, saves and evicts; the node feeds it decoded frames and records."""

    def __init__(self, queue: AnnotationQueue, image_dir: Path, params: WriterParams | None = None,
                 scoring: UncertaintyParams | None = None, seed: int = 0) -> None:
        self.queue, self.image_dir = queue, Path(image_dir)
        self.p, self.scoring = params or WriterParams(), scoring or UncertaintyParams()
        self.rng = np.random.default_rng(seed)
        self.recent: OrderedDict[int, FrameParts] = OrderedDict()
        self.meta: dict[str, Any] = {}
        self.model_version: str | None = None
        self.ground_truth: OrderedDict[int, tuple[np.ndarray, dict[str, str]]] = OrderedDict()
        self._last_queued_s = -1e18
        self.counts = {'frames': 0, 'queued': 0, 'rate_limited': 0, 'flagged_picks': 0, 'evicted': 0}
        self._disk_mb = _dir_mb(self.image_dir)

    def offer(self, frame: FrameParts, now_s: float) -> int | None:
        """A new perceived frame; returns the image id when it was queued."""
        self.counts['frames'] += 1
        self.recent[frame.stamp_ns] = frame
        while len(self.recent) > self.p.recent_frames:
            self.recent.popitem(last=False)
        unc = score_frame(frame.table, self.scoring)
        reasons = list(unc.reasons)
        if not reasons and self.rng.random() < self.p.random_rate:
            reasons = ['random']
        if not reasons:
            return None
        if now_s - self._last_queued_s < self.p.min_interval_s:
            self.counts['rate_limited'] += 1
            return None
        self._last_queued_s = now_s
        return self._queue(frame, unc.score, reasons, None)

    def on_pick(self, record: PickRecord) -> int | None:
        """A pick record: a failed/QA-flagged pick queues its frame (no rate limit: rare, costly)."""
        if not pick_reasons(record) or record.color_stamp_ns is None:
            return None
        frame = self.recent.get(record.color_stamp_ns)
        if frame is None:
            return None
        self.counts['flagged_picks'] += 1
        unc = score_frame(frame.table, self.scoring, record)
        return self._queue(frame, unc.score, unc.reasons, record)

    def add_ground_truth(self, stamp_ns: int, labels: np.ndarray, types: dict[str, str]) -> None:
        """Simulation only: truth labels (pixel = package id) and id -> type for a stamp."""
        self.ground_truth[stamp_ns] = (labels, types)
        while len(self.ground_truth) > self.p.recent_frames:
            self.ground_truth.popitem(last=False)

    def _queue(self, frame: FrameParts, score: float, reasons: list[str], record: PickRecord | None) -> int | None:
        d = self.image_dir / self.p.cell_id / str(frame.stamp_ns)
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / 'color.png'), cv2.cvtColor(np.ascontiguousarray(frame.color), cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(d / 'depth.png'), np.ascontiguousarray(frame.depth).astype(np.uint16))
        cv2.imwrite(str(d / 'labels.png'), np.ascontiguousarray(frame.labels).astype(np.uint16))
        gt_ref = None
        if frame.stamp_ns in self.ground_truth:
            labels, types = self.ground_truth[frame.stamp_ns]
            cv2.imwrite(str(d / GT_LABELS), labels.astype(np.uint16))
            (d / GT_TYPES).write_text(json.dumps(types))
            gt_ref = str(d)
        h, w = frame.labels.shape
        image_id = self.queue.add(NewFrame(
            frame_key=f'{self.p.cell_id}/{frame.stamp_ns}', cell_id=self.p.cell_id, width=w, height=h,
            color_path=str(d / 'color.png'), depth_path=str(d / 'depth.png'), priority=score, reasons=reasons,
            prediction=prediction_from_table(frame.labels, frame.table), stamp_ns=frame.stamp_ns,
            record_id=record.record_id if record else None,
            model_version=(record.model_version if record else None) or self.model_version, meta=dict(self.meta),
            gt_ref=gt_ref))
        if image_id is None:  # already queued (e.g. flagged after it was queued as uncertain)
            return None
        self.counts['queued'] += 1
        self._disk_mb += _dir_mb(d)
        self._bound()
        return image_id

    def _bound(self) -> None:
        """Evict the least informative queued frames beyond the frame or disk budget."""
        counts = self.queue.counts()
        over = sum(counts.values()) - self.p.max_frames
        if over <= 0 and self._disk_mb <= self.p.max_disk_mb:
            return
        n = max(over, 1)
        for item in self.queue.delete(self.queue.lowest_priority(n)):
            d = item.color_path.parent
            self._disk_mb -= _dir_mb(d)
            shutil.rmtree(d, ignore_errors=True)
            self.counts['evicted'] += 1
