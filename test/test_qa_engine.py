"""The QA engine end to end on scripted signal streams (no ROS graph)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from qa_harness import ScriptedPick

from robin_core.instance_table import empty_table
from robin_core.records import QaEvent
from robin_qa.cup_signals import mask_to_bools
from robin_qa.qa_engine import EngineOutput, QaConfig, QaEngine
from robin_qa.recovery_policy import RecoveryConfig

FOUR = mask_to_bools(0b1111)
NONE = np.zeros(8, bool)


class Run:
    def __init__(self, config: QaConfig | None = None) -> None:
        self.engine = QaEngine(config)
        self.events: list[QaEvent] = []
        self.alert_changes = 0
        self.cup_changes = 0
        self.script = ScriptedPick(self._sink)

    def _sink(self, kind: str, t: float, value: object) -> None:
        getattr(self.engine, {'joint_states': 'add_joint_state'}.get(kind, f'add_{kind}'))(
            t, *([] if kind == 'joint_states' else [value]))

    def take(self, out: EngineOutput) -> None:
        self.events += out.events
        self.alert_changes += out.alert_changed
        self.cup_changes += out.cups_changed

    def swinging(self, rid: str, lifted_kg: float, *, hold: np.ndarray = FOUR, swing_s: float = 0.9) -> int:
        """approach → grasped → lifted → transferring, then ``swing_s`` into the swing, four cups on,
        ``hold`` holding ``lifted_kg``; returns the index of this pick's first event."""
        s, e = self.script, self.engine
        start = len(self.events)
        s.hold(0.3, NONE, 0.0, NONE)
        self.take(e.on_phase(s.phase(rid, 'approach'), s.t))
        s.hold(0.3, hold, 0.0, FOUR)
        self.take(e.on_phase(s.phase(rid, 'grasped'), s.t))
        s.hold(0.4, hold, lifted_kg, FOUR)
        self.take(e.on_phase(s.phase(rid, 'lifted'), s.t))
        self.take(e.on_phase(s.phase(rid, 'transferring'), s.t))
        s.hold(swing_s, hold, lifted_kg, FOUR)
        return start

    def released_on(self, rid: str, robot: str, placed: int) -> None:
        """The release onto ``robot``; ``placed`` packages counted on it; QA's placement check."""
        s, e = self.script, self.engine
        self.take(e.on_phase(s.phase(rid, 'released', drive_robot_id=robot), s.t))
        s.station_count = placed
        s.hold(e.config.misplace.place_settle_s + 0.2, NONE, 0.0, NONE)
        self.take(e.tick(s.t))

    def pick(self, rid: str, *, lifted_kg: float = 0.3, hold: np.ndarray = FOUR, drop_at: float | None = None,
             packages_placed: int = 1, package: str | None = None, cup_mask: int = 0b1111,
             shed_at: float | None = None) -> list[QaEvent]:
        """One scripted pick; ``drop_at``: the target falls (cups and weight) that far into the
        transfer [s]; ``shed_at``: 70 % of the weight leaves the wrist then while the cups hold."""
        s, e = self.script, self.engine
        start = len(self.events)
        mask = mask_to_bools(cup_mask)
        kw = {'package_id': package} if package else {}
        s.hold(0.3, NONE, 0.0, NONE)
        self.take(e.on_phase(s.phase(rid, 'approach', cup_mask, **kw), s.t))
        s.hold(0.3, hold, 0.0, mask)
        self.take(e.on_phase(s.phase(rid, 'grasped', cup_mask, **kw), s.t))
        s.hold(0.4, hold, lifted_kg if hold.any() else 0.0, mask)
        self.take(e.on_phase(s.phase(rid, 'lifted', cup_mask, **kw), s.t))
        self.take(e.on_phase(s.phase(rid, 'transferring', cup_mask, **kw), s.t))
        if shed_at is not None:
            s.hold(shed_at, hold, lifted_kg, mask)
            s.hold(1.0 - shed_at, hold, 0.3 * lifted_kg, mask)
        elif drop_at is None:
            s.hold(1.0, hold, lifted_kg if hold.any() else 0.0, mask)
        else:
            s.hold(drop_at, hold, lifted_kg, mask)
            s.hold(1.0 - drop_at, NONE, 0.0, mask)
        self.take(e.on_phase(s.phase(rid, 'released', cup_mask, **kw), s.t))
        s.station_count += packages_placed
        s.hold(e.config.misplace.place_settle_s + 0.2, NONE, 0.0, NONE)  # the package settled on the robot
        self.take(e.tick(s.t))
        s.station_count = 0  # next robot
        return self.events[start:]


