"""A MuJoCo model of the arm and the cell for planning (kinematics + collision), built from the URDF.

The URDF (``urdf/robin_cell.urdf``) holds the arm, the tool and the static fixtures (pedestal,
conveyor, place station, camera). On top of it this module adds what the planner needs and the URDF
cannot say: a floor and keep-out boxes, a height field for the pile, a slot for the carried package
and a few movable obstacle boxes — all updated in place per plan, never recompiled.

Collision groups (MuJoCo ``contype``/``conaffinity`` bits): robot geoms collide with the environment
and with each other; the environment never with itself; the carried package with the environment
only. Environment geoms carry the clearance as ``margin``, so any contact means "closer than the
clearance".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from robin_grasp.motion.interface import Box, FloatArray

_ROBOT_TYPE, _ROBOT_AFFINITY = 2, 3
_ENV_TYPE, _ENV_AFFINITY = 1, 2
_PAYLOAD_TYPE, _PAYLOAD_AFFINITY = 4, 1
PILE_GEOM = 'motion_pile'
PAYLOAD_GEOM = 'motion_payload'


@dataclass(frozen=True)
class PileField:
    """Extent of the pile height field in base_link.

    Attributes:
        center_xy: Centre of the field [m].
        half_size_xy: Half extents along x and y [m].
        base_z: Height of the belt surface (elevation 0) [m].
        max_height: Highest representable pile top above ``base_z`` [m].
        resolution: Cell size [m].
    """

    center_xy: tuple[float, float]
    half_size_xy: tuple[float, float]
    base_z: float
    max_height: float = 0.6
    resolution: float = 0.01

    @property
    def shape(self) -> tuple[int, int]:
        """(rows along y, cols along x) of the field grid."""
        return (
            round(2 * self.half_size_xy[1] / self.resolution) + 1,
            round(2 * self.half_size_xy[0] / self.resolution) + 1,
        )


@dataclass(frozen=True)
class ArmLimits:
    """Per-joint limits in joint order: position [rad], velocity [rad/s], acceleration [rad/s²]."""

    lower: FloatArray
    upper: FloatArray
    velocity: FloatArray
    acceleration: FloatArray


class PlanningModel:
    """The compiled MuJoCo planning model plus the bookkeeping to update it per plan.

    Args:
        urdf_path: URDF with the arm, tool and fixtures.
        joint_names: The arm joints, in planning order.
        tcp_frame: URDF link of the tool centre point (a body here).
        static_boxes: Extra fixed obstacles (floor, walls, keep-outs).
        pile: Height-field extent for the pile, or None for no pile model.
        clearance: Minimum distance between the robot and the environment [m].
        dynamic_box_slots: How many per-plan obstacle boxes :meth:`set_boxes` can place.
        acceleration_limits: [rad/s²] per joint (URDF has none).
        velocity_limits: [rad/s] per joint; None = from the URDF.
    """

    def __init__(
        self,
        urdf_path: str | Path,
        joint_names: Sequence[str],
        *,
        tcp_frame: str = 'tcp',
        static_boxes: Sequence[Box] = (),
        pile: PileField | None = None,
        clearance: float = 0.01,
        dynamic_box_slots: int = 4,
        acceleration_limits: Sequence[float],
        velocity_limits: Sequence[float] | None = None,
    ) -> None:
        path = Path(urdf_path)
        if not path.is_file():
            raise FileNotFoundError(f'URDF not found: {path}')
        spec = mujoco.MjSpec.from_file(str(path))
        spec.compiler.fusestatic = False  # keep tcp, cups and fixtures as named bodies
        spec.compiler.discardvisual = True
        self.joint_names = tuple(joint_names)
        self.tcp_frame = tcp_frame
        self.pile = pile
        self.clearance = float(clearance)
        self._add_planning_geoms(spec, static_boxes, pile, dynamic_box_slots)
        self.model = spec.compile()
        # Per-plan geoms are moved/resized in place; the bounding-volume trees of the midphase were
        # built at compile time and would go stale, so collide geom pairs by their (updated) bounds.
        self.model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_MIDPHASE
        self.data = mujoco.MjData(self.model)
        m = self.model
        missing = [n for n in self.joint_names if mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n) < 0]
        if missing:
            raise ValueError(f'joints not in the URDF: {", ".join(missing)}')
        self.joint_ids = np.array([mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, n) for n in self.joint_names])
        self.qpos_index = m.jnt_qposadr[self.joint_ids]
        self.tcp_body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, tcp_frame)
        if self.tcp_body < 0:
            raise ValueError(f"tcp frame '{tcp_frame}' not in the URDF")
        self.joint_bodies = m.jnt_bodyid[self.joint_ids]
        robot = self._robot_bodies()
        self.robot_bodies = robot
        self._classify_geoms(robot)
        self.pile_geom = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, PILE_GEOM)
        self.payload_geom = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, PAYLOAD_GEOM)
        self.box_geoms = [
            mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, f'motion_box_{k}') for k in range(dynamic_box_slots)
        ]
        vel = (
            np.asarray(velocity_limits, dtype=float)
            if velocity_limits is not None
            else np.array([self._urdf_velocity(path, n) for n in self.joint_names])
        )
        self.limits = ArmLimits(
            lower=m.jnt_range[self.joint_ids, 0].copy(),
            upper=m.jnt_range[self.joint_ids, 1].copy(),
            velocity=vel,
            acceleration=np.asarray(acceleration_limits, dtype=float),
        )
        if self.limits.acceleration.shape != (len(self.joint_names),):
            raise ValueError('acceleration_limits needs one value per joint')
        self.clear_pile()
        self.set_payload(None)
        self.set_boxes(())

    # ---- construction -------------------------------------------------------------------------

    def _add_planning_geoms(
        self, spec: mujoco.MjSpec, boxes: Sequence[Box], pile: PileField | None, slots: int
    ) -> None:
        world = spec.worldbody
        for k, box in enumerate(boxes):
            g = world.add_geom(name=f'motion_static_{k}', type=mujoco.mjtGeom.mjGEOM_BOX)
            g.size = np.asarray(box.size, dtype=float) / 2
            g.pos = box.pose[:3, 3]
            g.quat = _quat_wxyz(box.pose[:3, :3])
        for k in range(slots):
            g = world.add_geom(name=f'motion_box_{k}', type=mujoco.mjtGeom.mjGEOM_BOX)
            g.size = [0.01, 0.01, 0.01]
            g.pos = [0.0, 0.0, -100.0 - k]
        if pile is not None:
            rows, cols = pile.shape
            hf = spec.add_hfield(name='motion_pile_field')
            hf.nrow, hf.ncol = rows, cols
            hf.size = [pile.half_size_xy[0], pile.half_size_xy[1], pile.max_height, 0.01]
            hf.userdata = [0.0] * (rows * cols)
            g = world.add_geom(name=PILE_GEOM, type=mujoco.mjtGeom.mjGEOM_HFIELD, hfieldname='motion_pile_field')
            g.pos = [pile.center_xy[0], pile.center_xy[1], pile.base_z]
        tcp = spec.body(self.tcp_frame)
        if tcp is None:
            raise ValueError(f"tcp frame '{self.tcp_frame}' not in the URDF")
        g = tcp.add_geom(name=PAYLOAD_GEOM, type=mujoco.mjtGeom.mjGEOM_BOX)
        g.size = [0.01, 0.01, 0.01]
        g.mass = 0.0
        g.density = 0.0

    def _robot_bodies(self) -> set[int]:
        """Bodies that move with the arm: the subtree below the first arm joint."""
        m = self.model
        first = int(self.joint_bodies[0])
        moving = set()
        for b in range(m.nbody):
            a = b
            while a > 0 and a != first:
                a = int(m.body_parentid[a])
            if a == first:
                moving.add(b)
        return moving

    def _classify_geoms(self, robot: set[int]) -> None:
        m = self.model
        payload = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, PAYLOAD_GEOM)
        for g in range(m.ngeom):
            if g == payload:
                m.geom_contype[g], m.geom_conaffinity[g] = _PAYLOAD_TYPE, _PAYLOAD_AFFINITY
                m.geom_margin[g] = 0.0
            elif int(m.geom_bodyid[g]) in robot:
                m.geom_contype[g], m.geom_conaffinity[g] = _ROBOT_TYPE, _ROBOT_AFFINITY
                m.geom_margin[g] = 0.0
            else:
                m.geom_contype[g], m.geom_conaffinity[g] = _ENV_TYPE, _ENV_AFFINITY
                m.geom_margin[g] = self.clearance
        for b in range(m.nbody):  # body-level prefilter must agree with the new geom bits
            geoms = range(m.body_geomadr[b], m.body_geomadr[b] + m.body_geomnum[b])
            m.body_contype[b] = int(np.bitwise_or.reduce([int(m.geom_contype[g]) for g in geoms] or [0]))
            m.body_conaffinity[b] = int(np.bitwise_or.reduce([int(m.geom_conaffinity[g]) for g in geoms] or [0]))
        self.robot_geoms = np.array([g for g in range(m.ngeom) if int(m.geom_bodyid[g]) in robot])
        # The cups (bodies below the tcp frame) touch the package, and for a 5 mm envelope the
        # belt under it, by design: for them only penetration is a collision, not the clearance.
        below_tcp = {b for b in robot if b != self.tcp_body and self._has_ancestor(b, self.tcp_body)}
        self.contact_geoms = frozenset(g for g in range(m.ngeom) if int(m.geom_bodyid[g]) in below_tcp)
        # Self-collision filter: geoms of bodies welded together (the tool: flange, plate, cups)
        # always touch; exclude every pair of bodies with no joint between them.
        self._rigid_group = {b: self._rigid_root(b) for b in robot}

    def _has_ancestor(self, body: int, ancestor: int) -> bool:
        while body > 0:
            if body == ancestor:
                return True
            body = int(self.model.body_parentid[body])
        return False

    def _rigid_root(self, body: int) -> int:
        m = self.model
        while m.body_jntnum[body] == 0 and m.body_parentid[body] > 0:
            body = int(m.body_parentid[body])
        return body

    @staticmethod
    def _urdf_velocity(path: Path, joint: str) -> float:
        import xml.etree.ElementTree as ET  # noqa: PLC0415 - only at construction

        for j in ET.parse(path).getroot().iter('joint'):
            if j.get('name') == joint and (lim := j.find('limit')) is not None and lim.get('velocity'):
                return float(lim.get('velocity', 'nan'))
        raise ValueError(f'no velocity limit for {joint} in the URDF; set velocity_limits')

    # ---- per-plan updates ---------------------------------------------------------------------

    def same_rigid_group(self, body1: int, body2: int) -> bool:
        """True when two robot bodies are welded together (contacts between them are ignored)."""
        r1, r2 = self._rigid_group.get(body1), self._rigid_group.get(body2)
        return r1 is not None and r1 == r2

    def clear_pile(self) -> None:
        """Set the pile height field to the empty belt."""
        if self.pile is not None:
            adr = self.model.hfield_adr[0]
            rows, cols = self.pile.shape
            self.model.hfield_data[adr : adr + rows * cols] = 0.0

    def set_pile(self, heights: FloatArray) -> None:
        """Write pile top heights (rows × cols of :attr:`PileField.shape`, z in base_link) [m]."""
        if self.pile is None:
            return
        rows, cols = self.pile.shape
        if heights.shape != (rows, cols):
            raise ValueError(f'pile grid must be {rows}x{cols}, got {heights.shape}')
        elev = np.nan_to_num((heights - self.pile.base_z) / self.pile.max_height, nan=0.0)
        adr = self.model.hfield_adr[0]
        self.model.hfield_data[adr : adr + rows * cols] = np.clip(elev, 0.0, 1.0).ravel().astype(np.float32)

    def set_payload(self, box: Box | None) -> None:
        """Attach a carried package (a box in the tcp frame), or detach with None."""
        g, m = self.payload_geom, self.model
        if box is None:
            m.geom_contype[g] = m.geom_conaffinity[g] = 0
            return
        half = np.asarray(box.size, dtype=float) / 2
        _place_box_geom(m, g, box.pose, half)
        m.geom_contype[g], m.geom_conaffinity[g] = _PAYLOAD_TYPE, _PAYLOAD_AFFINITY

    def set_boxes(self, boxes: Sequence[Box]) -> None:
        """Place per-plan obstacle boxes (base_link); unused slots are disabled."""
        if len(boxes) > len(self.box_geoms):
            raise ValueError(f'at most {len(self.box_geoms)} scene boxes, got {len(boxes)}')
        m = self.model
        for k, g in enumerate(self.box_geoms):
            if k < len(boxes):
                _place_box_geom(m, g, boxes[k].pose, np.asarray(boxes[k].size, dtype=float) / 2)
                m.geom_contype[g], m.geom_conaffinity[g] = _ENV_TYPE, _ENV_AFFINITY
            else:
                m.geom_contype[g] = m.geom_conaffinity[g] = 0

    # ---- kinematics ---------------------------------------------------------------------------

    def set_joints(self, q: FloatArray) -> None:
        """Set arm joint positions [rad] and update all body/geom poses."""
        self.data.qpos[self.qpos_index] = q
        mujoco.mj_kinematics(self.model, self.data)

    def tcp_pose(self, q: FloatArray | None = None) -> FloatArray:
        """4×4 tcp pose in base_link [m] at ``q`` (or at the last set joints)."""
        if q is not None:
            self.set_joints(q)
        t = np.eye(4)
        t[:3, :3] = self.data.xmat[self.tcp_body].reshape(3, 3)
        t[:3, 3] = self.data.xpos[self.tcp_body]
        return t

    def body_position(self, body: int) -> FloatArray:
        """World position [m] of ``body`` after the last :meth:`set_joints`."""
        return self.data.xpos[body].copy()


def _place_box_geom(m: mujoco.MjModel, g: int, pose: FloatArray, half: FloatArray) -> None:
    m.geom_size[g] = half
    m.geom_pos[g] = pose[:3, 3]
    m.geom_quat[g] = _quat_wxyz(pose[:3, :3])
    m.geom_rbound[g] = float(np.linalg.norm(half))
    m.geom_aabb[g] = np.concatenate([np.zeros(3), half])  # local centre + half extents (broadphase)
    m.geom_sameframe[g] = 0  # compiled as "same frame as the body": kinematics would ignore geom_pos


def _quat_wxyz(rot: FloatArray) -> FloatArray:
    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, np.ascontiguousarray(rot, dtype=float).ravel())
    return q
