"""The QA logic of one cell, without ROS: buffers signals, follows pick phases, runs the detectors.

:class:`QaEngine` is fed samples (``add_*``) and pick-phase messages (:meth:`on_phase`) and is
ticked periodically (:meth:`tick`) for the checks that wait for later data (the vision frame after
the lift, the place station after the release). Every call returns an :class:`EngineOutput` with
the QA events to publish and whether the alert or the unhealthy-cup set changed. All times are
the node clock (ROS time) [s].
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from robin_core.records import QaEvent, QaSignals
from robin_qa.belt_end_watch import BeltEndWatch, BeltEndWatchConfig, BeltGeometry, BeltOdometer
from robin_qa.combiner import CombinedVerdict, combine
from robin_qa.config_fields import setting
from robin_qa.cup_health import CupHealthConfig, CupHealthMonitor
from robin_qa.cup_signals import GRAVITY, holding, mask_to_bools
from robin_qa.double_pick import NAME as DOUBLE_PICK
from robin_qa.double_pick import DoublePickConfig, DoublePickInputs, check_double_pick
from robin_qa.drop import NAME as DROP
from robin_qa.drop import DropConfig, TransferSeries, check_drop
from robin_qa.failed_lift import LiftWindow, check_failed_lift
from robin_qa.input_check import InputCheckConfig, check_inputs
from robin_qa.misplace import (
    DriveRobotLoad,
    MisplaceConfig,
    arrived_during_carry,
    check_misplace,
    drop_confirmed_by_count,
    landed_before_release,
    landed_on_robot,
    loss_onset,
    settle_with_placement,
)
from robin_qa.missed_pick import NAME as MISSED
from robin_qa.missed_pick import MissedPickConfig, check_missed_pick, cups_pull_kg
from robin_qa.pile_change import PileChangeConfig, compare_tables
from robin_qa.pile_watch import Finding, PileAccount, PileWatchConfig
from robin_qa.protocol import AlertEntry, PickPhase, QaAlert
from robin_qa.recovery_policy import RecoveryConfig, RecoveryPolicy
from robin_qa.result import DetectorResult, not_run
from robin_qa.signal_buffer import TimeSeries


@dataclass(frozen=True)
class EngineConfig:
    """Timing of the engine itself."""

    sample_window_s: float = setting(0.2, 'readings averaged (median) at a phase [s]', 0.0, 5.0)
    record_ttl_s: float = setting(120.0, 'forget an unfinished pick record after this long [s]', 1.0, 3600.0)


@dataclass(frozen=True)
class QaConfig:
    """All QA settings, one section per concern (ROS parameter prefix = field name)."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    inputs: InputCheckConfig = field(default_factory=InputCheckConfig)
    double_pick: DoublePickConfig = field(default_factory=DoublePickConfig)
    missed: MissedPickConfig = field(default_factory=MissedPickConfig)
    drop: DropConfig = field(default_factory=DropConfig)
    misplace: MisplaceConfig = field(default_factory=MisplaceConfig)
    vision: PileChangeConfig = field(default_factory=PileChangeConfig)
    pile_watch: PileWatchConfig = field(default_factory=PileWatchConfig)
    belt_end: BeltEndWatchConfig = field(default_factory=BeltEndWatchConfig)
    cup_health: CupHealthConfig = field(default_factory=CupHealthConfig)
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)


@dataclass
class EngineOutput:
    """What to publish after one engine call."""

    events: list[QaEvent] = field(default_factory=list)
    alert_changed: bool = False
    cups_changed: bool = False
    suspects_changed: bool = False

    def merge(self, other: EngineOutput) -> EngineOutput:
        self.events += other.events
        self.alert_changed |= other.alert_changed
        self.cups_changed |= other.cups_changed
        self.suspects_changed |= other.suspects_changed
        return self


