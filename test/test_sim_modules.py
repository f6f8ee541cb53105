"""Unit tests of the simulator's plain modules (numpy / MuJoCo, no ROS)."""

from __future__ import annotations

import numpy as np
import pytest

from robin_core.cell_description import default_cell
from robin_sim.arm import ArmLimits, TrajectoryFollower, TrajectoryRejected, trajectory_from_lists, validate_trajectory
from robin_sim.depth_noise import DepthNoiseModel, apply_depth_noise
from robin_sim.drive_robots import DriveRobotFleet, Phase, StationGeometry
from robin_sim.gripper import CupFault, VacuumModel
from robin_sim.package_catalog import DropRegion, generate_pile, package_type, package_type_names
from robin_sim.textures import package_texture

REGION = DropRegion((0.3, 0.7), (-0.3, 0.3), -0.05)
NAMES = tuple(default_cell().joint_names)


def _limits() -> ArmLimits:
    cell = default_cell()
    return ArmLimits(cell.joint_names, cell.lower, cell.upper, cell.max_velocity)


# ---------------------------------------------------------------- package catalog / textures
def test_pile_is_deterministic_and_varied() -> None:
    a, b = generate_pile(5, 30, REGION), generate_pile(5, 30, REGION)
    assert a.packages == b.packages and a.appearance == b.appearance
    assert generate_pile(6, 30, REGION).packages != a.packages
    assert {p.type for p in a.packages} == set(package_type_names())
    assert [p.id for p in a.packages] == list(range(1, 31))
    for p in a.packages:
        t = package_type(p.type)
        assert all(lo - 1e-9 <= s <= hi + 1e-9 for s, lo, hi in zip(p.size, t.size_min, t.size_max, strict=True))
        assert p.pos[2] > REGION.surface_z and p.mass > 0


def test_pile_respects_types_and_rejects_unknown() -> None:
    pile = generate_pile(1, 10, REGION, ['flat_envelope'])
    assert {p.type for p in pile.packages} == {'flat_envelope'}
    with pytest.raises(ValueError, match="unknown package type 'crate'"):
        generate_pile(1, 3, REGION, ['box', 'crate'])


def test_textures_deterministic_and_decorated() -> None:
    pile = generate_pile(2, 12, REGION)
    for p in pile.packages:
        tex = package_texture(p)
        assert tex.shape == (128, 128, 3) and tex.dtype == np.uint8
        np.testing.assert_array_equal(tex, package_texture(p))
        if p.decoration.labels and not p.decoration.white_on_white:
            assert (tex.min(axis=2) > 240).mean() > 0.02  # white label paper visible


# ---------------------------------------------------------------- arm
def test_trajectory_validation_reasons() -> None:
    lim, q0 = _limits(), np.zeros(6)
    ok = validate_trajectory(trajectory_from_lists(NAMES[::-1], [1.0], [[0.1] * 6]), lim, q0)
    assert ok.joint_names == NAMES  # reordered
    cases = {
        'unknown joint': trajectory_from_lists([*NAMES[:5], 'typo'], [1.0], [[0.0] * 6]),
        'missing joint': trajectory_from_lists(NAMES[:5], [1.0], [[0.0] * 5]),
        'non-finite': trajectory_from_lists(NAMES, [1.0], [[0, 0, np.nan, 0, 0, 0]]),
        'beyond its limits': trajectory_from_lists(NAMES, [2.0], [[0, 0, 3.3, 0, 0, 0]]),
        'strictly increasing': trajectory_from_lists(NAMES, [1.0, 1.0], [[0.0] * 6, [0.1] * 6]),
        'velocity limit': trajectory_from_lists(NAMES, [0.1], [[1.0, 0, 0, 0, 0, 0]]),
    }
    for reason, traj in cases.items():
        with pytest.raises(TrajectoryRejected, match=reason):
            validate_trajectory(traj, lim, q0)


