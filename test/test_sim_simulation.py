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


def _tray(sim: Simulation) -> np.ndarray:
    return sim.cell.place_station.T_base_tray[:3, 3].copy()


def _docked(sim: Simulation) -> dict:
    state = sim.station_state()
    return next(r for r in state['robots'] if r['name'] == state['docked'])


def test_double_pick_on_one_robot_counts_two_and_weighs_both() -> None:
    sim = Simulation(SimConfig(seed=1, scenario='suction_test'))
    tray, m3, m4 = _tray(sim), sim.packages[3].mass, sim.packages[4].mass
    sim.step(0.2)
    before = _docked(sim)
    assert (before['package_count'], before['carrying']) == (0, [])
    assert before['load_kg'] == pytest.approx(0.0, abs=0.02) and before['at_station'] is True
    # a double pick released over the tray: both packages drop at once
    sim.set_package_pose(3, tray + np.array([0.0, -0.07, 0.12]))
    sim.set_package_pose(4, tray + np.array([0.0, 0.07, 0.12]))
    sim.step(0.7)
    after = _docked(sim)
    assert after['name'] == before['name'] and after['phase'] == 'loaded'
    assert (after['package_count'], sorted(after['carrying'])) == (2, [3, 4])
    assert after['load_kg'] == pytest.approx(m3 + m4, abs=0.05)  # measured from the contacts
    gt = sim.ground_truth()
    assert gt.by_state('on_robot') == [3, 4] and gt.robots[2] == gt.robots[3] == before['name']
    # dwell, leave, deliver; the next robot docks empty
    sim.step(5.0)
    gt = sim.ground_truth()
    assert gt.by_state('delivered') == [3, 4] and gt.delivered_by == {3: before['name'], 4: before['name']}
    (trip,) = gt.to_json()['deliveries']
    assert trip['robot'] == before['name'] and trip['package_ids'] == [3, 4]
    assert trip['load_kg'] == pytest.approx(m3 + m4, abs=0.05)
    nxt = _docked(sim)
    assert nxt['name'] != before['name'] and nxt['package_count'] == 0
    assert nxt['load_kg'] == pytest.approx(0.0, abs=0.02)
    # delivered packages leave the physics at the next feeder pile; the truth still has them
    sim.spawn_pile(2)
    assert 3 not in sim.index.package_bodies and 4 not in sim.index.package_bodies
    gt = sim.ground_truth()
    assert gt.by_state('delivered') == [3, 4] and gt.delivered_by == {3: before['name'], 4: before['name']}


def test_single_package_weighs_its_mass_and_release_without_robot_falls_off() -> None:
    sim = Simulation(SimConfig(seed=2, scenario='suction_test'))
    tray, m1 = _tray(sim), sim.packages[1].mass
    sim.set_package_pose(1, tray + np.array([0.0, 0.0, 0.1]))
    sim.step(0.7)
    first = _docked(sim)
    assert (first['package_count'], first['carrying']) == (1, [1])
    assert first['load_kg'] == pytest.approx(m1, abs=0.05)
    sim.step(1.0)  # dwell over: it leaves, the next one is still on its way
    assert sim.station_state()['docked'] is None
    released = sim.time
    sim.set_package_pose(3, tray + np.array([0.0, 0.0, 0.1]))  # released with no robot docked
    sim.step(1.0)
    gt = sim.ground_truth()
    assert gt.states[2] == 'fell_off' and gt.robots[2] is None and gt.to_json()['fell_off'] == [3]
    assert released < gt.fell_off_time[3] < released + 0.5 and set(gt.fell_off_time) == {3}
    assert gt.poses[2, 2] < tray[2] - 0.2  # on the floor under the station
    sim.step(4.0)
    gt = sim.ground_truth()
    assert gt.states[2] == 'fell_off' and gt.by_state('delivered') == [1]
    nxt = _docked(sim)  # drove over it: the package on the floor is not on its tray
    assert nxt['package_count'] == 0 and nxt['load_kg'] == pytest.approx(0.0, abs=0.02)
    assert gt.by_state('belt') == [2, 4]


