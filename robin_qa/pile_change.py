"""Vision check for double picks: which instances left the pile between two instance tables.

Instance ids are per frame, so rows are matched by centroid position (camera frame [m]) with an
optimal assignment and a gating radius; a row of the "before" table without a match afterwards
left the pile. Rows touching the image border or below a confidence are ignored: they come and go
with the belt and the segmenter's mood, not with the gripper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from robin_qa.config_fields import setting


@dataclass(frozen=True)
class PileChangeConfig:
    """Matching parameters of the before/after comparison."""

    match_radius_m: float = setting(0.04, 'max centroid shift of an instance that stayed [m]', 0.001, 1.0)
    min_score: float = setting(0.5, 'instances below this confidence are ignored', 0.0, 1.0)
    vision_delay_s: float = setting(0.9, 'first frame used as "after": this long after transferring [s]', 0.0, 10.0)
    vision_timeout_s: float = setting(3.0, 'give up waiting for an "after" frame [s]', 0.1, 60.0)
    beneath_margin_m: float = setting(
        0.01, 'an instance overlapping the target and this much lower lies beneath it [m]', 0.0, 1.0)
    reach_m: float = setting(
        0.25, 'only instances this close to the target (centroids) can come up with it [m]', 0.01, 5.0)
    height_tol_m: float = setting(
        0.03, 'only instances whose top is this close to the target top can come up with it [m]', 0.0, 1.0)


@dataclass(frozen=True)
class PileChange:
    """Result of the comparison.

    Attributes:
        removed_ids: ids (in the "before" table) of instances with no match afterwards.
        target_removed: whether the target left the pile (None when it was not in the table).
        beneath_ids: unmatched instances that lay beneath the target: not counted as removed.
        out_of_reach_ids: unmatched instances the gripper could not have taken with the target (too
            far from it, or their top too far above or below it): not counted as removed.
    """

    removed_ids: tuple[int, ...]
    target_removed: bool | None
    beneath_ids: tuple[int, ...] = ()
    out_of_reach_ids: tuple[int, ...] = ()

    @property
    def removed_count(self) -> int:
        return len(self.removed_ids)


def _usable(table: np.ndarray, min_score: float) -> np.ndarray:
    return table[(table['score'] >= min_score) & (table['touches_border'] == 0)]


def compare_tables(
    before: np.ndarray,
    after: np.ndarray,
    target_id: int | None,
    config: PileChangeConfig,
    shift_m: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> PileChange:
    """Match ``before`` rows to ``after`` rows by centroid and list those that disappeared.

    Args:
        before: instance table (robin_core.instance_table.INSTANCE_DTYPE) from before the grasp.
        after: instance table from after the lift, with the gripper out of view.
        target_id: id of the target in ``before``, or None.
        config: matching parameters.
        shift_m: known motion of the scene between the frames (e.g. belt travel), camera frame [m].

    Returns:
        The removed instances.
    """
    b = _usable(before, config.min_score)
    a = _usable(after, config.min_score)
    matched = ~unmatched_rows(centroids(b) + np.asarray(shift_m, float), centroids(a), config.match_radius_m)
    beneath = _beneath(b, target_id, config.beneath_margin_m)
    far = _out_of_reach(b, target_id, config.reach_m, config.height_tol_m)
    removed = tuple(int(i) for i in b['id'][~matched & ~beneath & ~far])
    target_removed = None
    if target_id is not None and target_id in {int(i) for i in b['id']}:
        target_removed = target_id in removed
    return PileChange(removed, target_removed, tuple(int(i) for i in b['id'][~matched & beneath]),
                      tuple(int(i) for i in b['id'][~matched & far & ~beneath]))


def centroids(rows: np.ndarray) -> np.ndarray:
    """(N, 3) instance centroids [m] of instance-table rows."""
    return np.stack([rows['x'], rows['y'], rows['z']], axis=1).astype(float)


def unmatched_rows(pa: np.ndarray, pb: np.ndarray, radius_m: float) -> np.ndarray:
    """Mask over the points ``pa``: no partner in ``pb`` within ``radius_m`` under the optimal
    one-to-one assignment (matches beyond the radius are forbidden)."""
    matched = np.zeros(len(pa), dtype=bool)
    if len(pa) and len(pb):
        cost = np.linalg.norm(pa[:, None, :] - pb[None, :, :], axis=2)
        gated = np.where(cost <= radius_m, cost, 1e6)
        rows, cols = linear_sum_assignment(gated)
        matched[rows[gated[rows, cols] < 1e6]] = True
    return ~matched


def _out_of_reach(rows: np.ndarray, target_id: int | None, reach_m: float, height_tol_m: float) -> np.ndarray:
    """Rows a double pick cannot involve: a second package comes up only when cups seal on it, so
    it lies under the gripper footprint (near the target) with its top at the target's height
    within the cups' travel. A package vanishing elsewhere was occluded or re-segmented."""
    hit = rows['id'] == target_id if target_id is not None else np.zeros(len(rows), bool)
    if not hit.any():
        return np.zeros(len(rows), bool)
    t = rows[hit][0]
    d = np.hypot(rows['x'] - t['x'], rows['y'] - t['y'])
    return ~hit & ((d > reach_m) | (np.abs(rows['height_top'] - t['height_top']) > height_tol_m))


def _beneath(rows: np.ndarray, target_id: int | None, margin_m: float) -> np.ndarray:
    """Rows lying under the target: their boxes overlap and their top is lower.

    Lifting the target uncovers them, so their visible surface (and centroid) changes without
    them moving; and suction cannot pull a package up through the one on top of it, so they
    cannot have been double-picked.
    """
    hit = rows['id'] == target_id if target_id is not None else np.zeros(len(rows), bool)
    if not hit.any():
        return np.zeros(len(rows), bool)
    t = rows[hit][0]
    overlap = (rows['u0'] < t['u1']) & (rows['u1'] > t['u0']) & (rows['v0'] < t['v1']) & (rows['v1'] > t['v0'])
    return overlap & ~hit & (rows['height_top'] < t['height_top'] - margin_m)
