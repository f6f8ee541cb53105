"""The pick sequence as four planned segments: approach, descend, lift, transfer.

::

    start ──approach──▶ pre-grasp ──descend (straight)──▶ grasp ──lift (straight up)──▶ lift
          ──transfer (carrying the package)──▶ place (package just above the drive-robot tray)

Works with any :class:`~robin_grasp.motion.interface.MotionBackend`. Each segment is rest to rest:
the cell controller switches suction on after ``descend``, verifies the seal after ``lift`` and
releases after ``transfer``; the next pick's ``approach`` starts at the place pose, so it can be
planned (pipelined) while the current package is still being carried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from robin_grasp.motion.interface import (
    Box,
    FailureReason,
    FloatArray,
    Goal,
    HeightMap,
    JointTrajectory,
    MotionBackend,
    PlanFailure,
    PoseGoal,
    Scene,
)
from robin_grasp.motion.payload_limit import limit_tool_acceleration

SEGMENTS = ('approach', 'descend', 'lift', 'transfer')


@dataclass(frozen=True)
class PickSettings:
    """Geometry of the pick motion.

    Attributes:
        approach_distance: Pre-grasp stand-off along the tcp z axis (the surface normal) [m].
        lift_distance: Minimum straight lift above the grasp [m].
        lift_clearance: Carried package bottom above the highest pile point under it [m].
        drop_height: Package bottom above the tray at release [m].
        tool_clear_radius: Pile cells this close to the grasp point belong to the target [m].
        target_clear_depth: Those cells are lowered to this far below the grasp point, more than
            the collision clearance, since the cup lips touch the target by design [m].
        drive_robot_height: Height of the drive-robot body under the tray top [m].
        default_package_size: Carried box (x, y, z) in the tcp frame when the request has none [m].
    """

    approach_distance: float = 0.08
    lift_distance: float = 0.10
    lift_clearance: float = 0.03
    drop_height: float = 0.05
    tool_clear_radius: float = 0.14
    target_clear_depth: float = 0.02
    drive_robot_height: float = 0.35
    default_package_size: tuple[float, float, float] = (0.20, 0.15, 0.10)


@dataclass(frozen=True)
class PickRequest:
    """One pick: where to grasp and where to place.

    Attributes:
        grasp_pose: tcp pose at the grasp (4×4, base_link; z into the package surface).
        tray_pose: Tray top centre (4×4, base_link; z up).
        tray_size: Tray (x, y) [m], for the drive-robot obstacle.
        package_size: Carried box (length, width, thickness) [m]; None = settings default.
        package_pose: The package's top centre (x, y) [m] and long-side heading [rad] in the tcp
            frame; None = centred under the tool, long side along tcp x.
        payload_acceleration: Largest tool acceleration the grasp holds the package through
            [m/s²] (robin_grasp/hold_model.py); the loaded segments are slowed to it. None = unbounded.
    """

    grasp_pose: FloatArray
    tray_pose: FloatArray
    tray_size: tuple[float, float] = (0.5, 0.5)
    package_size: tuple[float, float, float] | None = None
    package_pose: tuple[float, float, float] | None = None
    payload_acceleration: float | None = None


#: segments that carry the package: slowed to the grasp's payload acceleration
LOADED_SEGMENTS = ('lift', 'transfer')


@dataclass(frozen=True)
class Segment:
    """A named, rest-to-rest part of a pick."""

    name: str
    trajectory: JointTrajectory


@dataclass(frozen=True)
class PickPlan:
    """A planned pick: segments in execution order plus the poses they reach."""

    segments: tuple[Segment, ...]
    planning_time: float  #: wall time [s]
    poses: dict[str, FloatArray] = field(default_factory=dict)
    #: the scene the lift end and transfer were planned in (the carried box attached, the target's
    #: own footprint cleared): a move that finishes the transfer plans in it too
    carrying: Scene | None = None
    #: the request's payload acceleration [m/s²] (a move finishing the transfer keeps to it too)
    payload_acceleration: float | None = None
    #: loaded segment name -> factor it was slowed by to keep to ``payload_acceleration`` (1 = not)
    stretch: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Sum of segment durations [s] (excluding dwell times for suction and release)."""
        return sum(s.trajectory.duration for s in self.segments)

    def segment(self, name: str) -> Segment:
        for s in self.segments:
            if s.name == name:
                return s
        raise KeyError(name)


