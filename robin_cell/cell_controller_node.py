"""Cell controller node: runs the pick state machine against the real topics.

Thin adapter around :class:`robin_cell.pick_cycle.PickCycle`: it converts incoming messages into
events, carries out the commands the machine returns, journals every record before acting on it,
and publishes records and status. All timing uses the node clock (sim time in simulation).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rclpy.duration import Duration
from rclpy.node import Node
from std_msgs.msg import Float64, String, UInt8MultiArray

from robin_cell.controller_io import (
    PICK_SEGMENTS,
    decision_from_json,
    execute_request,
    motion_event_from_json,
    move_request,
    phase_message,
    plan_failure_text,
    plan_request,
    segment_end,
)
from robin_cell.pick_cycle import (
    AdvanceBelt,
    Command,
    CycleConfig,
    EmitRecord,
    ExecuteSegment,
    GraspOption,
    NotifyQa,
    PickCycle,
    RequestPlan,
    SetCups,
)
from robin_cell.pick_journal import PickJournal
from robin_core import diagnostics, qos, topics
from robin_core.fleet_env import CELL_ID_ENV, env_override
from robin_core.node_main import run_node
from robin_core.params import ParameterError, declare
from robin_core.records import ModelInfo, QaEvent, RecordError, from_json, to_msg
from robin_qa.conversions import place_station_from_msg

#: the arm's elbow-up, wrist-down posture over the place-station side: out of the camera's view [rad]
PARK_JOINTS = (0.0, -1.5708, 1.5708, -1.5708, -1.5708, 0.0)
#: a reader must have matched the records publisher this long before recovered records go out [s]
RECOVERY_MATCH_S = 1.0
#: belt speed samples this long after the controller stopped the belt still belong to its own run [s]
BELT_STOP_GRACE_S = 0.5


class CellControllerNode(Node):
    """Drives picks: decision → motion → suction → QA → record."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('cell_controller', **kwargs)
        d = CycleConfig()
        cfg = CycleConfig(
            decision_timeout_s=declare(self, 'timeouts.decision', d.decision_timeout_s,
                                       'wait for a usable decision before advancing the belt [s]', low=0.5, high=120.0),
            plan_timeout_s=declare(self, 'timeouts.plan', d.plan_timeout_s, 'motion planning budget [s]',
                                   low=0.1, high=60.0),
            segment_timeout_s=declare(self, 'timeouts.segment', d.segment_timeout_s,
                                      'longest allowed motion segment [s]', low=0.5, high=120.0),
            seal_settle_s=declare(self, 'timeouts.seal_settle', d.seal_settle_s, 'cups on → lift [s]',
                                  low=0.0, high=5.0),
            lift_settle_s=declare(self, 'timeouts.lift_settle', d.lift_settle_s,
                                  'hold still after the lift before QA weighs [s]', low=0.0, high=5.0),
            verify_timeout_s=declare(self, 'timeouts.verify', d.verify_timeout_s,
                                     'wait for the post-lift QA verdict, then treat as suspect [s]',
                                     low=0.1, high=30.0),
            robot_wait_warn_s=declare(self, 'timeouts.robot_wait_warn', d.robot_wait_warn_s,
                                      'holding over an empty place station this long is reported in /diagnostics '
                                      '(the package is never released without a drive robot) [s]', low=0.5, high=600.0),
            placement_timeout_s=declare(self, 'timeouts.placement', d.placement_timeout_s,
                                        'wait for the placement verdict [s]', low=0.1, high=30.0),
            release_s=declare(self, 'timeouts.release', d.release_s, 'cups off → package settled [s]',
                              low=0.0, high=5.0),
            scene_clear_delay_s=declare(self, 'pipeline.scene_clear_delay', d.scene_clear_delay_s,
                                        'frames this long after the transfer starts show the pile without the arm [s]',
                                        low=0.0, high=5.0),
            max_decision_age_s=declare(self, 'pipeline.max_decision_age', d.max_decision_age_s,
                                       'never act on a frame older than this [s]', low=0.1, high=30.0),
            belt_advance_s=declare(self, 'belt.advance_duration', d.belt_advance_s,
                                   'belt run when the pick area is empty [s]', low=0.1, high=30.0),
            belt_nudge_s=declare(self, 'belt.nudge_duration', d.belt_nudge_s,
                                 'short belt run when packages are there but none can be picked [s]',
                                 low=0.05, high=10.0),
            unpickable_scenes_before_nudge=declare(self, 'belt.unpickable_decisions_before_nudge',
                                                   d.unpickable_scenes_before_nudge,
                                                   'consecutive decisions without a pickable package', low=1,
                                                   high=1000),
            empty_scenes_before_advance=declare(self, 'belt.empty_decisions_before_advance',
                                                d.empty_scenes_before_advance,
                                                'consecutive empty-scene decisions before the belt advances',
                                                low=1, high=1000),
            plan_ahead=declare(self, 'pipeline.plan_ahead', d.plan_ahead,
                               'plan the next pick from the place pose while the current package is carried'),
            overlap_placement=declare(self, 'pipeline.overlap_placement', d.overlap_placement,
                                      "move on release_s after the cups are off; the record closes on QA's "
                                      'placement verdict'),
            use_arm_masked_frames=declare(self, 'pipeline.use_arm_masked_frames', d.use_arm_masked_frames,
                                          'act on frames the grasp planner masked the arm out of from the '
                                          'verified lift on, not only scene_clear_delay into the transfer'),
            feed_ahead=declare(self, 'pipeline.feed_ahead', d.feed_ahead,
                               'run the belt while a package is carried when the pick area behind it is empty'),
            empty_scenes_before_feed_ahead=declare(self, 'belt.empty_decisions_before_feed_ahead',
                                                   d.empty_scenes_before_feed_ahead,
                                                   'consecutive empty-scene decisions while carrying before the belt '
                                                   'runs', low=1, high=1000),
            carry_suspect=declare(self, 'pipeline.carry_suspect', d.carry_suspect,
                                  "carry a package QA suspects after the lift (verify) and let the drive "
                                  "robot's count settle it, instead of putting it back"),
            belt_settle_s=declare(self, 'belt.settle', d.belt_settle_s,
                                  'frames this long after a belt run show the pile at rest [s]', low=0.0, high=10.0),
            entering_scenes_before_nudge=declare(self, 'belt.entering_decisions_before_nudge',
                                                 d.entering_scenes_before_nudge,
                                                 'consecutive unpickable decisions before a nudge while packages '
                                                 'are still entering the view upstream', low=1, high=1000),
            arm_in_view_decisions_before_retreat=declare(
                self, 'recovery.arm_in_view_decisions_before_retreat', d.arm_in_view_decisions_before_retreat,
                'consecutive decisions with nothing to offer but the idle arm in view before it retreats to park',
                low=1, high=1000),
            place_after_failed_transfer=declare(
                self, 'recovery.place_after_failed_transfer', d.place_after_failed_transfer,
                'a transfer that timed out short of the tray or was refused at its start moves on to the place '
                'pose once, holding the package, instead of letting it go where the arm is'),
            startup_grace_s=declare(self, 'pipeline.startup_grace', d.startup_grace_s,
                                    'ignore the scene this long after start-up (it is settling) [s]',
                                    low=0.0, high=60.0),
            same_package_radius_m=declare(self, 'tracking.same_package_radius', d.same_package_radius_m,
                                          'targets this close to an earlier attempt are the same package [m]',
                                          low=0.005, high=0.5),
            plan_failure_memory_s=declare(self, 'tracking.plan_failure_memory', d.plan_failure_memory_s,
                                          'a spot whose motion plan failed is not tried again this long [s]',
                                          low=0.0, high=600.0),
            options_per_target=declare(self, 'tracking.options_per_target', d.options_per_target,
                                       'plan failures on one package before the next package is tried',
                                       low=1, high=100),
            belt_still_mps=declare(self, 'belt.still_speed', d.belt_still_mps,
                                   'measured belt speeds below this count as standing still [m/s]',
                                   low=0.0, high=1.0),
            fault_all_cups_rate=declare(self, 'fault_injection.all_cups_rate', d.fault_all_cups_rate,
                                        'benchmarks only: share of attempts that switch on every healthy cup '
                                        '(forced straddling double picks); run-time settable', low=0.0, high=1.0),
        )
        self._belt_speed = declare(self, 'belt.advance_speed', 0.25, 'belt speed while advancing [m/s]',
                                   low=0.01, high=2.0)
        cell_id = env_override('cell_id', declare(self, 'cell_id', 'cell_0', 'this cell in fleet records (env '
                                                  f'{CELL_ID_ENV} overrides it)'), CELL_ID_ENV).value
        journal_dir = declare(self, 'journal_dir', 'runs/journal', 'crash-safe pick journal directory')
        self._park = [float(v) for v in declare(self, 'recovery.park_joints', list(PARK_JOINTS),
                                                'where a recovery retreats to: out of the camera\'s view [rad]')]
        if len(self._park) != len(PARK_JOINTS):
            raise ParameterError('cell controller', f'recovery.park_joints needs {len(PARK_JOINTS)} joint values')
        tick_hz = declare(self, 'tick_rate', 50.0, 'state-machine timeout checks [Hz]', low=1.0, high=1000.0)

        self.cycle = PickCycle(cfg, cell_id=cell_id)
        self.add_post_set_parameters_callback(self._on_parameters_set)
        self.journal = PickJournal(Path(journal_dir))
        self._requests: dict[str, tuple[str, str]] = {}  # motion request id -> (pick id, segment)
        self._options: dict[str, GraspOption] = {}  # pick id -> option (recovery poses)
        self._scene_stamps: dict[str, int | None] = {}  # pick id -> its decision's frame stamp
        self._n_requests = 0
        self._bad_messages = 0
        self._belt_stop_at: float | None = None
        self._belt_stopped_at = -math.inf  # when this controller last commanded the belt to stop

        self._motion_pub = self.create_publisher(String, topics.MOTION_REQUEST, qos.RELIABLE)
        self._cups_pub = self.create_publisher(UInt8MultiArray, topics.CUP_COMMAND, qos.RELIABLE)
        self._belt_pub = self.create_publisher(Float64, topics.BELT_SPEED_COMMAND, qos.RELIABLE)
        self._phase_pub = self.create_publisher(String, topics.PICK_PHASE, qos.RECORDS)
        self._record_pub = self.create_publisher(String, topics.PICK_RECORDS, qos.RECORDS)
        self._status_pub = self.create_publisher(String, topics.CELL_STATUS, qos.LATCHED)
        self.create_subscription(String, topics.GRASP_DECISION, self._on_decision, qos.RECORDS)
        self.create_subscription(String, topics.MOTION_EVENT, self._on_motion, qos.RECORDS)
        self.create_subscription(String, topics.QA_EVENTS, self._on_qa, qos.RECORDS)
        self.create_subscription(String, topics.QA_ALERT, self._on_alert, qos.LATCHED)
        self.create_subscription(String, topics.PERCEPTION_MODEL_INFO, self._on_model_info, qos.LATCHED)
        self.create_subscription(Float64, topics.BELT_SPEED, self._on_belt_speed, qos.SENSOR)
        # releases wait for an empty drive robot at the place station
        self.create_subscription(String, topics.PLACE_STATION, self._on_station, qos.SENSOR)

        self._diag = diagnostics.DiagnosticsPublisher(self)
        self._diag.add('pick cycle', self._status)
        # A previous run died mid-pick: report those attempts. Not from here: the records topic is
        # volatile and nobody has matched this new publisher yet, so they are held until a reader
        # has been there a moment (_deliver_recovered) and only then journalled final.
        self._recovered = self.journal.recover(mark_final=False)
        for rec in self._recovered:
            self.get_logger().warning(f'pick {rec.record_id} was in flight when the controller stopped: interrupted')
        self._reader_seen_at: float | None = None
        self._journaled_phase: tuple[str, str] | None = None
        if self._recovered:
            self._recovery_timer = self.create_timer(0.2, self._deliver_recovered)
        self._run(self.cycle.start(self._now()))
        self.create_timer(1.0 / tick_hz, self._tick)
        self.create_timer(1.0, self._publish_status)
        self.get_logger().info(f'cell controller ready (cell {cell_id}, journal {journal_dir})')

    # -- inputs -----------------------------------------------------------------------------------
    def _on_parameters_set(self, params: list) -> None:
        """The fault-injection rate applies at run time (the other settings at start-up)."""
        for prm in params:
            if prm.name == 'fault_injection.all_cups_rate':
                self.cycle.config = replace(self.cycle.config, fault_all_cups_rate=float(prm.value))

    def _on_decision(self, msg: String) -> None:
        try:
            decision = decision_from_json(msg.data, self.get_clock().now().nanoseconds)
        except RecordError as exc:
            self._bad(f'grasp decision ignored: {exc}')
            return
        self._run(self.cycle.on_decision(decision, self._now()))

    def _on_motion(self, msg: String) -> None:
        try:
            ev = motion_event_from_json(msg.data)
        except RecordError as exc:
            self._bad(f'motion event ignored: {exc}')
            return
        now = self._now()
        # plan events of a pick plan go to on_plan; those of a recovery move (a segment request:
        # putback, retreat) are the segment's: its plan failing must fail the segment, not vanish
        segment_request = ev.request_id in self._requests
        if (ev.event in ('planned', 'plan_failed') and not segment_request) or (
                ev.event == 'rejected' and ev.request_id in self._options and not segment_request):
            ok = ev.event == 'planned'
            self._run(self.cycle.on_plan(ev.request_id, ok, plan_failure_text(ev), now, ev.planning_ms,
                                         place_joints=segment_end(ev, 'transfer') if ok else None))
            return
        target = self._requests.get(ev.request_id)
        if target is None:
            return
        pick_id, segment = target
        if ev.event == 'segment_done' and self.cycle.record is not None and self.cycle.record.record_id == pick_id:
            self.cycle.record.plan[f'{ev.segment}_s'] = round(ev.duration_s, 3)
        if ev.event == 'done':
            self._requests.pop(ev.request_id, None)
            self._run(self.cycle.on_segment(pick_id, segment, True, '', now))
        elif ev.event in ('segment_failed', 'rejected', 'plan_failed'):
            self._requests.pop(ev.request_id, None)
            self._run(self.cycle.on_segment(pick_id, segment, False, f'{ev.reason}: {ev.detail}', now))

    def _on_qa(self, msg: String) -> None:
        try:
            event = from_json(msg.data, QaEvent)
        except RecordError as exc:
            self._bad(f'QA event ignored: {exc}')
            return
        self._run(self.cycle.on_qa(event, self._now()))

    def _on_model_info(self, msg: String) -> None:
        try:
            info = from_json(msg.data, ModelInfo)
        except RecordError as exc:
            self._bad(f'model info ignored: {exc}')
            return
        self.cycle.model_info = (info.segmenter, info.model_version, info.model_sha256)

    def _on_alert(self, msg: String) -> None:
        try:
            alert = json.loads(msg.data)
            active = bool(alert['active'])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            self._bad(f'QA alert ignored: {exc}')
            return
        if active:
            self.get_logger().warning(f"QA calls a human: {alert.get('reason', '')}")
        skipped = tuple(str(p) for p in alert.get('skipped_packages', []) or [])
        self._run(self.cycle.on_alert(active, bool(alert.get('pause_cell', False)), self._now(), skipped))

    def _on_station(self, msg: String) -> None:
        robots = place_station_from_msg(msg)
        if robots is None:
            self._bad(f'place station state ignored: not readable: {msg.data[:80]!r}')
            return
        empty = next((r for r in robots if r.at_station and not r.package_count), None)
        self._run(self.cycle.on_station(empty is not None, self._now(), empty.robot_id if empty else None))

    def _on_belt_speed(self, msg: Float64) -> None:
        if not math.isfinite(msg.data):
            self._bad(f'belt speed ignored: {msg.data}')
            return
        now = self._now()
        commanded = self._belt_stop_at is not None or now - self._belt_stopped_at < BELT_STOP_GRACE_S
        self._run(self.cycle.on_belt_speed(msg.data, commanded, now))

    def _tick(self) -> None:
        now = self._now()
        if self._belt_stop_at is not None and now >= self._belt_stop_at:
            self._belt_pub.publish(Float64(data=0.0))
            self._belt_stop_at = None
            self._belt_stopped_at = now
        self._run(self.cycle.on_tick(now))

    # -- outputs ----------------------------------------------------------------------------------
    def _deliver_recovered(self) -> None:
        """Publish the recovered records once a reader has matched for RECOVERY_MATCH_S, then
        journal them final (a crash before that reports them again at the next start)."""
        now = time.monotonic()
        if self._record_pub.get_subscription_count() == 0:
            self._reader_seen_at = None
            return
        if self._reader_seen_at is None:
            self._reader_seen_at = now
        if now - self._reader_seen_at < RECOVERY_MATCH_S:
            return
        for rec in self._recovered:
            self._record_pub.publish(to_msg(rec))
            self.journal.append(rec, final=True)
        self._recovered = []
        self._recovery_timer.cancel()

    def _run(self, commands: list[Command]) -> None:
        self._run_commands(commands)
        rec = self.cycle.record
        if rec is not None and (rec.record_id, self.cycle.phase.value) != self._journaled_phase:
            # every state change of the pick in flight goes to disk: after a crash the journal
            # says how far it got (approach, suction, lift, ...), not just that it was planned
            self._journaled_phase = (rec.record_id, self.cycle.phase.value)
            self.journal.append(rec, final=False)

    def _run_commands(self, commands: list[Command]) -> None:
        for cmd in commands:
            if isinstance(cmd, EmitRecord):
                # journal first: once on disk, a crash cannot lose it
                self.journal.append(cmd.record, cmd.final)
                if cmd.final:
                    self._record_pub.publish(to_msg(cmd.record))
                    self._forget(cmd.record.record_id)
            elif isinstance(cmd, RequestPlan):
                self._options[cmd.pick_id] = cmd.option
                self._scene_stamps[cmd.pick_id] = cmd.scene_stamp_ns
                self._motion_pub.publish(String(data=plan_request(cmd.pick_id, cmd.option, cmd.scene_stamp_ns,
                                                                  cmd.start)))
            elif isinstance(cmd, ExecuteSegment):
                self._execute(cmd)
            elif isinstance(cmd, SetCups):
                self._cups_pub.publish(UInt8MultiArray(data=[(cmd.mask >> k) & 1 for k in range(8)]))
            elif isinstance(cmd, NotifyQa):
                self._phase_pub.publish(String(data=phase_message(cmd, self._now())))
            elif isinstance(cmd, AdvanceBelt):
                self._belt_pub.publish(Float64(data=self._belt_speed))
                self._belt_stop_at = self._now() + cmd.seconds

    def _execute(self, cmd: ExecuteSegment) -> None:
        self._n_requests += 1
        rid = f'{cmd.pick_id}:{cmd.segment}:{self._n_requests}'
        self._requests[rid] = (cmd.pick_id, cmd.segment)
        opt = self._options.get(cmd.pick_id)
        if cmd.segment in PICK_SEGMENTS:
            text = execute_request(rid, cmd.pick_id, cmd.segment)
        elif cmd.segment == 'putback' and opt is not None:
            text = move_request(rid, goal_pose=(opt.position, opt.orientation), linear=True,
                                scene_stamp_ns=self._scene_stamps.get(cmd.pick_id))
        elif cmd.segment == 'place' and cmd.goal_joints is not None:
            # the rest of a transfer that failed: a joint move to its end holding the package (the
            # executor plans it in that transfer's scene: the box attached and kept level)
            text = move_request(rid, goal_joints=list(cmd.goal_joints),
                                scene_stamp_ns=self._scene_stamps.get(cmd.pick_id), carry_plan=cmd.pick_id)
        elif cmd.segment == 'retreat':
            # to the park pose, out of the camera's view: a retreat that stayed over the pile put
            # the arm into every next frame (and into the pile map the next plan is checked against)
            text = move_request(rid, goal_joints=self._park, scene_stamp_ns=self._scene_stamps.get(cmd.pick_id))
        else:
            self._requests.pop(rid)
            self._run(self.cycle.on_segment(cmd.pick_id, cmd.segment, True, 'nothing to move', self._now()))
            return
        self._motion_pub.publish(String(data=text))

    def _forget(self, pick_id: str) -> None:
        self._options.pop(pick_id, None)
        self._scene_stamps.pop(pick_id, None)

    def _publish_status(self) -> None:
        s = self.cycle.stats
        body = {'schema': 'robin.cell_status/1', 'cell_id': self.cycle.cell_id, 'phase': self.cycle.phase.value,
                'attempts': s.attempts, 'succeeded': s.succeeded, 'first_attempts': s.first_attempts,
                'first_attempt_succeeded': s.first_attempt_succeeded, 'arm_wait_s': round(s.arm_wait_s, 3),
                'feed_wait_s': round(s.feed_wait_s, 3), 'cycle_s': round(s.cycle_s, 3),
                'belt_advances': s.belt_advances, 'robot_waits': s.robot_waits, 'plans_ahead': s.plans_ahead,
                'plans_ahead_used': s.plans_ahead_used, 'plan_ahead_skipped': dict(s.plan_ahead_skipped),
                'feeds_ahead': s.feeds_ahead, 'failed_clearing_retreats': s.failed_clearing_retreats,
                'wait_scene_by_reason_s': {k: round(v, 3) for k, v in sorted(s.wait_scene_by_reason_s.items())},
                'time_in_phase_s': self.cycle.time_budget(self._now()),
                'stamp_s': self._now()}
        self._status_pub.publish(String(data=json.dumps(body)))

    def _status(self) -> diagnostics.Status:
        s = self.cycle.stats
        values = {'phase': self.cycle.phase.value, 'attempts': s.attempts, 'succeeded': s.succeeded,
                  'arm_wait_s': s.arm_wait_s, 'bad_messages': self._bad_messages}
        values['stale_decisions'] = s.stale_decisions
        values['uncommanded_belt_runs'] = s.uncommanded_belt_runs
        if self.cycle.phase.value == 'hold':
            return diagnostics.Status(diagnostics.WARN, 'holding: a human was called', values)
        if self.cycle.belt_uncommanded(self._now()):
            return diagnostics.Status(diagnostics.WARN, 'belt moving without command: frames refused, the arm '
                                      'holds', values)
        held = self.cycle.waiting_for_robot_s(self._now())
        if held is not None:
            return diagnostics.Status(diagnostics.WARN, f'holding a package over the place station for {held:.0f} s: '
                                      'no empty drive robot docked', values)
        stale = self.cycle.perception_stale_s(self._now())
        if stale is not None:
            return diagnostics.Status(diagnostics.WARN, f'perception stale: no fresh frame for {stale:.1f} s (limit '
                                      f'{self.cycle.config.max_decision_age_s:.1f} s), the arm holds', values)
        return diagnostics.Status(diagnostics.OK, f'{self.cycle.phase.value}', values)

    def _bad(self, text: str) -> None:
        self._bad_messages += 1
        self.get_logger().error(text)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def close(self) -> None:
        # a record published just before the stop must reach every subscriber (store, recorder)
        # before this writer goes away: reliable delivery retransmits only while it exists
        if not self._record_pub.wait_for_all_acked(Duration(seconds=2.0)):
            self.get_logger().warning('stopping with pick records not acknowledged by every subscriber '
                                      '(the journal keeps them)')
        self.journal.close()


def main(args: list[str] | None = None) -> int:
    return run_node(CellControllerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
