"""The level subspace of a carried package (robin_grasp.motion.carry_constraint) on the UR5e model."""

from __future__ import annotations

import numpy as np
import pytest

from robin_core.cell_description import default_cell
from robin_grasp.motion.builtin_factory import build_builtin_backend
from robin_grasp.motion.carry_constraint import level_subspace, tool_tilt

HOME = np.array([0.0, -np.pi / 2, np.pi / 2, -np.pi / 2, -np.pi / 2, 0.0])  # tool straight down


@pytest.fixture(scope='module')
def fk():
    return build_builtin_backend(default_cell()).forward_kinematics


def test_tool_tilt_is_the_angle_from_straight_down(fk):
    assert tool_tilt(fk(HOME)) == pytest.approx(0.0, abs=1e-6)
    q = HOME.copy()
    q[4] += 0.3  # wrist 2 turns the tool axis off vertical by as much
    assert tool_tilt(fk(q)) == pytest.approx(0.3, abs=1e-4)


def test_every_state_of_the_subspace_keeps_the_tilt_of_its_ends(fk):
    goal = HOME + np.array([2.5, 0.4, -0.7, 0.3, 0.0, 1.2])  # q2 + q3 + q4 and q5 unchanged
    sub = level_subspace(fk, HOME, goal)
    assert sub is not None and sub.dim == 4
    assert np.allclose(sub.lift(sub.goal_u), goal) and np.allclose(sub.lift(sub.start_u), HOME)
    rng = np.random.default_rng(1)
    for u in rng.uniform(-2.0, 2.0, (20, 4)):
        assert tool_tilt(fk(sub.lift(u))) == pytest.approx(0.0, abs=1e-6)
    tilted = HOME.copy()
    tilted[4] += 0.2
    sub = level_subspace(fk, tilted, tilted + np.array([1.0, 0.2, -0.3, 0.1, 0.0, 0.5]))
    assert sub is not None
    for u in rng.uniform(-2.0, 2.0, (5, 4)):
        assert tool_tilt(fk(sub.lift(u))) == pytest.approx(0.2, abs=1e-4)


def test_ends_of_different_tilt_are_joined_by_a_blend_that_stays_between_them(fk):
    grasp_lift = HOME + np.array([0.3, 0.2, -0.4, 0.25, 0.08, 0.0])  # the tool leans ~8° with its package
    place = HOME + np.array([2.8, 0.5, -0.6, 0.1, 0.0, 1.0])  # straight down over the station
    sub = level_subspace(fk, grasp_lift, place)
    assert sub is not None and sub.dim == 5
    assert np.allclose(sub.lift(sub.start_u), grasp_lift) and np.allclose(sub.lift(sub.goal_u), place)
    lo, hi = sub.bounds(np.full(6, -6.0), np.full(6, 6.0))
    assert (lo[-1], hi[-1]) == (0.0, 1.0)
    ends = max(tool_tilt(fk(grasp_lift)), tool_tilt(fk(place)))
    rng = np.random.default_rng(2)
    for u in rng.uniform(-2.0, 2.0, (20, 5)):
        u[-1] = rng.uniform(0.0, 1.0)
        assert tool_tilt(fk(sub.lift(u))) <= ends + 1e-6
    far = HOME.copy()
    far[4] += 0.6  # beyond what a blend may join
    assert level_subspace(fk, HOME, far) is None
    assert level_subspace(fk, HOME, HOME[:5]) is None  # not a six-joint arm


def test_an_arm_without_parallel_axes_gets_no_subspace(fk):
    def twisted(q: np.ndarray) -> np.ndarray:  # an arm whose tool axis also follows the shoulder lift
        t = fk(q)
        c, s = np.cos(q[1]), np.sin(q[1])
        t[:3, :3] = np.array([[1, 0, 0], [0, c, -s], [0, s, c]]) @ t[:3, :3]
        return t

    assert level_subspace(twisted, HOME, HOME + np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.5])) is None