class PickSequencePlanner:
    """Plans the four pick segments with one backend.

    Args:
        backend: Any motion backend.
        settings: Pick geometry.
    """

    def __init__(self, backend: MotionBackend, settings: PickSettings | None = None) -> None:
        self.backend = backend
        self.settings = settings or PickSettings()

    def poses(self, req: PickRequest, height_map: HeightMap | None, *,
              rested_lift: bool = False) -> dict[str, FloatArray]:
        """The four target tcp poses (4×4, base_link) of a pick. ``rested_lift``: the package's own
        footprint counts as what it rested on (see :meth:`plan`)."""
        s = self.settings
        grasp = np.asarray(req.grasp_pose, dtype=float)
        size = req.package_size or s.default_package_size
        pre = grasp.copy()
        pre[:3, 3] -= grasp[:3, 2] * s.approach_distance
        lift = grasp.copy()
        lift_z = grasp[2, 3] + s.lift_distance
        if height_map is not None:
            # the carried box hangs size[2] below the tcp; clear the pile around it
            cx, cy, own_r = self._own_disc(req, grasp, size)
            own = (own_r, float(grasp[2, 3]) - size[2]) if rested_lift else (0.0, np.inf)
            pile_top = _max_height_near(height_map, np.array([cx, cy]), _half_diagonal(size) + s.lift_clearance,
                                        own=own)
            lift_z = max(lift_z, pile_top + size[2] + s.lift_clearance)
        lift[2, 3] = lift_z
        return {'pre_grasp': pre, 'grasp': grasp, 'lift': lift, 'place': self._place_pose(req, grasp, size)}

    def _own_disc(self, req: PickRequest, grasp: FloatArray,
                  size: tuple[float, float, float]) -> tuple[float, float, float]:
        """(x, y, radius) [m] of the disc taken as the target's own footprint: around the package's
        centre, covering the package and the tool's reach around the grasp point."""
        offset = _package_offset(req)
        centre = grasp[:3, 3] + grasp[:3, :3] @ np.array([offset[0], offset[1], 0.0])
        radius = max(self.settings.tool_clear_radius + float(np.hypot(*offset)), _half_diagonal(size))
        return float(centre[0]), float(centre[1]), radius

    def _place_pose(self, req: PickRequest, grasp: FloatArray, size: tuple[float, float, float]) -> FloatArray:
        """Tool pointing down over the tray centre, turned about z by the base swing so that the
        wrist does not rotate the package relative to the arm (least wrist motion)."""
        tray = np.asarray(req.tray_pose, dtype=float)
        swing = np.arctan2(tray[1, 3], tray[0, 3]) - np.arctan2(grasp[1, 3], grasp[0, 3])
        c, s_ = np.cos(swing), np.sin(swing)
        x_axis = np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]]) @ grasp[:3, 0]
        z_axis = -tray[:3, 2]
        x_axis -= z_axis * float(x_axis @ z_axis)
        if np.linalg.norm(x_axis) < 1e-6:  # grasp tool x was vertical: any heading will do
            x_axis = np.cross(z_axis, [0.0, 1.0, 0.0]) if abs(z_axis[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
        x_axis /= np.linalg.norm(x_axis)
        place = np.eye(4)
        place[:3, :3] = np.column_stack([x_axis, np.cross(z_axis, x_axis), z_axis])
        place[:3, 3] = tray[:3, 3] + tray[:3, 2] * (size[2] + self.settings.drop_height)
        # the package's centre, not the tool's, over the tray's
        offset = _package_offset(req)
        place[:3, 3] -= place[:3, :3] @ np.array([offset[0], offset[1], 0.0])
        return place

    def plan(
        self,
        start: FloatArray,
        req: PickRequest,
        height_map: HeightMap | None = None,
        timeout_s: float = 2.0,
    ) -> PickPlan | PlanFailure:
        """Plan all four segments from joint state ``start`` [rad] within ``timeout_s`` [s].

        The lift clears the pile around the package, its own top included, by the package's
        thickness. When that is out of reach (a box of unknown thickness — its top above the belt is
        the bound — on a tall stack far from the base: ``ik_failed`` on the lift), the pick is
        planned again with the package's own footprint counted as what it rested on, no higher than
        its bottom, for the lift and the transfer alike: a lower lift from which the transfer
        climbs out itself. The high lift stays the default: it leaves the transfer an easy path.
        """
        t0 = time.perf_counter()
        plan = self._plan(start, req, height_map, timeout_s, rested_lift=False)
        if isinstance(plan, PlanFailure) and plan.segment == 'lift' \
                and plan.reason in (FailureReason.IK_FAILED, FailureReason.UNREACHABLE):
            # one budget for both tries: the controller waits for the answer
            return self._plan(start, req, height_map, timeout_s - (time.perf_counter() - t0), rested_lift=True)
        return plan

    def _plan(self, start: FloatArray, req: PickRequest, height_map: HeightMap | None, timeout_s: float, *,
              rested_lift: bool) -> PickPlan | PlanFailure:
        t0 = time.perf_counter()
        s = self.settings
        if not _is_pose(req.grasp_pose) or not _is_pose(req.tray_pose):
            return PlanFailure(FailureReason.INVALID_REQUEST, 'grasp and tray poses must be 4x4 rigid transforms')
        if req.payload_acceleration is not None and not req.payload_acceleration > 0.0:
            return PlanFailure(FailureReason.INVALID_REQUEST,
                               f'payload acceleration must be positive, got {req.payload_acceleration}')
        size = req.package_size or s.default_package_size
        poses = self.poses(req, height_map, rested_lift=rested_lift)
        grasp = poses['grasp']
        cx, cy, radius = self._own_disc(req, grasp, size)
        clear = (cx, cy, radius, float(grasp[2, 3]) - s.target_clear_depth)
        # after a rested lift, under the package is what it rested on: no higher than its bottom
        clear_carrying = (*clear[:3], float(grasp[2, 3]) - max(size[2], s.target_clear_depth)) if rested_lift \
            else clear
        robot = _drive_robot_box(req.tray_pose, req.tray_size, s.drive_robot_height)
        slope = _surface_slope(grasp)
        free = Scene(height_map=height_map, boxes=(robot,), pile_clear_xy=clear, pile_clear_slope=slope)
        carry_pose = carried_box_pose(req, size)
        carrying = Scene(height_map=height_map, boxes=(robot,), pile_clear_xy=clear_carrying, pile_clear_slope=slope,
                         attached=Box(carry_pose, tuple(size)))
        steps = (
            ('approach', PoseGoal(poses['pre_grasp']), free),
            ('descend', PoseGoal(grasp, linear=True), free),
            ('lift', PoseGoal(poses['lift'], linear=True), free),
            ('transfer', PoseGoal(poses['place']), carrying),
        )
        segments, stretch = [], {}
        q = np.asarray(start, dtype=float)
        for name, goal, scene in steps:
            remaining = timeout_s - (time.perf_counter() - t0)
            if remaining <= 0:
                return PlanFailure(FailureReason.PLANNING_TIMEOUT, f'pick budget {timeout_s:.2f} s used up', name)
            result = self.backend.plan(q, goal, scene, timeout_s=remaining)
            if isinstance(result, PlanFailure):
                return PlanFailure(result.reason, result.detail, name)
            if name in LOADED_SEGMENTS and req.payload_acceleration is not None:
                result, stretch[name] = limit_tool_acceleration(result, self.backend.forward_kinematics,
                                                                req.payload_acceleration)
            segments.append(Segment(name, result))
            q = result.end
        return PickPlan(tuple(segments), time.perf_counter() - t0, poses, carrying, req.payload_acceleration, stretch)


    def plan_carry(self, start: FloatArray, goal: Goal, pick: PickPlan,
                   timeout_s: float = 2.0) -> tuple[JointTrajectory | PlanFailure, float]:
        """A move still holding ``pick``'s package (finishing a failed transfer): planned in the scene
        its transfer was planned in and slowed to its payload acceleration like the loaded segments;
        with the factor it was slowed by (1.0: not)."""
        traj = self.backend.plan(start, goal, pick.carrying or Scene(), timeout_s=timeout_s)
        if isinstance(traj, PlanFailure):
            return traj, 1.0
        return limit_tool_acceleration(traj, self.backend.forward_kinematics, pick.payload_acceleration)


def carried_box_pose(req: PickRequest, size: tuple[float, float, float]) -> FloatArray:
    """Pose (4×4, tcp frame) of the carried box's centre: below the cup lips along tcp +z by half
    its thickness, at the package's centre and heading when the request gives them."""
    pose = np.eye(4)
    x, y, yaw = req.package_pose if req.package_pose is not None else (0.0, 0.0, 0.0)
    c, s_ = np.cos(yaw), np.sin(yaw)
    pose[:3, :3] = np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]])
    pose[:3, 3] = (x, y, size[2] / 2)
    return pose


