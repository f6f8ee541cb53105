"""QA detectors on synthetic cup/payload/station/instance data (no ROS graph)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from robin_core.instance_table import empty_table
from robin_qa.combiner import combine
from robin_qa.config_fields import ConfigError, build_config
from robin_qa.cup_signals import bools_to_mask, mask_to_bools
from robin_qa.double_pick import DoublePickConfig, DoublePickInputs, check_double_pick
from robin_qa.drop import DropConfig, TransferSeries, check_drop, sustained_onset
from robin_qa.input_check import InputCheckConfig, check_inputs
from robin_qa.misplace import (
    DriveRobotLoad,
    MisplaceConfig,
    arrived_during_carry,
    check_misplace,
    drop_confirmed_by_count,
    landed_before_release,
    settle_with_placement,
)
from robin_qa.missed_pick import MissedPickConfig, check_missed_pick, cups_pull_kg
from robin_qa.pile_change import PileChangeConfig, compare_tables
from robin_qa.result import DetectorResult

SEALED_KPA, OPEN_KPA = 65.0, 6.0  # the simulator's levels (robin_sim.gripper.VacuumModel)
FOUR = mask_to_bools(0b00001111)
NONE = np.zeros(8, bool)


def cups(holding: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sealed, vacuum) readings for a holding pattern."""
    holding = np.asarray(holding, bool)
    return holding.copy(), np.where(holding, SEALED_KPA, OPEN_KPA)


def test_masks_round_trip() -> None:
    assert bools_to_mask(mask_to_bools(0b10100101)) == 0b10100101


# --- missed pick -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ('holding', 'payload', 'expected'),
    [
        (FOUR, 0.30, 'ok'),
        (np.zeros(8, bool), 0.0, 'missed'),
        (np.zeros(8, bool), 0.30, 'suspect'),  # payload but no seal: contradictory
        (FOUR, 0.0, 'suspect'),  # all cups sealed but no payload: contradictory
        (mask_to_bools(0b1), 0.0, 'missed'),  # one of four (e.g. a blocked cup) and nothing lifted
        (FOUR, None, 'ok'),  # before the lift / no wrench: cups alone
        (np.zeros(8, bool), None, 'missed'),
    ],
)
def test_missed_pick(holding: np.ndarray, payload: float | None, expected: str) -> None:
    sealed, vac = cups(holding)
    result = check_missed_pick(FOUR, sealed, vac, payload, 0.3, config=MissedPickConfig())
    assert result.verdict == expected, result.reasons
    assert result.signals['cups_on'] == 4


def test_holding_cups_with_a_lighter_package_than_expected_is_not_a_miss() -> None:
    # the expected mass is a vision estimate: 0.7 kg on four holding cups lifted the package
    sealed, vac = cups(FOUR)
    assert check_missed_pick(FOUR, sealed, vac, 0.7, 2.7, config=MissedPickConfig()).verdict == 'ok'
    assert check_missed_pick(FOUR, sealed, vac, 0.005, 2.7, config=MissedPickConfig()).verdict == 'suspect'
    assert check_missed_pick(FOUR, None, None, 0.7, 2.7, config=MissedPickConfig()).verdict == 'missed'


def test_a_pinned_package_is_a_miss_not_a_double_pick() -> None:
    # three cups hold and the wrist feels 14.4 kg: their whole pull (the simulator's demo showed
    # this under a package resting on the target); the expected mass was 0.3 kg
    three = mask_to_bools(0b0111)
    sealed, vac = cups(three)
    pinned = check_missed_pick(three, sealed, vac, 14.4, 0.3, config=MissedPickConfig())
    assert pinned.verdict == 'missed' and pinned.signals['pinned'] and 'pinned' in pinned.reasons[0]
    weight = check_double_pick(DoublePickInputs(three, three, sealed, vac, 14.4, 0.3), DoublePickConfig())
    assert weight.verdict == 'double_pick'  # the weight alone looks like many packages ...
    combined = combine([pinned, weight])
    assert combined.verdict == 'missed'  # ... but nothing came up: release it, do not put it back
    # two real packages on the same cups weigh far less than the cups' pull: not a miss but a
    # double-pick suspicion (2.3x the prior is within what single packages weigh: medium evidence)
    light = check_missed_pick(three, sealed, vac, 1.4, 0.6, config=MissedPickConfig())
    assert light.verdict == 'ok'
    assert combine([light, check_double_pick(DoublePickInputs(three, three, sealed, vac, 1.4, 0.6),
                                             DoublePickConfig())]).verdict == 'suspect'


