"""The arm's silhouette in a camera frame from the joint-state history (plain Python, MuJoCo kinematics).

The grasp planner node feeds every ``/joint_states`` sample in and asks, per perception frame, which
pixels the arm covered when the frame was taken. All samples within ``window_s`` of the frame's stamp
are drawn (the arm moves during a transfer; the union covers it), plus the carried-package column
under the tool. Without a sample near the stamp the answer is None: the frame is treated as before
(the controller's timing rule decides whether it may show the arm).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from robin_core.cell_description import CameraIntrinsics, CellDescription
from robin_grasp.arm_silhouette import OrientedBox, carried_column, package_column, silhouette
from robin_grasp.carry_state import NOTHING, UNKNOWN, CarriedPackage, Carry, CarryTimeline
from robin_grasp.motion.planning_model import PlanningModel


@dataclass(frozen=True)
class ArmInFrame:
    """The arm in one frame: its silhouette (None: no joint state near the frame), the stamps of the
    joint states it was drawn from and what was drawn as carried under the tool."""

    mask: np.ndarray | None
    joint_stamps_ns: tuple[int, ...]
    carry: Carry


class ArmView:
    """Joint-state history + the arm's geometry → its silhouette at a stamp.

    Args:
        cell: URDF, joints, tcp frame, camera extrinsics, belt height.
        history_s: how much joint-state history is kept [s].
        window_s: samples this close to a frame's stamp are drawn [s].
        column_half_size: half width of the column under the tool a carried package of unknown
            size may hide [m].
        dilate_px: safety band around the silhouette [px].
        carried_margin: a carried package of known footprint hides that footprint grown by this [m].
    """

    def __init__(self, cell: CellDescription, *, history_s: float = 3.0, window_s: float = 0.06,
                 column_half_size: float = 0.2, dilate_px: int = 12, carried_margin: float = 0.03) -> None:
        self._cell = cell
        self._model = PlanningModel(cell.urdf_path, cell.joint_names, tcp_frame=cell.gripper.tcp_frame,
                                    acceleration_limits=cell.max_acceleration)
        self._geoms = [int(g) for g in self._model.robot_geoms if int(g) != self._model.payload_geom]
        self._history_ns = int(history_s * 1e9)
        self._window_ns = int(window_s * 1e9)
        self.column_half_size = column_half_size
        self.carried_margin = carried_margin
        #: what the gripper carries over time, from the pick phases (robin_grasp/carry_state.py)
        self.carry = CarryTimeline(history_s)
        self.dilate_px = dilate_px
        self._samples: deque[tuple[int, np.ndarray]] = deque()

    def add(self, stamp_ns: int, q: np.ndarray) -> None:
        """One joint state (the arm's joints in the cell's order) [rad]."""
        q = np.asarray(q, dtype=float)
        if q.shape != (len(self._cell.joint_names),) or not np.isfinite(q).all():
            raise ValueError(f'joint state must be {len(self._cell.joint_names)} finite positions')
        self._samples.append((int(stamp_ns), q))
        while self._samples and self._samples[0][0] < stamp_ns - self._history_ns:
            self._samples.popleft()

    def clear(self) -> None:
        """Forget the joint-state history."""
        self._samples.clear()

    def boxes(self, q: np.ndarray, carry: Carry = UNKNOWN) -> list[OrientedBox]:
        """The arm's geoms (bounding boxes) and the column of what it carries at joints ``q``."""
        m, d = self._model.model, self._model.data
        self._model.set_joints(q)
        out = []
        for g in self._geoms:
            rot = d.geom_xmat[g].reshape(3, 3).copy()
            aabb = m.geom_aabb[g]
            out.append(OrientedBox(d.geom_xpos[g] + rot @ aabb[:3], rot, aabb[3:].copy()))
        tcp, belt_z = self._model.tcp_pose(), self._cell.pick_area.belt_z
        if isinstance(carry, CarriedPackage):
            out.append(package_column(tcp, belt_z, carry, self.carried_margin))
        elif carry != NOTHING:
            out.append(carried_column(tcp, belt_z, self.column_half_size))
        return out

    def mask(self, stamp_ns: int, intr: CameraIntrinsics) -> np.ndarray | None:
        """(H, W) bool silhouette of the arm around ``stamp_ns``; None without joint states near it."""
        return self.frame(stamp_ns, intr).mask

    def frame(self, stamp_ns: int, intr: CameraIntrinsics) -> ArmInFrame:
        """The arm's silhouette around ``stamp_ns`` with what it was drawn from (for the decision)."""
        drawn = self.drawn(stamp_ns)
        if not drawn:
            return ArmInFrame(None, (), UNKNOWN)
        carry = self.carry.at(stamp_ns)
        return ArmInFrame(self.mask_of([q for _t, q in drawn], intr, carry), tuple(t for t, _q in drawn), carry)

    def drawn(self, stamp_ns: int) -> list[tuple[int, np.ndarray]]:
        """The (stamp [ns], joints) samples the mask at ``stamp_ns`` is drawn from ([]: none near it).

        The window's ends and the sample nearest the stamp cover the motion; drawing every sample (a
        joint-state stream runs at 100+ Hz) would cost ~5 ms each. Their stamps go into the grasp
        decision, so a replay can rebuild the very mask the planner used (robin_insight/diff_runner.py).
        """
        near = [(t, q) for t, q in self._samples if abs(t - stamp_ns) <= self._window_ns]
        if not near:
            return []
        picks = {0, len(near) - 1, min(range(len(near)), key=lambda k: abs(near[k][0] - stamp_ns))}
        return [near[k] for k in sorted(picks)]

    def mask_of(self, joints: list[np.ndarray], intr: CameraIntrinsics, carry: Carry = UNKNOWN) -> np.ndarray:
        """(H, W) bool: the union of the silhouettes (carrying ``carry``) at ``joints`` of the arm's parts
        that are over the pick area (the pile map's region, up to the camera)."""
        boxes = [b for q in joints for b in self.boxes(np.asarray(q, dtype=float), carry)]
        # Only the arm over the pick area matters: parked over the station its base and shoulder still
        # show at the image edge, and a frame is not "masked" for that. Chosen in 3D: clipping the
        # image to the pick area's outline at belt level cut away a package carried high above the
        # area, which the camera sees far outside that outline (perspective), and it was offered as a
        # target in the air (test_a_package_carried_high_over_the_pile_is_hidden_...).
        return silhouette([b for b in boxes if self._over_pick_area(b)], self._cell.camera.T_base_optical, intr,
                          self.dilate_px)

    def _over_pick_area(self, box: OrientedBox) -> bool:
        """Whether ``box`` (its axis-aligned bounds) reaches into the volume over the pile map's region."""
        a = self._cell.pick_area
        reach = np.abs(box.rotation) @ box.half
        lo, hi = box.center - reach, box.center + reach
        top = float(self._cell.camera.T_base_optical[2, 3])
        (x0, x1), (y0, y1) = a.pile_map_x_range, a.pile_map_y_range
        return bool(hi[0] >= x0 and lo[0] <= x1 and hi[1] >= y0 and lo[1] <= y1 and hi[2] >= a.belt_z
                    and lo[2] <= top)
