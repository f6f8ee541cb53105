"""A MoveIt 2 backend through ``moveit_py`` (``moveit.planning.MoveItPy``), behind the same interface.

MoveIt is not installable from PyPI, so this module imports ``moveit`` only when constructed and is
exercised on a ROS 2 install with MoveIt (``ros-<distro>-moveit-py``) and a MoveIt config for the
cell (SRDF with the ``arm`` group; OMPL and Pilz pipelines). Free moves use the default pipeline
(OMPL), straight-line moves Pilz ``LIN``; MoveIt time-parametrizes the result (its own
velocity/acceleration limits from ``joint_limits.yaml``).

Scene mapping: the pile height map becomes boxes (one per occupied coarse cell), scene boxes are
collision objects, the carried package is an attached collision object on the tcp link.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robin_grasp.motion.interface import (
    FailureReason,
    FloatArray,
    Goal,
    JointGoal,
    JointTrajectory,
    PlanFailure,
    PlanResult,
    PoseGoal,
    Scene,
    matrix_to_quat_xyzw,
    pose_matrix,
)

_SCENE_PREFIX = 'robin_motion_'


def moveit_available() -> bool:
    """True when ``moveit.planning`` can be imported (a ROS 2 install with moveit_py)."""
    try:
        import moveit.planning  # noqa: F401, PLC0415

        return True
    except ImportError:
        return False


class MoveItBackend:
    """Plans with MoveItPy.

    Args:
        joint_names: Arm joints in planning order (must match the SRDF group).
        group: SRDF planning group.
        tcp_link: Link whose pose goals refer to (the URDF ``tcp``).
        planning_frame: Frame of pose goals.
        config: MoveItPy ``config_dict`` (moveit_configs_utils ``MoveItConfigsBuilder().to_dict()``).
        node_name: Name of MoveItPy's internal node.
        pile_cell: Side of the boxes that stand in for the height map [m].
    """

    name = 'moveit'

    def __init__(
        self,
        joint_names: tuple[str, ...],
        *,
        group: str = 'arm',
        tcp_link: str = 'tcp',
        planning_frame: str = 'base_link',
        config: Mapping[str, Any] | None = None,
        node_name: str = 'robin_moveit_py',
        pile_cell: float = 0.05,
    ) -> None:
        from moveit.planning import MoveItPy  # noqa: PLC0415 - optional dependency, lazy on purpose

        self.joint_names = tuple(joint_names)
        self.group = group
        self.tcp_link = tcp_link
        self.frame = planning_frame
        self.pile_cell = pile_cell
        self._robot = MoveItPy(node_name=node_name, config_dict=dict(config) if config else None)
        self._arm = self._robot.get_planning_component(group)
        self._model = self._robot.get_robot_model()

    def _state(self, q: FloatArray) -> Any:
        from moveit.core.robot_state import RobotState  # noqa: PLC0415

        state = RobotState(self._model)
        state.set_joint_group_positions(self.group, np.asarray(q, dtype=float))
        state.update()
        return state

    def forward_kinematics(self, q: FloatArray) -> FloatArray:
        """tcp pose (4×4, planning frame) at ``q`` [rad]."""
        p = self._state(q).get_pose(self.tcp_link)
        return pose_matrix((p.position.x, p.position.y, p.position.z),
                           (p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w))

    def plan(self, start: FloatArray, goal: Goal, scene: Scene, timeout_s: float = 1.0) -> PlanResult:
        """Plan with MoveIt; failures map onto :class:`FailureReason`."""
        from moveit.planning import PlanRequestParameters  # noqa: PLC0415

        try:
            self._apply_scene(scene)
            self._arm.set_start_state(robot_state=self._state(start))
            if isinstance(goal, JointGoal):
                self._arm.set_goal_state(robot_state=self._state(goal.positions))
            else:
                self._arm.set_goal_state(pose_stamped_msg=self._pose_msg(goal.pose), pose_link=self.tcp_link)
            params = PlanRequestParameters(self._robot)
            params.planning_time = float(timeout_s)
            if isinstance(goal, PoseGoal) and goal.linear:
                params.planning_pipeline = 'pilz_industrial_motion_planner'
                params.planner_id = 'LIN'
            result = self._arm.plan(single_plan_parameters=params)
        except Exception as exc:  # noqa: BLE001 - MoveIt raises RuntimeError subclasses from C++
            return PlanFailure(FailureReason.BACKEND_ERROR, f'moveit: {exc}')
        if not result:
            return PlanFailure(_reason(getattr(result, 'error_code', None)), 'moveit: planning failed')
        return self._to_trajectory(result.trajectory.get_robot_trajectory_msg().joint_trajectory)

    def _pose_msg(self, pose: FloatArray) -> Any:
        from geometry_msgs.msg import PoseStamped  # noqa: PLC0415

        msg = PoseStamped()
        msg.header.frame_id = self.frame
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in pose[:3, 3])
        o = msg.pose.orientation
        o.x, o.y, o.z, o.w = matrix_to_quat_xyzw(pose[:3, :3])
        return msg

    def _apply_scene(self, scene: Scene) -> None:
        from moveit_msgs.msg import AttachedCollisionObject, CollisionObject  # noqa: PLC0415
        from shape_msgs.msg import SolidPrimitive  # noqa: PLC0415

        objects = [(f'{_SCENE_PREFIX}box_{k}', b.pose, b.size) for k, b in enumerate(scene.boxes)]
        objects += self._pile_boxes(scene)
        with self._robot.get_planning_scene_monitor().read_write() as ps:
            ps.remove_all_collision_objects()
            for name, pose, size in objects:
                co = CollisionObject(id=name, operation=CollisionObject.ADD)
                co.header.frame_id = self.frame
                co.primitives = [SolidPrimitive(type=SolidPrimitive.BOX, dimensions=[float(s) for s in size])]
                co.primitive_poses = [self._pose_msg(pose).pose]
                ps.apply_collision_object(co)
            if scene.attached is not None:
                co = CollisionObject(id=f'{_SCENE_PREFIX}payload', operation=CollisionObject.ADD)
                co.header.frame_id = self.tcp_link
                co.primitives = [SolidPrimitive(type=SolidPrimitive.BOX,
                                                dimensions=[float(s) for s in scene.attached.size])]
                co.primitive_poses = [self._pose_msg(scene.attached.pose).pose]
                aco = AttachedCollisionObject(link_name=self.tcp_link, object=co)
                ps.process_attached_collision_object(aco)

    def _pile_boxes(self, scene: Scene) -> list[tuple[str, FloatArray, tuple[float, float, float]]]:
        """Coarse boxes from the height map (max height per ``pile_cell`` block), belt to top."""
        hm = scene.height_map
        if hm is None:
            return []
        k = max(1, round(self.pile_cell / hm.resolution))
        h = np.nan_to_num(hm.heights, nan=-np.inf)
        rows, cols = h.shape
        out = []
        floor = float(np.nanmin(hm.heights)) if np.isfinite(hm.heights).any() else 0.0
        for r in range(0, rows, k):
            for c in range(0, cols, k):
                top = float(h[r : r + k, c : c + k].max())
                if not np.isfinite(top) or top - floor < 0.01:
                    continue
                cx = hm.origin_xy[0] + (c + (min(k, cols - c) - 1) / 2) * hm.resolution
                cy = hm.origin_xy[1] + (r + (min(k, rows - r) - 1) / 2) * hm.resolution
                if scene.pile_clear_xy is not None:
                    x0, y0, radius, _ = scene.pile_clear_xy
                    if (cx - x0) ** 2 + (cy - y0) ** 2 <= radius**2:
                        top = min(top, float(scene.cleared_height(cx, cy)))
                pose = np.eye(4)
                pose[:3, 3] = (cx, cy, (top + floor) / 2)
                out.append((f'{_SCENE_PREFIX}pile_{r}_{c}', pose, (k * hm.resolution, k * hm.resolution,
                                                                  max(top - floor, 1e-3))))
        return out

    def _to_trajectory(self, msg: Any) -> JointTrajectory | PlanFailure:
        names = tuple(msg.joint_names)
        try:
            order = [names.index(n) for n in self.joint_names]
        except ValueError:
            return PlanFailure(FailureReason.BACKEND_ERROR, f'moveit trajectory joints {names}')
        t = np.array([p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in msg.points])

        def column(attr: str) -> FloatArray:
            rows = [list(getattr(p, attr)) or [0.0] * len(names) for p in msg.points]
            return np.asarray(rows, dtype=float)[:, order]

        return JointTrajectory(self.joint_names, t, column('positions'), column('velocities'),
                               column('accelerations'))


def _reason(code: Any) -> FailureReason:
    """Map a moveit_msgs/MoveItErrorCodes value onto a failure reason."""
    val = getattr(code, 'val', code)
    return {
        -31: FailureReason.IK_FAILED,  # NO_IK_SOLUTION
        -12: FailureReason.GOAL_IN_COLLISION,  # GOAL_IN_COLLISION
        -10: FailureReason.START_IN_COLLISION,  # START_STATE_IN_COLLISION
        -6: FailureReason.PLANNING_TIMEOUT,  # TIMED_OUT
    }.get(val, FailureReason.UNREACHABLE)