def final(events: list[QaEvent]) -> QaEvent:
    finals = [ev for ev in events if ev.final]
    assert len(finals) == 1, [(ev.phase, ev.final) for ev in events]
    return finals[0]


def test_good_pick_is_ok_at_every_phase() -> None:
    run = Run()
    events = run.pick('r1')
    assert [ev.phase for ev in events] == ['grasped', 'lifted', 'released', 'placed']
    assert all(ev.verdict == 'ok' for ev in events), [ev.reasons for ev in events]
    assert final(events).signals.payload_kg == __import__('pytest').approx(0.3, abs=0.01)
    assert run.engine.counts == {'ok': 1}


def test_double_pick_by_weight_alone_is_a_suspicion_the_count_confirms() -> None:
    run = Run()
    events = run.pick('r1', lifted_kg=0.65, packages_placed=2)
    lifted = next(ev for ev in events if ev.phase == 'lifted')
    assert lifted.verdict == 'suspect' and lifted.recovery == 'verify'
    assert any('payload' in r for r in lifted.reasons)
    placed = final(events)
    assert placed.verdict == 'double_pick' and placed.alert and placed.recovery == 'call_human'


def test_double_pick_by_weight_far_beyond_any_single_package() -> None:
    config = QaConfig()
    config = QaConfig(double_pick=replace(config.double_pick, mass_ratio_strong=1.8))
    events = Run(config).pick('r1', lifted_kg=0.65, packages_placed=2)
    lifted = next(ev for ev in events if ev.phase == 'lifted')
    assert lifted.verdict == 'double_pick' and lifted.recovery == 'put_back_and_repick'


def test_drop_during_transfer() -> None:
    events = Run().pick('r1', drop_at=0.4, packages_placed=0)
    released = next(ev for ev in events if ev.phase == 'released')
    assert released.verdict == 'drop' and released.recovery == 'reperceive'
    assert final(events).verdict == 'drop'


def test_a_drop_the_robot_then_counts_landed_on_it() -> None:
    # the cups came off just above the tray: the package is on the robot, not on the belt
    run = Run()
    events = run.pick('r1', drop_at=0.8, packages_placed=1)
    assert next(ev for ev in events if ev.phase == 'released').verdict == 'drop'
    placed = final(events)
    assert placed.verdict == 'ok' and not placed.alert, placed.reasons
    assert any('landed on the robot' in r for r in placed.reasons)
    assert run.engine.pile.returning == []  # not expected back on the belt: no "fell off the cell" later
    events = Run().pick('r2', drop_at=0.8, packages_placed=0)  # nothing arrived: a drop it stays
    assert final(events).verdict == 'drop'
    events = Run().pick('r3', drop_at=0.2, packages_placed=1)  # lost mid-swing: not over the tray
    assert final(events).verdict == 'drop'



def test_a_drop_onto_a_robot_that_left_before_the_release_landed_on_it() -> None:
    # the cups let go as the transfer ended over the tray; the robot counted the package and left,
    # the controller waited for the next one and released nothing onto it
    def pick(run: Run, landed: int, count_after_s: float = 0.05) -> list[QaEvent]:
        s = run.script
        start = run.swinging('r1', 0.3)
        s.hold(count_after_s, NONE, 0.0, FOUR)  # off the cups
        s.station_count = landed
        s.hold(1.0, NONE, 0.0, FOUR)  # it settles; the robot dwells
        s.station_robot, s.station_count = 'drive_1', 0  # it left; the next one docked
        s.hold(2.0, NONE, 0.0, FOUR)  # the controller waited for it
        run.released_on('r1', 'drive_1', 0)
        return run.events[start:]

    run = Run()
    events = pick(run, landed=1)
    assert next(ev for ev in events if ev.phase == 'released').verdict == 'drop'
    placed = final(events)
    assert placed.verdict == 'ok' and not placed.alert, placed.reasons
    assert any('before the release' in r for r in placed.reasons)
    assert run.engine.pile.returning == []  # not expected back on the belt
    assert final(pick(Run(), landed=0)).verdict == 'drop'  # nothing arrived anywhere: it fell
    assert final(pick(Run(), landed=1, count_after_s=1.0)).verdict == 'drop'  # counted too late to be it