def test_missed_pick_without_any_data_is_suspect() -> None:
    result = check_missed_pick(FOUR, None, None, None, 0.3, config=MissedPickConfig())
    assert result.verdict == 'suspect' and 'no vacuum' in result.reasons[0]


# --- double pick -------------------------------------------------------------------------------
def _dp(payload: float | None = 0.30, removed: int | None = None, hold: np.ndarray = FOUR,
        cup_mask: np.ndarray = FOUR, on_target: np.ndarray = FOUR) -> DoublePickInputs:
    sealed, vac = cups(hold)
    return DoublePickInputs(cup_mask, on_target, sealed, vac, payload, 0.30, removed)


@pytest.mark.parametrize(
    ('inputs', 'expected'),
    [
        (_dp(0.31), 'ok'),
        (_dp(0.62), 'suspect'),  # twice the prior: single packages weigh that much too (medium)
        (_dp(0.50), 'suspect'),  # 1.67x: medium only
        (_dp(3.20), 'double_pick'),  # above what any single package reached (> 10x + tol): strong
        (_dp(0.50, removed=2), 'double_pick'),  # medium weight + vision
        (_dp(0.31, removed=2), 'suspect'),  # vision alone
        (_dp(0.31, removed=1), 'ok'),
        # all 8 cups on, only 4 over the target, cup 5 holds too: it sealed on a neighbour
        (_dp(0.31, hold=mask_to_bools(0b00101111), cup_mask=np.ones(8, bool)), 'double_pick'),
        (_dp(0.31, hold=FOUR, cup_mask=np.ones(8, bool)), 'ok'),
        (_dp(None), 'not_run'),
    ],
)
def test_double_pick(inputs: DoublePickInputs, expected: str) -> None:
    result = check_double_pick(inputs, DoublePickConfig())
    assert result.verdict == expected, result.reasons


def test_a_wrist_force_beyond_what_the_cups_can_hold_is_no_weight_evidence() -> None:
    # the wrist read 39 kg on one cup (the tool pressed on the pile): contact, not a second package
    one = mask_to_bools(0b0001)
    sealed, vac = cups(one)
    limit = cups_pull_kg(1, MissedPickConfig())
    result = check_double_pick(DoublePickInputs(one, one, sealed, vac, 39.0, 0.36, payload_limit_kg=limit),
                               DoublePickConfig())
    assert result.verdict == 'not_run' and 'contact force' in result.reasons[0]
    assert result.signals['payload_beyond_cup_limit_kg'] == limit
    heavy = check_double_pick(DoublePickInputs(one, one, sealed, vac, 39.0, 0.36), DoublePickConfig())
    assert heavy.verdict == 'double_pick'  # without the limit the same reading is 108x the prior


def test_double_pick_single_evidence_verdict_is_configurable() -> None:
    config = build_config(DoublePickConfig, {'single_evidence_verdict': 'double_pick'})
    assert check_double_pick(_dp(0.50), config).verdict == 'double_pick'
    with pytest.raises(ConfigError, match='not one of'):
        build_config(DoublePickConfig, {'single_evidence_verdict': 'maybe'})


def test_config_ranges_are_checked() -> None:
    with pytest.raises(ConfigError, match='below'):
        build_config(DropConfig, {'debounce_s': -1.0})
    with pytest.raises(ConfigError, match='unknown'):
        build_config(DropConfig, {'debounce': 0.1})


# --- vision: pile change -----------------------------------------------------------------------
def _table(xyz: list[tuple[float, float, float]]) -> np.ndarray:
    t = empty_table(len(xyz))
    t['id'] = np.arange(1, len(xyz) + 1)
    t['score'] = 0.9
    for i, p in enumerate(xyz):
        t['x'][i], t['y'][i], t['z'][i] = p
    return t


