"""Build the built-in backend for the cell from the cell description and motion settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from robin_core.cell_description import CellDescription, PickArea
from robin_grasp.motion.builtin_backend import BuiltinBackend
from robin_grasp.motion.interface import Box
from robin_grasp.motion.planning_model import PileField, PlanningModel

#: UR-style "elbow up, wrist down" posture [rad]: upper arm up, forearm level, tool down.
DEFAULT_POSTURE = (0.0, -np.pi / 2, np.pi / 2, -np.pi / 2, -np.pi / 2, 0.0)


@dataclass(frozen=True)
class BuiltinSettings:
    """Settings of the built-in backend (the ``builtin.*`` parameters of config/motion.yaml).

    Attributes:
        acceleration_limits: [rad/s²] per joint; empty or [0.0] = the cell description's.
        acceleration_scale: Multiplies the acceleration limits (0, 1] for a gentler arm.
        velocity_scale: Multiplies the URDF velocity limits (0, 1].
        clearance: Robot-to-environment clearance [m].
        keepout_boxes: Walls/floor as boxes, flat (cx, cy, cz, sx, sy, sz) × n [m], base_link.
        pile_resolution: Pile height-field cell size [m].
        pile_margin: Height field reaches this far beyond the pick area [m].
        pile_max_height: Highest pile modelled above the belt [m].
        preferred_posture: Elbow-up, wrist-down posture [rad].
        use_ompl: False = direct joint interpolation only (baseline).
        sample_dt: Trajectory sample period [s].
        unmapped_belt_height: The belt beyond the pile map counts as this tall an obstacle [m];
            0 = free.
        carry_max_tilt_deg: Largest tool tilt from straight down along a move that carries a
            package [deg] (the ends may tilt more: then theirs); 0 = unbounded.
        transit_clearances: Heights above a move's higher end of the raised via states tried
            before the sampling planner [m], lowest first; empty or (-1.0,) = none
            (:mod:`~robin_grasp.motion.transit`).
    """

    acceleration_limits: Sequence[float] = ()
    acceleration_scale: float = 1.0
    velocity_scale: float = 1.0
    clearance: float = 0.01
    keepout_boxes: Sequence[float] = field(default_factory=tuple)
    pile_resolution: float = 0.01
    pile_margin: float = 0.05
    pile_max_height: float = 0.6
    preferred_posture: Sequence[float] = DEFAULT_POSTURE
    use_ompl: bool = True
    sample_dt: float = 0.01
    carry_max_tilt_deg: float = 15.0
    unmapped_belt_height: float = 0.3
    transit_clearances: Sequence[float] = (0.0, 0.05, 0.15, 0.3)


def keepout_boxes(flat: Sequence[float]) -> list[Box]:
    """Boxes from a flat (cx, cy, cz, sx, sy, sz) × n list [m] (ROS parameters cannot nest)."""
    if len(flat) % 6:
        raise ValueError(f'keepout_boxes needs 6 numbers per box, got {len(flat)}')
    out = []
    for k in range(0, len(flat), 6):
        pose = np.eye(4)
        pose[:3, 3] = flat[k : k + 3]
        out.append(Box(pose, (float(flat[k + 3]), float(flat[k + 4]), float(flat[k + 5]))))
    return out


def unmapped_belt_boxes(area: PickArea, height: float) -> list[Box]:
    """The belt beyond the pile map, up and downstream, as boxes ``height`` [m] tall: packages lie
    there that no map shows (a transfer swung a box through them at 10 cm and jammed the arm)."""
    if height <= 0:
        return []
    (bx0, bx1), (by0, by1) = area.belt_x_range, area.belt_y_range
    my0, my1 = area.pile_map_y_range
    out = []
    for lo, hi in ((by0, my0), (my1, by1)):
        if hi - lo > 1e-3:
            pose = np.eye(4)
            pose[:3, 3] = ((bx0 + bx1) / 2, (lo + hi) / 2, area.belt_z + height / 2)
            out.append(Box(pose, (bx1 - bx0, hi - lo, height)))
    return out


def build_builtin_backend(cell: CellDescription, settings: BuiltinSettings | None = None) -> BuiltinBackend:
    """The built-in backend for ``cell`` (URDF arm + fixtures, pile field over the pick area)."""
    s = settings or BuiltinSettings()
    # empty or the parameter sentinel [0.0]: the cell's limits (urdf/cell.yaml)
    configured = [a for a in s.acceleration_limits if a] if s.acceleration_limits else []
    acc = np.asarray(s.acceleration_limits if configured else cell.max_acceleration, dtype=float) * s.acceleration_scale
    area = cell.pick_area
    (x0, x1), (y0, y1) = area.pile_map_x_range, area.pile_map_y_range
    pile = PileField(
        center_xy=((x0 + x1) / 2, (y0 + y1) / 2),
        half_size_xy=((x1 - x0) / 2 + s.pile_margin, (y1 - y0) / 2 + s.pile_margin),
        base_z=area.belt_z,
        max_height=s.pile_max_height,
        resolution=s.pile_resolution,
    )
    model = PlanningModel(
        cell.urdf_path,
        cell.joint_names,
        tcp_frame=cell.gripper.tcp_frame,
        static_boxes=[*keepout_boxes(s.keepout_boxes), *unmapped_belt_boxes(area, s.unmapped_belt_height)],
        pile=pile,
        clearance=s.clearance,
        acceleration_limits=acc,
        velocity_limits=cell.max_velocity * s.velocity_scale,
    )
    return BuiltinBackend(model, s.preferred_posture, use_ompl=s.use_ompl, sample_dt=s.sample_dt,
                          carry_max_tilt=float(np.radians(s.carry_max_tilt_deg)),
                          transit_clearances=[c for c in s.transit_clearances if c >= 0.0])