@dataclass
class _Pick:
    """What the engine knows about one pick attempt."""

    first: PickPhase
    last: PickPhase
    started_s: float
    results: list[DetectorResult] = field(default_factory=list)
    stamps: dict[str, float] = field(default_factory=dict)
    lifted: DoublePickInputs | None = None
    held_at_grasp: np.ndarray | None = None
    held_cups: np.ndarray | None = None
    station_before: list[DriveRobotLoad] | None = None
    before_table: np.ndarray | None = None
    before_stamp_s: float | None = None
    vision_due_s: float | None = None  # waiting for an "after" frame since this time
    place_due_s: float | None = None  # misplace check at this time
    cup_health_done: bool = False
    signals: QaSignals = field(default_factory=QaSignals)
    # pile-watch losses held back while a double-pick suspicion is carried: the drive robot's
    # count says whether the "lost" package is the second one on the cups
    deferred_losses: list[Finding] = field(default_factory=list)


class QaEngine:
    """Signals in, QA events / alert / unhealthy cups out."""

    def __init__(self, config: QaConfig | None = None, belt: BeltGeometry | None = None) -> None:
        """``belt``: the camera's view and the belt's end along the flow; without it, packages the
        belt carries out of view are not followed."""
        self.config = config or QaConfig()
        self.vacuum: TimeSeries[np.ndarray] = TimeSeries()
        self.sealed: TimeSeries[np.ndarray] = TimeSeries()
        self.force: TimeSeries[np.ndarray] = TimeSeries()
        self.joint_states: TimeSeries[None] = TimeSeries(max_samples=10)
        self.station: TimeSeries[list[DriveRobotLoad]] = TimeSeries(max_samples=1000)  # 100 s at 10 Hz
        self.tables: TimeSeries[np.ndarray] = TimeSeries(max_samples=30)
        self.belt_speed: TimeSeries[float] = TimeSeries(max_samples=2000)
        self.pile = PileAccount(self.config.pile_watch)
        self.odometer = BeltOdometer()
        self.belt_end = BeltEndWatch(belt, self.config.belt_end) if belt is not None else None
        self._belt_end_at: float | None = None  # followed packages are advanced up to this time
        self.cup_health = CupHealthMonitor(self.config.cup_health)
        self.recovery = RecoveryPolicy(self.config.recovery)
        self.tare_n = np.zeros(3)  # wrist force with an empty gripper [N]
        self.picks: dict[str, _Pick] = {}
        self.counts: dict[str, int] = {}
        self.bad_messages = 0

    # --- samples -------------------------------------------------------------------------------
    def add_vacuum(self, t: float, kpa: np.ndarray | None) -> None:
        if kpa is None:
            self.bad_messages += 1
            return
        self.vacuum.add(t, kpa)

    def add_sealed(self, t: float, sealed: np.ndarray | None) -> None:
        if sealed is None:
            self.bad_messages += 1
            return
        self.sealed.add(t, sealed)

    def add_force(self, t: float, force_n: np.ndarray | None) -> None:
        if force_n is None:
            self.bad_messages += 1
            return
        self.force.add(t, force_n)

    def add_joint_state(self, t: float) -> None:
        self.joint_states.add(t, None)

    def add_station(self, t: float, robots: list[DriveRobotLoad] | None) -> None:
        if robots is None:
            self.bad_messages += 1
            return
        self.station.add(t, robots)

    def add_belt_speed(self, t: float, speed_mps: float | None) -> None:
        if speed_mps is None:
            self.bad_messages += 1
            return
        self.belt_speed.add(t, speed_mps)
        self.odometer.add(t, speed_mps)

    def add_instances(self, t: float, table: np.ndarray) -> EngineOutput:
        self.tables.add(t, table)
        return self._run_due(t)

    # --- phases --------------------------------------------------------------------------------
    def on_phase(self, msg: PickPhase, now: float) -> EngineOutput:
        """Handle one pick-phase message; returns the events of the checks it triggers."""
        t = msg.stamp_s if msg.stamp_s is not None else now
        pick = self.picks.get(msg.record_id)
        if pick is None:
            pick = self.picks[msg.record_id] = _Pick(msg, msg, now)
            before = self._before_table(msg, t)
            if before is not None:
                pick.before_stamp_s, pick.before_table = before
        pick.last = msg
        pick.stamps[msg.phase] = t
        handler = getattr(self, f'_on_{msg.phase}')
        return handler(pick, t, now)

    def tick(self, now: float) -> EngineOutput:
        """Run due deferred checks, follow packages carried out of view, forget stale records."""
        out = self._run_due(now)
        if self.belt_end is not None:
            since = self._belt_end_at if self._belt_end_at is not None else now
            self._belt_end_at = max(now, since)
            out.merge(self._raise_losses(self.belt_end.advance(self.odometer.travel(since, now), now), ''))
        ttl = self.config.engine.record_ttl_s
        for rid in [r for r, p in self.picks.items() if now - p.started_s > ttl]:
            del self.picks[rid]
        return out

    def update_config(self, config: QaConfig) -> None:
        """Apply new thresholds at run time (histories and alerts are kept)."""
        self.config = config
        self.cup_health.config = config.cup_health
        self.pile.config = config.pile_watch
        if self.belt_end is not None:
            self.belt_end.config = config.belt_end
        self.recovery.config = config.recovery

    def acknowledge(self) -> bool:
        """Clear the alert (a human handled it); False when there was none."""
        return bool(self.recovery.acknowledge())

    def restore_cups(self, cup: int | None = None) -> None:
        self.cup_health.restore(cup)

    def alert_state(self, now: float) -> QaAlert:
        alerts = self.recovery.alerts
        last = alerts[-1] if alerts else None
        return QaAlert(
            active=bool(alerts), reason=last.reason if last else '',
            package_id=last.package_id if last else None, record_id=last.record_id if last else None,
            pause_cell=self.recovery.paused,
            alerts=[AlertEntry(reason=a.reason, package_id=a.package_id, record_id=a.record_id,
                               pause_cell=a.pause_cell) for a in alerts],
            skipped_packages=sorted(self.recovery.skipped_packages), stamp_s=now)

    # --- phase handlers --------------------------------------------------------------------------
    def _on_approach(self, pick: _Pick, t: float, now: float) -> EngineOutput:
        _, forces = self.force.window(t - self.config.engine.sample_window_s, max(t, now))
        if forces:
            self.tare_n = np.median(np.stack(forces), axis=0)
        if pick.before_table is None or pick.before_stamp_s is None:
            return EngineOutput()
        return self._settle(pick.before_stamp_s, pick.before_table, pick)

    def _on_free_air(self, pick: _Pick, t: float, now: float) -> EngineOutput:
        vac, sealed = self._cups_at(t, now)
        new = self.cup_health.observe_free_air(mask_to_bools(pick.last.cup_mask), vac, sealed)
        return EngineOutput(cups_changed=bool(new))

    def _on_grasped(self, pick: _Pick, t: float, now: float) -> EngineOutput:
        msg = pick.last
        vac, sealed = self._cups_at(t, now)
        cups = mask_to_bools(msg.cup_mask)
        on_target = mask_to_bools(msg.target_cup_mask if msg.target_cup_mask is not None else msg.cup_mask)
        pick.results += [
            self._inputs(now, ('vacuum', 'sealed', 'joint_states')),
            check_missed_pick(cups, sealed, vac, None, msg.expected_mass_kg, config=self.config.missed),
            check_double_pick(DoublePickInputs(cups, on_target, sealed, vac), self.config.double_pick),
        ]
        hold = holding(sealed, vac, self.config.missed.seal_vacuum_kpa)
        pick.held_at_grasp = None if hold is None else hold & cups
        self._note_cups(pick, vac, sealed, now)
        return self._emit(pick, 'grasped', now)

    def _on_lifted(self, pick: _Pick, t: float, now: float) -> EngineOutput:
        msg = pick.last
        vac, sealed = self._cups_at(t, now)
        payload = self._payload_at(t, now)
        cups = mask_to_bools(msg.cup_mask)
        on_target = mask_to_bools(msg.target_cup_mask if msg.target_cup_mask is not None else msg.cup_mask)
        pull_kg = cups_pull_kg(int(cups.sum()), self.config.missed)
        pick.lifted = DoublePickInputs(cups, on_target, sealed, vac, payload, msg.expected_mass_kg,
                                       payload_limit_kg=pull_kg)
        hold = holding(sealed, vac, self.config.missed.seal_vacuum_kpa)
        pick.held_cups = None if hold is None else hold & cups
        pick.signals.payload_kg = payload
        pick.signals.expected_mass_kg = msg.expected_mass_kg
        pick.results += [
            self._inputs(now, ('vacuum', 'sealed', 'wrench', 'joint_states')),
            check_missed_pick(cups, sealed, vac, payload, msg.expected_mass_kg, config=self.config.missed),
            check_double_pick(pick.lifted, self.config.double_pick),
        ]
        self._note_cups(pick, vac, sealed, now)
        verdict = combine(pick.results).verdict
        self.pile.took(t, 0 if verdict == 'missed' else 2 if verdict == 'double_pick' else 1, pick.last.record_id)
        out = EngineOutput()
        if not pick.cup_health_done and (vac is not None or sealed is not None):
            pick.cup_health_done = True
            suspects = self.cup_health.suspects
            out.cups_changed = bool(self.cup_health.observe_pick(cups, on_target, sealed, vac))
            out.suspects_changed = self.cup_health.suspects != suspects
        return out.merge(self._emit(pick, 'lifted', now))

    def _on_transferring(self, pick: _Pick, t: float, now: float) -> EngineOutput:
        if pick.before_table is not None and pick.vision_due_s is None:
            pick.vision_due_s = t + self.config.vision.vision_delay_s
        return self._run_due(now)

    def _on_released(self, pick: _Pick, t: float, now: float) -> EngineOutput:
        start = pick.stamps.get('transferring', pick.stamps.get('lifted', pick.started_s))
        t_vac, vacs = self.vacuum.window(start, t)
        t_f, forces = self.force.window(start, t)
        payload = np.array([np.linalg.norm(f - self.tare_n) / GRAVITY for f in forces])
        held = pick.held_cups if pick.held_cups is not None else np.zeros(8, bool)
        series = TransferSeries(held, t_vac, np.stack(vacs) if vacs else np.zeros((0, 8)), t_f, payload,
                                pick.signals.payload_kg, start, t, held_known=pick.held_cups is not None)
        drop = check_drop(series, self.config.drop)
        pick.results += [self._inputs(now, ('vacuum', 'joint_states')), drop]
        if drop.verdict == 'drop':
            self.pile.dropped(t, pick.last.record_id)
        latest = self.station.at_or_before(t)
        pick.station_before = latest[1] if latest else None
        pick.place_due_s = t + self.config.misplace.place_settle_s
        return self._emit(pick, 'released', now).merge(self._run_due(now))

    def _on_lost(self, pick: _Pick, t: float, now: float) -> EngineOutput:
        decision = self.recovery.package_lost(pick.last.record_id, pick.last.package_key())
        pick.results.append(DetectorResult('controller', 'drop', ('package lost: fell off the cell',)))
        combined = combine(pick.results)
        self._count(combined.verdict)
        event = self._event(pick, 'lost', combined, decision.action, True, final=True)
        self.picks.pop(pick.last.record_id, None)
        return EngineOutput([event], alert_changed=True)

    def _on_aborted(self, pick: _Pick, t: float, now: float) -> EngineOutput:
        self.picks.pop(pick.last.record_id, None)
        losses, pick.deferred_losses = pick.deferred_losses, []  # never placed: nothing explains them
        if 'grasped' in pick.stamps and 'lifted' not in pick.stamps:
            out = self._failed_lift(pick, t, now)
        else:
            out = EngineOutput([self._event(pick, 'aborted', combine(pick.results), 'none', False, final=True)])
        return out.merge(self._raise_losses(losses, pick.last.record_id))

    def _failed_lift(self, pick: _Pick, t: float, now: float) -> EngineOutput:
        """The lift failed before the verify step: judge what the cups had when the controller gave up."""
        t_grasp = pick.stamps['grasped']
        t_vac, vacs = self.vacuum.window(t_grasp, t)
        vac, sealed = self._cups_at(t, now)
        window = LiftWindow(mask_to_bools(pick.last.cup_mask), pick.held_at_grasp, np.asarray(t_vac),
                            np.stack(vacs) if vacs else np.zeros((0, 8)), sealed, vac, self._payload_at(t, now),
                            t_grasp, t)
        pick.results += [self._inputs(now, ('vacuum', 'sealed', 'wrench')),
                         check_failed_lift(window, drop=self.config.drop, missed=self.config.missed)]
        pick.signals.payload_kg = window.payload_at_abort_kg
        self._note_cups(pick, vac, sealed, now)
        combined = combine(pick.results)
        alerts_before = self.recovery.alerts
        # the attempt failed whatever the cups held: an ok here must not clear the package's failures
        decision = self.recovery.decide(pick.last.record_id, pick.last.package_key(), combined.verdict, final=False)
        self._count(combined.verdict)
        event = self._event(pick, 'aborted', combined, decision.action, decision.alert, final=True)
        return EngineOutput([event], alert_changed=self.recovery.alerts != alerts_before)

    # --- deferred checks -------------------------------------------------------------------------
    def _run_due(self, now: float) -> EngineOutput:
        out = EngineOutput()
        for pick in list(self.picks.values()):
            if pick.vision_due_s is not None:
                out.merge(self._try_vision(pick, now))
            if pick.place_due_s is not None and now >= pick.place_due_s and pick.vision_due_s is None:
                out.merge(self._place_check(pick, now))
        return out

    def _try_vision(self, pick: _Pick, now: float) -> EngineOutput:
        assert pick.vision_due_s is not None and pick.before_table is not None
        after = self.tables.first_at_or_after(pick.vision_due_s)
        if after is None:
            if now < pick.vision_due_s + self.config.vision.vision_timeout_s:
                return EngineOutput()
            pick.vision_due_s = None
            pick.results.append(not_run('vision', 'no instance frame after the lift'))
            pick.signals.notes.append('vision check skipped: no frame after the lift')
            return EngineOutput()
        pick.vision_due_s = None
        change = compare_tables(pick.before_table, after[1], pick.first.target_instance_id, self.config.vision)
        pick.signals.vision_removed_instances = change.removed_count
        if pick.lifted is None:
            return self._settle(after[0], after[1], pick)
        lifted = pick.lifted
        with_vision = replace(lifted, removed_instances=change.removed_count)
        pick.results.append(check_double_pick(with_vision, self.config.double_pick))
        if combine(pick.results).verdict == 'double_pick':  # the camera confirmed a second package
            self.pile.took(pick.stamps.get('lifted', now), 2, pick.last.record_id)
        return self._settle(after[0], after[1], pick).merge(self._emit(pick, 'vision', now, final=False))

    def _place_check(self, pick: _Pick, now: float) -> EngineOutput:
        pick.place_due_s = None
        after = self.station.latest()
        expected = pick.signals.payload_kg or pick.last.expected_mass_kg
        result = check_misplace(pick.station_before, after[1] if after else None, expected, self.config.misplace,
                                pick.last.drive_robot_id, measured=pick.signals.payload_kg is not None)
        drop = next((r for r in reversed(pick.results) if r.detector == DROP), None)
        confirmed = drop_confirmed_by_count(drop, result) if drop is not None else None
        if confirmed is not None:
            pick.results.append(confirmed)
            drop = confirmed
            self.pile.dropped(pick.stamps.get('released', now), pick.last.record_id)  # expected back, or it fell off
        dropped = drop is not None and drop.verdict == 'drop'
        if pick.held_cups is not None and not pick.held_cups.any() and result.signals.get('finding') == 'none':
            # no cup held at the lift and nothing arrived: nothing was carried (the wrist read a contact force)
            pick.results.append(DetectorResult(MISSED, 'missed', ('no cup held at the lift and nothing arrived on the '
                                                                  'robot: nothing was carried',),
                                               {'cups_holding': 0}))
            result = DetectorResult(result.detector, 'ok', ('nothing placed: consistent with the miss',),
                                    result.signals)
        landed = self._landed(drop, result, pick.stamps.get('released', now)) if dropped else None
        if landed is not None:  # it came off over the tray: delivered, nothing to look for on the belt
            pick.results.append(landed[0])
            result = landed[1]
            self.pile.landed(pick.last.record_id)
        elif dropped and result.signals.get('finding') == 'none':  # expected after a drop, not a second fault
            result = DetectorResult(result.detector, 'ok', ('nothing placed: consistent with the drop',),
                                    result.signals)
        if landed is None:
            early = arrived_during_carry(result, self._station_during_carry(pick, now))
            if early is not None:  # one came off over a robot during the swing: two placed
                result = early
        pick.results.append(result)
        for detector, enabled in ((DOUBLE_PICK, self.config.double_pick.placement_settles_suspect),
                                  (DROP, self.config.drop.placement_settles_suspect)):
            suspicion = next((r for r in reversed(pick.results) if r.detector == detector), None)
            settled = settle_with_placement(suspicion, result) if suspicion is not None and enabled else None
            if settled is not None:
                pick.results.append(settled)
        losses = self._settle_deferred(pick, result)
        out = self._emit(pick, 'placed', now, final=True).merge(losses)
        self.picks.pop(pick.last.record_id, None)
        return out

    # --- helpers -------------------------------------------------------------------------------
    def _station_during_carry(self, pick: _Pick, now: float) -> list[tuple[float, list[DriveRobotLoad]]]:
        """The place station's states from the last before the grasp up to the release command."""
        start = pick.stamps.get('grasped', pick.stamps.get('lifted'))
        return [] if start is None else self._station_states(start, pick.stamps.get('released', now) - 1e-6)

    def _station_states(self, t0: float, t1: float) -> list[tuple[float, list[DriveRobotLoad]]]:
        """The place station's states from the last one at or before ``t0`` up to ``t1``, oldest first."""
        first = self.station.at_or_before(t0)
        times, later = self.station.window(t0, t1)
        return ([first] if first else []) + list(zip(times.tolist(), later, strict=True))

    def _landed(self, drop: DetectorResult, placement: DetectorResult,
                release_s: float) -> tuple[DetectorResult, DetectorResult] | None:
        """A drop settled by the place station's count: at the release, or onto a robot that
        then left before it (misplace.landed_on_robot / landed_before_release)."""
        config = self.config.drop
        if not config.count_settles_drop:
            return None
        at_release = landed_on_robot(drop, placement, release_s, config.landing_window_s)
        onset = loss_onset(drop)
        if at_release is not None or onset is None:
            return at_release
        return landed_before_release(drop, placement, self._station_states(onset, release_s),
                                     config.landing_window_s)

    def _emit(self, pick: _Pick, phase: str, now: float, *, final: bool = False) -> EngineOutput:
        combined = combine(pick.results)
        after_transfer = phase in ('vision', 'released', 'placed')
        alerts_before = self.recovery.alerts
        decision = self.recovery.decide(pick.last.record_id, pick.last.package_key(), combined.verdict,
                                        after_transfer=after_transfer, final=final, placed=phase == 'placed')
        if final:
            self._count(combined.verdict)
        event = self._event(pick, phase, combined, decision.action, decision.alert, final=final)
        return EngineOutput([event], alert_changed=self.recovery.alerts != alerts_before)

    def _event(self, pick: _Pick, phase: str, combined: CombinedVerdict, action: str, alert: bool, *,
               final: bool) -> QaEvent:
        signals = pick.signals.model_copy(update={'detector_signals': combined.signals})
        return QaEvent(record_id=pick.last.record_id, verdict=combined.verdict, reasons=list(combined.reasons),
                       recovery=action, alert=alert, phase=phase, package_id=pick.last.package_key(),
                       final=final, signals=signals, detectors=combined.detectors)  # type: ignore[arg-type]

    def _count(self, verdict: str) -> None:
        self.counts[verdict] = self.counts.get(verdict, 0) + 1

    def _inputs(self, now: float, required: tuple[str, ...]) -> DetectorResult:
        series = {'vacuum': self.vacuum, 'sealed': self.sealed, 'wrench': self.force,
                  'joint_states': self.joint_states}
        return check_inputs({name: series[name].age(now) for name in required}, self.config.inputs)

    def _cups_at(self, t: float, now: float) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Median vacuum and majority seal flags over the sample window ending at the phase (or now)."""
        w = self.config.engine.sample_window_s
        _, vacs = self.vacuum.window(t - w, max(t, now))
        _, seals = self.sealed.window(t - w, max(t, now))
        vac = np.median(np.stack(vacs), axis=0) if vacs else self._latest(self.vacuum)
        sealed = (np.mean(np.stack(seals), axis=0) > 0.5) if seals else self._latest(self.sealed)
        return vac, sealed

    @staticmethod
    def _latest(series: TimeSeries[np.ndarray]) -> np.ndarray | None:
        latest = series.latest()
        return None if latest is None else latest[1]

    def _payload_at(self, t: float, now: float) -> float | None:
        """Median payload [kg] over the window at the phase: |force - tare| / g."""
        _, forces = self.force.window(t - self.config.engine.sample_window_s, max(t, now))
        if not forces:
            latest = self.force.latest()
            if latest is None:
                return None
            forces = [latest[1]]
        return float(np.median([np.linalg.norm(f - self.tare_n) for f in forces]) / GRAVITY)

    def _note_cups(self, pick: _Pick, vac: np.ndarray | None, sealed: np.ndarray | None, now: float) -> None:
        pick.signals.cup_vacuum_kpa = None if vac is None else [round(float(v), 2) for v in vac]
        pick.signals.cup_sealed = None if sealed is None else [bool(s) for s in sealed]
        pick.signals.joint_state_age_s = self.joint_states.age(now)

    def _before_table(self, msg: PickPhase, t: float) -> tuple[float, np.ndarray] | None:
        if msg.instances_stamp_s is not None:  # the very table the target was chosen from
            hit = self.tables.at_or_before(msg.instances_stamp_s + 1e-3)
            if hit is not None and abs(hit[0] - msg.instances_stamp_s) < 1e-3:
                return hit
        return self.tables.at_or_before(t)

    def _settle(self, t: float, table: np.ndarray, pick: _Pick) -> EngineOutput:
        """Account for the pick area at a settled frame; alert on packages that left it unexplained."""
        ref = self.pile.reference
        moved = ref is not None and self._belt_moved(ref[0], t)
        if moved and ref is not None and self.belt_end is not None and t > ref[0]:
            # the followed packages were already advanced up to _belt_end_at: bring the new ones there too
            since_frame = self.odometer.travel(t, self._belt_end_at) if self._belt_end_at is not None else 0.0
            n = self.belt_end.carried_out(ref[1], table, self.odometer.travel(ref[0], t), t, since_frame)
            if n:
                pick.signals.notes.append(f'belt end watch: {n} package(s) carried out of view unpicked')
        findings = self.pile.settle(t, table, moved)
        for f in findings:
            pick.signals.notes.append(f'pile watch: {f.reason}')
        carrier = next((p for p in self.picks.values() if self._carries_suspicion(p)), None)
        if findings and carrier is not None:
            carrier.deferred_losses += findings
            return EngineOutput()
        return self._raise_losses(findings, pick.last.record_id)

    @staticmethod
    def _carries_suspicion(pick: _Pick) -> bool:
        """The pick was lifted under a double-pick suspicion and is not placed yet (placed picks
        leave ``picks``)."""
        check = next((r for r in reversed(pick.results) if r.detector == DOUBLE_PICK), None)
        return check is not None and check.verdict == 'suspect' and pick.lifted is not None

    def _settle_deferred(self, pick: _Pick, placement: DetectorResult) -> EngineOutput:
        """Raise the held-back losses, less the one package the drive robot counted extra."""
        losses, pick.deferred_losses = pick.deferred_losses, []
        if not losses:
            return EngineOutput()
        if placement.verdict == 'double_pick':  # two counted from one release: the pair was carried
            first, rest = losses[0], losses[1:]
            if first.lost > 1:
                rest = [replace(first, lost=first.lost - 1), *rest]
            pick.signals.notes.append('pile watch: a package it missed was counted on the drive robot with the '
                                      'target (carried together)')
            losses = rest
        return self._raise_losses(losses, pick.last.record_id)

    def _belt_moved(self, t0: float, t1: float) -> bool:
        """Whether the belt ran between two frames (the last speed sample before ``t0`` counts too)."""
        _, speeds = self.belt_speed.window(t0, t1)
        before = self.belt_speed.at_or_before(t0)
        speeds += [before[1]] if before is not None else []
        return any(abs(v) >= self.config.pile_watch.belt_still_mps for v in speeds)

    def _raise_losses(self, findings: list[Finding], record_id: str) -> EngineOutput:
        if not findings:
            return EngineOutput()
        for f in findings:
            self.recovery.unaccounted(f.record_id or record_id, f.reason)
        return EngineOutput(alert_changed=True)