def test_a_pair_that_came_apart_over_two_robots_is_a_double_pick_not_settled_by_the_release_count() -> None:
    # fault run D (session 10): two packages came up together; one came off over the docked robot
    # during the swing (it counted it and left), the other was released onto the next robot, which
    # counted one. The count at the release alone had settled the pick as ok: a mis-sort unalerted.
    def pick(run: Run, early: int) -> list[QaEvent]:
        s = run.script
        start = run.swinging('r1', 0.6)
        held = 0.3 if early else 0.6
        s.hold(0.05, FOUR, held, FOUR)  # one of the two slid off: the cups still hold
        s.station_count = early
        s.hold(1.0, FOUR, held, FOUR)
        s.station_robot, s.station_count = 'drive_1', 0  # the loaded robot left; the next one docked
        s.hold(2.0, FOUR, held, FOUR)
        run.released_on('r1', 'drive_1', 1)
        return run.events[start:]

    placed = final(pick(Run(), early=1))
    assert placed.verdict == 'double_pick' and placed.alert and placed.recovery == 'call_human', placed.reasons
    assert any('during the carry' in r for r in placed.reasons)
    assert final(pick(Run(), early=0)).verdict != 'double_pick'  # nothing arrived early: the release count stands


def test_weight_shed_while_the_cups_hold_is_settled_by_the_count() -> None:
    # something that rode along fell off during the transfer; the target arrived alone
    events = Run().pick('r1', shed_at=0.3, packages_placed=1)
    released = next(ev for ev in events if ev.phase == 'released')
    assert released.verdict == 'suspect' and any('kept vacuum' in r for r in released.reasons)
    placed = final(events)
    assert placed.verdict == 'ok' and any('suspicion settled' in r for r in placed.reasons)
    # nothing arrived after all (a stuck vacuum sensor hid the fall): the station says so
    events = Run().pick('r2', shed_at=0.3, packages_placed=0)
    placed = final(events)
    assert placed.verdict == 'misplace' and placed.alert and placed.recovery == 'call_human'


def test_two_packages_placed_from_one_release_are_a_double_pick_and_an_alert() -> None:
    run = Run()
    events = run.pick('r1', packages_placed=2)
    placed = final(events)
    assert placed.verdict == 'double_pick' and placed.alert and placed.recovery == 'call_human'
    assert run.alert_changes == 1 and run.engine.alert_state(0.0).active
    assert 'placed together' in run.engine.alert_state(0.0).reason


def test_missed_pick() -> None:
    events = Run().pick('r1', hold=NONE, lifted_kg=0.0)
    lifted = next(ev for ev in events if ev.phase == 'lifted')
    assert lifted.verdict == 'missed' and lifted.recovery == 'reperceive'


def _failed_lift(run: Run, rid: str, *, lose_at: float | None, package: str = 'pkg_3') -> QaEvent:
    """Grasp, a lift that is given up after 1 s (``lose_at``: the package falls that far into it)."""
    s, e = run.script, run.engine
    s.hold(0.3, NONE, 0.0, NONE)
    run.take(e.on_phase(s.phase(rid, 'approach', package_id=package), s.t))
    s.hold(0.3, FOUR, 0.0, FOUR)
    run.take(e.on_phase(s.phase(rid, 'grasped', package_id=package), s.t))
    if lose_at is None:
        s.hold(1.0, FOUR, 0.3, FOUR)
    else:
        s.hold(lose_at, FOUR, 0.3, FOUR)
        s.hold(1.0 - lose_at, NONE, 0.0, FOUR)
    out = e.on_phase(s.phase(rid, 'aborted', package_id=package), s.t)
    run.take(out)
    assert len(out.events) == 1 and out.events[0].final and out.events[0].phase == 'aborted'
    return out.events[0]


def test_a_package_lost_during_a_failed_lift_is_a_drop_and_counts_as_a_failure() -> None:
    run = Run(QaConfig(recovery=RecoveryConfig(max_failures_per_package=2)))
    event = _failed_lift(run, 'r1', lose_at=0.5)
    assert event.verdict == 'drop' and event.detectors['failed_lift'] == 'drop' and event.recovery == 'reperceive'
    assert run.engine.recovery.failures('pkg_3') == 1
    # held until the controller let go: no fault of the pick, but the attempt failed: the count stays
    event = _failed_lift(run, 'r2', lose_at=None)
    assert event.verdict == 'ok' and event.signals.payload_kg == __import__('pytest').approx(0.3, abs=0.01)
    assert run.engine.recovery.failures('pkg_3') == 1 and 'r2' not in run.engine.picks


