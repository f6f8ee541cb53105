"""The run report's closed-loop numbers, computed from pick records (no ROS)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from robin_bringup.run_report import RunReport, failure_counts
from robin_core.records import PickRecord


def _rec(t0: float, outcome: str, attempt: int = 1, approach: bool = True, latency: float = 100.0) -> PickRecord:
    states = [('plan', t0)] + ([('approach', t0 + 0.1), ('report', t0 + 3.0)] if approach else [('report', t0)])
    return PickRecord(outcome=outcome, attempt=attempt, states=states, timings_ms={'decision': latency})


def test_pick_metrics_from_records_and_status(tmp_path: Path) -> None:
    r = RunReport()
    r.on_pick_record(_rec(0.0, 'succeeded', latency=90))
    r.on_pick_record(_rec(3.0, 'failed', latency=110))
    r.on_pick_record(_rec(6.0, 'succeeded', attempt=2, latency=120))
    r.on_pick_record(_rec(9.0, 'aborted', approach=False, latency=500))  # planning failed: not an attempt
    r.on_pick_record(PickRecord(outcome='in_progress'))  # snapshots are ignored
    r.on_cell_status({'arm_wait_s': 0.3, 'cycle_s': 9.0, 'time_in_phase_s': {'approach': 1.5, 'feed': 2.0},
                      'plans_ahead': 2, 'plans_ahead_used': 1, 'feeds_ahead': 3})
    m = r.pick_metrics()
    assert m['time_in_phase_s'] == {'approach': 1.5, 'feed': 2.0}
    assert m['plans_ahead'] == {'made': 2, 'used': 1, 'skipped': {}}
    assert m['feeds_ahead'] == 3
    assert (m['picks_attempted'], m['picks_succeeded']) == (3, 2)
    assert m['first_attempt_success'] == pytest.approx(0.5)
    assert m['picks_per_hour_sim'] == pytest.approx(2 / ((9.0 - 0.1) / 3600.0), rel=1e-3)
    assert m['decision_latency_ms']['p50'] == pytest.approx(115.0)
    assert m['arm_wait_fraction'] == pytest.approx(0.3 / 9.0, abs=1e-4)
    data = r.write(tmp_path / 'report.json')
    on_disk = json.loads((tmp_path / 'report.json').read_text())
    assert on_disk == json.loads(json.dumps(data))
    for key in ('packages_spawned', 'sim_seconds', 'wall_seconds', 'camera_hz', 'picks_attempted'):
        assert key in on_disk


def test_failures_are_counted_by_kind_without_their_detail() -> None:
    reasons = ['plan failed: ik_failed (approach: no IK solution for [0.68, 0.21, 0.43])',
               'plan failed: ik_failed (lift: no IK solution for [0.6, 0.2, 0.5])',
               'placement: drop', None, '']
    assert failure_counts(reasons) == {'plan failed: ik_failed': 2, 'placement: drop': 1}
    r = RunReport()
    for k, why in enumerate(reasons):
        r.on_pick_record(PickRecord(outcome='failed' if why else 'succeeded', failure_reason=why or '',
                                    states=[('approach', float(k)), ('report', k + 0.5)]))
    assert r.pick_metrics()['failure_counts'] == {'plan failed: ik_failed': 2, 'placement: drop': 1}


def test_empty_run_reports_zeros_not_errors() -> None:
    m = RunReport().pick_metrics()
    assert m['picks_attempted'] == 0 and m['first_attempt_success'] is None and m['decision_latency_ms'] is None


def test_camera_statistics_in_constant_memory() -> None:
    r = RunReport()
    for k, t in enumerate([0.0, 0.1, 0.2, 0.9, 1.0]):
        r.on_camera_frame(t)
        assert r.camera_frames == k + 1
    d = r.as_dict()
    assert d['camera_frames'] == 5 and d['camera_hz'] == pytest.approx(4.0) and d['camera_max_gap_s'] == 0.7
    two = RunReport()
    two.on_camera_frame(0.0)
    two.on_camera_frame(0.5)
    assert two.as_dict()['camera_max_gap_s'] is None and two.camera_hz() == pytest.approx(2.0)


def test_realtime_factor_with_and_without_start_up() -> None:
    r = RunReport(wall_start=100.0)
    r.on_clock(0.0, wall_time=110.0)  # the simulator's first clock 10 s after the start
    r.on_clock(15.0, wall_time=140.0)
    r.wall_end = 140.0
    d = r.as_dict()
    assert d['realtime_factor'] == pytest.approx(15.0 / 40.0, abs=1e-3)
    assert d['realtime_factor_running'] == pytest.approx(15.0 / 30.0, abs=1e-3)
    assert RunReport().as_dict()['realtime_factor_running'] is None


def test_attempts_can_be_counted_while_the_monitor_thread_adds_records() -> None:
    """The run's main thread polls ``attempts`` while the monitor's executor thread adds records: a
    68-minute fault run lost its report to 'dictionary changed size during iteration'."""
    report = RunReport()
    errors: list[BaseException] = []
    adding = threading.Event()

    def monitor() -> None:
        adding.set()
        for k in range(20000):
            rec = _rec(float(k), 'succeeded')
            rec.record_id = f'r{k}'
            report.on_pick_record(rec)

    thread = threading.Thread(target=monitor)
    thread.start()
    adding.wait()
    polls = 0
    while thread.is_alive():
        try:
            report.attempts()
            report.pick_metrics()
        except RuntimeError as exc:  # pragma: no cover - what the lock prevents
            errors.append(exc)
            break
        polls += 1
    thread.join()
    assert not errors and polls > 0
    assert len(report.attempts()) == 20000
