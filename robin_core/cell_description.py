"""The cell's geometry and hardware data as typed values, from ``urdf/robin_cell.urdf`` + ``urdf/cell.yaml``.

Plain Python (no rclpy): grasp planning, motion, perception and the simulator all read the same
numbers from here. All poses are 4×4 homogeneous transforms ``T_a_b`` (frame b expressed in a),
in the planning frame ``base_link`` unless named otherwise. Units: m, rad, s, N, kPa, px.

Example::

    cell = default_cell()
    K = cell.camera.intrinsics.K             # 3×3 [px]
    T = cell.camera.T_base_optical           # camera_color_optical_frame in base_link
    cups = cell.gripper.cup_positions        # (8, 3) [m] in the tcp frame
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robin_core.ros_env import share_dir

URDF_NAME = 'robin_cell.urdf'
CONFIG_NAME = 'cell.yaml'
PLANNING_FRAME = 'base_link'


class CellDescriptionError(ValueError):
    """The URDF or cell config is missing something the cell needs."""


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics (no distortion) of the color stream; depth is aligned to it."""

    width: int  #: [px]
    height: int  #: [px]
    fx: float  #: [px]
    fy: float  #: [px]
    cx: float  #: [px]
    cy: float  #: [px]

    @property
    def K(self) -> np.ndarray:  # noqa: N802 - the standard symbol
        """3×3 camera matrix [px]."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def fovy_deg(self) -> float:
        """Vertical field of view [deg]."""
        return float(np.degrees(2.0 * np.arctan2(self.height / 2.0, self.fy)))


@dataclass(frozen=True)
class CameraDescription:
    """Overhead RGB-D camera: extrinsics, intrinsics and valid depth range."""

    frame_id: str
    intrinsics: CameraIntrinsics
    T_base_optical: np.ndarray  #: (4, 4) optical frame (z forward, x right, y down) in base_link
    depth_min: float  #: [m]
    depth_max: float  #: [m]


@dataclass(frozen=True)
class JointLimits:
    """Limits of one arm joint."""

    name: str
    lower: float  #: [rad]
    upper: float  #: [rad]
    velocity: float  #: [rad/s]
    acceleration: float  #: [rad/s²]
    effort: float  #: [N m]


@dataclass(frozen=True)
class GripperDescription:
    """8-cup suction tool. Cup k is frame ``cup_k``, its lip centre; z points out of the tool."""

    flange_frame: str
    tcp_frame: str
    cup_names: tuple[str, ...]
    cup_positions: np.ndarray  #: (N, 3) [m] lip centres in the tcp frame (z = 0)
    lip_radius: float  #: [m]
    rated_force_per_cup: float  #: [N] at rated vacuum, normal to the lip
    rated_vacuum: float  #: [kPa] below ambient
    T_flange_tcp: np.ndarray  #: (4, 4) tcp in the flange frame

    @property
    def num_cups(self) -> int:
        return len(self.cup_names)


@dataclass(frozen=True)
class PickArea:
    """Region of the belt the camera sees and the arm reaches (axis-aligned in base_link)."""

    belt_z: float  #: [m] belt surface height
    x_range: tuple[float, float]  #: [m]
    y_range: tuple[float, float]  #: [m]
    flow_direction: np.ndarray  #: (3,) unit vector of belt motion
    belt_x_range: tuple[float, float] = (0.25, 0.75)  #: [m] belt surface between the rails
    belt_y_range: tuple[float, float] = (-1.0, 1.0)  #: [m] belt length
    #: [m] the pile map the motion planner gets reaches this far beyond the area: a carried
    #: package swings over the belt around it, where packages lie too
    pile_map_margin: float = 0.2
    #: [m] the side rails' top above the belt surface (they stand outside ``belt_x_range``)
    rail_height: float = 0.08

    @property
    def pile_map_x_range(self) -> tuple[float, float]:
        """[m] x extent of the motion planner's pile map."""
        return self.x_range[0] - self.pile_map_margin, self.x_range[1] + self.pile_map_margin

    @property
    def pile_map_y_range(self) -> tuple[float, float]:
        """[m] y extent of the motion planner's pile map."""
        return self.y_range[0] - self.pile_map_margin, self.y_range[1] + self.pile_map_margin

    def on_belt(self, xy: np.ndarray) -> np.ndarray:
        """Boolean mask of points (..., 2+) [m] over the belt surface between the rails."""
        xy = np.asarray(xy, dtype=float)
        return (
            (xy[..., 0] >= self.belt_x_range[0]) & (xy[..., 0] <= self.belt_x_range[1])
            & (xy[..., 1] >= self.belt_y_range[0]) & (xy[..., 1] <= self.belt_y_range[1])
        )

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """Boolean mask of points (..., 2+) [m] whose x, y lie inside the area."""
        xy = np.asarray(xy, dtype=float)
        return (
            (xy[..., 0] >= self.x_range[0]) & (xy[..., 0] <= self.x_range[1])
            & (xy[..., 1] >= self.y_range[0]) & (xy[..., 1] <= self.y_range[1])
        )


