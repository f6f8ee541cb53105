"""Fault-injected QA benchmark (issue 5): QA verdict vs ground truth under injected faults.

Runs ``robin-cell demo --profile sim`` (every node a real process over DDS, MuJoCo simulator) on a
private ROS domain in a scratch directory and, from this process, injects faults on the schedule of
robin_bringup/fault_schedule.py through run-time parameter changes: forced straddling double picks
(cell controller ``fault_injection.all_cups_rate``), a weakened cup under each pick (simulator
``fault.weakened_cup``: drops), a torn cup (``fault.torn_cup``; QA must flag it, the planner stop
using it; repaired at the block's end with ``qa/restore_cups``) and packages knocked off the cell
(``fault.knock_off``). Active QA alerts are acknowledged after ``--ack-after`` seconds, as an
operator would. The QA confusion matrix is the run report's own grading (``qa_confusion``,
robin_bringup/pick_truth.py); the phase and torn-cup tables are built here with the same grader.

    python bench/qa_faults.py [--picks 300] [--duration 2700] [--seed 0] [--out bench/results/qa.json]

The run stops after ``--picks`` attempts or ``--duration`` wall seconds, whichever comes first;
qa.json then says ``complete: false`` with the picks done. The scratch directory keeps
``bench_raw.json`` (final records, the simulator's package-state track, alerts, fault log):
``--regrade WORK/bench_raw.json`` grades a finished run again after a grader change.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String, UInt8MultiArray
from std_srvs.srv import Trigger

from robin_bringup.fault_schedule import FaultSchedule, FaultState, cup_to_weaken, most_used_cup, transition
from robin_bringup.pick_truth import GraderStates, TruthTrack, camera_view
from robin_bringup.qa_bench import TornCup, format_tables, grade_raw
from robin_bringup.run_report import RunReport
from robin_core import qos, topics
from robin_core.cell_description import default_cell
from robin_core.records import PickRecord, RecordError, from_json, to_json
from robin_core.ros_env import REPO_ROOT as REPO
from robin_core.ros_env import apply_ros_environment

CALL_TIMEOUT_S = 10.0


class FaultBenchNode(Node):
    """Thin adapter: watches records, truth, cup flags and alerts; sets parameters; calls services."""

    def __init__(self, report: RunReport, **kwargs: Any) -> None:
        super().__init__('qa_fault_bench', **kwargs)
        self.report = report
        # the simulator's "held" split by whether the package came up; falls before the camera's view apart
        self.grader_states = GraderStates(view=camera_view(default_cell()))
        self.inflight: dict[str, int] = {}  # record id -> cup mask, from the approach phase until final
        self.unhealthy: list[tuple[float, tuple[int, ...]]] = []  # (sim s, flagged cups)
        self.alerts: list[tuple[float, float, str]] = []  # (wall s, sim s, reason) of active alerts
        self.lock = threading.Lock()
        self.create_subscription(Clock, '/clock', lambda m: report.on_clock(m.clock.sec + m.clock.nanosec * 1e-9),
                                 qos.SENSOR)
        self.create_subscription(String, topics.SIM_GROUND_TRUTH, self._on_truth, qos.RECORDS)
        self.create_subscription(String, topics.PICK_RECORDS, self._on_record, qos.RECORDS)
        self.create_subscription(String, topics.PICK_PHASE, self._on_phase, qos.RECORDS)
        self.create_subscription(UInt8MultiArray, topics.QA_UNHEALTHY_CUPS, self._on_unhealthy, qos.LATCHED)
        self.create_subscription(String, topics.QA_ALERT, self._on_alert, qos.LATCHED)
        self.params = {n: AsyncParameterClient(self, n) for n in ('sim', 'cell_controller')}
        self.triggers = {s: self.create_client(Trigger, s) for s in (topics.QA_ACKNOWLEDGE, topics.QA_RESTORE_CUPS)}

    def _on_truth(self, msg: String) -> None:
        try:
            states = self.grader_states(json.loads(msg.data)['packages'])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
            return
        with self.lock:
            self.report.on_ground_truth(self.report.sim_seconds, states)

    def _on_phase(self, msg: String) -> None:
        """The controller tells QA ``approach`` (with the cups it will switch on) before the cups go on."""
        try:
            phase = json.loads(msg.data)
            rid, mask = str(phase['record_id']), phase.get('cup_mask')
        except (json.JSONDecodeError, KeyError, TypeError):
            return
        if phase.get('phase') == 'approach' and isinstance(mask, int):
            with self.lock:
                self.inflight.setdefault(rid, mask)

    def _on_record(self, msg: String) -> None:
        try:
            rec = from_json(msg.data, PickRecord)
        except RecordError:
            return
        if rec.outcome != 'in_progress':  # only final records are published
            with self.lock:
                self.inflight.pop(rec.record_id, None)
                self.report.on_pick_record(rec)

    def _on_unhealthy(self, msg: UInt8MultiArray) -> None:
        with self.lock:
            self.unhealthy.append((self.report.sim_seconds, tuple(k for k, v in enumerate(msg.data) if v)))

    def _on_alert(self, msg: String) -> None:
        try:
            alert = json.loads(msg.data)
        except json.JSONDecodeError:
            return
        if alert.get('active'):
            with self.lock:
                self.alerts.append((time.monotonic(), self.report.sim_seconds, str(alert.get('reason', ''))))

    def set_params(self, node: str, values: dict[str, Any]) -> str:
        """Set parameters on ``node``; 'ok' or why not."""
        client = self.params[node]
        if not client.wait_for_services(timeout_sec=CALL_TIMEOUT_S):
            return 'parameter service not available'
        fut = client.set_parameters([Parameter(k, value=v) for k, v in values.items()])
        if not _wait(fut):
            return 'timeout'
        bad = [r.reason for r in fut.result().results if not r.successful]
        return '; '.join(bad) if bad else 'ok'

    def trigger(self, service: str) -> str:
        cli = self.triggers[service]
        if not cli.wait_for_service(timeout_sec=CALL_TIMEOUT_S):
            return 'service not available'
        fut = cli.call_async(Trigger.Request())
        return (fut.result().message or 'ok') if _wait(fut) else 'timeout'


def _wait(fut: Any, timeout: float = CALL_TIMEOUT_S) -> bool:
    end = time.monotonic() + timeout
    while not fut.done() and time.monotonic() < end:
        time.sleep(0.02)
    return fut.done()


class Injector:
    """Applies the schedule as attempts finish (called from the bench's main loop)."""

    def __init__(self, node: FaultBenchNode, schedule: FaultSchedule) -> None:
        self.node, self.schedule = node, schedule
        self.state: FaultState | None = None
        self.log: list[dict[str, Any]] = []
        self.torn: list[dict[str, Any]] = []  # block, cup, fault_s
        self.knock_offs: list[dict[str, Any]] = []
        self.weakened_for: set[str] = set()
        self.stuck_for: set[str] = set()
        self.acked: set[float] = set()
        self.start_wall = time.monotonic()

    def _note(self, pick: int, what: str, result: str) -> None:
        entry = {'pick': pick, 'sim_s': round(self.node.report.sim_seconds, 2),
                 'wall_s': round(time.monotonic() - self.start_wall, 1), 'change': what, 'result': result}
        self.log.append(entry)
        print(f'[qa_faults] pick {pick}: {what} -> {result}', flush=True)

    def step(self, ack_after_s: float) -> None:
        n = self.node
        with n.lock:
            done = len(n.report.attempts())
            masks = [r.cup_mask for r in n.report.attempts() if 'fault_injection' not in r.scene]
            inflight = dict(n.inflight)
            alerts = list(n.alerts)
        new = self.schedule.state(done)
        if new != self.state:
            self._apply(done, transition(self.state, new), masks)
            self.state = new
        if new.weaken_cups:
            for rid, mask in inflight.items():
                cup = cup_to_weaken(mask)
                if rid not in self.weakened_for and cup is not None:
                    self.weakened_for.add(rid)
                    self._note(done, f'sim fault.weakened_cup={cup}', n.set_params('sim', {'fault.weakened_cup': cup}))
        if new.stick_pairs:
            for rid in inflight:
                if rid not in self.stuck_for:
                    self.stuck_for.add(rid)
                    self._note(done, 'sim fault.stuck_pair=true', n.set_params('sim', {'fault.stuck_pair': True}))
        for wall, _sim, reason in alerts:
            if wall not in self.acked and time.monotonic() - wall >= ack_after_s:
                self.acked.add(wall)
                self._note(done, f'acknowledge alert ({reason})', n.trigger(topics.QA_ACKNOWLEDGE))

    def _apply(self, pick: int, act: Any, masks: list[int]) -> None:
        n = self.node
        if act.all_cups_rate is not None:
            self._note(pick, f'cell_controller fault_injection.all_cups_rate={act.all_cups_rate}',
                       n.set_params('cell_controller', {'fault_injection.all_cups_rate': act.all_cups_rate}))
        if act.clear_weakened:
            self._note(pick, 'sim fault.weakened_cup=-1', n.set_params('sim', {'fault.weakened_cup': -1}))
        if act.clear_stuck:
            self._note(pick, 'sim fault.stuck_pair=false', n.set_params('sim', {'fault.stuck_pair': False}))
        if act.repair:
            self._note(pick, 'sim fault.torn_cup=-1', n.set_params('sim', {'fault.torn_cup': -1}))
            self._note(pick, 'qa/restore_cups', n.trigger(topics.QA_RESTORE_CUPS))
        if act.tear:
            cup = most_used_cup(masks)
            res = n.set_params('sim', {'fault.torn_cup': cup})
            self._note(pick, f'sim fault.torn_cup={cup}', res)
            if res == 'ok':
                self.torn.append({'block': self.schedule.state(pick).block, 'cup': cup,
                                  'fault_s': n.report.sim_seconds})
        if act.knock_off:
            res = n.set_params('sim', {'fault.knock_off': True})
            self._note(pick, 'sim fault.knock_off=true', res)
            if res == 'ok':
                self.knock_offs.append({'pick': pick, 'sim_s': round(n.report.sim_seconds, 2)})

    def torn_events(self) -> list[TornCup]:
        flags = self.node.unhealthy
        out = []
        for k, t in enumerate(self.torn):
            end = self.torn[k + 1]['fault_s'] if k + 1 < len(self.torn) else float('inf')
            flagged = next((s for s, cups in flags if t['fault_s'] <= s < end and t['cup'] in cups), None)
            out.append(TornCup(t['block'], t['cup'], t['fault_s'], flagged))
        return out

    def knock_off_alerts(self, window_s: float = 60.0) -> list[dict[str, Any]]:
        out = []
        for k in self.knock_offs:
            hit = next(((s, r) for _w, s, r in self.node.alerts if k['sim_s'] <= s <= k['sim_s'] + window_s), None)
            out.append({**k, 'alert_s': None if hit is None else round(hit[0], 2),
                        'alert_reason': None if hit is None else hit[1]})
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--picks', type=int, default=300, help='stop after this many pick attempts')
    ap.add_argument('--duration', type=float, default=2700.0, help='wall-time cap [s]')
    ap.add_argument('--seed', type=int, default=0, help='scene seed of the simulator')
    ap.add_argument('--out', type=Path, default=REPO / 'bench' / 'results' / 'qa.json')
    ap.add_argument('--ack-after', type=float, default=10.0, help='acknowledge an active QA alert after [s wall]')
    ap.add_argument('--domain-id', type=int, default=102 + os.getpid() % 10, help='private ROS domain')
    ap.add_argument('--work', type=Path, default=None, help='scratch directory (default: a temporary one)')
    ap.add_argument('--regrade', type=Path, default=None, metavar='BENCH_RAW',
                    help="grade a finished run's bench_raw.json again with the current grader (no run)")
    a = ap.parse_args()
    if a.regrade is not None:
        return _write(grade_raw(json.loads(a.regrade.read_text())), a.out)
    schedule = FaultSchedule()
    work = a.work or Path(tempfile.mkdtemp(prefix='robin_bench_qa_'))
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, '-m', 'robin_bringup.cli', 'demo', '--graph', str(REPO / 'config' / 'cell.yaml'),
           '--profile', 'sim', '--picks', str(a.picks), '--duration', str(a.duration),
           '--domain-id', str(a.domain_id), '--out', 'runs', '--param', f'sim:seed={a.seed}']
    print(f'[qa_faults] {" ".join(cmd[1:])}  (cwd {work})', flush=True)

    apply_ros_environment(a.domain_id)
    context = rclpy.Context()
    rclpy.init(context=context, args=[])
    report = RunReport()
    node = FaultBenchNode(report, context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    injector = Injector(node, schedule)
    t0 = time.monotonic()
    with (work / 'demo.log').open('w') as log:
        demo = subprocess.Popen(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT)
        while demo.poll() is None:
            if time.monotonic() - t0 > a.duration + 300:
                demo.terminate()  # our own child: the demo should have stopped itself long ago
                break
            injector.step(a.ack_after)
            time.sleep(0.5)
        demo.wait(timeout=120)
    wall = time.monotonic() - t0
    with node.lock:
        records = list(report.attempts())
        track = TruthTrack.from_dict(report.truth.as_dict())  # a copy: the spinner may still add
        alerts = [[s, r] for _w, s, r in node.alerts]
    torn, knocks = injector.torn_events(), injector.knock_off_alerts()
    executor.shutdown()
    spinner.join(timeout=10.0)
    node.destroy_node()
    rclpy.shutdown(context=context)

    report_path = work / 'runs' / 'latest' / 'report.json'
    run_report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    run = {'picks_done': run_report.get('picks_attempted', len(records)), 'bench_picks_seen': len(records),
           'wall_s': round(wall, 1), 'sim_seconds': run_report.get('sim_seconds'),
           'realtime_factor': run_report.get('realtime_factor'), 'exit_reason': run_report.get('exit_reason'),
           'demo_exit_code': demo.returncode, 'seed': a.seed, 'duration_cap_s': a.duration,
           'picks_succeeded': run_report.get('picks_succeeded'), 'work_dir': str(work)}
    # everything the grading reads, kept even if the assembly fails: `--regrade` grades it again
    raw = {'picks_requested': a.picks, 'run': run, 'records': [json.loads(to_json(r)) for r in records],
           'truth_track': track.as_dict(), 'alerts': alerts, 'torn': [t.__dict__ for t in torn],
           'knock_offs': knocks, 'fault_log': injector.log}
    (work / 'bench_raw.json').write_text(json.dumps(raw))
    return _write(grade_raw(raw, run_report.get('qa_confusion')), a.out)


def _write(qa: dict[str, Any], out: Path) -> int:
    print('\n' + format_tables(qa))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(qa, indent=2) + '\n')
    print(f'\n[qa_faults] wrote {out}')
    return 0 if qa.get('confusion') is not None else 1


if __name__ == '__main__':
    raise SystemExit(main())