def test_pile_change_counts_removed_instances() -> None:
    before = _table([(0.0, 0.0, 1.0), (0.10, 0.0, 1.0), (0.20, 0.0, 1.0)])
    after_single = _table([(0.105, 0.0, 1.0), (0.20, 0.005, 1.0)])  # ids renumbered, small shifts
    change = compare_tables(before, after_single, target_id=1, config=PileChangeConfig())
    assert change.removed_ids == (1,) and change.target_removed is True
    after_double = _table([(0.20, 0.0, 1.0)])
    assert compare_tables(before, after_double, 1, PileChangeConfig()).removed_count == 2


def test_pile_change_ignores_border_and_low_score_rows() -> None:
    before = _table([(0.0, 0.0, 1.0), (0.10, 0.0, 1.0), (0.30, 0.0, 1.0)])
    before['touches_border'][2] = 1
    after = _table([(0.10, 0.0, 1.0)])
    assert compare_tables(before, after, 1, PileChangeConfig()).removed_count == 1


def test_pile_change_counts_only_packages_that_could_have_come_up_with_the_target() -> None:
    before = _table([(0.0, 0.0, 1.0), (0.12, 0.0, 1.0), (0.5, 0.0, 1.0), (0.0, 0.15, 1.1)])
    before['height_top'] = [0.10, 0.11, 0.10, 0.0]  # beside at the same height, far away, much lower
    only_far_and_low_left = _table([(0.12, 0.0, 1.0)])
    change = compare_tables(before, only_far_and_low_left, 1, PileChangeConfig())
    assert change.removed_ids == (1,) and set(change.out_of_reach_ids) == {3, 4}
    neighbour_left_too = _table([(0.5, 0.0, 1.0), (0.0, 0.15, 1.1)])
    assert compare_tables(before, neighbour_left_too, 1, PileChangeConfig()).removed_ids == (1, 2)


def test_pile_change_does_not_count_the_package_uncovered_beneath_the_target() -> None:
    # target (id 1) lies on package 2, whose visible top grows when the target leaves: its
    # centroid moves 6 cm. Package 3 beside the target at the same height really left.
    before = _table([(0.0, 0.0, 1.0), (0.05, 0.0, 1.05), (0.0, 0.15, 1.0)])
    before['height_top'] = [0.12, 0.06, 0.12]
    before['u0'], before['u1'] = [100, 120, 100], [200, 260, 200]
    before['v0'], before['v1'] = [100, 80, 250], [200, 220, 330]
    uncovered = _table([(-0.01, 0.0, 1.05), (0.0, 0.15, 1.0)])
    change = compare_tables(before, uncovered, 1, PileChangeConfig())
    assert change.removed_ids == (1,) and change.beneath_ids == (2,)
    double = _table([(-0.01, 0.0, 1.05)])
    assert compare_tables(before, double, 1, PileChangeConfig()).removed_ids == (1, 3)
    # without the target's row nothing can be said to lie beneath it
    assert compare_tables(before, uncovered, None, PileChangeConfig()).removed_ids == (1, 2)


# --- drop --------------------------------------------------------------------------------------
def _transfer(vac_fn, pay_fn, n: int = 50, dt: float = 0.02) -> TransferSeries:
    t = np.arange(n) * dt
    vac = np.stack([np.where(FOUR, vac_fn(ti), 0.0) for ti in t])
    pay = np.array([pay_fn(ti) for ti in t])
    return TransferSeries(FOUR, t, vac, t, pay, 0.3, 0.0, float(t[-1]))


def test_steady_transfer_is_ok() -> None:
    rng = np.random.default_rng(1)
    s = _transfer(lambda t: SEALED_KPA + rng.normal(0, 0.4), lambda t: 0.3 + rng.normal(0, 0.01))
    assert check_drop(s, DropConfig()).verdict == 'ok'


def test_drop_detected_from_vacuum_and_payload_loss() -> None:
    s = _transfer(lambda t: SEALED_KPA if t < 0.5 else OPEN_KPA, lambda t: 0.3 if t < 0.5 else 0.0)
    result = check_drop(s, DropConfig())
    assert result.verdict == 'drop'
    assert result.signals['payload_loss_at_s'] == pytest.approx(0.5, abs=0.03)


