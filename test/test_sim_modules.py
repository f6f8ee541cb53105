"""Unit tests of the simulator's plain modules (numpy / MuJoCo, no ROS)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robin_core.cell_description import default_cell
from robin_sim.arm import ArmLimits, TrajectoryFollower, TrajectoryRejected, trajectory_from_lists, validate_trajectory
from robin_sim.depth_noise import DepthNoiseModel, apply_depth_noise, reference_depth_noise
from robin_sim.drive_robots import Delivery, DriveRobotFleet, Phase, StationGeometry
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


def _noise_test_scene() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """480×640 depth bands 0.5-2.5 m (+ boxes, out-of-range strip), dark and highlight patches; region masks."""
    depth = np.empty((480, 640), np.float32)
    bands = np.array_split(np.arange(640), 5)
    for z, cols in zip((0.5, 1.0, 1.5, 2.0, 2.5), bands, strict=True):
        depth[:, cols] = z
    depth[300:360, 40:100] -= 0.1  # boxes: edges and stereo shadows
    depth[300:360, 300:380] -= 0.3
    depth[470:, :] = 3.5  # beyond range
    rgb = np.full((480, 640, 3), 128, np.uint8)
    rgb[:120, 500:] = (20, 25, 30)  # black packaging
    rgb[120:200, 500:] = 255  # saturated highlight
    interior = np.zeros((480, 640), bool)
    interior[10:280, :] = True
    for cols in bands:
        interior[:, [cols[0], cols[-1]]] = False
    regions = {'dark': np.zeros_like(interior), 'specular': np.zeros_like(interior)}
    regions['dark'][5:115, 505:] = True
    regions['specular'][125:195, 505:] = True
    regions['plain'] = interior & (np.arange(640) < 500)
    regions['all'] = np.ones_like(interior)
    regions['edges'] = np.zeros_like(interior)
    regions['edges'][295:365, 30:390] = True
    return depth, rgb, regions


def test_fast_depth_noise_matches_the_reference_statistics() -> None:
    """Noise σ per distance and hole fractions per cause equal the straightforward model's."""
    depth, rgb, regions = _noise_test_scene()
    model = DepthNoiseModel()
    bands = np.array_split(np.arange(640), 5)
    frames = 4
    stats: dict[str, dict[str, list[float]]] = {'ref': {}, 'fast': {}}
    for name, fn in (('ref', lambda r: reference_depth_noise(depth, rgb, r, model)),
                     ('fast', lambda r: apply_depth_noise(depth, rgb, r, model))):
        for f in range(frames):
            out = fn(np.random.default_rng([99, f]))
            err = out - depth
            for z, cols in zip((0.5, 1.0, 1.5, 2.0, 2.5), bands, strict=True):
                band = err[10:280, cols[2]:cols[-2]]
                stats[name].setdefault(f'std@{z}', []).append(float(np.nanstd(band)))
            for region, mask in regions.items():
                stats[name].setdefault(f'holes:{region}', []).append(float(np.isnan(out[mask]).mean()))
    ref = {k: float(np.mean(v)) for k, v in stats['ref'].items()}
    fast = {k: float(np.mean(v)) for k, v in stats['fast'].items()}
    for z in (0.5, 1.0, 1.5, 2.0, 2.5):
        expected = np.hypot(model.sigma_base_m + model.sigma_quadratic * z * z, model.wobble_m)
        assert fast[f'std@{z}'] == pytest.approx(ref[f'std@{z}'], rel=0.1), z
        assert fast[f'std@{z}'] == pytest.approx(expected, rel=0.15), z  # σ grows with z² as specified
    assert fast['std@2.5'] > 3 * fast['std@0.5']
    for region in regions:
        assert fast[f'holes:{region}'] == pytest.approx(ref[f'holes:{region}'], abs=0.01), region
    assert fast['holes:dark'] == pytest.approx(model.dark_dropout, abs=0.02)
    assert fast['holes:specular'] == pytest.approx(model.specular_dropout, abs=0.02)
    assert fast['holes:plain'] == pytest.approx(model.speckle, abs=0.001)
    # the deterministic holes (range, depth edges, stereo shadow) are the same pixels
    rng = np.random.default_rng(5)
    edge_free = DepthNoiseModel(dark_dropout=0.0, specular_dropout=0.0, speckle=0.0)
    np.testing.assert_array_equal(np.isnan(apply_depth_noise(depth, rgb, rng, edge_free)),
                                  np.isnan(reference_depth_noise(depth, rgb, rng, edge_free)))
    # frames differ: no noise pattern is repeated between frames of different draws
    a = apply_depth_noise(depth, rgb, np.random.default_rng(1), model) - depth
    b = apply_depth_noise(depth, rgb, np.random.default_rng(2), model) - depth
    ok = np.isfinite(a) & np.isfinite(b)
    assert abs(np.corrcoef(a[ok], b[ok])[0, 1]) < 0.05
    assert not np.array_equal(np.isnan(a), np.isnan(b))