def test_an_attempt_aborted_before_the_grasp_is_not_judged() -> None:
    run = Run()
    s = run.script
    s.hold(0.3, NONE, 0.0, NONE)
    run.take(run.engine.on_phase(s.phase('r1', 'approach'), s.t))
    out = run.engine.on_phase(s.phase('r1', 'aborted'), s.t + 1.0)
    assert [ev.verdict for ev in out.events] == ['not_run'] and 'failed_lift' not in out.events[0].detectors


def _carried(run: Run, rid: str, *, hold_lift: np.ndarray, kg_lift: float, hold_carry: np.ndarray,
             kg_carry: float, placed: int) -> list[QaEvent]:
    """A pick whose lift and carry read ``hold_*`` / ``kg_*`` (the first 0.2 s of the carry as at the lift)."""
    s, e = run.script, run.engine
    start = run.swinging(rid, kg_lift, hold=hold_lift, swing_s=0.2)
    s.hold(0.8, hold_carry, kg_carry, FOUR)
    run.take(e.on_phase(s.phase(rid, 'released'), s.t))
    s.station_count += placed
    s.hold(e.config.misplace.place_settle_s + 0.2, NONE, 0.0, NONE)
    run.take(e.tick(s.t))
    s.station_count = 0
    return run.events[start:]


def test_a_contact_force_on_cups_that_hold_nothing_ends_as_a_miss_not_a_drop() -> None:
    """Session-10 fault run: no cup sealed, the wrist read 0.2-2.3 kg, the controller carried the
    suspicion; the reading vanished on the way (5 of 6 'missed -> drop')."""
    run = Run()
    events = _carried(run, 'r1', hold_lift=NONE, kg_lift=2.0, hold_carry=NONE, kg_carry=0.0, placed=0)
    assert next(ev for ev in events if ev.phase == 'lifted').verdict == 'suspect'
    placed = final(events)
    assert placed.verdict == 'missed' and placed.detectors['drop'] == 'suspect', placed.reasons
    assert any('nothing was carried' in r for r in placed.reasons)


def test_vacuum_lost_with_the_weight_still_read_and_nothing_arriving_is_a_drop() -> None:
    run = Run()
    events = _carried(run, 'r1', hold_lift=FOUR, kg_lift=0.3, hold_carry=NONE, kg_carry=0.3, placed=0)
    assert next(ev for ev in events if ev.phase == 'released').verdict == 'suspect'
    placed = final(events)
    assert placed.verdict == 'drop' and placed.detectors['misplace'] == 'ok', placed.reasons
    assert [rid for _t, rid in run.engine.pile.returning] == ['r1']  # the pile watch expects it back
    # the same readings with one package counted on the robot: it hung on (the vacuum reading was wrong)
    events = _carried(Run(), 'r2', hold_lift=FOUR, kg_lift=0.3, hold_carry=NONE, kg_carry=0.3, placed=1)
    assert final(events).verdict == 'ok' and 'suspicion settled' in final(events).reasons[0]


def test_stale_joint_states_make_the_verdict_suspect() -> None:
    run = Run()
    run.script.joint_states = False
    run.engine.add_joint_state(50.0)  # last joint state long ago
    events = run.pick('r1')
    lifted = next(ev for ev in events if ev.phase == 'lifted')
    assert lifted.verdict == 'suspect' and lifted.recovery == 'verify'
    assert any('stale joint_states' in r for r in lifted.reasons)


def test_missing_vacuum_data_is_suspect() -> None:
    run = Run()
    run.script.vacuum = False
    events = run.pick('r1')
    lifted = next(ev for ev in events if ev.phase == 'lifted')
    assert lifted.verdict == 'suspect'
    assert any('missing vacuum' in r for r in lifted.reasons)


def test_same_package_failing_n_times_raises_the_alert() -> None:
    run = Run(QaConfig(recovery=RecoveryConfig(max_failures_per_package=3)))
    for k in range(1, 3):
        run.pick(f'r{k}', hold=NONE, lifted_kg=0.0, package='pkg_9')
        assert not run.engine.recovery.alert_active
    events = run.pick('r3', hold=NONE, lifted_kg=0.0, package='pkg_9')
    assert any(ev.alert and ev.recovery == 'call_human' for ev in events)
    state = run.engine.alert_state(0.0)
    assert state.active and state.package_id == 'pkg_9' and state.skipped_packages == ['pkg_9']
    assert run.engine.acknowledge() and not run.engine.alert_state(0.0).active
    assert not run.engine.acknowledge()