def test_single_noisy_sample_is_debounced() -> None:
    s = _transfer(lambda t: OPEN_KPA if abs(t - 0.4) < 0.005 else SEALED_KPA,
                  lambda t: 0.0 if abs(t - 0.4) < 0.005 else 0.3)
    assert check_drop(s, DropConfig()).verdict == 'ok'


def test_vacuum_loss_with_payload_still_on_is_contradictory() -> None:
    s = _transfer(lambda t: SEALED_KPA if t < 0.5 else OPEN_KPA, lambda t: 0.3)
    result = check_drop(s, DropConfig())
    assert result.verdict == 'suspect' and 'contradictory' in result.reasons[0]


def test_weight_leaving_the_wrist_while_every_held_cup_keeps_vacuum_is_a_suspicion_not_a_drop() -> None:
    # the session-7 demo: a flat envelope lifted at 1.8 kg (something rode along), 0.5 kg from the
    # transfer's start on, all cups sealed, and the envelope arrived on the drive robot
    s = _transfer(lambda t: SEALED_KPA, lambda t: 0.3 if t < 0.2 else 0.1)
    result = check_drop(s, DropConfig())
    assert result.verdict == 'suspect' and result.signals['partial_payload_loss'] is True
    assert 'every held cup kept vacuum' in result.reasons[0]
    # one held cup letting go while the others hold: still held (session 8: 8 of 8 such losses had
    # the target arrive on the robot); every held cup letting go with the weight is the drop
    peeling = _transfer(lambda t: SEALED_KPA, lambda t: 0.3 if t < 0.2 else 0.1)
    peeling.vacuum_kpa[25:, np.flatnonzero(FOUR)[0]] = OPEN_KPA
    result = check_drop(peeling, DropConfig())
    assert result.verdict == 'suspect' and 'some held cups kept vacuum' in result.reasons[0]
    peeling.vacuum_kpa[25:, FOUR] = OPEN_KPA
    assert check_drop(peeling, DropConfig()).verdict == 'drop'
    # and with the rule off, weight alone decides as before
    assert check_drop(s, DropConfig(vacuum_decides_target=False)).verdict == 'drop'


def test_weight_leaving_a_gripper_whose_cups_held_nothing_is_no_drop() -> None:
    """No cup held at the lift: the wrist's reading was a contact force, its end drops nothing."""
    s = replace(_transfer(lambda t: OPEN_KPA, lambda t: 2.3 if t < 0.5 else 0.0), held_cups=NONE, held_known=True)
    result = check_drop(s, DropConfig())
    assert result.verdict == 'suspect' and 'no cup held' in result.reasons[0]
    # without cup data at the lift, the weight alone still decides
    assert check_drop(replace(s, held_known=False), DropConfig()).verdict == 'drop'


def test_a_drop_suspicion_on_lost_vacuum_is_confirmed_when_nothing_arrives() -> None:
    vacuum_gone = check_drop(_transfer(lambda t: SEALED_KPA if t < 0.5 else OPEN_KPA, lambda t: 0.3), DropConfig())
    assert vacuum_gone.verdict == 'suspect'
    nothing = DetectorResult('misplace', 'misplace', ('nothing placed',), {'finding': 'none'})
    confirmed = drop_confirmed_by_count(vacuum_gone, nothing)
    assert confirmed is not None and confirmed.verdict == 'drop' and 'nothing arrived' in confirmed.reasons[0]
    one = DetectorResult('misplace', 'ok', (), {'finding': 'one'})
    assert drop_confirmed_by_count(vacuum_gone, one) is None
    # weight shed while the cups held is another suspicion: the count does not make it a drop
    shed = check_drop(_transfer(lambda t: SEALED_KPA, lambda t: 0.3 if t < 0.2 else 0.1), DropConfig())
    assert drop_confirmed_by_count(shed, nothing) is None


