"""Backend selection, the JSON request protocol and the execution monitor (no ROS, no planning)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from robin_grasp.motion.backend_selection import select_backend
from robin_grasp.motion.execution_monitor import ExecutionMonitor, Progress
from robin_grasp.motion.interface import JointTrajectory
from robin_grasp.motion.pick_sequence import SEGMENTS
from robin_grasp.motion.protocol import REQUEST_SCHEMA, ProtocolError, event, parse_request


class _Fake:
    def __init__(self, name: str) -> None:
        self.name = name


def _select(requested: str, available: bool, moveit_raises: bool = False):
    logs: list[str] = []

    def build_moveit():
        if moveit_raises:
            raise RuntimeError('no move_group parameters')
        return _Fake('moveit')

    sel = select_backend(requested, build_builtin=lambda: _Fake('builtin'), build_moveit=build_moveit,
                         moveit_available=lambda: available, log=logs.append)
    return sel, logs


@pytest.mark.parametrize(
    ('requested', 'available', 'raises', 'expected', 'n_logs'),
    [
        ('builtin', True, False, 'builtin', 0),
        ('moveit', True, False, 'moveit', 0),
        ('moveit', False, False, 'builtin', 1),  # not installed: fail over, say so once
        ('moveit', True, True, 'builtin', 1),  # installed but broken: fail over with the error
        ('auto', True, False, 'moveit', 0),
        ('auto', False, False, 'builtin', 0),
    ],
)
def test_backend_selection(requested, available, raises, expected, n_logs):
    sel, logs = _select(requested, available, raises)
    assert sel.backend.name == expected
    assert len(logs) == n_logs
    fell_back = expected == 'builtin' and requested != 'builtin'
    assert bool(sel.fallback_reason) == fell_back
    if raises:
        assert 'no move_group parameters' in logs[0]


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError, match='not one of'):
        _select('ompl', True)


def _pose(z: float = 0.1) -> dict:
    return {'position': [0.5, 0.0, z], 'orientation': [1.0, 0.0, 0.0, 0.0]}


def test_parse_plan_pick():
    req = parse_request(json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'p1', 'grasp': _pose(),
                                    'package_size': [0.2, 0.1, 0.05], 'execute': ['descend', 'approach']}), 6)
    assert req.op == 'plan_pick' and req.plan_id == 'p1'
    assert req.execute == ('approach', 'descend')  # execution order, not request order
    assert req.grasp is not None
    assert np.allclose(req.grasp[:3, 2], [0.0, 0.0, -1.0])  # 180° about x: tool z points down
    assert req.place is None and req.start is None and req.scene_stamp_ns is None
    scene = parse_request(json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'p3', 'grasp': _pose(),
                                      'scene_stamp_ns': 1_700_000_000_123}), 6)
    assert scene.scene_stamp_ns == 1_700_000_000_123
    posed = parse_request(json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'p4', 'grasp': _pose(),
                                      'package_size': [0.4, 0.3, 0.05], 'package_pose': [0.05, -0.02, 0.3]}), 6)
    assert posed.package_pose == (0.05, -0.02, 0.3) and req.package_pose is None
    held = parse_request(json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'p5', 'grasp': _pose(),
                                     'payload_acceleration': 3}), 6)
    assert held.payload_acceleration == 3.0 and req.payload_acceleration is None
    all_segments = parse_request(json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'p2',
                                             'grasp': _pose(), 'execute': True}), 6)
    assert all_segments.execute == SEGMENTS


def test_a_move_names_the_pick_whose_package_it_holds():
    base = {'schema': REQUEST_SCHEMA, 'op': 'plan_move', 'goal_joints': [0.0] * 6}
    plain = parse_request(json.dumps({**base, 'id': 'm1'}), 6)
    assert plain.carry_plan == '' and plain.execute == ('move',)
    carrying = parse_request(json.dumps({**base, 'id': 'm2', 'carry_plan': 'pick-17'}), 6)
    assert carrying.carry_plan == 'pick-17' and carrying.execute == ('carry',)  # a loaded segment


@pytest.mark.parametrize(
    ('text', 'match'),
    [
        ('{not json', 'not JSON'),
        ('[1, 2]', 'JSON object'),
        (json.dumps({'op': 'stop', 'id': 'x'}), 'schema'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'dance', 'id': 'x'}), 'op must be'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'stop'}), 'id must be'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'x'}), 'needs grasp'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'x',
                     'grasp': {'position': [0, 0], 'orientation': [0, 0, 0, 1]}}), 'grasp.position'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'x',
                     'grasp': {'position': [0, 0, 0], 'orientation': [0, 0, 0, 3]}}), 'unit quaternion'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'x', 'grasp': _pose(),
                     'execute': ['fly']}), 'unknown segment'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'x', 'grasp': _pose(),
                     'scene_stamp_ns': -5}), 'scene_stamp_ns'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'x', 'grasp': _pose(),
                     'scene_stamp_ns': '12'}), 'scene_stamp_ns'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'x', 'grasp': _pose(),
                     'package_pose': [0.0, 0.0, 0.0]}), 'package_pose needs package_size'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'x', 'grasp': _pose(),
                     'package_size': [0.2, 0.1, 0.05], 'package_pose': [0.5, 0.0, 0.0]}), 'under the tool'),
        *((json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'x', 'grasp': _pose(),
                       'payload_acceleration': bad}), 'payload_acceleration') for bad in (0, -2.0, '5', True)),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_move', 'id': 'x'}), 'exactly one'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_move', 'id': 'x', 'goal_joints': [0, 1]}),
         'goal_joints'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'plan_move', 'id': 'x', 'goal_joints': [0] * 6,
                     'carry_plan': 3}), 'carry_plan'),
        (json.dumps({'schema': REQUEST_SCHEMA, 'op': 'execute', 'id': 'x'}), 'plan_id'),
    ],
)
def test_malformed_requests_are_rejected_with_a_reason(text, match):
    with pytest.raises(ProtocolError, match=match):
        parse_request(text, 6)


def test_event_is_plain_json():
    out = json.loads(event('r1', 'planned', end=np.array([1.0, 2.0]), n=np.int64(3)))
    assert out['event'] == 'planned' and out['id'] == 'r1' and out['end'] == [1.0, 2.0] and out['n'] == 3


def _traj() -> JointTrajectory:
    t = np.linspace(0.0, 1.0, 11)
    q = np.outer(t, np.ones(6))
    return JointTrajectory(tuple('abcdef'), t, q, np.zeros_like(q), np.zeros_like(q))


def test_monitor_done_only_after_duration_and_within_tolerance():
    mon = ExecutionMonitor(_traj(), start_time=10.0, tolerance=0.01, settle_timeout=0.5)
    end = np.ones(6)
    assert mon.check(10.5, end).progress is Progress.RUNNING  # at the goal early: still running
    assert mon.check(11.0, end - 0.05).progress is Progress.RUNNING  # late but settling
    assert mon.check(11.1, end - 0.005).progress is Progress.DONE
    assert mon.check(11.6, end - 0.05).progress is Progress.TIMEOUT
    assert mon.check(11.6, None).progress is Progress.TIMEOUT
    stuck = end.copy()
    stuck[3] -= 0.03  # one joint held back (e.g. a contact): the verdict names it
    late = mon.check(11.6, stuck)
    assert late.progress is Progress.TIMEOUT and late.joint == 3 and abs(late.error - 0.03) < 1e-9


def test_a_guarded_descent_that_stops_on_the_package_arrives_on_contact():
    mon = ExecutionMonitor(_traj(), start_time=10.0, tolerance=0.01, settle_timeout=0.5, contact_tolerance=0.05)
    short = np.ones(6) - 0.04  # the cups met the package 0.04 rad before the end
    assert mon.check(10.8, short).progress is Progress.RUNNING  # not before the nominal end
    assert mon.check(11.0, short).progress is Progress.RUNNING  # stopped, but not for long enough yet
    done = mon.check(11.2, short)
    assert done.progress is Progress.DONE and done.contact
    moving = ExecutionMonitor(_traj(), start_time=10.0, tolerance=0.01, settle_timeout=0.5, contact_tolerance=0.05)
    for k, t in enumerate(np.arange(11.0, 11.45, 0.05)):  # still creeping towards the end: not a contact
        assert moving.check(float(t), np.ones(6) - 0.045 + 0.004 * k).progress is Progress.RUNNING
    far = ExecutionMonitor(_traj(), start_time=10.0, tolerance=0.01, settle_timeout=0.5, contact_tolerance=0.05)
    far.check(11.0, np.ones(6) - 0.2)
    assert far.check(11.3, np.ones(6) - 0.2).progress is Progress.RUNNING  # blocked too early: no contact
    assert far.check(11.6, np.ones(6) - 0.2).progress is Progress.TIMEOUT
    free = ExecutionMonitor(_traj(), start_time=10.0, tolerance=0.01, settle_timeout=0.5)  # a free-space move
    free.check(11.0, short)
    assert free.check(11.4, short).progress is Progress.RUNNING