@dataclass(frozen=True)
class PlaceStation:
    """Where drive robots stop; packages are placed on their tray."""

    T_base_tray: np.ndarray  #: (4, 4) tray top centre, z up
    tray_size: tuple[float, float]  #: [m] x, y


@dataclass(frozen=True)
class CellDescription:
    """Everything about the cell's geometry that nodes need, with units."""

    planning_frame: str
    urdf_path: Path
    joints: tuple[JointLimits, ...]
    camera: CameraDescription
    gripper: GripperDescription
    pick_area: PickArea
    place_station: PlaceStation

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def lower(self) -> np.ndarray:
        """(6,) lower position limits [rad]."""
        return np.array([j.lower for j in self.joints])

    @property
    def upper(self) -> np.ndarray:
        """(6,) upper position limits [rad]."""
        return np.array([j.upper for j in self.joints])

    @property
    def max_velocity(self) -> np.ndarray:
        """(6,) velocity limits [rad/s]."""
        return np.array([j.velocity for j in self.joints])

    @property
    def max_acceleration(self) -> np.ndarray:
        """(6,) acceleration limits [rad/s²]."""
        return np.array([j.acceleration for j in self.joints])


def default_urdf_path() -> Path:
    """The installed (or source-tree) ``urdf/robin_cell.urdf``."""
    return share_dir() / 'urdf' / URDF_NAME


def load_cell_description(urdf_path: Path | None = None, config_path: Path | None = None) -> CellDescription:
    """Load the URDF with yourdfpy and the cell config beside it (``cell.yaml``).

    Raises:
        CellDescriptionError: a frame, joint or config key the cell needs is missing.
    """
    import yourdfpy  # noqa: PLC0415 - heavy (trimesh); imported only when a description is built

    urdf_path = Path(urdf_path) if urdf_path else default_urdf_path()
    config_path = Path(config_path) if config_path else urdf_path.with_name(CONFIG_NAME)
    if not urdf_path.is_file():
        raise CellDescriptionError(f'URDF not found: {urdf_path}')
    if not config_path.is_file():
        raise CellDescriptionError(f'cell config not found: {config_path}')
    cfg: dict[str, Any] = yaml.safe_load(config_path.read_text()) or {}
    robot = yourdfpy.URDF.load(str(urdf_path), load_meshes=False, build_scene_graph=True)

    def tf(frame: str, base: str = PLANNING_FRAME) -> np.ndarray:
        if frame not in robot.link_map:
            raise CellDescriptionError(f"frame '{frame}' not in {urdf_path.name}")
        return np.asarray(robot.get_transform(frame, base), dtype=float)  # at the zero configuration

    try:
        return CellDescription(
            planning_frame=PLANNING_FRAME,
            urdf_path=urdf_path,
            joints=_joints(robot, cfg['joints']),
            camera=_camera(cfg['camera'], tf),
            gripper=_gripper(robot, cfg['gripper'], tf),
            pick_area=_pick_area(cfg['pick_area'], tf),
            place_station=_place_station(cfg['place_station'], tf),
        )
    except KeyError as exc:
        raise CellDescriptionError(f'{config_path.name} is missing key {exc}') from exc