def test_same_package_dropped_n_times_raises_the_alert() -> None:
    # each attempt is ok at the grasp and the lift, then drops: earlier failures must still count
    run = Run(QaConfig(recovery=RecoveryConfig(max_failures_per_package=3)))
    for k in range(1, 3):
        run.pick(f'r{k}', drop_at=0.4, packages_placed=0, package='pkg_5')
    assert run.engine.recovery.failures('pkg_5') == 2 and not run.engine.recovery.alert_active
    run.pick('r3', drop_at=0.4, packages_placed=0, package='pkg_5')
    assert run.engine.alert_state(0.0).active and run.engine.alert_state(0.0).package_id == 'pkg_5'


def test_torn_cup_marked_unhealthy() -> None:
    run = Run()
    torn = mask_to_bools(0b11110111)  # cup 3 never holds
    for k in range(10):
        run.pick(f'r{k}', hold=torn, cup_mask=0xFF)
        if run.engine.cup_health.unhealthy:
            break
    assert run.engine.cup_health.unhealthy == {3} and run.cup_changes == 1
    run.engine.restore_cups()
    assert not run.engine.cup_health.unhealthy


def _table(xs: list[float]) -> np.ndarray:
    t = empty_table(len(xs))
    t['id'] = np.arange(1, len(xs) + 1)
    t['score'] = 0.9
    t['x'] = xs
    t['z'] = 1.0
    return t


def test_vision_check_confirms_a_double_pick_after_the_lift() -> None:
    run = Run()
    run.engine.add_instances(run.script.t, _table([0.0, 0.1, 0.2]))
    s, e = run.script, run.engine
    # payload 1.6x the expected mass: medium evidence only -> suspect at the lift
    s.hold(0.3, FOUR, 0.0, FOUR)
    run.take(e.on_phase(s.phase('r1', 'grasped', target=1), s.t))
    s.hold(0.4, FOUR, 0.48, FOUR)
    run.take(e.on_phase(s.phase('r1', 'lifted', target=1), s.t))
    assert run.events[-1].verdict == 'suspect'
    run.take(e.on_phase(s.phase('r1', 'transferring', target=1), s.t))
    s.hold(e.config.vision.vision_delay_s + 0.1, FOUR, 0.48, FOUR)  # the arm has left the camera's view
    run.take(e.add_instances(s.t, _table([0.2])))  # two instances left the pile
    vision = run.events[-1]
    assert vision.phase == 'vision' and vision.verdict == 'double_pick' and vision.recovery == 'rework_spot'
    assert vision.signals.vision_removed_instances == 2


def _vision_only_suspicion(run: Run, rid: str) -> None:
    """A pick whose weight is right but after which two instances are gone from the pile."""
    run.engine.add_instances(run.script.t, _table([0.0, 0.1, 0.2]))
    s, e = run.script, run.engine
    s.hold(0.3, FOUR, 0.0, FOUR)
    run.take(e.on_phase(s.phase(rid, 'grasped', target=1), s.t))
    s.hold(0.4, FOUR, 0.3, FOUR)
    run.take(e.on_phase(s.phase(rid, 'lifted', target=1), s.t))
    run.take(e.on_phase(s.phase(rid, 'transferring', target=1), s.t))
    s.hold(e.config.vision.vision_delay_s + 0.1, FOUR, 0.3, FOUR)
    run.take(e.add_instances(s.t, _table([0.2])))
    assert run.events[-1].phase == 'vision' and run.events[-1].verdict == 'suspect'
    run.take(e.on_phase(s.phase(rid, 'released', target=1), s.t))


def test_one_package_counted_on_the_robot_settles_a_vision_only_suspicion() -> None:
    run = Run()
    _vision_only_suspicion(run, 'r1')
    s = run.script
    s.station_count += 1
    s.hold(run.engine.config.misplace.place_settle_s + 0.2, NONE, 0.0, NONE)
    run.take(run.engine.tick(s.t))
    placed = run.events[-1]
    assert placed.final and placed.verdict == 'ok' and placed.recovery == 'none'
    assert any('suspicion settled' in r for r in placed.reasons)


def test_without_settling_or_with_nothing_counted_the_suspicion_stands() -> None:
    config = QaConfig()
    config = QaConfig(double_pick=type(config.double_pick)(placement_settles_suspect=False))
    run = Run(config)
    _vision_only_suspicion(run, 'r1')
    s = run.script
    s.station_count += 1
    s.hold(run.engine.config.misplace.place_settle_s + 0.2, NONE, 0.0, NONE)
    run.take(run.engine.tick(s.t))
    assert run.events[-1].final and run.events[-1].verdict == 'suspect'
