"""Packages the belt carries out of the camera's view downstream, followed to the belt end.

The pick-area accounting (``pile_watch.py``) compares settled frames only while the belt stands
still. A belt run moves the pile along: packages nobody could pick (cut by the downstream image
border, under something) leave the view at its downstream edge and, with the next runs, reach the
end of the belt and fall off the cell — unpicked and, before this module, unreported.

Conveyors track what they carry by dead reckoning on the belt encoder; so does this module. At a
settled frame after a belt run, every confident row of the previous settled frame is moved by the
belt's travel since then (:class:`BeltOdometer`); a row predicted past the view's downstream edge, with
no row of the new frame near its predicted or its old place, was carried out of view. It is
followed (its along-belt coordinate advanced by every later run) until its centre passes the belt
end, when a :class:`~robin_qa.pile_watch.Finding` says it left the cell.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from robin_core.cell_description import CellDescription
from robin_qa.config_fields import setting
from robin_qa.pile_change import centroids
from robin_qa.pile_watch import Finding


@dataclass(frozen=True)
class BeltEndWatchConfig:
    """Thresholds of the downstream tracking."""

    enabled: bool = setting(True, 'follow packages the belt carries out of view and alert when one passes the belt end')
    min_score: float = setting(0.5, 'instances below this confidence are not followed', 0.0, 1.0)
    view_margin_m: float = setting(
        0.03, 'a package is out of view when its predicted centre is this far past the view edge [m]', 0.0, 1.0)
    match_radius_m: float = setting(
        0.08, 'a later instance this close to the old or predicted place means the package is still in view [m]',
        0.001, 1.0)


@dataclass(frozen=True)
class BeltGeometry:
    """Where the camera looks and where the belt ends, along the belt's flow (base frame).

    Attributes:
        R_base_camera: (3, 3) rotation of the camera (optical) frame in base_link.
        t_base_camera: (3,) camera origin in base_link [m].
        flow: (3,) unit vector of belt motion in base_link.
        view_end_m: along-flow coordinate past which the camera sees nothing of the belt [m].
        belt_end_m: along-flow coordinate of the belt's end [m].
    """

    R_base_camera: np.ndarray
    t_base_camera: np.ndarray
    flow: np.ndarray
    view_end_m: float
    belt_end_m: float

    @classmethod
    def from_cell(cls, cell: CellDescription) -> BeltGeometry:
        """The camera's footprint on the belt plane and the belt's end, from the cell description."""
        pose = np.asarray(cell.camera.T_base_optical, float)
        rot, t = pose[:3, :3], pose[:3, 3]
        area = cell.pick_area
        flow = np.asarray(area.flow_direction, float)
        flow = flow / np.linalg.norm(flow)
        intr = cell.camera.intrinsics
        k_inv = np.linalg.inv(intr.K)
        ends = []
        for u, v in ((0, 0), (intr.width, 0), (0, intr.height), (intr.width, intr.height)):
            ray = rot @ (k_inv @ np.array([u, v, 1.0]))
            s = (area.belt_z - t[2]) / ray[2]
            ends.append(float(flow @ (t + s * ray)))
        corners = [np.array([x, y, area.belt_z]) for x in area.belt_x_range for y in area.belt_y_range]
        return cls(rot, t, flow, max(ends), max(float(flow @ c) for c in corners))

    def along(self, camera_points: np.ndarray) -> np.ndarray:
        """Along-flow coordinates [m] of (N, 3) camera-frame points."""
        base = np.asarray(camera_points, float) @ self.R_base_camera.T + self.t_base_camera
        return base @ self.flow


class BeltOdometer:
    """Distance the belt has run, from its measured speed (each sample holds until the next).

    Only speed changes are kept, so a long history costs a few samples per belt run.
    """

    def __init__(self, max_changes: int = 4000) -> None:
        # knot k: from time _t[k] on, the belt had run _d[k] [m] and moved at _v[k] [m/s]
        self._t: list[float] = []
        self._d: list[float] = []
        self._v: list[float] = []
        self._max = max_changes

    def add(self, t: float, speed_mps: float) -> None:
        """One speed sample; non-finite speeds and out-of-order samples change nothing."""
        if not (math.isfinite(t) and math.isfinite(speed_mps)):
            return
        speed = max(float(speed_mps), 0.0)  # the belt does not run backwards here
        if self._t:
            if t < self._t[-1] or abs(speed - self._v[-1]) < 1e-6:
                return
            d = self._d[-1] + self._v[-1] * (t - self._t[-1])
        else:
            d = 0.0
        self._t.append(float(t))
        self._d.append(d)
        self._v.append(speed)
        if len(self._t) > self._max:
            del self._t[0], self._d[0], self._v[0]

    def distance_at(self, t: float) -> float:
        """Belt distance run up to ``t`` [m] (0 before the first sample); called every QA tick,
        so the knot is found by bisection."""
        k = bisect.bisect_right(self._t, t) - 1
        if k < 0:
            return 0.0
        return self._d[k] + self._v[k] * (t - self._t[k])

    def travel(self, t0: float, t1: float) -> float:
        """Distance run between ``t0`` and ``t1`` [m]."""
        return max(0.0, self.distance_at(t1) - self.distance_at(t0))


@dataclass
class BeltEndWatch:
    """Packages followed out of view (plain state; the engine feeds frames and belt travel)."""

    geometry: BeltGeometry
    config: BeltEndWatchConfig = field(default_factory=BeltEndWatchConfig)
    followed: list[tuple[float, float]] = field(default_factory=list)  # (along-flow centre [m], left view at [s])

    def carried_out(self, before: np.ndarray, after: np.ndarray, travel_m: float, t: float,
                    since_m: float = 0.0) -> int:
        """Compare two settled frames with ``travel_m`` of belt run between them; start following
        the packages of ``before`` that the run carried out of view (``since_m``: belt run after
        the ``after`` frame that the followed packages were already advanced by). Returns how many."""
        if not self.config.enabled or travel_m <= 0.0:
            return 0
        rows = before[before['score'] >= self.config.min_score]
        if not len(rows):
            return 0
        old = centroids(rows)
        shift = self.geometry.R_base_camera.T @ (self.geometry.flow * travel_m)  # belt travel, camera frame
        predicted = old + shift
        ahead = self.geometry.along(predicted)
        out = ahead > self.geometry.view_end_m + self.config.view_margin_m
        later = centroids(after[after['score'] >= self.config.min_score]) if len(after) else np.zeros((0, 3))
        if len(later):
            near_new = np.linalg.norm(predicted[:, None] - later[None], axis=2).min(axis=1)
            near_old = np.linalg.norm(old[:, None] - later[None], axis=2).min(axis=1)
            out &= (near_new > self.config.match_radius_m) & (near_old > self.config.match_radius_m)
        self.followed += [(float(a) + since_m, t) for a in ahead[out]]
        return int(out.sum())

    def advance(self, travel_m: float, t: float) -> list[Finding]:
        """The belt ran ``travel_m`` more; packages whose centre passed the belt end left the cell."""
        if not self.followed:
            return []
        moved = [(a + travel_m, t0) for a, t0 in self.followed]
        end = self.geometry.belt_end_m
        self.followed = [(a, t0) for a, t0 in moved if a <= end]
        return [Finding(1, f'a package the belt carried out of view unpicked at t={t0:.2f} s passed the belt end '
                           f'by t={t:.2f} s: it left the cell unsorted') for a, t0 in moved if a > end]