def _ro(a: np.ndarray) -> np.ndarray:
    """Read-only copy, so a shared description cannot be modified by one caller."""
    a = np.array(a, dtype=float)
    a[np.abs(a) < 1e-12] = 0.0  # tidy float noise from chained rotations
    a.flags.writeable = False
    return a


@functools.cache
def default_cell() -> CellDescription:
    """The shipped cell, loaded once per process."""
    return load_cell_description()


def _joints(robot: Any, cfg: dict[str, Any]) -> tuple[JointLimits, ...]:
    names = list(robot.actuated_joint_names)
    acc = list(cfg['acceleration'])
    if len(acc) != len(names):
        raise CellDescriptionError(f'joints.acceleration has {len(acc)} values for {len(names)} joints')
    out = []
    for name, a in zip(names, acc, strict=True):
        lim = robot.joint_map[name].limit
        out.append(JointLimits(name, float(lim.lower), float(lim.upper), float(lim.velocity), float(a),
                               float(lim.effort)))
    return tuple(out)


def _camera(cfg: dict[str, Any], tf: Any) -> CameraDescription:
    intr = CameraIntrinsics(int(cfg['width']), int(cfg['height']), float(cfg['fx']), float(cfg['fy']),
                            float(cfg['cx']), float(cfg['cy']))
    return CameraDescription(cfg['frame_id'], intr, _ro(tf(cfg['frame_id'])), float(cfg['depth_min']),
                             float(cfg['depth_max']))


def _gripper(robot: Any, cfg: dict[str, Any], tf: Any) -> GripperDescription:
    tcp = cfg['tcp_frame']
    prefix = cfg['cup_prefix']
    names = sorted((n for n in robot.link_map if n.startswith(prefix)), key=lambda n: int(n[len(prefix):]))
    if not names:
        raise CellDescriptionError(f"no cup links named '{prefix}*' in the URDF")
    tf_base_tcp = tf(tcp)
    tf_tcp_base = np.linalg.inv(tf_base_tcp)
    positions = np.array([(tf_tcp_base @ tf(n))[:3, 3] for n in names])
    radius = _cup_radius(robot.link_map[names[0]])
    tf_flange_tcp = np.linalg.inv(tf(cfg['flange_frame'])) @ tf_base_tcp
    return GripperDescription(cfg['flange_frame'], tcp, tuple(names), _ro(positions), radius,
                              float(cfg['rated_force_per_cup']), float(cfg['rated_vacuum']), _ro(tf_flange_tcp))


def _cup_radius(link: Any) -> float:
    for col in link.collisions:
        if col.geometry.cylinder is not None:
            return float(col.geometry.cylinder.radius)
    raise CellDescriptionError(f"cup link '{link.name}' has no cylinder collision (lip)")


def _pick_area(cfg: dict[str, Any], tf: Any) -> PickArea:
    flow = np.asarray(cfg['flow_direction'], dtype=float)
    return PickArea(float(tf(cfg['frame'])[2, 3]), tuple(map(float, cfg['x'])), tuple(map(float, cfg['y'])),
                    _ro(flow / np.linalg.norm(flow)), tuple(map(float, cfg.get('belt_x', cfg['x']))),
                    tuple(map(float, cfg.get('belt_y', cfg['y']))), float(cfg.get('pile_map_margin', 0.2)),
                    float(cfg.get('rail_height', 0.08)))


def _place_station(cfg: dict[str, Any], tf: Any) -> PlaceStation:
    tray = tf(cfg['frame']).copy()
    tray[:3, 3] += tray[:3, 2] * float(cfg['tray_height'])
    return PlaceStation(_ro(tray), tuple(map(float, cfg['tray_size'])))
