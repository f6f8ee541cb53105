"""End to end: the whole node graph on the simulator for a handful of picks, as `make demo` runs it.

Every node is a real process talking over DDS on this test's ROS domain; the run must produce a
report with the documented keys, real pick attempts, and a rosbag2 (MCAP) recording that an
independent reader (rosbags) deserializes completely.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rosbags.highlevel import AnyReader

from robin_core.ros_env import REPO_ROOT

pytestmark = [pytest.mark.ros, pytest.mark.sim, pytest.mark.slow, pytest.mark.timeout(400)]

REPORT_KEYS = ('packages_spawned', 'sim_seconds', 'wall_seconds', 'camera_hz', 'picks_attempted', 'picks_succeeded',
               'first_attempt_success', 'picks_per_hour_sim', 'decision_latency_ms', 'arm_wait_fraction')


def test_demo_runs_the_closed_loop_and_records_it(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, '-m', 'robin_bringup.cli', 'demo', '--graph', str(REPO_ROOT / 'config' / 'cell.yaml'),
         '--profile', 'sim', '--profile', 'record', '--picks', '2', '--duration', '300', '--out', 'runs'],
        cwd=tmp_path, env=os.environ.copy(), capture_output=True, text=True, timeout=380, check=False,
    )
    tail = (out.stdout + out.stderr)[-3000:]
    assert out.returncode == 0, tail
    report = json.loads((tmp_path / 'runs' / 'latest' / 'report.json').read_text())
    for key in REPORT_KEYS:
        assert key in report, f'{key} missing from the report'
    assert report['packages_spawned'] > 0 and report['camera_hz'] > 0 and report['sim_seconds'] > 0
    assert report['picks_attempted'] >= 2, tail
    assert report['decision_latency_ms'] is not None

    bags = sorted((tmp_path / 'runs' / 'bags').rglob('metadata.yaml'))
    assert bags, 'the recorder wrote no rosbag2 folder'
    counts: dict[str, int] = {}
    with AnyReader([b.parent for b in bags]) as reader:
        for conn, _t, raw in reader.messages():
            reader.deserialize(raw, conn.msgtype)  # raises on any message it cannot read
            counts[conn.topic] = counts.get(conn.topic, 0) + 1
    for topic in ('/camera/color/image_raw', '/perception/instances/table', '/grasp/decision', '/cell/pick_records'):
        assert counts.get(topic, 0) > 0, f'{topic} not recorded: {sorted(counts)}'
