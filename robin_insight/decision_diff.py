"""Compare a recorded pick decision with the one an offline run makes on the same frame.

Plain Python. A pick decision is what the cell acted on: the target instance, its package type,
the cups switched on and the suction pose (``PickRecord.target``, ``cup_mask``, ``suction_pose``),
which is grasp number ``option_rank`` of the planner's decision (0 = chosen). The offline side is
the grasp with the same rank in the offline decision.

Two verdicts per pick:

- ``identical``: same instance id, package type and cups, and suction pose equal within
  ``exact_tol`` (1e-6 m / 1e-6 in the quaternion) — what replaying with the same model and
  configuration must give;
- ``changes``: the decision would be materially different — another package (target masks
  overlap less than ``min_target_iou``; instance ids when a mask is unavailable), other cups,
  another type, suction point moved more than ``position_tol``, or no grasp at all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from robin_core.records import PickRecord
from robin_grasp.grasp_decision import GraspDecision


@dataclass(frozen=True)
class DiffTolerance:
    position_tol: float = 0.005  #: suction point moved farther than this is a change [m]
    min_target_iou: float = 0.5  #: target masks overlapping less are different packages [0..1]
    exact_tol: float = 1e-6  #: "identical" position [m] and quaternion tolerance


@dataclass(frozen=True)
class PickDecision:
    """One side of the comparison (``instance_id`` None: no grasp)."""

    status: str  # 'ok' or why there is no grasp
    instance_id: int | None = None
    package_type: str | None = None
    cup_mask: int = 0
    position: tuple[float, float, float] | None = None
    orientation: tuple[float, float, float, float] | None = None  # (x, y, z, w)
    score: float | None = None  # instance confidence

    @property
    def cups(self) -> list[int]:
        return [k for k in range(8) if (self.cup_mask >> k) & 1]

    @classmethod
    def from_record(cls, rec: PickRecord) -> PickDecision:
        if rec.target is None or rec.suction_pose is None:
            return cls('no target in the record')
        return cls('ok', rec.target.instance_id, rec.target.package_type, rec.cup_mask,
                   tuple(rec.suction_pose.position), tuple(rec.suction_pose.orientation), rec.target.score)

    @classmethod
    def from_decision(cls, d: GraspDecision, rank: int) -> PickDecision:
        grasps = [g for g in [d.chosen, *d.alternatives] if g is not None]
        if d.chosen is None or rank >= len(grasps):
            why = d.reason or d.status
            return cls(why if rank == 0 or d.chosen is None else f'no grasp of rank {rank} ({len(grasps)} offered)')
        g = grasps[rank]
        return cls('ok', g.instance_id, g.type_name, g.cup_mask, (g.position[0], g.position[1], g.position[2]),
                   (g.quaternion[0], g.quaternion[1], g.quaternion[2], g.quaternion[3]), g.instance_score)


@dataclass
class PickDiff:
    """The comparison for one pick record."""

    record_id: str
    rank: int
    recorded: PickDecision
    offline: PickDecision
    target_iou: float | None = None
    suction_distance_m: float | None = None
    identical: bool = False
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def as_dict(self) -> dict:
        out = asdict(self)
        out['changed'] = self.changed
        out['recorded']['cups'] = self.recorded.cups
        out['offline']['cups'] = self.offline.cups
        return out


def target_iou(labels_a: np.ndarray | None, id_a: int | None, labels_b: np.ndarray | None,
               id_b: int | None) -> float | None:
    """IoU of instance ``id_a`` in ``labels_a`` and ``id_b`` in ``labels_b`` (None when not computable)."""
    if labels_a is None or labels_b is None or id_a is None or id_b is None or labels_a.shape != labels_b.shape:
        return None
    a, b = labels_a == id_a, labels_b == id_b
    union = int(np.count_nonzero(a | b))
    return float(np.count_nonzero(a & b)) / union if union else None


def compare(
    record_id: str,
    rank: int,
    recorded: PickDecision,
    offline: PickDecision,
    *,
    recorded_labels: np.ndarray | None = None,
    offline_labels: np.ndarray | None = None,
    tol: DiffTolerance | None = None,
) -> PickDiff:
    """Compare the two sides; see the module text for what counts."""
    tol = tol or DiffTolerance()
    out = PickDiff(record_id, rank, recorded, offline)
    if recorded.instance_id is None or offline.instance_id is None:
        out.identical = recorded == offline
        if not out.identical:
            out.changes.append('no grasp offline' if offline.instance_id is None else 'grasp offline, none recorded')
        return out
    out.target_iou = target_iou(recorded_labels, recorded.instance_id, offline_labels, offline.instance_id)
    assert recorded.position is not None and offline.position is not None
    out.suction_distance_m = math.dist(recorded.position, offline.position)
    q_diff = _quat_distance(recorded.orientation, offline.orientation)
    out.identical = (recorded.instance_id == offline.instance_id and recorded.package_type == offline.package_type
                     and recorded.cup_mask == offline.cup_mask and out.suction_distance_m <= tol.exact_tol
                     and q_diff <= tol.exact_tol)
    same_target = (out.target_iou >= tol.min_target_iou if out.target_iou is not None
                   else recorded.instance_id == offline.instance_id)
    if not same_target:
        out.changes.append('target')
    if recorded.package_type != offline.package_type:
        out.changes.append('type')
    if recorded.cup_mask != offline.cup_mask:
        out.changes.append('cups')
    if out.suction_distance_m > tol.position_tol:
        out.changes.append('suction_point')
    return out


def _quat_distance(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> float:
    """Largest component difference, sign-invariant (q and -q are the same rotation)."""
    if a is None or b is None:
        return math.inf
    va, vb = np.asarray(a, float), np.asarray(b, float)
    return float(min(np.abs(va - vb).max(), np.abs(va + vb).max()))


def rank_of(rec: PickRecord, decision: GraspDecision | None) -> tuple[int, str]:
    """Which grasp of the planner's decision the record executed, and how that is known.

    ``option_rank`` when the record has it; else the grasp of the recorded decision that has the
    record's target, cups and suction point (records written before ``option_rank`` existed);
    else 0.
    """
    if rec.option_rank is not None:
        return rec.option_rank, 'record'
    if decision is not None and rec.target is not None and rec.suction_pose is not None:
        for k, g in enumerate(g for g in [decision.chosen, *decision.alternatives] if g is not None):
            if (g.instance_id == rec.target.instance_id and g.cup_mask == rec.cup_mask
                    and math.dist(g.position, rec.suction_pose.position) <= 1e-9):
                return k, 'matched in the recorded decision'
    return 0, 'assumed 0'