def test_follower_interpolates_and_holds() -> None:
    lim, q0 = _limits(), np.zeros(6)
    traj = validate_trajectory(trajectory_from_lists(NAMES, [1.0, 2.0], [[0.5] * 6, [1.0] * 6]), lim, q0)
    f = TrajectoryFollower(q0)
    f.start(traj, now=10.0, current=q0)
    q, v = f.reference(10.0)
    np.testing.assert_allclose(q, 0.0)
    q, v = f.reference(11.0)
    np.testing.assert_allclose(q, 0.5)
    assert (v > 0).all()  # passes through the middle point moving
    q, v = f.reference(13.0)
    np.testing.assert_allclose(q, 1.0)
    np.testing.assert_allclose(v, 0.0)
    assert not f.active


# ---------------------------------------------------------------- gripper vacuum model
def test_vacuum_model_levels_and_faults() -> None:
    vm = VacuumModel()
    on = np.ones(4, bool)
    faults = [CupFault.NONE, CupFault.TORN, CupFault.BLOCKED, CupFault.WEAKENED]
    target = vm.target(on, np.ones(4), faults)
    assert target[0] == vm.sealed_kpa and target[1] < vm.seal_threshold_kpa and target[2] == 0.0
    assert vm.seal_threshold_kpa < target[3] < vm.sealed_kpa
    vac = np.zeros(4)
    for _ in range(100):
        vac = vm.step(vac, target, 0.01)
    reading = vm.reading(vac, on, faults, np.random.default_rng(0))
    assert reading[2] > vm.seal_threshold_kpa  # blocked reads "sealed" ...
    force = vm.force_fraction(vac, faults)
    assert force[0] == pytest.approx(1.0, abs=0.01) and force[1] == 0 and force[2] == 0  # ... but holds nothing
    assert 0 < force[3] < 0.5
    partial = vm.target(on[:1], np.array([0.625]), [CupFault.NONE])
    assert partial[0] < vm.seal_threshold_kpa  # a cup over an edge does not seal
    assert vm.target(np.zeros(1, bool), np.ones(1), [CupFault.NONE])[0] == 0.0


# ---------------------------------------------------------------- depth noise
def test_depth_noise_holes_and_sigma() -> None:
    depth = np.full((120, 160), 1.3, np.float32)
    depth[40:80, 60:100] = 1.1  # a box: edges and a stereo shadow
    rgb = np.full((120, 160, 3), 128, np.uint8)
    rgb[:, :20] = 5  # black packaging
    out = apply_depth_noise(depth, rgb, np.random.default_rng(0), DepthNoiseModel())
    assert np.isnan(out[:, :20]).mean() > 0.6
    assert np.isnan(out[40:80, 59]).all() and np.isnan(out[40:80, 57]).all()  # edge + shadow left of the box
    flat = out[90:, 30:]
    sigma = np.nanstd(flat - 1.3)
    assert 0.001 < sigma < 0.006 and np.isnan(flat).mean() < 0.05
    np.testing.assert_array_equal(out, apply_depth_noise(depth, rgb, np.random.default_rng(0)))


# ---------------------------------------------------------------- drive robots
def test_drive_robots_take_one_package_and_leave() -> None:
    geo = StationGeometry(np.array([-0.5, 0.0, -0.4]), (0.5, 0.5), approach=1.0, speed=1.0, dwell_s=0.5)
    fleet = DriveRobotFleet(('r0', 'r1'), geo)
    assert fleet.at_station().name == 'r0'
    assert fleet.on_tray(np.array([-0.45, 0.05, -0.35])) and not fleet.on_tray(np.array([0.5, 0, 0]))
    fleet.load(7)
    left = []
    for _ in range(300):
        left += fleet.update(0.02)
    assert [(r.name, pids) for r, pids in left] == [('r0', [7])]
    assert fleet.delivered == {7: 'r0'}
    assert fleet.at_station().name == 'r1' and fleet.robots[0].phase == Phase.QUEUED
