"""End to end: the whole node graph on the simulator for a handful of picks, as `make demo` runs it.

Every node is a real process talking over DDS on this test's ROS domain; the run must produce a
report with the documented keys, real pick attempts, and a rosbag2 (MCAP) recording that an
independent reader (rosbags) deserializes completely; replaying its frames offline through
perception and the grasp planner reproduces every recorded pick decision exactly, and another
model changes them (robin-diff).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from onnx import numpy_helper
from rosbags.highlevel import AnyReader

from robin_core.ros_env import REPO_ROOT
from robin_insight import diff_cli

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

    _replay_reproduces_decisions(tmp_path / 'runs' / 'bags', tmp_path)


def _replay_reproduces_decisions(bags: Path, tmp_path: Path) -> None:
    """The recorded frames through perception + planner offline (robin-diff): the same model and
    configuration reproduce every recorded pick decision exactly; another model changes them."""
    assert diff_cli.main([str(bags), '--out', str(tmp_path / 'same')]) == 0
    same = json.loads((tmp_path / 'same' / 'report.json').read_text())
    assert same['summary']['compared'] >= 1, same['skipped']
    for pick in same['picks']:
        rec, off = pick['recorded'], pick['offline']
        assert pick['perception']['labels_identical'], pick  # perception re-ran bit for bit
        assert off['instance_id'] == rec['instance_id'] and off['cup_mask'] == rec['cup_mask'], pick
        assert off['package_type'] == rec['package_type'], pick
        assert math.dist(off['position'], rec['position']) <= 1e-6, pick
        assert pick['identical'] and not pick['changed'] and pick['rank_source'] == 'record', pick
        assert pick['arm_mask'].startswith(('rebuilt', 'none')), pick  # the planner's own arm mask
    # a different model: the shipped one with its package-type outputs permuted
    other = _types_permuted(REPO_ROOT / 'models' / 'universal' / 'package_seg.onnx', tmp_path / 'permuted.onnx')
    assert diff_cli.main([str(bags), '--model', str(other), '--out', str(tmp_path / 'other'), '--fail-on-change']) == 3
    changed = json.loads((tmp_path / 'other' / 'report.json').read_text())
    assert changed['summary']['changed'] == changed['summary']['compared'] == same['summary']['compared']
    for pick in changed['picks']:
        assert 'type' in pick['changes'] and pick['offline']['package_type'] != pick['recorded']['package_type']
        assert Path(pick['image']).is_file()


def _types_permuted(src: Path, dst: Path) -> Path:
    """A different but valid model: the semantic head's four package-type channels rotated by one."""
    model = onnx.load(str(src))
    order = [0, 1, 3, 4, 5, 2]  # foreground, boundary, then the types
    head = [i for i in model.graph.initializer if i.name in ('sem_head.1.weight', 'sem_head.1.bias')]
    assert len(head) == 2, 'the semantic head is no longer where this test expects it'
    for init in head:
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init)[order], init.name))
    for prop in model.metadata_props:
        if prop.key == 'robin.version':
            prop.value = json.dumps(json.loads(prop.value) + '-types-permuted')
    onnx.save(model, str(dst))
    return dst