def test_a_drop_suspicion_is_settled_by_one_package_counted_on_the_drive_robot() -> None:
    s = _transfer(lambda t: SEALED_KPA, lambda t: 0.3 if t < 0.2 else 0.1)
    suspicion = check_drop(s, DropConfig())
    counted_one = DetectorResult('misplace', 'ok', ('one package placed',),
                                 {'finding': 'one', 'packages_before': 0, 'packages_after': 1, 'robot_id': 'dr_1'})
    settled = settle_with_placement(suspicion, counted_one)
    assert settled is not None and settled.detector == 'drop' and settled.verdict == 'ok'
    nothing = DetectorResult('misplace', 'misplace', ('nothing placed',), {'finding': 'none'})
    assert settle_with_placement(suspicion, nothing) is None



def test_a_drop_onto_an_empty_robot_that_left_before_the_release_landed_on_it() -> None:
    # session-9 fault run: the package came off the cups as the transfer ended over the tray, the
    # robot counted it and left; the controller waited for the next robot and released nothing
    drop = DetectorResult('drop', 'drop', ('payload lost at t=10.00 s (vacuum lost too)',),
                          {'payload_loss_at_s': 10.0, 'vacuum_loss_at_s': 10.02})
    nothing = DetectorResult('misplace', 'misplace', ('package not on drive robot drive_1',),
                             {'finding': 'none', 'packages_before': 0, 'packages_after': 0, 'robot_id': 'drive_1'})

    def station(a: int, a_docked: bool = True, b: int = 0, b_docked: bool = False) -> list[DriveRobotLoad]:
        return [DriveRobotLoad('drive_0', a_docked, None, a), DriveRobotLoad('drive_1', b_docked, None, b)]

    caught = [(9.9, station(0)), (10.1, station(1)), (11.2, station(1, False)), (14.0, station(1, False, 0, True))]
    settled = landed_before_release(drop, nothing, caught, 0.6)
    assert settled is not None
    assert [(r.detector, r.verdict) for r in settled] == [('drop', 'ok'), ('misplace', 'ok')]
    assert 'drive robot drive_0 counted one package arriving (0 -> 1) 0.10 s after the loss' in settled[0].reasons[0]
    assert settled[1].signals['finding'] == 'one'
    # the robot already carried one: two on one robot, not a landing
    onto_loaded = [(9.9, station(1)), (10.1, station(2))]
    assert landed_before_release(drop, nothing, onto_loaded, 0.6) is None
    # counted long after the loss: it fell mid-swing, whatever arrived later is not it
    late = [(9.9, station(0)), (11.0, station(1))]
    assert landed_before_release(drop, nothing, late, 0.6) is None
    # two arrivals (two robots, or one robot twice) before the release
    twice = [(9.9, station(0)), (10.1, station(1)), (10.3, station(1, False, 1, True))]
    assert landed_before_release(drop, nothing, twice, 0.6) is None
    # the release brought a package too: the cups carried more than the one that fell
    one_at_release = DetectorResult('misplace', 'ok', (), {'finding': 'one', 'packages_before': 0,
                                                           'packages_after': 1, 'robot_id': 'drive_1'})
    assert landed_before_release(drop, one_at_release, caught, 0.6) is None
    # no count from the station, or no loss time: nothing to settle with
    assert landed_before_release(drop, nothing, [(9.9, station(0)), (10.1, [DriveRobotLoad('drive_0', True)])],
                                 0.6) is None
    assert landed_before_release(DetectorResult('drop', 'drop', ('lost',), {}), nothing, caught, 0.6) is None


def test_packages_counted_during_the_carry_and_one_at_the_release_were_carried_together() -> None:
    def station(a: int, a_docked: bool = True, b: int = 0, b_docked: bool = False) -> list[DriveRobotLoad]:
        return [DriveRobotLoad('drive_0', a_docked, None, a), DriveRobotLoad('drive_1', b_docked, None, b)]

    one_at_release = DetectorResult('misplace', 'ok', (), {'finding': 'one', 'packages_before': 0,
                                                           'packages_after': 1, 'robot_id': 'drive_1'})
    swing = [(9.0, station(0)), (10.1, station(1)), (11.2, station(1, False)), (14.0, station(1, False, 0, True))]
    both = arrived_during_carry(one_at_release, swing)
    assert both is not None and both.verdict == 'double_pick' and both.signals['arrived_during_carry'] == 1
    assert 'drive_0' in both.reasons[0] and 'drive_1' in both.reasons[0]
    # nothing counted during the carry, or the release brought nothing (a single package landing early)
    assert arrived_during_carry(one_at_release, [(9.0, station(0)), (14.0, station(0, False, 0, True))]) is None
    nothing = DetectorResult('misplace', 'misplace', (), {'finding': 'none'})
    assert arrived_during_carry(nothing, swing) is None
    # a robot that docks already loaded is not an arrival
    loaded = [(9.0, station(0, False, 1)), (10.0, station(0, False, 1, True))]
    assert arrived_during_carry(one_at_release, loaded) is None