def test_arm_double_pick_released_over_the_robot_counts_two() -> None:
    """The path the QA misplace detector sees: two boxes lifted together and released on one robot."""
    sim = Simulation(SimConfig(seed=1, scenario='suction_test'))
    ik, names = ArmKinematics(sim.cell), sim.cell.joint_names

    def move(q: np.ndarray, duration: float) -> None:
        sim.follow_trajectory(trajectory_from_lists(names, [duration], [q]))
        sim.step(duration + 0.2)

    seam = 0.5 * (pick_point(sim.packages[3]) + pick_point(sim.packages[4]))
    q_up = ik.inverse(tool_down(seam + np.array([0, 0, 0.15]), -np.pi / 2), READY)
    move(q_up, 1.5)
    move(ik.inverse(tool_down(seam + np.array([0, 0, -0.003]), -np.pi / 2), q_up), 1.0)
    sim.command_cups([1] * 8)
    sim.step(0.5)
    move(q_up, 1.0)
    tray = _tray(sim)
    seed = q_up + np.array([np.pi, 0, 0, 0, 0, 0])
    q_over = ik.inverse(tool_down(tray + np.array([0, 0, 0.35]), -np.pi / 2), seed)
    move(q_over, 3.0)
    move(ik.inverse(tool_down(tray + np.array([0, 0, 0.16]), -np.pi / 2), q_over), 2.5)
    assert sim.ground_truth().by_state('held') == [3, 4]
    before = _docked(sim)
    assert before['package_count'] == 0
    sim.command_cups([0] * 8)
    sim.step(0.5)  # the misplace detector's default place_settle_s
    after = _docked(sim)
    assert after['name'] == before['name']
    assert (after['package_count'], sorted(after['carrying'])) == (2, [3, 4])
    mass = sim.packages[3].mass + sim.packages[4].mass
    assert after['load_kg'] - before['load_kg'] == pytest.approx(mass, rel=0.1)


def test_a_package_given_another_mass_weighs_it_on_the_tray() -> None:
    sim = Simulation(SimConfig(seed=2, scenario='suction_test'))
    inertia = sim.model.body_inertia.copy()
    sim.set_package_mass(1, 3.5)
    assert sim.packages[1].mass == 3.5
    changed = np.flatnonzero(np.any(sim.model.body_inertia != inertia, axis=1))
    assert changed.size == 1  # the package's own body, its inertia scaled with the mass
    sim.set_package_pose(1, _tray(sim) + np.array([0.0, 0.0, 0.1]))
    sim.step(0.7)
    assert _docked(sim)['load_kg'] == pytest.approx(3.5, abs=0.05)
    with pytest.raises(KeyError):
        sim.set_package_mass(99, 1.0)
    with pytest.raises(ValueError):
        sim.set_package_mass(2, 0.0)


def test_knock_off_pushes_the_top_package_off_the_belt() -> None:
    sim = Simulation(SimConfig(seed=1, scenario='suction_test'))
    sim.step(0.2)
    gt = sim.ground_truth()
    top = int(gt.ids[np.argmax(gt.poses[:, 2])])
    assert sim.top_belt_package() == top == 2  # the tallest box of the scene
    knocked = sim.time
    assert sim.knock_off() == top
    sim.step(1.5)
    gt = sim.ground_truth()
    assert gt.by_state('fell_off') == [top] and gt.by_state('belt') == [1, 3, 4]
    assert knocked < gt.to_json()['packages'][top - 1]['fell_off_time'] < knocked + 1.5
    with pytest.raises(ValueError, match='not on the belt'):
        sim.knock_off(top)
    with pytest.raises(ValueError, match='no package on the belt'):
        Simulation(SimConfig(seed=1, scenario='empty')).knock_off()


def test_stuck_vacuum_freezes_one_reading_while_the_others_follow() -> None:
    sim = Simulation(SimConfig(seed=1, scenario='suction_test'))
    ik = ArmKinematics(sim.cell)
    q = ik.inverse(tool_down(pick_point(sim.packages[1]) + np.array([0, 0, -0.003]), -np.pi / 2), READY)
    sim.follow_trajectory(trajectory_from_lists(sim.cell.joint_names, [2.0], [q]))
    sim.step(2.3)
    sim.command_cups([1] * 8)
    sim.step(0.5)
    sealed = sim.gripper_reading()
    assert sealed.sealed.all()
    sim.set_stuck_vacuum(3)
    frozen = sim.stuck_vacuum[3]
    assert frozen == pytest.approx(sealed.vacuum_kpa[3])
    sim.command_cups([0] * 8)
    sim.step(0.5)
    readings = [sim.gripper_reading() for _ in range(3)]
    for r in readings:
        assert r.vacuum_kpa[3] == frozen and r.sealed[3]  # frozen: looks sealed, exactly the same value
        assert (np.delete(r.vacuum_kpa, 3) < 5).all() and not np.delete(r.sealed, 3).any()
    assert sim.gripper.vacuum[3] < 5  # the physics did release
    sim.reset()
    assert sim.gripper_reading().vacuum_kpa[3] == frozen  # a sensor fault survives a reset
    sim.set_stuck_vacuum(None)
    assert sim.gripper_reading().vacuum_kpa[3] < 5
    with pytest.raises(ValueError, match='out of range'):
        sim.set_stuck_vacuum(8)


