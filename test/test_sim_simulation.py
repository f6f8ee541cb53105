"""The Simulation facade (MuJoCo, headless rendering; no ROS): determinism, camera, suction physics."""

from __future__ import annotations

import numpy as np
import pytest

from robin_sim.arm import TrajectoryRejected, trajectory_from_lists
from robin_sim.arm_ik import READY, ArmKinematics, tool_down
from robin_sim.dataset import generate_scene
from robin_sim.scenarios import pick_point
from robin_sim.simulation import SimConfig, Simulation

pytestmark = pytest.mark.sim


def test_deterministic_for_a_seed() -> None:
    a, b = Simulation(SimConfig(seed=3, num_packages=10)), Simulation(SimConfig(seed=3, num_packages=10))
    a.step(0.5)
    b.step(0.5)
    np.testing.assert_array_equal(a.data.qpos, b.data.qpos)
    c = Simulation(SimConfig(seed=4, num_packages=10))
    c.step(0.5)
    assert not np.array_equal(a.data.qpos, c.data.qpos)


def test_scene_sample_for_datasets() -> None:
    s = generate_scene(seed=11, num_packages=10, settle_s=1.0)
    assert s.rgb.shape == (480, 640, 3) and s.labels.shape == (480, 640) and s.labels.dtype == np.uint16
    visible = set(np.unique(s.labels)) - {0}
    ids = {row['id'] for row in s.instances}
    assert visible and visible <= ids
    assert np.isnan(s.depth_m).mean() > 0.005 and np.isfinite(s.depth_clean_m).all()
    # a labelled pixel's clean depth lies above the belt (camera ~1.35 m over it)
    assert np.median(s.depth_clean_m[s.labels > 0]) < np.median(s.depth_clean_m[s.labels == 0])
    np.testing.assert_array_equal(s.labels, generate_scene(seed=11, num_packages=10, settle_s=1.0).labels)


def test_belt_moves_packages_and_rejects_negative_speed() -> None:
    sim = Simulation(SimConfig(seed=1, scenario='suction_test'))
    y0 = sim.ground_truth().poses[:, 1].copy()
    sim.set_belt_speed(0.2)
    sim.step(1.0)
    dy = sim.ground_truth().poses[:, 1] - y0
    assert (dy > 0.1).all()
    with pytest.raises(ValueError, match='belt speed'):
        sim.set_belt_speed(-0.1)


def test_rejected_trajectory_does_not_move_the_arm() -> None:
    sim = Simulation(SimConfig(seed=1, scenario='empty'))
    q0 = sim.joint_state().position
    with pytest.raises(TrajectoryRejected):
        sim.follow_trajectory(trajectory_from_lists(sim.cell.joint_names, [1.0], [[np.nan] * 6]))
    sim.step(0.5)
    np.testing.assert_allclose(sim.joint_state().position, q0, atol=1e-3)


def test_cup_over_edge_does_not_seal_and_torn_cup_never_seals() -> None:
    sim = Simulation(SimConfig(seed=1, scenario='suction_test'))
    ik = ArmKinematics(sim.cell)
    top = pick_point(sim.packages[1])
    # the box is 0.16 m wide across the cup rows: yaw 0 puts the outer cups over its edges
    q = ik.inverse(tool_down(top + np.array([0, 0, -0.003]), 0.0), READY)
    sim.follow_trajectory(trajectory_from_lists(sim.cell.joint_names, [2.0], [q]))
    sim.step(2.3)
    sim.set_cup_fault(2, 'torn')
    sim.command_cups([1] * 8)
    sim.step(0.5)
    r = sim.gripper_reading()
    over_edge = np.abs(sim.cell.gripper.cup_positions[:, 0]) > 0.06
    assert not r.sealed[over_edge].any() and (r.coverage[over_edge] < 1).all()
    assert not r.sealed[2]
    assert r.sealed[~over_edge & (np.arange(8) != 2)].all()
