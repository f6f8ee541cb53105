"""Raised-via transits (robin_grasp.motion.transit): the candidate chains, and the backend using them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_motion_planning import HOME, carried_box, configured_settings

from robin_core.cell_description import default_cell
from robin_grasp.motion.builtin_factory import build_builtin_backend
from robin_grasp.motion.carry_constraint import level_subspace, tool_tilt
from robin_grasp.motion.interface import Box, JointGoal, PlanFailure, Scene
from robin_grasp.motion.transit import transit_chains


def toy_fk(q: np.ndarray) -> np.ndarray:
    """A 'robot' whose tcp height is its second joint (enough to test the chain logic)."""
    pose = np.eye(4)
    pose[:3, 3] = (q[0], 0.0, q[1])
    return pose


def toy_raise(q: np.ndarray, z: float) -> np.ndarray:
    out = np.array(q, dtype=float)
    out[1] = z
    return out


def test_vias_sit_on_the_direct_path_raised_to_the_higher_end_plus_each_clearance():
    start, goal = np.array([0.0, 0.4]), np.array([1.0, -0.2])  # high start (a lift), low goal (a place)
    chains = list(transit_chains(toy_fk, toy_raise, start, goal, (0.0, 0.1), patterns=((0.25,), (0.25, 0.75))))
    # pattern-major, lowest clearance first; fractions count from the higher end (the start here)
    assert [len(c) for c in chains] == [1, 1, 2, 2]
    assert chains[0][0] == pytest.approx([0.25, 0.4])
    assert chains[1][0] == pytest.approx([0.25, 0.5])
    assert np.allclose(np.stack(chains[3]), [[0.25, 0.5], [0.75, 0.5]])


def test_fractions_are_mirrored_when_the_goal_is_the_higher_end():
    start, goal = np.array([0.0, -0.2]), np.array([1.0, 0.4])  # an approach: low place, high pre-grasp
    chain = next(transit_chains(toy_fk, toy_raise, start, goal, (0.0,), patterns=((0.25,),)))
    assert chain[0] == pytest.approx([0.75, 0.4])  # a quarter of the way from the goal


def test_no_chain_when_nothing_needs_raising_or_a_via_is_out_of_reach():
    start, goal = np.array([0.0, 0.4]), np.array([1.0, 0.4])
    assert list(transit_chains(toy_fk, toy_raise, start, goal, (0.0,), patterns=((0.5,),))) == []
    low = np.array([1.0, -0.2])
    assert list(transit_chains(toy_fk, lambda q, z: None, start, low, (0.0, 0.1))) == []


def low_wall(top: float = 0.2) -> Box:
    """A wall across the belt up to ``top`` (z, base_link) between the tool positions of
    :func:`start_goal`: the tool swings through it on the direct path and clears it when raised."""
    pose = np.eye(4)
    pose[:3, 3] = (0.45, 0.0, (top - 0.05) / 2)
    return Box(pose, (0.5, 0.04, top + 0.05))


def start_goal(backend, z: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Tool pointing down at height ``z`` either side of :func:`low_wall`."""
    ends = [HOME]
    for y in (0.25, -0.25):
        pose = np.diag([1.0, -1.0, -1.0, 1.0])
        pose[:3, 3] = (0.45, y, z)
        q = backend.solve_ik(ends[-1], pose)  # the second near the first: a short swing over the wall
        assert not isinstance(q, PlanFailure), q
        ends.append(q)
    ends.pop(0)
    return ends[0], ends[1]


@pytest.fixture(scope='module')
def backends():
    settings = dataclasses.replace(configured_settings(), unmapped_belt_height=0.0)
    cell = default_cell()
    return (build_builtin_backend(cell, settings),
            build_builtin_backend(cell, dataclasses.replace(settings, transit_clearances=())))


def test_a_low_obstacle_is_cleared_by_a_transit_not_a_search(backends):
    with_transits, search_only = backends
    start, goal = start_goal(with_transits)
    scene = Scene(boxes=(low_wall(),))
    with_transits.checker.apply_scene(scene)
    assert with_transits.checker.is_valid(start) and with_transits.checker.is_valid(goal)
    assert not with_transits.checker.segment_valid(start, goal)  # the direct swing hits the wall
    traj = with_transits.plan(start, JointGoal(goal), scene, timeout_s=5.0)
    assert not isinstance(traj, PlanFailure), traj
    assert with_transits.stats.planner == 'via'
    assert with_transits.checker.path_valid(traj.positions)
    z_ends = max(with_transits.forward_kinematics(q)[2, 3] for q in (start, goal))
    assert max(with_transits.forward_kinematics(q)[2, 3] for q in traj.positions) >= z_ends
    # without transits the same move needs the sampling planner
    traj = search_only.plan(start, JointGoal(goal), scene, timeout_s=5.0)
    assert not isinstance(traj, PlanFailure), traj
    assert search_only.stats.planner == 'rrtconnect'


def test_a_carried_package_transits_level(backends):
    be = backends[0]
    start, goal = start_goal(be, z=0.22)  # the 15 cm box hangs below the tool
    scene = Scene(boxes=(low_wall(top=0.3),), attached=carried_box())
    be.checker.apply_scene(scene)
    assert not be.checker.segment_valid(start, goal)
    traj = be.plan(start, JointGoal(goal), scene, timeout_s=5.0)
    assert not isinstance(traj, PlanFailure), traj
    assert be.stats.planner == 'via' and be.stats.carry_level
    sub = level_subspace(be.forward_kinematics, start, goal)
    assert sub is not None
    # every timed state lies in the level subspace: the tilt of the ends (straight down) holds
    assert np.allclose(sub.coordinates(traj.positions) @ sub.basis.T + sub.base, traj.positions, atol=1e-6)
    assert max(tool_tilt(be.forward_kinematics(q)) for q in traj.positions) < np.radians(1.0)
