"""Accumulates what a cell run did into ``report.json`` (plain Python, fed by the monitor node).

Keys are the interface `make demo` is checked by; keep them stable and add, never rename.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robin_bringup.memory_sampler import MemorySampler
from robin_bringup.pick_truth import TruthTrack, qa_confusion
from robin_core.records import PickRecord


def failure_counts(reasons: Iterable[str | None]) -> dict[str, int]:
    """How often each kind of failure occurred, most frequent first. The kind is the reason
    without its parenthesised detail (``plan failed: ik_failed (approach: no IK solution for …)``
    counts as ``plan failed: ik_failed``)."""
    counts = Counter(r.split(' (', 1)[0] for r in reasons if r)
    return dict(counts.most_common())


def is_attempt(record: PickRecord) -> bool:
    """The arm went for the package (a plan that failed never touched it)."""
    return any(s == 'approach' for s, _ in record.states)


@dataclass
class RunReport:
    """Running totals of one cell run.

    The monitor node's executor thread feeds it while the run's main thread polls it (``attempts``
    to stop at N picks): the records are guarded by a lock and read as a snapshot. Iterating the
    live dict once cost a 68-minute fault run its report ("dictionary changed size during
    iteration" in the main thread, session 10).
    """

    wall_start: float = field(default_factory=time.monotonic)
    wall_end: float | None = None  # set when the run stops (post-processing is not run time)
    clock_wall_start: float | None = None  # wall time of the first /clock message (the simulator runs)
    camera_frames: int = 0  # running camera statistics: constant memory over a soak of any length
    camera_first: float | None = None
    camera_last: float | None = None
    camera_max_gap_s: float | None = None  # largest wall gap between consecutive frames
    sim_seconds: float = 0.0
    sim_status: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    records: dict[str, PickRecord] = field(default_factory=dict)  # final pick records by id
    cell_status: dict[str, Any] = field(default_factory=dict)
    truth: TruthTrack = field(default_factory=TruthTrack)  # simulator ground truth (evaluation only)
    memory: MemorySampler = field(default_factory=MemorySampler)  # RSS per node process
    record_accounting: dict[str, Any] | None = None  # journal vs topic vs store vs bag (record_audit)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def on_camera_frame(self, wall_time: float | None = None) -> None:
        t = time.monotonic() if wall_time is None else wall_time
        if self.camera_last is not None:
            gap = t - self.camera_last
            self.camera_max_gap_s = gap if self.camera_max_gap_s is None else max(self.camera_max_gap_s, gap)
        self.camera_first = t if self.camera_first is None else self.camera_first
        self.camera_last = t
        self.camera_frames += 1

    def on_clock(self, sim_seconds: float, wall_time: float | None = None) -> None:
        if self.clock_wall_start is None:
            self.clock_wall_start = time.monotonic() if wall_time is None else wall_time
        self.sim_seconds = max(self.sim_seconds, sim_seconds)

    def on_sim_status(self, status: Mapping[str, Any]) -> None:
        self.sim_status = dict(status)

    def on_ground_truth(self, sim_seconds: float, states: Mapping[int, str]) -> None:
        """Package states from ``sim/ground_truth`` at sim time ``sim_seconds``."""
        self.truth.add(sim_seconds, states)

    def on_pick_record(self, record: PickRecord) -> None:
        if record.outcome != 'in_progress':
            with self._lock:
                self.records[record.record_id] = record

    def final_records(self) -> list[PickRecord]:
        """A snapshot of the final pick records so far (safe while the monitor adds to them)."""
        with self._lock:
            return list(self.records.values())

    def on_cell_status(self, status: Mapping[str, Any]) -> None:
        self.cell_status = dict(status)

    def attempts(self) -> list[PickRecord]:
        """Records where the arm went for the package (a plan that failed never touched it)."""
        return [r for r in self.final_records() if is_attempt(r)]

    def pick_metrics(self) -> dict[str, Any]:
        """The closed-loop numbers of issue 4, from final pick records and the controller status."""
        records = self.final_records()
        attempts = [r for r in records if is_attempt(r)]
        ok = [r for r in attempts if r.outcome == 'succeeded']
        first = [r for r in attempts if r.attempt == 1]
        starts = [t for r in attempts for s, t in r.states if s == 'approach']
        ends = [t for r in attempts for s, t in r.states if s == 'report']
        span_h = (max(ends) - min(starts)) / 3600.0 if starts and ends and max(ends) > min(starts) else 0.0
        lat = np.array([r.timings_ms['decision'] for r in records if 'decision' in r.timings_ms])
        st = self.cell_status
        cycle_s = float(st.get('cycle_s', 0.0) or 0.0)
        return {
            'picks_attempted': len(attempts),
            'picks_succeeded': len(ok),
            'first_attempt_success': round(sum(r.outcome == 'succeeded' for r in first) / len(first), 4)
            if first else None,
            'picks_per_hour_sim': round(len(ok) / span_h, 1) if span_h > 0 else 0.0,
            'decision_latency_ms': {'p50': round(float(np.percentile(lat, 50)), 1),
                                    'p99': round(float(np.percentile(lat, 99)), 1)} if lat.size else None,
            'arm_wait_fraction': round(float(st.get('arm_wait_s', 0.0)) / cycle_s, 4) if cycle_s > 0 else None,
            # where the cell's time went (controller phases; 'feed': the belt ran and the pile settled)
            'time_in_phase_s': dict(st.get('time_in_phase_s') or {}),
            'plans_ahead': {'made': st.get('plans_ahead', 0), 'used': st.get('plans_ahead_used', 0),
                            'skipped': dict(st.get('plan_ahead_skipped') or {})},
            'feeds_ahead': st.get('feeds_ahead', 0),
            'wait_scene_by_reason_s': dict(st.get('wait_scene_by_reason_s') or {}),
            'verdicts': {v: sum(r.verdict == v for r in attempts) for v in sorted({r.verdict for r in attempts})},
            'failure_reasons': sorted({r.failure_reason for r in records if r.failure_reason})[:20],
            'failure_counts': failure_counts(r.failure_reason for r in records),
        }

    def camera_hz(self) -> float:
        """Mean wall-clock rate over the frames received (0 with fewer than two)."""
        first, last = self.camera_first, self.camera_last
        if self.camera_frames < 2 or first is None or last is None or last <= first:
            return 0.0
        return (self.camera_frames - 1) / (last - first)

    def as_dict(self) -> dict[str, Any]:
        end = self.wall_end if self.wall_end is not None else time.monotonic()
        wall = end - self.wall_start
        running = end - self.clock_wall_start if self.clock_wall_start is not None else 0.0
        report = {
            'packages_spawned': int(self.sim_status.get('packages_spawned', 0)),
            'sim_seconds': round(self.sim_seconds, 3),
            'wall_seconds': round(wall, 3),
            'realtime_factor': round(self.sim_seconds / wall, 3) if wall > 0 else 0.0,  # start-up included
            'realtime_factor_running': round(self.sim_seconds / running, 3) if running > 0 else None,  # from /clock on
            'camera_hz': round(self.camera_hz(), 2),
            'camera_frames': self.camera_frames,
            'camera_max_gap_s': round(self.camera_max_gap_s, 3)
            if self.camera_max_gap_s is not None and self.camera_frames > 2 else None,
        }
        report.update(self.pick_metrics())
        report['qa_confusion'] = qa_confusion(self.attempts(), self.truth) if self.truth.times else None
        report['memory_mb'] = self.memory.summary()
        report['memory_total_mb'] = self.memory.total_mb()
        report['record_accounting'] = self.record_accounting
        report.update(self.extra)
        return report

    def write(self, path: Path) -> dict[str, Any]:
        data = self.as_dict()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix('.json.tmp')
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n')
        tmp.replace(path)  # atomic: a reader never sees half a report
        return data
