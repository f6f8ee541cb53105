"""Grasp candidates: the typed record, its wire table (PointCloud2 via table_codec) and ranking.

One candidate = a tcp pose in base_link + the cups to switch on + scores. The planner publishes
the ranked list as a table (one row per candidate, best first, several targets mixed) so the cell
controller can fall back to the next row without asking again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

#: Wire layout of ``grasp/candidates``: positions in base_link [m], quaternion (x, y, z, w).
GRASP_CANDIDATE_DTYPE = np.dtype(
    [
        ('rank', np.uint32),  # 0 = best
        ('target_id', np.uint32),  # instance label
        ('type_id', np.uint32),  # package type index
        ('x', np.float32),  # tcp position in base_link [m]
        ('y', np.float32),
        ('z', np.float32),
        ('qx', np.float32),  # tcp orientation in base_link, z axis into the surface
        ('qy', np.float32),
        ('qz', np.float32),
        ('qw', np.float32),
        ('yaw', np.float32),  # heading of the tcp x axis in the base xy plane [rad]
        ('nx', np.float32),  # surface normal (up) = reverse approach direction
        ('ny', np.float32),
        ('nz', np.float32),
        ('cup_mask', np.uint8),  # bit k = cup k on
        ('n_cups', np.uint8),
        ('feasible', np.uint8),  # 1 when the cups hold the package and nothing collides
        ('reason_code', np.uint8),  # ReasonCode
        ('score', np.float32),  # combined target and pose score [0..1]
        ('target_score', np.float32),  # [0..1]
        ('pose_score', np.float32),  # [0..1]
        ('edge_distance', np.float32),  # suction point to the surface outline [m]
        ('surface_rms', np.float32),  # plane fit residual [m]
        ('mass', np.float32),  # central mass estimate [kg]
        ('mass_upper', np.float32),  # conservative mass estimate [kg]
        ('force_required', np.float32),  # [N]
        ('force_available', np.float32),  # [N]
        ('hold_acceleration', np.float32),  # tool acceleration the cups hold the package through [m/s^2]
    ]
)

POSE_TERMS = ('force_margin', 'hold', 'cups', 'centring', 'edge', 'flatness', 'alignment')


class ReasonCode(IntEnum):
    """Why a candidate is (in)feasible; the text is in the decision record."""

    OK = 0
    INSUFFICIENT_FORCE = 1
    NO_USABLE_CUP = 2
    COLLISION = 3


@dataclass
class GraspCandidate:
    """One grasp: tcp pose, cup set and scores.

    Attributes:
        target_id: instance label.
        type_id: package type index.
        position: (3,) tcp in base_link [m].
        quaternion: (4,) tcp orientation (x, y, z, w).
        yaw: tcp x heading in the base xy plane [rad].
        normal: (3,) surface normal (up).
        cup_mask: bit k = cup k on.
        cup_states: (C,) CupState per cup.
        feasible: holds the package and collides with nothing.
        reason_code: see :class:`ReasonCode`.
        reason: human-readable reason ('' when feasible).
        target_score: from target selection [0..1].
        pose_score: weighted mean of ``terms`` [0..1].
        score: combined ranking score [0..1].
        terms: pose terms [0..1], keys in :data:`POSE_TERMS`.
        edge_distance: [m]; surface_rms: [m]; mass, mass_upper: [kg]; forces: [N].
        package_in_tool: package top centre (x, y) [m] and long-side heading [rad] in the tcp frame.
    """

    target_id: int
    type_id: int
    position: np.ndarray
    quaternion: np.ndarray
    yaw: float
    normal: np.ndarray
    cup_mask: int
    cup_states: np.ndarray
    feasible: bool
    reason_code: ReasonCode
    reason: str
    target_score: float
    pose_score: float = 0.0
    score: float = 0.0
    terms: dict[str, float] = field(default_factory=dict)
    edge_distance: float = float('nan')
    surface_rms: float = float('nan')
    mass: float = float('nan')
    mass_upper: float = float('nan')
    force_required: float = float('nan')
    force_available: float = 0.0
    #: largest tool acceleration the cups hold the package through [m/s²] (robin_grasp/hold_model.py;
    #: inf: not modelled, as by the naive baseline)
    hold_acceleration: float = float('inf')
    #: the package's top centre (x, y) [m] and long-side heading [rad] in the tcp frame: where the
    #: carried package hangs (None: unknown)
    package_in_tool: tuple[float, float, float] | None = None

    @property
    def n_cups(self) -> int:
        return int(self.cup_mask).bit_count()


def score_pose(terms: dict[str, float], weights: dict[str, float]) -> float:
    """Weighted mean of pose terms [0..1] (missing weights count as 0)."""
    total = sum(weights.get(k, 0.0) for k in POSE_TERMS)
    return sum(weights.get(k, 0.0) * terms[k] for k in POSE_TERMS) / total if total > 0 else 0.0


def rank_candidates(cands: list[GraspCandidate], target_weight: float = 0.5) -> list[GraspCandidate]:
    """Combine target and pose scores and sort: feasible first, then by score (stable).

    Args:
        cands: candidates of any number of targets.
        target_weight: share of the target score in the combined score [0..1].

    Returns:
        A new list, best first, with ``score`` set.
    """
    for c in cands:
        c.score = float(target_weight * c.target_score + (1.0 - target_weight) * c.pose_score)
    return sorted(cands, key=lambda c: (not c.feasible, -c.score))


def candidates_to_table(cands: list[GraspCandidate]) -> np.ndarray:
    """Ranked candidates -> structured array of :data:`GRASP_CANDIDATE_DTYPE` (row order = rank)."""
    t = np.zeros(len(cands), GRASP_CANDIDATE_DTYPE)
    if not cands:
        return t
    t['rank'] = np.arange(len(cands))
    t['target_id'] = [c.target_id for c in cands]
    t['type_id'] = [c.type_id for c in cands]
    pos = np.array([c.position for c in cands])
    quat = np.array([c.quaternion for c in cands])
    nrm = np.array([c.normal for c in cands])
    for k, name in enumerate(('x', 'y', 'z')):
        t[name] = pos[:, k]
        t['n' + name] = nrm[:, k]
    for k, name in enumerate(('qx', 'qy', 'qz', 'qw')):
        t[name] = quat[:, k]
    cols = {
        'yaw': 'yaw', 'cup_mask': 'cup_mask', 'n_cups': 'n_cups', 'feasible': 'feasible',
        'reason_code': 'reason_code', 'score': 'score', 'target_score': 'target_score',
        'pose_score': 'pose_score', 'edge_distance': 'edge_distance', 'surface_rms': 'surface_rms',
        'mass': 'mass', 'mass_upper': 'mass_upper', 'force_required': 'force_required',
        'force_available': 'force_available', 'hold_acceleration': 'hold_acceleration',
    }  # fmt: skip
    for col, attr in cols.items():
        t[col] = [int(v) if isinstance(v := getattr(c, attr), bool | IntEnum) else v for c in cands]
    return t