def test_drop_without_transfer_data_is_suspect() -> None:
    empty = TransferSeries(FOUR, np.zeros(0), np.zeros((0, 8)), np.zeros(0), np.zeros(0), 0.3, 0.0, 1.0)
    assert check_drop(empty, DropConfig()).verdict == 'suspect'


def test_sustained_onset() -> None:
    t = np.arange(10) * 0.01
    cond = np.array([0, 1, 0, 0, 1, 1, 1, 1, 1, 1], bool)
    assert sustained_onset(t, cond, 0.03, 2) == pytest.approx(0.04)
    assert sustained_onset(t, cond, 0.2, 2) is None


# --- misplace ----------------------------------------------------------------------------------
def _station(count: int | None, load: float | None, at: bool = True) -> list[DriveRobotLoad]:
    return [DriveRobotLoad('drive_0', at, load, count), DriveRobotLoad('drive_1', False, 0.0, 0)]


@pytest.mark.parametrize(
    ('after', 'expected'),
    [
        (_station(1, 0.30), 'ok'),
        (_station(0, 0.0), 'misplace'),  # not on the robot
        (_station(2, 0.61), 'double_pick'),  # two packages arrived from one release: carried together
        (_station(None, 0.62), 'misplace'),  # load only: cannot tell how they got there
        (_station(1, None), 'ok'),  # count only
        (_station(1, 0.0), 'ok'),  # count and load disagree: the count decides
        (_station(1, 0.30, at=False), 'ok'),  # robot already leaving: found by name
    ],
)
def test_misplace(after: list[DriveRobotLoad], expected: str) -> None:
    result = check_misplace(_station(0, 0.0), after, 0.3, MisplaceConfig())
    assert result.verdict == expected, result.reasons


def test_misplace_without_station_data_is_suspect() -> None:
    assert check_misplace(None, _station(1, 0.3), 0.3, MisplaceConfig()).verdict == 'suspect'
    no_robot = [DriveRobotLoad('drive_0', False, 0.0, 0)]
    assert check_misplace(no_robot, no_robot, 0.3, MisplaceConfig()).verdict == 'misplace'


def test_the_robot_the_release_waited_for_is_found_although_qa_saw_it_dock_late() -> None:
    # QA's station copy at the release still shows drive_0 arriving; the controller released onto it
    arriving, placed = _station(0, 0.0, at=False), _station(1, 0.30)
    assert check_misplace(arriving, placed, 0.3, MisplaceConfig()).verdict == 'misplace'  # nobody docked
    named = check_misplace(arriving, placed, 0.3, MisplaceConfig(), 'drive_0')
    assert named.verdict == 'ok' and named.signals['packages_after'] == 1


# --- inputs and combiner -----------------------------------------------------------------------
def test_input_check_reports_missing_and_stale() -> None:
    result = check_inputs({'vacuum': None, 'joint_states': 2.0, 'wrench': 0.01}, InputCheckConfig())
    assert result.verdict == 'suspect'
    assert any('missing vacuum' in r for r in result.reasons)
    assert any('stale joint_states' in r for r in result.reasons)
    assert check_inputs({'vacuum': 0.01}, InputCheckConfig()).verdict == 'ok'