def test_fast_depth_noise_is_faster_than_the_reference() -> None:
    depth, rgb, _ = _noise_test_scene()
    model = DepthNoiseModel()
    apply_depth_noise(depth, rgb, np.random.default_rng(0), model)  # banks built once per shape

    def best_ms(fn) -> float:
        times = []
        for k in range(5):
            t0 = time.perf_counter()
            fn(np.random.default_rng(k))
            times.append(time.perf_counter() - t0)
        return 1e3 * min(times)

    fast = best_ms(lambda r: apply_depth_noise(depth, rgb, r, model))
    ref = best_ms(lambda r: reference_depth_noise(depth, rgb, r, model))
    assert fast < 0.7 * ref, f'fast {fast:.1f} ms vs reference {ref:.1f} ms'


# ---------------------------------------------------------------- drive robots
def _fleet() -> DriveRobotFleet:
    geo = StationGeometry(np.array([-0.5, 0.0, -0.4]), (0.5, 0.5), approach=1.0, speed=1.0, dwell_s=0.5)
    return DriveRobotFleet(('r0', 'r1'), geo)


def _run(fleet: DriveRobotFleet, seconds: float, dt: float = 0.02) -> list[Delivery]:
    out: list[Delivery] = []
    for _ in range(round(seconds / dt)):
        out += fleet.update(dt)[1]
    return out


def test_drive_robots_take_one_package_and_leave() -> None:
    fleet = _fleet()
    assert fleet.at_station().name == 'r0'
    assert fleet.on_tray(np.array([-0.45, 0.05, -0.35])) and not fleet.on_tray(np.array([0.5, 0, 0]))
    np.testing.assert_array_equal(fleet.on_tray(np.array([[-0.45, 0.05, -0.35], [-0.5, 0.0, -0.75]])),
                                  [True, False])  # vectorised; below the tray (the floor) is not on it
    fleet.load(7)
    left = _run(fleet, 6.0)
    assert [(d.robot, d.package_ids) for d in left] == [('r0', (7,))]
    assert fleet.delivered == {7: 'r0'}
    assert fleet.at_station().name == 'r1' and fleet.robots[0].phase == Phase.QUEUED


def test_drive_robot_counts_every_package_on_its_tray_while_docked() -> None:
    fleet = _fleet()
    r0 = fleet.at_station()
    fleet.sense_tray([], 0.0)
    assert r0.phase == Phase.WAITING and r0.at_station
    fleet.sense_tray([5, 4], 1.6)  # a double pick lands at once
    state = {r['name']: r for r in fleet.state()}['r0']
    assert state['package_count'] == 2 and state['carrying'] == [4, 5] and state['load_kg'] == pytest.approx(1.6)
    assert state['phase'] == 'loaded' and state['at_station'] is True
    fleet.update(0.4)
    fleet.sense_tray([4, 5, 9], 2.4)  # a third package before the dwell ran out: counted, dwell restarts
    assert r0.carried == [4, 5, 9]
    fleet.update(0.4)
    assert r0.phase == Phase.LOADED  # 0.4 s < 0.5 s dwell since the last package
    fleet.sense_tray([4, 5, 9], 2.4, settling=True)  # something still moves: keeps waiting
    fleet.update(0.4)
    assert r0.phase == Phase.LOADED
    departed, _ = fleet.update(0.2)
    assert departed == [r0] and r0.phase == Phase.LEAVING and not r0.at_station
    fleet.sense_tray([1], 1.0)  # nobody docked: nothing is counted anywhere
    assert r0.carried == [4, 5, 9] and all(not r.carried for r in fleet.robots[1:])
    left = _run(fleet, 2.0)
    assert [(d.robot, d.trip, d.package_ids, d.load_kg) for d in left] == [('r0', 1, (4, 5, 9), pytest.approx(2.4))]
    assert fleet.delivered == {4: 'r0', 5: 'r0', 9: 'r0'}
    r1 = fleet.at_station()
    assert r1.name == 'r1' and r1.carried == [] and r0.load_kg == 0.0


def test_drive_robot_package_taken_back_off_the_tray() -> None:
    fleet = _fleet()
    fleet.sense_tray([3], 0.5)
    fleet.sense_tray([], 0.0)  # re-picked from the tray
    r0 = fleet.at_station()
    assert r0.phase == Phase.WAITING and r0.carried == []
    _run(fleet, 3.0)
    assert fleet.at_station() is r0 and not fleet.deliveries  # an empty robot does not leave


@pytest.mark.parametrize('seed', range(5))
def test_piles_grow_along_the_belt_not_into_towers(seed: int) -> None:
    """Packages go up- or downstream before they go above the stack limit (a soft limit: when
    every window along the belt is full, the lowest spot found is used)."""
    region = DropRegion((0.26, 0.74), (-0.36, 0.36), -0.05)
    pile = generate_pile(seed, 12, region, max_stack_height=0.2)
    z = np.array([p.pos[2] for p in pile.packages])
    y = np.array([p.pos[1] for p in pile.packages])
    assert y.min() >= region.y_range[0] - 0.6 and y.max() <= region.y_range[1] + 0.4
    tall = generate_pile(seed, 12, region, max_stack_height=5.0)  # no limit: towers
    assert z.max() < 0.75 * max(p.pos[2] for p in tall.packages)
