"""The small motion-backend interface: goals, scene, time-parametrized trajectories, typed failures.

Every backend (built-in MuJoCo/OMPL/toppra, MoveIt) answers one question: *from these joint
positions, move to this goal in this scene* — with a trajectory or a :class:`PlanFailure` naming
the reason. Frames: all poses are 4×4 homogeneous transforms of the ``tcp`` frame in the planning
frame ``base_link`` [m]; the tcp z axis points out of the tool (the approach direction).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class FailureReason(enum.StrEnum):
    """Why a plan could not be made (stable strings: they go into pick records and JSON replies)."""

    IK_FAILED = 'ik_failed'  # no joint solution reaches the pose (within limits)
    GOAL_IN_COLLISION = 'goal_in_collision'  # every IK solution / the joint goal collides
    START_IN_COLLISION = 'start_in_collision'
    PLANNING_TIMEOUT = 'planning_timeout'  # the sampling planner ran out of time
    UNREACHABLE = 'unreachable'  # outside the workspace, or no valid straight-line path
    INVALID_REQUEST = 'invalid_request'
    BACKEND_ERROR = 'backend_error'


@dataclass(frozen=True)
class PlanFailure:
    """A typed planning failure.

    Attributes:
        reason: What went wrong, one of :class:`FailureReason`.
        detail: One human-readable sentence.
        segment: Name of the pick-sequence segment that failed ('' for a single move).
    """

    reason: FailureReason
    detail: str = ''
    segment: str = ''

    def __bool__(self) -> bool:  # a failure is falsy, so ``if result:`` reads naturally
        return False


@dataclass(frozen=True)
class JointTrajectory:
    """A time-parametrized joint trajectory sampled at increasing times.

    Attributes:
        joint_names: Joint order of the columns.
        times: (N,) time from start [s], ``times[0] == 0``.
        positions: (N, dof) [rad].
        velocities: (N, dof) [rad/s].
        accelerations: (N, dof) [rad/s²].
    """

    joint_names: tuple[str, ...]
    times: FloatArray
    positions: FloatArray
    velocities: FloatArray
    accelerations: FloatArray

    @property
    def duration(self) -> float:
        """Total duration [s]."""
        return float(self.times[-1])

    @property
    def start(self) -> FloatArray:
        return self.positions[0]

    @property
    def end(self) -> FloatArray:
        return self.positions[-1]

    def sample(self, t: float) -> FloatArray:
        """Joint positions [rad] at time ``t`` [s] (linear between samples, clamped at the ends)."""
        return np.array([np.interp(t, self.times, self.positions[:, j]) for j in range(self.positions.shape[1])])


@dataclass(frozen=True)
class PoseGoal:
    """Move the tcp to ``pose`` (4×4 in base_link); ``linear`` = straight-line tcp motion."""

    pose: FloatArray
    linear: bool = False


@dataclass(frozen=True)
class JointGoal:
    """Move to joint ``positions`` [rad] (backend joint order)."""

    positions: FloatArray


Goal = PoseGoal | JointGoal


@dataclass(frozen=True)
class HeightMap:
    """A 2.5-D height map of the pile in base_link.

    Attributes:
        origin_xy: (x, y) of the centre of cell [0, 0] [m].
        resolution: Cell size [m].
        heights: (rows, cols) top surface z [m]; row index along +y, column index along +x;
            NaN = unknown (treated as empty).
    """

    origin_xy: tuple[float, float]
    resolution: float
    heights: FloatArray


@dataclass(frozen=True)
class Box:
    """An oriented box: ``pose`` (4×4) of its centre, full ``size`` (x, y, z) [m]."""

    pose: FloatArray
    size: tuple[float, float, float]


@dataclass(frozen=True)
class Scene:
    """What changes between plans on top of the fixed cell.

    Attributes:
        height_map: The pile; None keeps an empty belt.
        boxes: Extra obstacles (e.g. the drive robot at the place station).
        attached: Carried package as a box in the *tcp* frame; None when the tool is empty.
        pile_clear_xy: (x, y, radius, z) [m]: pile cells within ``radius`` of (x, y) are lowered to
            ``z`` — the target package itself, which the cups must touch.
        pile_clear_slope: (dz/dx, dz/dy) of the target's top: the lowered disc follows that plane
            through (x, y, z), so a tilted tool's low cups stay above it (None: level).
    """

    height_map: HeightMap | None = None
    boxes: Sequence[Box] = field(default_factory=tuple)
    attached: Box | None = None
    pile_clear_xy: tuple[float, float, float, float] | None = None
    pile_clear_slope: tuple[float, float] | None = None

    def cleared_height(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Height [m] the pile is lowered to at (x, y) inside the cleared disc."""
        assert self.pile_clear_xy is not None
        cx, cy, _, z = self.pile_clear_xy
        sx, sy = self.pile_clear_slope or (0.0, 0.0)
        return z + sx * (np.asarray(x) - cx) + sy * (np.asarray(y) - cy)


PlanResult = JointTrajectory | PlanFailure


@runtime_checkable
class MotionBackend(Protocol):
    """Plans one collision-free, time-parametrized move.

    Implementations must be safe to call from one worker thread at a time and never raise for a
    planning problem (they return :class:`PlanFailure`).
    """

    name: str
    joint_names: tuple[str, ...]

    def plan(self, start: FloatArray, goal: Goal, scene: Scene, timeout_s: float = 1.0) -> PlanResult:
        """Plan from joint positions ``start`` [rad] to ``goal`` within ``timeout_s`` [s]."""
        ...

    def forward_kinematics(self, q: FloatArray) -> FloatArray:
        """Pose (4×4, base_link) of the tcp at joint positions ``q`` [rad]."""
        ...


def pose_matrix(position: Sequence[float], quat_xyzw: Sequence[float]) -> FloatArray:
    """4×4 transform from a position [m] and a unit quaternion (x, y, z, w), as in ROS messages."""
    x, y, z, w = (float(v) for v in quat_xyzw)
    n = np.sqrt(x * x + y * y + z * z + w * w)
    if n < 1e-9:
        raise ValueError('zero quaternion')
    x, y, z, w = x / n, y / n, z / n, w / n
    t = np.eye(4)
    t[:3, :3] = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    t[:3, 3] = np.asarray(position, dtype=float)
    return t


def matrix_to_quat_xyzw(rot: FloatArray) -> tuple[float, float, float, float]:
    """Unit quaternion (x, y, z, w) of a 3×3 rotation matrix."""
    from scipy.spatial.transform import Rotation  # noqa: PLC0415 - keeps import time of the module low

    x, y, z, w = Rotation.from_matrix(rot).as_quat()
    return float(x), float(y), float(z), float(w)
