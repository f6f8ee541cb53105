"""Build the built-in backend for the cell from the cell description and motion settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from robin_core.cell_description import CellDescription
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
        carry_max_tilt_deg: Largest tool tilt from straight down along a move that carries a
            package [deg] (the ends may tilt more: then theirs); 0 = unbounded.
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


def build_builtin_backend(cell: CellDescription, settings: BuiltinSettings | None = None) -> BuiltinBackend:
    """The built-in backend for ``cell`` (URDF arm + fixtures, pile field over the pick area)."""
    s = settings or BuiltinSettings()
    # empty or the parameter sentinel [0.0]: the cell's limits (urdf/cell.yaml)
    configured = [a for a in s.acceleration_limits if a] if s.acceleration_limits else []
    acc = np.asarray(s.acceleration_limits if configured else cell.max_acceleration, dtype=float) * s.acceleration_scale
    area = cell.pick_area
    pile = PileField(
        center_xy=(sum(area.x_range) / 2, sum(area.y_range) / 2),
        half_size_xy=((area.x_range[1] - area.x_range[0]) / 2 + s.pile_margin,
                      (area.y_range[1] - area.y_range[0]) / 2 + s.pile_margin),
        base_z=area.belt_z,
        max_height=s.pile_max_height,
        resolution=s.pile_resolution,
    )
    model = PlanningModel(
        cell.urdf_path,
        cell.joint_names,
        tcp_frame=cell.gripper.tcp_frame,
        static_boxes=keepout_boxes(s.keepout_boxes),
        pile=pile,
        clearance=s.clearance,
        acceleration_limits=acc,
        velocity_limits=cell.max_velocity * s.velocity_scale,
    )
    return BuiltinBackend(model, s.preferred_posture, use_ompl=s.use_ompl, sample_dt=s.sample_dt,
                          carry_max_tilt=float(np.radians(s.carry_max_tilt_deg)))
