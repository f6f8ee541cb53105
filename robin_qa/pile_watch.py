"""Package accounting on the pick area: every package that leaves it must be explained.

The gripper takes packages out of the pick area (one on a good pick, two on a double pick, none on
a miss) and a belt run carries them along. Anything else that vanishes — knocked off by the arm or
a neighbour, slid off the belt side — left the cell without a pick, and a package dropped during a
transfer that does not reappear in the pick area fell off it. The gripper signals cannot see
either, so this module compares *settled* instance tables (the arm out of the camera's view: the
frame a decision was made on, the vision check's frame after the lift) while the belt stands still.

A row of the earlier table counts as vacated only when no later row matches its centroid and no
later row covers its bounding-box centre at its old height or above: a package that was merely
re-segmented (merged with a neighbour, split) or is hidden under something higher still covers its
spot. A row of the later table "appeared" by the mirror rule (a dropped package landing back on
the belt or the pile, or a package the pick pushed aside: gone from one spot, new at another, so
each new package offsets one unexplained gone one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robin_qa.config_fields import setting
from robin_qa.pile_change import centroids, unmatched_rows


@dataclass(frozen=True)
class PileWatchConfig:
    """Thresholds of the pick-area accounting."""

    enabled: bool = setting(True, 'alert when a package leaves the pick area without a pick, or a dropped one is gone')
    min_score: float = setting(0.5, 'instances below this confidence are ignored', 0.0, 1.0)
    min_area_px: int = setting(150, 'instances smaller than this are ignored (fragments) [px]', 0, 1_000_000)
    match_radius_m: float = setting(0.04, 'max centroid shift of an instance that stayed [m]', 0.001, 1.0)
    height_tol_m: float = setting(
        0.006, 'a later instance covering the spot at most this much below the old top hides it, not vacates it [m]',
        0.0, 0.5)
    belt_still_mps: float = setting(0.005, 'belt speeds below this count as standing still [m/s]', 0.0, 1.0)


def _usable(table: np.ndarray, config: PileWatchConfig) -> np.ndarray:
    keep = (table['score'] >= config.min_score) & (table['touches_border'] == 0)
    return table[keep & (table['area_px'] >= config.min_area_px)]


def _covered(rows: np.ndarray, other: np.ndarray, tol_m: float) -> np.ndarray:
    """Mask over ``rows``: some row of ``other`` has its box over the row's box centre with a top no
    lower than the row's top minus ``tol_m``."""
    if not len(rows) or not len(other):
        return np.zeros(len(rows), dtype=bool)
    cu = (rows['u0'] + rows['u1'])[:, None] / 2.0
    cv = (rows['v0'] + rows['v1'])[:, None] / 2.0
    inside = (other['u0'][None] <= cu) & (cu <= other['u1'][None])
    inside &= (other['v0'][None] <= cv) & (cv <= other['v1'][None])
    high = other['height_top'][None].astype(float) >= rows['height_top'][:, None].astype(float) - tol_m
    return np.any(inside & high, axis=1)


def vacated(before: np.ndarray, after: np.ndarray, config: PileWatchConfig) -> tuple[int, ...]:
    """Ids (in ``before``) of packages gone from the pick area in ``after``."""
    b, a = _usable(before, config), _usable(after, config)
    gone = unmatched_rows(centroids(b), centroids(a), config.match_radius_m) & ~_covered(b, a, config.height_tol_m)
    return tuple(int(i) for i in b['id'][gone])


def appeared(before: np.ndarray, after: np.ndarray, config: PileWatchConfig) -> tuple[int, ...]:
    """Ids (in ``after``) of packages that are new in the pick area (the mirror of :func:`vacated`)."""
    return vacated(after, before, config)


@dataclass(frozen=True)
class Finding:
    """Packages that left the pick area unexplained, found when a settled frame came in.

    Attributes:
        lost: how many packages are unaccounted for.
        reason: what was seen, for the alert and the pick record.
        record_id: the pick record the loss belongs to (the dropping pick), or None (between picks).
    """

    lost: int
    reason: str
    record_id: str | None = None


@dataclass
class PileAccount:
    """The running account between settled frames (plain state, fed in time order of the stamps)."""

    config: PileWatchConfig = field(default_factory=PileWatchConfig)
    reference: tuple[float, np.ndarray] | None = None
    taken: dict[str, tuple[float, int]] = field(default_factory=dict)  # record id -> (lift time, packages lifted)
    returning: list[tuple[float, str]] = field(default_factory=list)  # (drop time, record id) not seen back yet
    surplus: int = 0  # packages that appeared since the belt last moved, not yet matched to a drop

    def took(self, t: float, count: int, record_id: str) -> None:
        """The gripper lifted ``count`` packages out of the pick area at ``t`` (a later call for the
        same record corrects the count, e.g. when the vision check turns a pick into a double pick)."""
        first = self.taken.get(record_id, (t, count))[0]
        self.taken[record_id] = (first, count)

    def dropped(self, t: float, record_id: str) -> None:
        """The package of ``record_id`` was dropped during its transfer (detected at ``t``)."""
        self.returning.append((t, record_id))

    def landed(self, record_id: str) -> None:
        """The package dropped for ``record_id`` was counted on a drive robot after all: stop waiting for it."""
        self.returning = [(t, rid) for t, rid in self.returning if rid != record_id]

    def settle(self, t: float, table: np.ndarray, belt_moved: bool) -> list[Finding]:
        """A settled frame taken at ``t``; ``belt_moved``: the belt ran since the reference frame.

        Frames not newer than the reference are ignored (the same frame can be both a pick's
        "after" and the next decision's frame).
        """
        if not self.config.enabled:
            return []
        ref = self.reference
        if ref is not None and t <= ref[0]:
            return []
        self.reference = (t, table)
        taken = sum(n for ti, n in self.taken.values() if ti <= t)
        self.taken = {rid: (ti, n) for rid, (ti, n) in self.taken.items() if ti > t}
        if ref is None or belt_moved:
            self.surplus = 0
            return self._unconfirmed_drops(t, 'was not seen back before the belt moved' if ref else '')
        findings: list[Finding] = []
        gone = vacated(ref[1], table, self.config)
        new = appeared(ref[1], table, self.config)
        # a package pushed aside by the pick is gone from one spot and new at another: it stayed
        moved = min(max(len(gone) - taken, 0), len(new))
        if (extra := len(gone) - taken - moved) > 0:
            findings.append(Finding(extra, f'{extra} package(s) left the pick area without being picked '
                                           f'(knocked off or fell) between t={ref[0]:.2f} and t={t:.2f} s: '
                                           f'{len(gone)} gone, {len(new)} new, {taken} in the gripper'))
        self.surplus += len(new) - moved
        while self.returning and self.surplus > 0:
            self.returning.pop(0)
            self.surplus -= 1
        return findings + self._unconfirmed_drops(t, 'is not back in the pick area')

    def _unconfirmed_drops(self, t: float, why: str) -> list[Finding]:
        due = [(td, rid) for td, rid in self.returning if td < t]
        self.returning = [(td, rid) for td, rid in self.returning if td >= t]
        if not why:  # no earlier frame to compare with: nothing can be confirmed or denied
            self.returning += due
            return []
        return [Finding(1, f'the package dropped at t={td:.2f} s {why}: it fell off the cell', rid)
                for td, rid in due]