def _r(name: str, verdict: str) -> DetectorResult:
    return DetectorResult(name, verdict, (f'{name} says {verdict}',))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ('results', 'expected'),
    [
        ([_r('missed', 'ok'), _r('double_pick', 'ok')], 'ok'),
        ([_r('missed', 'ok'), _r('double_pick', 'double_pick')], 'double_pick'),
        ([_r('missed', 'missed'), _r('double_pick', 'double_pick')], 'suspect'),  # contradictory
        ([_r('drop', 'drop'), _r('misplace', 'misplace')], 'misplace'),
        ([_r('inputs', 'suspect'), _r('missed', 'ok')], 'suspect'),
        ([_r('inputs', 'suspect'), _r('double_pick', 'double_pick')], 'suspect'),
        ([_r('inputs', 'suspect'), _r('drop', 'drop')], 'drop'),  # never hide a drop
        ([_r('double_pick', 'double_pick'), _r('double_pick', 'ok')], 'ok'),  # a later re-check replaces
        ([_r('vision', 'not_run')], 'not_run'),
    ],
)
def test_combiner(results: list[DetectorResult], expected: str) -> None:
    combined = combine(results)
    assert combined.verdict == expected
    if expected not in ('ok', 'not_run'):
        assert combined.reasons


@pytest.mark.parametrize(
    ('after', 'expected'),
    [
        (_station(2, 0.61), 'double_pick'),  # a stuck pair weighed 0.61 kg at the lift: both arrived
        (_station(1, 0.61), 'ok'),
        (_station(0, 0.0), 'misplace'),  # nothing arrived
        (_station(1, 0.02), 'ok'),  # counted one; the load (read through its filter) disagrees: the count decides
        (_station(2, 0.02), 'double_pick'),  # two counted whatever the load says: the worse case wins
    ],
)
def test_misplace_against_the_weighed_payload_counts_packages_by_the_count(after: list[DriveRobotLoad],
                                                                          expected: str) -> None:
    result = check_misplace(_station(0, 0.0), after, 0.61, MisplaceConfig(), measured=True)
    assert result.verdict == expected, result.reasons


def test_a_disagreeing_load_is_noted_and_can_be_made_suspect_again() -> None:
    result = check_misplace(_station(0, 0.0), _station(1, 0.0), 0.3, MisplaceConfig())
    assert result.verdict == 'ok' and result.signals['load_disagrees'] == 'none' and result.signals['finding'] == 'one'
    strict = check_misplace(_station(0, 0.0), _station(1, 0.0), 0.3, MisplaceConfig(count_decides=False))
    assert strict.verdict == 'suspect' and 'contradictory' in strict.reasons[0]


def test_a_second_package_on_a_robot_that_already_carried_one_is_a_misplace() -> None:
    result = check_misplace(_station(1, 0.3), _station(2, 0.6), 0.3, MisplaceConfig())
    assert result.verdict == 'misplace' and 'more than 1' in result.reasons[0]


def test_settling_a_suspicion_needs_a_counted_single_arrival() -> None:
    suspicion = DetectorResult('double_pick', 'suspect', ('2 left',), {'vision_removed_instances': 2})
    counted_one = DetectorResult('misplace', 'ok', (), {'finding': 'one', 'packages_before': 0, 'packages_after': 1,
                                                        'robot_id': 'r0'})
    settled = settle_with_placement(suspicion, counted_one)
    assert settled is not None and settled.verdict == 'ok' and settled.signals['vision_removed_instances'] == 2
    load_only = DetectorResult('misplace', 'ok', (), {'finding': 'one'})
    assert settle_with_placement(suspicion, load_only) is None  # the load cannot tell one from a light pair
    confirmed = DetectorResult('double_pick', 'double_pick', ('payload 2x',), {})
    assert settle_with_placement(confirmed, counted_one) is None


def test_a_station_without_package_counts_shows_no_arrivals_during_the_carry() -> None:
    from robin_qa.misplace import station_arrivals

    uncounted = [(9.0, [DriveRobotLoad('drive_0', True, 0.0, None)]),
                 (10.0, [DriveRobotLoad('drive_0', True, 1.2, None)])]
    assert station_arrivals(uncounted) == []
    one_at_release = DetectorResult('misplace', 'ok', (), {'finding': 'one', 'robot_id': 'drive_0'})
    assert arrived_during_carry(one_at_release, uncounted) is None
    assert arrived_during_carry(one_at_release, []) is None  # no station history at all
