"""The controller's message mapping: decisions in, plan requests out, planned segments read back."""

from __future__ import annotations

import dataclasses
import json

import pytest

from robin_cell.controller_io import (
    MotionEvent,
    decision_from_json,
    motion_event_from_json,
    plan_failure_text,
    plan_request,
    segment_end,
)
from robin_cell.pick_cycle import GraspOption
from robin_core.records import RecordError
from robin_grasp.grasp_decision import GraspDecision

OPTION = GraspOption(instance_id=1, package_type='box', score=0.9, type_score=0.9, grasp_score=0.8, cup_mask=0b11,
                     position=(0.5, 0.0, 0.1), orientation=(1.0, 0.0, 0.0, 0.0), expected_mass_kg=1.0)


def test_an_unpickable_decision_says_how_many_packages_are_still_entering():
    raw = GraspDecision(stamp_ns=2_000_000_000, frame_id='base_link', status='no_pickable_target',
                        reason='no pickable package', rejected={'4': 'not fully visible'}, entering=[4])
    d = decision_from_json(raw.to_json(), now_ns=2_300_000_000)
    assert d.entering == 1 and not d.options and d.reason == 'no pickable package'
    assert d.latency_ms == pytest.approx(300.0)
    with pytest.raises(RecordError):
        decision_from_json('{"schema": "robin.grasp_decision/1"}', now_ns=0)


def test_a_plan_request_carries_its_start_joints_only_when_planning_ahead():
    body = json.loads(plan_request('p1', OPTION, 5, start=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6)))
    assert body['start'] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6] and body['scene_stamp_ns'] == 5
    assert json.loads(plan_request('p1', OPTION))['start'] is None


def test_the_carried_box_is_the_package_where_it_hangs_or_a_square_of_its_long_side():
    from dataclasses import replace

    sized = replace(OPTION, package_size=(0.5, 0.3, 0.08))
    body = json.loads(plan_request('p1', sized))
    assert body['package_size'] == [0.5, 0.5, 0.08] and body['package_pose'] is None  # where it hangs unknown
    posed = json.loads(plan_request('p1', replace(sized, package_in_tool=(0.04, -0.01, 1.2))))
    assert posed['package_size'] == [0.5, 0.3, 0.08] and posed['package_pose'] == [0.04, -0.01, 1.2]


def test_the_transfer_end_is_read_from_a_planned_event():
    text = json.dumps({'schema': 'robin.motion.event/1', 'id': 'p1', 'event': 'planned', 'segments': [
        {'name': 'approach', 'duration_s': 1.0, 'end_joints': [0.0] * 6},
        {'name': 'transfer', 'duration_s': 1.3, 'end_joints': [1.0, -1.2, 1.1, -1.5, -1.57, 0.3]}]})
    ev = motion_event_from_json(text)
    assert segment_end(ev, 'transfer') == (1.0, -1.2, 1.1, -1.5, -1.57, 0.3)
    assert segment_end(ev, 'putback') is None


def test_a_plan_failure_names_its_segment_and_detail_after_the_reason():
    ev = MotionEvent('p', 'plan_failed', reason='ik_failed', segment='approach',
                     detail='no IK solution for [0.68, 0.21, 0.43]')
    text = plan_failure_text(ev)
    assert text == 'ik_failed (approach: no IK solution for [0.68, 0.21, 0.43])'
    assert text.startswith('ik_failed')  # the controller branches on the reason
    assert plan_failure_text(MotionEvent('p', 'plan_failed', reason='timeout')) == 'timeout'


def test_the_released_phase_names_the_robot_qa_then_reads() -> None:
    from robin_cell.controller_io import phase_message
    from robin_cell.pick_cycle import NotifyQa
    from robin_core.records import from_json
    from robin_qa.protocol import PickPhase

    released = from_json(phase_message(NotifyQa('r1', 'released', None, drive_robot_id='drive_robot_1'), 12.5),
                         PickPhase)
    assert released.drive_robot_id == 'drive_robot_1' and released.phase == 'released'
    assert from_json(phase_message(NotifyQa('r1', 'lifted', None), 11.0), PickPhase).drive_robot_id is None


def test_a_phase_with_a_grasp_names_the_carried_package_for_the_arm_mask() -> None:
    from robin_cell.controller_io import phase_message
    from robin_cell.pick_cycle import NotifyQa
    from robin_core.records import from_json
    from robin_grasp.carry_state import CarriedPackage, carry_from_phase
    from robin_qa.protocol import PickPhase

    opt = dataclasses.replace(OPTION, package_size=(0.3, 0.2, 0.1), package_in_tool=(0.01, 0.0, 0.4))
    text = phase_message(NotifyQa('r1', 'grasped', opt), 11.0)
    assert from_json(text, PickPhase).package_size_m == [0.3, 0.2, 0.1]  # QA accepts it
    assert carry_from_phase(json.loads(text)) == CarriedPackage(0.3, 0.2, 0.01, 0.0, 0.4)
    assert 'package_size_m' not in json.loads(phase_message(NotifyQa('r1', 'grasped', OPTION), 11.0))
