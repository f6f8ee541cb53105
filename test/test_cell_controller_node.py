"""The cell controller node over real DDS, with its neighbours scripted by the test.

The test plays grasp planner, motion executor and QA with real messages on their real topics and
checks that the controller drives one pick to a published, journalled record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cell_fixtures import grasp_decision_json
from rclpy.parameter import Parameter
from std_msgs.msg import String, UInt8MultiArray

from robin_cell.cell_controller_node import CellControllerNode
from robin_core import qos, topics
from robin_core.params import ParameterError
from robin_core.records import ModelInfo, PickRecord, QaEvent, from_json, to_msg

pytestmark = pytest.mark.ros


def _event(rid: str, name: str, **kw) -> String:
    return String(data=json.dumps({'schema': 'robin.motion.event/1', 'id': rid, 'event': name, **kw}))


def test_one_pick_end_to_end_over_topics(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal')), Parameter('tick_rate', value=200.0),
        Parameter('pipeline.startup_grace', value=0.0)]))
    peer = ros.node('scripted_peers')
    decision_pub = peer.create_publisher(String, topics.GRASP_DECISION, qos.RECORDS)
    motion_pub = peer.create_publisher(String, topics.MOTION_EVENT, qos.RECORDS)
    qa_pub = peer.create_publisher(String, topics.QA_EVENTS, qos.RECORDS)
    requests: list[dict] = []
    phases: list[dict] = []
    cups: list[list[int]] = []
    records: list[PickRecord] = []
    peer.create_subscription(String, topics.MOTION_REQUEST, lambda m: requests.append(json.loads(m.data)),
                             qos.RELIABLE)
    peer.create_subscription(String, topics.PICK_PHASE, lambda m: phases.append(json.loads(m.data)), qos.RECORDS)
    peer.create_subscription(UInt8MultiArray, topics.CUP_COMMAND, lambda m: cups.append(list(m.data)), qos.RELIABLE)
    peer.create_subscription(String, topics.PICK_RECORDS, lambda m: records.append(from_json(m.data, PickRecord)),
                             qos.RECORDS)
    model_pub = peer.create_publisher(String, topics.PERCEPTION_MODEL_INFO, qos.LATCHED)
    model_pub.publish(to_msg(ModelInfo(segmenter='model', model_version='1.2.3', model_sha256='ab' * 32)))
    assert ros.spin_until(lambda: decision_pub.get_subscription_count() > 0
                          and motion_pub.get_subscription_count() > 0, 10)
    ros.spin_for(0.3)  # the latched model info arrives

    stamp = ctrl.get_clock().now().nanoseconds
    decision_pub.publish(String(data=grasp_decision_json(stamp)))
    assert ros.spin_until(lambda: len(requests) == 1, 10)
    plan = requests[0]
    assert plan['op'] == 'plan_pick' and plan['grasp']['position'] == [0.6, 0.1, 0.12]
    assert plan['scene_stamp_ns'] == stamp  # planned around the pile the decision saw
    assert plan['package_size'] == [0.3, 0.3, 0.12]  # long side square, the package's thickness
    assert plan['payload_acceleration'] == 6.5  # what the grasp holds: motion slows the transfer to it
    motion_pub.publish(_event(plan['id'], 'planned', planning_ms=42.0,
                              segments=[{'name': 'approach', 'duration_s': 1.0, 'end_joints': [0.0] * 6}]))
    for segment in (['approach', 'descend'], ['lift'], ['transfer']):
        assert ros.spin_until(lambda seg=segment: requests[-1].get('segments') == seg, 10), requests[-1]
        motion_pub.publish(_event(requests[-1]['id'], 'done', plan_id=plan['id']))
        if segment == ['lift']:
            assert ros.spin_until(lambda: any(p['phase'] == 'lifted' for p in phases), 10)
            qa_pub.publish(to_msg(QaEvent(record_id=plan['id'], phase='lifted', verdict='ok')))
    assert ros.spin_until(lambda: any(p['phase'] == 'released' for p in phases), 10)
    qa_pub.publish(to_msg(QaEvent(record_id=plan['id'], phase='placed', verdict='ok', final=True)))
    assert ros.spin_until(lambda: records, 10)

    rec = records[0]
    assert rec.record_id == plan['id'] and rec.outcome == 'succeeded'
    assert rec.target is not None and rec.target.instance_id == 3 and rec.cup_mask == 15
    assert rec.plan['planning_ms'] == 42.0 and rec.plan['payload_acceleration_mps2'] == 6.5
    assert (rec.segmenter, rec.model_version, rec.model_sha256) == ('model', '1.2.3', 'ab' * 32)
    assert [1, 1, 1, 1, 0, 0, 0, 0] in cups and cups[-1] == [0] * 8  # on for the grasp, off at the end
    assert [p['phase'] for p in phases] == ['approach', 'grasped', 'lifted', 'transferring', 'released']
    journal = (tmp_path / 'journal' / 'pick_journal.jsonl').read_text().splitlines()
    assert json.loads(journal[-1])['final'] and json.loads(journal[-1])['record']['record_id'] == rec.record_id


def test_garbage_inputs_are_counted_and_the_node_keeps_working(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal'))]))
    peer = ros.node('garbage')
    pubs = [peer.create_publisher(String, t, qos.RECORDS) for t in (topics.GRASP_DECISION, topics.MOTION_EVENT,
                                                                     topics.QA_EVENTS)]
    model_info = peer.create_publisher(String, topics.PERCEPTION_MODEL_INFO, qos.LATCHED)
    assert ros.spin_until(lambda: all(p.get_subscription_count() > 0 for p in [*pubs, model_info]), 10)
    for p in pubs:
        p.publish(String(data='{not json'))
        p.publish(String(data='{"schema": "something/else"}'))
    assert ros.spin_until(lambda: ctrl._bad_messages >= 6, 10)
    for k, text in enumerate(('{not json', '{"schema": "robin.model_info/1", "segmenter": "magic"}')):
        model_info.publish(String(data=text))  # latched: depth 1, so one at a time
        assert ros.spin_until(lambda k=k: ctrl._bad_messages >= 7 + k, 10)
    assert ctrl.cycle.phase.value == 'wait_scene'
    assert ctrl.cycle.model_info == ('none', None, None)  # a bad model info changes nothing


def test_a_park_pose_with_the_wrong_number_of_joints_is_refused_at_start(ros, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match='park_joints'):
        CellControllerNode(context=ros.context, parameter_overrides=[
            Parameter('journal_dir', value=str(tmp_path / 'journal')),
            Parameter('recovery.park_joints', value=[0.0, -1.5708, 1.5708])])


def test_the_fault_injection_rate_applies_at_run_time_and_out_of_range_is_refused(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal'))]))
    assert ctrl.cycle.config.fault_all_cups_rate == 0.0  # off unless a benchmark turns it on
    (ok,) = ctrl.set_parameters([Parameter('fault_injection.all_cups_rate', value=0.4)])
    assert ok.successful and ctrl.cycle.config.fault_all_cups_rate == 0.4
    (bad,) = ctrl.set_parameters([Parameter('fault_injection.all_cups_rate', value=1.5)])
    assert not bad.successful and ctrl.cycle.config.fault_all_cups_rate == 0.4


def test_a_stuck_arm_retreats_and_a_retreat_that_cannot_be_planned_ends_at_once(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal')), Parameter('tick_rate', value=200.0),
        Parameter('pipeline.startup_grace', value=0.0)]))
    peer = ros.node('scripted_executor')
    decision_pub = peer.create_publisher(String, topics.GRASP_DECISION, qos.RECORDS)
    motion_pub = peer.create_publisher(String, topics.MOTION_EVENT, qos.RECORDS)
    requests: list[dict] = []
    records: list[PickRecord] = []
    peer.create_subscription(String, topics.MOTION_REQUEST, lambda m: requests.append(json.loads(m.data)),
                             qos.RELIABLE)
    peer.create_subscription(String, topics.PICK_RECORDS, lambda m: records.append(from_json(m.data, PickRecord)),
                             qos.RECORDS)
    assert ros.spin_until(lambda: decision_pub.get_subscription_count() > 0
                          and motion_pub.get_subscription_count() > 0, 10)
    decision_pub.publish(String(data=grasp_decision_json(ctrl.get_clock().now().nanoseconds)))
    assert ros.spin_until(lambda: len(requests) == 1, 10)
    motion_pub.publish(_event(requests[0]['id'], 'plan_failed', reason='start_in_collision', detail='stuck'))
    assert ros.spin_until(lambda: len(requests) == 2, 10)
    retreat = requests[1]
    assert retreat['op'] == 'plan_move' and ctrl.cycle.phase.value == 'recover'  # clear the arm first
    t0 = ctrl.get_clock().now().nanoseconds * 1e-9
    motion_pub.publish(_event(retreat['id'], 'plan_failed', reason='start_in_collision', detail='still stuck'))
    assert ros.spin_until(lambda: ctrl.cycle.phase.value == 'wait_scene', 5)
    waited = ctrl.get_clock().now().nanoseconds * 1e-9 - t0
    assert waited < ctrl.cycle.config.segment_timeout_s / 2  # the failure arrived: no 8 s timeout
    assert ctrl.cycle.stats.attempts == 0 and ctrl.cycle.stats.arm_clearing_retreats == 1
    assert ros.spin_until(lambda: bool(records) and records[-1].outcome == 'aborted', 5)
    assert 'the arm retreats first' in records[-1].failure_reason


def test_the_next_pick_is_planned_from_the_place_pose_while_the_package_is_carried(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal')), Parameter('tick_rate', value=200.0),
        Parameter('pipeline.startup_grace', value=0.0), Parameter('pipeline.scene_clear_delay', value=0.0)]))
    peer = ros.node('scripted_neighbours')
    decision_pub = peer.create_publisher(String, topics.GRASP_DECISION, qos.RECORDS)
    motion_pub = peer.create_publisher(String, topics.MOTION_EVENT, qos.RECORDS)
    qa_pub = peer.create_publisher(String, topics.QA_EVENTS, qos.RECORDS)
    requests: list[dict] = []
    peer.create_subscription(String, topics.MOTION_REQUEST, lambda m: requests.append(json.loads(m.data)),
                             qos.RELIABLE)
    assert ros.spin_until(lambda: decision_pub.get_subscription_count() > 0
                          and motion_pub.get_subscription_count() > 0 and qa_pub.get_subscription_count() > 0, 10)
    place = [-0.27, -0.7, 2.12, -3.0, -1.57, 2.8]
    segments = [{'name': 'approach', 'duration_s': 1.0, 'end_joints': [0.0] * 6},
                {'name': 'transfer', 'duration_s': 1.3, 'end_joints': place}]
    decision_pub.publish(String(data=grasp_decision_json(ctrl.get_clock().now().nanoseconds)))
    assert ros.spin_until(lambda: len(requests) == 1, 10)
    first = requests[0]
    assert first['start'] is None  # from wherever the arm is
    motion_pub.publish(_event(first['id'], 'planned', planning_ms=40.0, segments=segments))
    for segment in (['approach', 'descend'], ['lift']):
        assert ros.spin_until(lambda seg=segment: requests[-1].get('segments') == seg, 10), requests[-1]
        motion_pub.publish(_event(requests[-1]['id'], 'done', plan_id=first['id']))
    assert ros.spin_until(lambda: ctrl.cycle.phase.value == 'verify', 10)
    ros.spin_for(0.3)  # QA weighs the still load first
    qa_pub.publish(to_msg(QaEvent(record_id=first['id'], phase='lifted', verdict='ok')))
    assert ros.spin_until(lambda: requests[-1].get('segments') == ['transfer'], 10)
    # the arm is carrying: a frame from now on shows the pile without it
    decision_pub.publish(String(data=grasp_decision_json(ctrl.get_clock().now().nanoseconds, instance_id=5,
                                                         position=[0.5, -0.1, 0.1])))
    assert ros.spin_until(lambda: requests[-1].get('op') == 'plan_pick', 10), requests[-1]
    ahead = requests[-1]
    assert ahead['start'] == place and ahead['grasp']['position'] == [0.5, -0.1, 0.1]
    motion_pub.publish(_event(ahead['id'], 'planned', planning_ms=40.0, segments=segments))
    ros.spin_for(0.2)
    assert ctrl.cycle.phase.value == 'transfer'  # the carried package comes first
    transfer = next(r for r in requests if r.get('segments') == ['transfer'])
    motion_pub.publish(_event(transfer['id'], 'done', plan_id=first['id']))
    assert ros.spin_until(lambda: ctrl.cycle.phase.value == 'release', 10)
    qa_pub.publish(to_msg(QaEvent(record_id=first['id'], phase='placed', verdict='ok', final=True)))
    # placed: the next approach goes at once, no planning in between
    assert ros.spin_until(lambda: requests[-1].get('segments') == ['approach', 'descend'], 10), requests[-1]
    assert requests[-1]['plan_id'] == ahead['id'] and ctrl.cycle.stats.plans_ahead_used == 1


def test_the_release_waits_for_an_empty_drive_robot_at_the_station(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal')), Parameter('tick_rate', value=200.0),
        Parameter('pipeline.startup_grace', value=0.0)]))
    peer = ros.node('scripted_station')
    decision_pub = peer.create_publisher(String, topics.GRASP_DECISION, qos.RECORDS)
    motion_pub = peer.create_publisher(String, topics.MOTION_EVENT, qos.RECORDS)
    qa_pub = peer.create_publisher(String, topics.QA_EVENTS, qos.RECORDS)
    station_pub = peer.create_publisher(String, topics.PLACE_STATION, qos.SENSOR)
    requests: list[dict] = []
    cups: list[list[int]] = []
    peer.create_subscription(String, topics.MOTION_REQUEST, lambda m: requests.append(json.loads(m.data)),
                             qos.RELIABLE)
    peer.create_subscription(UInt8MultiArray, topics.CUP_COMMAND, lambda m: cups.append(list(m.data)), qos.RELIABLE)
    assert ros.spin_until(lambda: station_pub.get_subscription_count() > 0 and qa_pub.get_subscription_count() > 0
                          and decision_pub.get_subscription_count() > 0, 10)
    station_pub.publish(String(data='{not json'))
    assert ros.spin_until(lambda: ctrl._bad_messages == 1, 10)  # unreadable: reported, nothing changes
    leaving = {'robots': [{'name': 'r0', 'phase': 'leaving', 'package_count': 1},
                          {'name': 'r1', 'phase': 'arriving', 'package_count': 0}]}
    station_pub.publish(String(data=json.dumps(leaving)))
    decision_pub.publish(String(data=grasp_decision_json(ctrl.get_clock().now().nanoseconds)))
    assert ros.spin_until(lambda: len(requests) == 1, 10)
    motion_pub.publish(_event(requests[0]['id'], 'planned', planning_ms=10.0, segments=[]))
    for segment in (['approach', 'descend'], ['lift'], ['transfer']):
        assert ros.spin_until(lambda seg=segment: requests[-1].get('segments') == seg, 10), requests[-1]
        if segment == ['transfer']:
            break
        motion_pub.publish(_event(requests[-1]['id'], 'done', plan_id=requests[0]['id']))
        if segment == ['lift']:
            assert ros.spin_until(lambda: ctrl.cycle.phase.value == 'verify', 10)
            ros.spin_for(0.3)
            qa_pub.publish(to_msg(QaEvent(record_id=requests[0]['id'], phase='lifted', verdict='ok')))
    motion_pub.publish(_event(requests[-1]['id'], 'done', plan_id=requests[0]['id']))
    assert ros.spin_until(lambda: ctrl.cycle.phase.value == 'wait_robot', 10)
    held = len(cups)
    ros.spin_for(0.3)
    assert len(cups) == held  # the cups stay on: nothing is released over an empty station
    docked = {'robots': [{'name': 'r1', 'phase': 'waiting', 'package_count': 0}]}
    station_pub.publish(String(data=json.dumps(docked)))
    assert ros.spin_until(lambda: ctrl.cycle.phase.value == 'release', 10)
    assert ros.spin_until(lambda: cups[-1] == [0] * 8, 10)  # released onto the robot


def test_a_transfer_that_stopped_short_is_finished_with_a_joint_move_to_its_end(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal')), Parameter('tick_rate', value=200.0),
        Parameter('pipeline.startup_grace', value=0.0)]))
    peer = ros.node('scripted_transfer')
    decision_pub = peer.create_publisher(String, topics.GRASP_DECISION, qos.RECORDS)
    motion_pub = peer.create_publisher(String, topics.MOTION_EVENT, qos.RECORDS)
    qa_pub = peer.create_publisher(String, topics.QA_EVENTS, qos.RECORDS)
    requests: list[dict] = []
    phases: list[str] = []
    peer.create_subscription(String, topics.MOTION_REQUEST, lambda m: requests.append(json.loads(m.data)),
                             qos.RELIABLE)
    peer.create_subscription(String, topics.PICK_PHASE, lambda m: phases.append(json.loads(m.data)['phase']),
                             qos.RECORDS)
    assert ros.spin_until(lambda: decision_pub.get_subscription_count() > 0
                          and motion_pub.get_subscription_count() > 0, 10)
    decision_pub.publish(String(data=grasp_decision_json(ctrl.get_clock().now().nanoseconds)))
    assert ros.spin_until(lambda: len(requests) == 1, 10)
    pid = requests[0]['id']
    place = [1.0, -1.2, 1.1, -1.5, -1.57, 0.3]
    motion_pub.publish(_event(pid, 'planned', planning_ms=40.0,
                              segments=[{'name': 'transfer', 'duration_s': 2.0, 'end_joints': place}]))
    for segment in (['approach', 'descend'], ['lift']):
        assert ros.spin_until(lambda seg=segment: requests[-1].get('segments') == seg, 10), requests[-1]
        motion_pub.publish(_event(requests[-1]['id'], 'done', plan_id=pid))
    assert ros.spin_until(lambda: 'lifted' in phases, 10)
    qa_pub.publish(to_msg(QaEvent(record_id=pid, phase='lifted', verdict='ok')))
    assert ros.spin_until(lambda: requests[-1].get('segments') == ['transfer'], 10)
    motion_pub.publish(_event(requests[-1]['id'], 'segment_failed', plan_id=pid, segment='transfer', reason='timeout',
                              detail='transfer not within 0.06 rad of its end (error 0.3130 rad on wrist_2_joint)'))
    assert ros.spin_until(lambda: requests[-1]['op'] == 'plan_move', 10), requests[-1]
    assert requests[-1]['goal_joints'] == place and 'released' not in phases  # the package stays on the cups
    motion_pub.publish(_event(requests[-1]['id'], 'done', plan_id=requests[-1]['id']))
    assert ros.spin_until(lambda: 'released' in phases, 10)  # released over the tray, as planned