def test_feeder_pile_lands_upstream_and_counts_as_coming() -> None:
    sim = Simulation(SimConfig(seed=3, num_packages=0, scenario='pile'))
    assert sim.packages_coming() == 0
    ids = sim.spawn_pile(4, seed=5, upstream_m=0.5)
    sim.step(2.0)
    gt = sim.ground_truth()
    ys = [gt.poses[k, 1] for k, i in enumerate(gt.ids) if int(i) in ids and gt.states[k] == 'belt']
    assert len(ys) >= 3 and np.mean(ys) < sim.cell.pick_area.y_range[0] + 0.2  # mostly before the pick area
    assert sim.packages_coming() == len(ys)


def test_seal_test_right_after_a_feeder_drop_is_well_defined() -> None:
    """A recompile leaves poses uncomputed; the rim rays must not see a zero direction (mj_ray aborts)."""
    sim = Simulation(SimConfig(seed=4, num_packages=2))
    sim.command_cups([1] * 8)
    sim.step(0.1)
    sim.spawn_pile(3, seed=9, upstream_m=0.5)
    cov, geom = sim.gripper.seal_test(sim.model, sim.data, 0)
    assert 0.0 <= cov <= 1.0 and geom == -1  # the tool is far above anything
    sim.step(0.2)


def _lift_package(sim: Simulation, pid: int, cups: list[int]) -> float:
    """Suction on package ``pid`` with ``cups`` and lift it 15 cm; returns the wrist payload [kg]."""
    ik, names = ArmKinematics(sim.cell), sim.cell.joint_names
    p = pick_point(sim.packages[pid])
    q_up = ik.inverse(tool_down(p + np.array([0, 0, 0.15]), -np.pi / 2), READY)
    for q, t in ((q_up, 1.5), (ik.inverse(tool_down(p + np.array([0, 0, -0.003]), -np.pi / 2), q_up), 1.0)):
        sim.follow_trajectory(trajectory_from_lists(names, [t], [q]))
        sim.step(t + 0.2)
    sim.command_cups([int(k in cups) for k in range(8)])
    sim.step(0.5)
    sim.follow_trajectory(trajectory_from_lists(names, [1.0], [q_up]))
    sim.step(1.5)
    return float(np.linalg.norm(sim.gripper_reading().wrench[:3])) / 9.81


ON_3 = [1, 2, 5, 6]  # the cups over box 3 alone (0 and 4 reach its neighbour 4)


def test_a_stuck_pair_comes_up_together_and_the_wrist_feels_both() -> None:
    sim = Simulation(SimConfig(seed=1, scenario='suction_test'))
    alone = _lift_package(sim, 3, ON_3)
    assert sim.ground_truth().by_state('held') == [3] and alone == pytest.approx(sim.packages[3].mass, rel=0.15)

    sim = Simulation(SimConfig(seed=1, scenario='suction_test'))
    sim.adhesion.arm()
    both = _lift_package(sim, 3, ON_3)
    assert sim.ground_truth().by_state('held') == [3, 4]  # 4 touched 3 when the cups took it
    assert sim.adhesion.formed and sim.adhesion.formed[0][1:] == (3, 4) and not sim.adhesion.armed
    assert both == pytest.approx(sim.packages[3].mass + sim.packages[4].mass, rel=0.15)
    z4 = sim.ground_truth().poses[3, 2]
    assert z4 > sim.cell.pick_area.belt_z + 0.1  # it left the pile with 3
    sim.command_cups([0] * 8)  # the cups let go: so does the bond
    sim.step(1.0)
    assert sim.adhesion.bond is None and sim.ground_truth().by_state('held') == []
    assert sim.ground_truth().by_state('belt') == [1, 2, 3, 4]  # both fell back onto the belt


def test_packages_that_left_for_good_leave_the_model_but_not_the_ground_truth() -> None:
    sim = Simulation(SimConfig(seed=2, num_packages=6))
    sim.step(0.5)
    gone = int(sim.ground_truth().by_state('belt')[0])
    sim.set_package_pose(gone, (-1.5, 1.5, -0.6))  # on the floor beside the cell
    sim.step(1.0)
    assert gone in sim.ground_truth().by_state('fell_off')
    bodies = sim.model.nbody
    sim.spawn_pile(3)  # too soon: it may still move
    assert sim.model.nbody == bodies + 3 and gone in sim.index.package_bodies
    sim.step(5.0)
    sim.spawn_pile(3)  # settled on the floor: out of the physics, still in the truth
    truth = sim.ground_truth()
    assert sim.model.nbody == bodies + 5 and gone not in sim.index.package_bodies
    k = int(list(truth.ids).index(gone))
    assert truth.states[k] == 'fell_off' and truth.poses[k][2] < -0.5 and len(truth.ids) == 12
    sim.step(0.5)  # the state of everything else carried over the recompile
    assert len(sim.ground_truth().by_state('belt')) >= 8
