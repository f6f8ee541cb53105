"""The motion executor node over rclpy: requests in, trajectories and events out."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory

from robin_core import qos, topics
from robin_core.cell_description import default_cell
from robin_core.image_codec import Stamp, numpy_to_image
from robin_grasp.motion.protocol import REQUEST_SCHEMA

pytestmark = pytest.mark.ros

HOME = [0.0, -np.pi / 2, np.pi / 2, -np.pi / 2, -np.pi / 2, 0.0]
GRASP = {'position': [0.5, 0.05, 0.08], 'orientation': [1.0, 0.0, 0.0, 0.0]}  # tool pointing down


@pytest.fixture
def rig(ros):
    from robin_grasp.motion_executor_node import MotionExecutorNode

    node = ros.add(MotionExecutorNode(context=ros.context))
    probe = ros.node('motion_probe')
    got: dict[str, list] = {'events': [], 'trajectories': []}
    probe.create_subscription(String, topics.MOTION_EVENT, lambda m: got['events'].append(json.loads(m.data)),
                              qos.RECORDS)
    probe.create_subscription(JointTrajectory, topics.ARM_TRAJECTORY, got['trajectories'].append, qos.RELIABLE)
    requests = probe.create_publisher(String, topics.MOTION_REQUEST, qos.RELIABLE)
    joints = probe.create_publisher(JointState, topics.JOINT_STATES, qos.RELIABLE)
    names = list(default_cell().joint_names)

    def publish_joints(q):
        joints.publish(JointState(name=names, position=[float(v) for v in q]))

    def send(obj) -> None:
        requests.publish(String(data=obj if isinstance(obj, str) else json.dumps(obj)))

    def events(name: str, rid: str) -> list[dict]:
        return [e for e in got['events'] if e['event'] == name and e['id'] == rid]

    # wait for discovery both ways before talking
    assert ros.spin_until(lambda: requests.get_subscription_count() > 0 and joints.get_subscription_count() > 0, 10)
    return ros, node, got, send, publish_joints, events


def test_pick_request_publishes_a_trajectory_and_reports_segments(rig):
    ros, _node, got, send, publish_joints, events = rig
    publish_joints(HOME)
    ros.spin_for(0.3)
    send({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'pick-1', 'grasp': GRASP,
          'package_size': [0.2, 0.15, 0.08], 'execute': ['approach']})
    assert ros.spin_until(lambda: events('planned', 'pick-1') or events('plan_failed', 'pick-1'), 20)
    planned = events('planned', 'pick-1')
    assert planned, got['events']
    assert [s['name'] for s in planned[0]['segments']] == ['approach', 'descend', 'lift', 'transfer']
    assert ros.spin_until(lambda: got['trajectories'], 5)
    traj = got['trajectories'][0]
    assert list(traj.joint_names) == list(default_cell().joint_names)
    assert np.allclose(traj.points[0].positions, HOME, atol=1e-6)
    end = planned[0]['segments'][0]['end_joints']
    assert np.allclose(traj.points[-1].positions, end, atol=1e-5)
    duration = traj.points[-1].time_from_start.sec + traj.points[-1].time_from_start.nanosec * 1e-9
    assert duration == pytest.approx(planned[0]['segments'][0]['duration_s'], abs=1e-3)
    # the "arm" arrives: the segment completes, and the request is done
    publish_joints(end)
    assert ros.spin_until(lambda: events('done', 'pick-1'), duration + 5)
    assert events('segment_done', 'pick-1')[0]['segment'] == 'approach'
    # the next segment, on request
    send({'schema': REQUEST_SCHEMA, 'op': 'execute', 'id': 'pick-1b', 'plan_id': 'pick-1', 'segments': ['descend']})
    assert ros.spin_until(lambda: events('segment_started', 'pick-1b'), 5)
    assert ros.spin_until(lambda: len(got['trajectories']) == 2, 5)



def test_a_lift_started_off_its_start_is_blended_from_the_arm_or_refused_beyond_the_blend_tolerance(rig):
    """...and a loaded lift or transfer arrives within loaded_arrival_tolerance."""
    ros, node, got, send, publish_joints, events = rig
    publish_joints(HOME)
    ros.spin_for(0.3)
    send({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'p', 'grasp': GRASP,
          'package_size': [0.2, 0.15, 0.08], 'execute': False})
    assert ros.spin_until(lambda: events('planned', 'p') or events('plan_failed', 'p'), 20)
    segments = {s['name']: s for s in events('planned', 'p')[0]['segments']}
    descend_end = np.array(segments['descend']['end_joints'])
    lift_end = np.array(segments['lift']['end_joints'])
    # the descent stopped on contact 0.08 rad short on the elbow: beyond start_tolerance, within the blend's
    stopped = descend_end + np.array([0.0, 0.0, 0.08, 0.0, 0.0, 0.0])
    publish_joints(stopped)
    ros.spin_for(0.3)
    send({'schema': REQUEST_SCHEMA, 'op': 'execute', 'id': 'lift-1', 'plan_id': 'p', 'segments': ['lift']})
    assert ros.spin_until(lambda: events('segment_started', 'lift-1') or events('segment_failed', 'lift-1'), 5)
    started = events('segment_started', 'lift-1')
    assert started and started[0]['start_offset_rad'] == pytest.approx(0.08, abs=1e-4), got['events'][-3:]
    assert ros.spin_until(lambda: got['trajectories'], 5)
    traj = got['trajectories'][-1]
    assert np.allclose(traj.points[0].positions, stopped, atol=1e-6)  # from where the arm is
    assert np.allclose(traj.points[-1].positions, lift_end, atol=1e-6)  # to where the transfer begins
    # the package is up: a wrist sagging 0.07 rad under it has arrived (an unloaded segment wants 0.02)
    publish_joints(lift_end + np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.07]))
    assert ros.spin_until(lambda: events('segment_done', 'lift-1') or events('segment_failed', 'lift-1'), 10)
    assert events('segment_done', 'lift-1')[0]['error_rad'] == pytest.approx(0.07, abs=1e-4)
    assert node._counts['segments_blended'] == 1
    # 0.2 rad off: something moved the arm; not blended, the controller decides
    publish_joints(descend_end + np.array([0.0, 0.0, 0.2, 0.0, 0.0, 0.0]))
    ros.spin_for(0.3)
    send({'schema': REQUEST_SCHEMA, 'op': 'execute', 'id': 'lift-2', 'plan_id': 'p', 'segments': ['lift']})
    assert ros.spin_until(lambda: events('segment_failed', 'lift-2'), 5)
    assert events('segment_failed', 'lift-2')[0]['reason'] == 'start_mismatch'
    # the transfer ends over a tray: a wrist 0.04 rad short under its load has arrived there
    publish_joints(lift_end)
    ros.spin_for(0.3)
    send({'schema': REQUEST_SCHEMA, 'op': 'execute', 'id': 'carry', 'plan_id': 'p', 'segments': ['transfer']})
    assert ros.spin_until(lambda: events('segment_started', 'carry'), 5)
    publish_joints(np.array(segments['transfer']['end_joints']) + np.array([0.0, 0.0, 0.0, 0.0, 0.04, 0.0]))
    assert ros.spin_until(lambda: events('segment_done', 'carry') or events('segment_failed', 'carry'),
                          segments['transfer']['duration_s'] + 5)
    assert events('segment_done', 'carry')[0]['error_rad'] == pytest.approx(0.04, abs=1e-4)


def _publish_height_maps(ros, maps: list[tuple[int, float]]) -> None:
    """Pile height maps over the whole pick area, (stamp [ns], height [m] or nan = empty) each."""
    area = default_cell().pick_area
    probe = ros.node('pile_probe')
    pub = probe.create_publisher(Image, topics.PILE_HEIGHT_MAP, qos.RELIABLE)
    assert ros.spin_until(lambda: pub.get_subscription_count() > 0, 10)
    cols = round((area.x_range[1] - area.x_range[0]) / 0.01) + 1
    rows = round((area.y_range[1] - area.y_range[0]) / 0.01) + 1
    for stamp, height in maps:
        msg = numpy_to_image(np.full((rows, cols), height, np.float32), '32FC1')
        msg.header.stamp = Stamp(stamp).to_msg()
        pub.publish(msg)


def test_a_move_holding_a_picks_package_plans_in_that_picks_transfer_scene_and_arrives_loaded(rig):
    """The rest of a failed transfer holds the package: planned in the pick's own transfer scene and
    executed as a loaded segment ('carry'); a move naming no stored pick is refused."""
    ros, _node, got, send, publish_joints, events = rig
    _publish_height_maps(ros, [(1_000_000_000, np.nan)])
    publish_joints(HOME)
    ros.spin_for(0.5)
    send({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'q', 'grasp': GRASP, 'package_size': [0.2, 0.15, 0.08],
          'scene_stamp_ns': 1_000_000_000, 'payload_acceleration': 2.0})
    assert ros.spin_until(lambda: events('planned', 'q') or events('plan_failed', 'q'), 30)
    segments = {s['name']: s for s in events('planned', 'q')[0]['segments']}
    # the package's grasp holds it through 2 m/s^2: the transfer is slowed to it, the empty tool is not
    assert segments['transfer']['slowed_by'] > 1.0 and 'slowed_by' not in segments['approach']
    lift_end, place = np.array(segments['lift']['end_joints']), segments['transfer']['end_joints']
    drifted = lift_end + np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.18])  # refused as the transfer's start
    publish_joints(drifted)
    ros.spin_for(0.3)
    move = {'schema': REQUEST_SCHEMA, 'op': 'plan_move', 'goal_joints': place}
    send({**move, 'id': 'unknown', 'carry_plan': 'no-such-pick'})
    assert ros.spin_until(lambda: events('rejected', 'unknown'), 5)
    assert events('rejected', 'unknown')[0]['reason'] == 'unknown_plan'
    send({**move, 'id': 'rest', 'carry_plan': 'q'})
    assert ros.spin_until(lambda: events('segment_started', 'rest') or events('plan_failed', 'rest'), 30)
    assert events('segment_started', 'rest')[0]['segment'] == 'carry', events('plan_failed', 'rest')
    assert ros.spin_until(lambda: np.allclose(got['trajectories'][-1].points[0].positions, drifted, atol=1e-6), 5)
    # loaded: a wrist 0.05 rad short under the package has arrived (an empty move wants 0.02)
    publish_joints(np.array(place) + np.array([0.0, 0.0, 0.0, 0.0, 0.05, 0.0]))
    assert ros.spin_until(lambda: events('segment_done', 'rest') or events('segment_failed', 'rest'), 20)
    assert events('segment_done', 'rest'), events('segment_failed', 'rest')


def test_segment_times_out_when_the_arm_does_not_move(rig):
    ros, _node, _got, send, publish_joints, events = rig
    publish_joints(HOME)
    ros.spin_for(0.3)
    send({'schema': REQUEST_SCHEMA, 'op': 'plan_move', 'id': 'm1', 'goal_joints': [q + 0.2 for q in HOME]})
    assert ros.spin_until(lambda: events('segment_failed', 'm1'), 15)
    assert events('segment_failed', 'm1')[0]['reason'] == 'timeout'


def test_malformed_request_gets_an_error_reply_and_the_node_stays_alive(rig):
    ros, _node, got, send, publish_joints, events = rig
    send('{"schema": "robin.motion.request/1", "id": "bad-1", "op": "plan_pick"}')
    assert ros.spin_until(lambda: events('rejected', 'bad-1'), 5)
    assert events('rejected', 'bad-1')[0]['reason'] == 'malformed_request'
    send('this is not json')
    assert ros.spin_until(lambda: any(e['event'] == 'rejected' and e['id'] == '' for e in got['events']), 5)
    # no joint state yet: a plan request is refused with a reason, not queued forever
    send({'schema': REQUEST_SCHEMA, 'op': 'plan_move', 'id': 'm0', 'goal_joints': HOME})
    assert ros.spin_until(lambda: events('rejected', 'm0'), 5)
    assert events('rejected', 'm0')[0]['reason'] == 'no_joint_state'
    # still alive: an unreachable pick is planned and fails with a typed reason
    publish_joints(HOME)
    ros.spin_for(0.3)
    far = {'position': [2.5, 0.0, 0.1], 'orientation': [1.0, 0.0, 0.0, 0.0]}
    send({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': 'far-1', 'grasp': far})
    assert ros.spin_until(lambda: events('plan_failed', 'far-1'), 15)
    failed = events('plan_failed', 'far-1')[0]
    assert failed['reason'] in ('unreachable', 'ik_failed') and failed['segment'] == 'approach'


def test_a_pick_is_planned_around_the_pile_of_its_own_frame(rig):
    """Two scenes: in frame 1 the grasp lies at the bottom of a well in a 40 cm pile (only the
    target's own footprint is cleared), frame 2 (newer) is clear. The request naming frame 1
    fails, naming frame 2 plans."""
    ros, _node, _got, send, publish_joints, events = rig
    _publish_height_maps(ros, [(1_000_000_000, 0.4), (2_000_000_000, np.nan)])
    publish_joints(HOME)
    ros.spin_for(0.5)
    base = {'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'grasp': GRASP, 'package_size': [0.2, 0.15, 0.08]}
    send({**base, 'id': 'in-stack', 'scene_stamp_ns': 1_000_000_000})
    assert ros.spin_until(lambda: events('planned', 'in-stack') or events('plan_failed', 'in-stack'), 30)
    assert events('plan_failed', 'in-stack'), 'the pile around the grasp must block the plan'
    send({**base, 'id': 'clear', 'scene_stamp_ns': 2_000_000_000})
    assert ros.spin_until(lambda: events('planned', 'clear') or events('plan_failed', 'clear'), 30)
    assert events('planned', 'clear'), events('plan_failed', 'clear')


def test_a_flood_of_plan_requests_is_refused_as_busy_not_queued(rig):
    ros, _node, _got, send, publish_joints, events = rig
    publish_joints(HOME)
    ros.spin_for(0.3)
    ids = [f'flood-{k}' for k in range(6)]
    for rid in ids:  # faster than one plan takes
        send({'schema': REQUEST_SCHEMA, 'op': 'plan_pick', 'id': rid, 'grasp': GRASP})
    assert ros.spin_until(lambda: all(events('planned', r) or events('plan_failed', r) or events('rejected', r)
                                      for r in ids), 60)
    busy = [r for r in ids if any(e['reason'] == 'busy' for e in events('rejected', r))]
    assert busy and len(busy) <= len(ids) - 2  # the first two are planned, the rest refused at once
    assert events('planned', ids[0])
