"""IK and collision checks of the built-in motion backend on the shipped cell URDF."""

from __future__ import annotations

import numpy as np
import pytest

from robin_core.cell_description import default_cell
from robin_grasp.motion.builtin_factory import BuiltinSettings, build_builtin_backend
from robin_grasp.motion.ik import posture_flags
from robin_grasp.motion.interface import Box, FailureReason, HeightMap, PlanFailure, PoseGoal, Scene

HOME = np.array([0.0, -np.pi / 2, np.pi / 2, -np.pi / 2, -np.pi / 2, 0.0])


@pytest.fixture(scope='module')
def backend():
    return build_builtin_backend(default_cell(), BuiltinSettings(acceleration_limits=(10, 10, 10, 15, 15, 15)))


def down_pose(x: float, y: float, z: float, yaw: float = 0.0) -> np.ndarray:
    """tcp pointing down (z = -world z) at (x, y, z), turned by ``yaw`` about world z."""
    c, s = np.cos(yaw), np.sin(yaw)
    t = np.eye(4)
    t[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag([1.0, -1.0, -1.0])
    t[:3, 3] = (x, y, z)
    return t


def test_fk_ik_fk_round_trip_within_1mm(backend):
    rng = np.random.default_rng(3)
    solved = 0
    for _ in range(20):
        q = HOME + rng.uniform(-0.6, 0.6, 6)
        target = backend.forward_kinematics(q)
        sol = backend.ik.solve_from(target, HOME)  # from a different seed than q itself
        if sol is None:
            sol = backend.ik.solve_from(target, q + rng.uniform(-0.2, 0.2, 6))
        assert sol is not None
        reached = backend.forward_kinematics(sol.q)
        assert np.linalg.norm(reached[:3, 3] - target[:3, 3]) < 1e-3
        angle = np.arccos(np.clip((np.trace(reached[:3, :3].T @ target[:3, :3]) - 1) / 2, -1, 1))
        assert angle < 2e-3
        solved += 1
    assert solved == 20


def test_ik_prefers_elbow_up_wrist_down_over_the_belt(backend):
    q = backend.solve_ik(HOME, down_pose(0.5, 0.1, 0.1))
    assert not isinstance(q, PlanFailure)
    assert posture_flags(backend.model, q) == (True, True)
    assert np.linalg.norm(backend.forward_kinematics(q)[:3, 3] - [0.5, 0.1, 0.1]) < 1e-3


def test_goal_inside_the_conveyor_is_rejected(backend):
    inside_belt = down_pose(0.5, 0.0, -0.15)  # 10 cm below the belt surface
    result = backend.plan(HOME, PoseGoal(inside_belt), Scene())
    assert isinstance(result, PlanFailure)
    assert result.reason is FailureReason.GOAL_IN_COLLISION


def test_goal_out_of_reach_is_a_typed_failure(backend):
    result = backend.plan(HOME, PoseGoal(down_pose(2.0, 0.0, 0.3)), Scene())
    assert isinstance(result, PlanFailure)
    assert result.reason in (FailureReason.UNREACHABLE, FailureReason.IK_FAILED)


def test_pile_height_map_blocks_a_pose_that_is_free_on_an_empty_belt(backend):
    goal = down_pose(0.5, 0.0, 0.05)
    free = backend.plan(HOME, PoseGoal(goal), Scene())
    assert not isinstance(free, PlanFailure)
    pile = HeightMap((0.3, -0.3), 0.01, np.full((61, 41), 0.15))  # a 20 cm high pile under the tool
    blocked = backend.plan(HOME, PoseGoal(goal), Scene(height_map=pile))
    assert isinstance(blocked, PlanFailure)
    assert blocked.reason is FailureReason.GOAL_IN_COLLISION
    # the target's own surface is carved out: a grasp on the pile top is allowed
    on_top = backend.plan(HOME, PoseGoal(down_pose(0.5, 0.0, 0.15)),
                          Scene(height_map=pile, pile_clear_xy=(0.5, 0.0, 0.14, 0.13)))
    assert not isinstance(on_top, PlanFailure)


def test_attached_package_collides_with_an_obstacle_the_empty_tool_clears(backend):
    q = backend.solve_ik(HOME, down_pose(-0.5, 0.0, -0.10))
    assert not isinstance(q, PlanFailure)
    table = np.eye(4)
    table[:3, 3] = (-0.5, 0.0, -0.25)  # top at -0.20: 10 cm under the tcp
    scene_empty = Scene(boxes=(Box(table, (0.4, 0.4, 0.1)),))
    backend.checker.apply_scene(scene_empty)
    assert backend.checker.is_valid(q)
    carry = np.eye(4)
    carry[2, 3] = 0.075
    backend.checker.apply_scene(Scene(boxes=scene_empty.boxes, attached=Box(carry, (0.2, 0.2, 0.15))))
    assert not backend.checker.is_valid(q)
    backend.checker.apply_scene(Scene())