def _package_offset(req: PickRequest) -> tuple[float, float]:
    """The package's centre (x, y) in the tcp frame [m] (0, 0 when not given)."""
    return (0.0, 0.0) if req.package_pose is None else (float(req.package_pose[0]), float(req.package_pose[1]))


def _is_pose(t: FloatArray) -> bool:
    t = np.asarray(t, dtype=float)
    if t.shape != (4, 4) or not np.all(np.isfinite(t)):
        return False
    r = t[:3, :3]
    return bool(np.allclose(r.T @ r, np.eye(3), atol=1e-3) and np.linalg.det(r) > 0)


def _surface_slope(grasp: FloatArray, max_tilt_rad: float = 0.7) -> tuple[float, float]:
    """(dz/dx, dz/dy) of the package top the tool is pressed onto: its normal is minus the tool
    z axis. Tilts beyond ``max_tilt_rad`` are capped (the disc would reach far into neighbours)."""
    n = -np.asarray(grasp, dtype=float)[:3, 2]
    nz = max(float(n[2]), float(np.cos(max_tilt_rad)))
    return float(-n[0] / nz), float(-n[1] / nz)


def _half_diagonal(size: tuple[float, float, float]) -> float:
    return float(np.hypot(size[0], size[1]) / 2)


def _max_height_near(hm: HeightMap, xy: FloatArray, radius: float,
                     own: tuple[float, float] = (0.0, np.inf)) -> float:
    """Highest known pile point within ``radius`` [m] of ``xy``; -inf when none. Points within
    ``own[0]`` [m] (the lifted package's footprint) count at most ``own[1]`` [m]."""
    rows, cols = hm.heights.shape
    ys = hm.origin_xy[1] + hm.resolution * np.arange(rows)
    xs = hm.origin_xy[0] + hm.resolution * np.arange(cols)
    gx, gy = np.meshgrid(xs, ys)
    d2 = (gx - xy[0]) ** 2 + (gy - xy[1]) ** 2
    heights = np.where(d2 <= own[0] ** 2, np.minimum(hm.heights, own[1]), hm.heights)
    vals = heights[d2 <= radius**2]
    vals = vals[np.isfinite(vals)]
    return float(vals.max()) if vals.size else -np.inf


def _drive_robot_box(tray_pose: FloatArray, tray_size: tuple[float, float], height: float) -> Box:
    """The drive robot under its tray as one box (top at the tray surface)."""
    pose = np.asarray(tray_pose, dtype=float).copy()
    pose[:3, 3] -= pose[:3, 2] * (height / 2)
    return Box(pose, (tray_size[0], tray_size[1], height))
