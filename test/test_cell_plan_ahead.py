"""Pipelining in the pick state machine: the next pick is planned from the place pose while the
current package is carried, the belt is nudged at once for packages still entering the view, and
the cycle's time is accounted per phase (plain data, no ROS)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_cell_pick_cycle import CFG, decision, of, option, qa, run_to_verify

from robin_cell.pick_cycle import (
    AdvanceBelt,
    CycleConfig,
    Decision,
    EmitRecord,
    ExecuteSegment,
    NotifyQa,
    Phase,
    PickCycle,
    RequestPlan,
)
from robin_core.records import QaEvent

PLACE = (1.0, -1.2, 1.1, -1.5, -1.57, 0.3)  # where the transfer ends [rad]


def carrying(cycle: PickCycle, t: float = 1.0) -> tuple[str, float]:
    """Drive a cycle whose plan reported ``PLACE`` to the TRANSFER state; (pick id, transfer start)."""
    cmds = cycle.on_decision(decision(t, option(1)), t + 0.1)
    pick = of(cmds, RequestPlan)[0].pick_id
    cycle.on_plan(pick, True, '', t + 0.2, place_joints=PLACE)
    cycle.on_segment(pick, 'approach', True, '', t + 1.2)
    cycle.on_tick(t + 1.2 + CFG.seal_settle_s + 1e-6)
    cycle.on_segment(pick, 'lift', True, '', t + 1.7)
    cycle.on_tick(t + 1.7 + CFG.lift_settle_s + 1e-6)
    t_transfer = t + 1.7 + CFG.lift_settle_s + 0.05
    assert ExecuteSegment(pick, 'transfer') in cycle.on_qa(qa(cycle, 'lifted'), t_transfer)
    return pick, t_transfer


def placed(cycle: PickCycle, pick: str, t: float, verdict: str = 'ok') -> list:
    """Finish the transfer at ``t`` and give the placement verdict 0.3 s later."""
    cycle.on_segment(pick, 'transfer', True, '', t)
    return cycle.on_qa(qa(cycle, 'placed', verdict=verdict, final=True), t + 0.3)


def planning_ahead(cycle: PickCycle) -> tuple[str, float, float, RequestPlan]:
    """Start, carry a package, and let the first frame clear of the arm request the next pick's plan.

    Returns (carried pick id, its transfer start, the clear frame's stamp, the plan-ahead request).
    """
    cycle.start(0.0)
    pick, t0 = carrying(cycle)
    frame = t0 + CFG.scene_clear_delay_s + 0.05
    return pick, t0, frame, of(cycle.on_decision(decision(frame, option(2, x=0.6)), frame + 0.1), RequestPlan)[0]


def test_the_next_pick_is_planned_from_the_place_pose_and_starts_as_soon_as_this_one_is_placed() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick, t0 = carrying(c)
    # a frame from before the arm left the pile is not planned on
    assert c.on_decision(decision(t0 + 0.1, option(2, x=0.6)), t0 + 0.5) == []
    frame = t0 + CFG.scene_clear_delay_s + 0.05
    cmds = c.on_decision(decision(frame, option(2, x=0.6)), frame + 0.2)
    ahead = of(cmds, RequestPlan)[0]
    assert ahead.start == PLACE and ahead.option.instance_id == 2 and ahead.scene_stamp_ns == int(frame * 1e9)
    assert not of(cmds, EmitRecord)[0].final  # journalled in flight like any pick
    # one plan ahead per carried package
    assert c.on_decision(decision(frame + 0.1, option(3, x=0.4)), frame + 0.3) == []
    assert c.on_plan(ahead.pick_id, True, '', frame + 0.5, place_joints=PLACE) == []
    assert c.phase == Phase.TRANSFER
    cmds = placed(c, pick, t0 + 1.4)
    records = [e.record for e in of(cmds, EmitRecord)]
    assert [r.outcome for r in records] == ['succeeded']
    assert ExecuteSegment(ahead.pick_id, 'approach') in cmds and c.phase == Phase.APPROACH
    assert [q.phase for q in of(cmds, NotifyQa)] == ['approach']
    assert c.record.record_id == ahead.pick_id and c.record.plan['start'] == 'place_pose'
    assert [s for s, _ in c.record.states] == ['plan', 'approach']
    assert (c.stats.plans_ahead, c.stats.plans_ahead_used) == (1, 1)
    assert c.stats.arm_wait_s == 0.0  # the arm went on at once


def test_a_plan_still_being_made_when_the_package_is_placed_is_waited_for() -> None:
    c = PickCycle(CFG)
    pick, t0, _, ahead = planning_ahead(c)
    cmds = placed(c, pick, t0 + 1.4)
    assert c.phase == Phase.PLAN and c.record.record_id == ahead.pick_id
    assert not of(cmds, ExecuteSegment)
    cmds = c.on_plan(ahead.pick_id, True, '', t0 + 2.0, place_joints=PLACE)
    assert ExecuteSegment(ahead.pick_id, 'approach') in cmds


def test_a_failed_plan_ahead_is_recorded_and_the_normal_flow_takes_over() -> None:
    c = PickCycle(CFG)
    pick, t0, frame, ahead = planning_ahead(c)
    cmds = c.on_plan(ahead.pick_id, False, 'goal_in_collision', frame + 0.3)
    rec = of(cmds, EmitRecord)[0].record
    assert rec.outcome == 'aborted' and 'planned ahead' in rec.failure_reason
    assert 'goal_in_collision' in rec.failure_reason
    assert c.phase == Phase.TRANSFER and c.record.record_id == pick  # the carried package is unaffected
    cmds = placed(c, pick, t0 + 1.4)
    assert c.phase == Phase.WAIT_SCENE and not of(cmds, ExecuteSegment)
    later = t0 + 1.8
    assert of(c.on_decision(decision(later, option(2, x=0.6)), later + 0.1), RequestPlan)[0].start is None


def test_a_package_dropped_on_the_way_voids_the_plan_made_ahead() -> None:
    c = PickCycle(CFG)
    pick, t0, frame, ahead = planning_ahead(c)
    c.on_plan(ahead.pick_id, True, '', frame + 0.3, place_joints=PLACE)
    c.on_qa(qa(c, 'transferring', verdict='drop'), frame + 0.4)  # it may have fallen on the pile
    cmds = placed(c, pick, t0 + 1.4, verdict='drop')
    records = {e.record.record_id: e.record for e in of(cmds, EmitRecord)}
    assert records[pick].outcome == 'failed'
    assert records[ahead.pick_id].outcome == 'aborted' and 'not used' in records[ahead.pick_id].failure_reason
    assert c.phase == Phase.WAIT_SCENE and not of(cmds, ExecuteSegment) and c.stats.plans_ahead_used == 0


def test_a_plan_ahead_whose_frame_grew_stale_is_not_executed() -> None:
    c = PickCycle(CFG)
    pick, _, frame, ahead = planning_ahead(c)
    c.on_plan(ahead.pick_id, True, '', frame + 0.3, place_joints=PLACE)
    c.on_segment(pick, 'transfer', True, '', frame + 0.5)
    cmds = c.on_qa(qa(c, 'placed', final=True), frame + CFG.max_decision_age_s + 0.1)  # a slow verdict
    stale = next(e.record for e in of(cmds, EmitRecord) if e.record.record_id == ahead.pick_id)
    assert 'stale' in stale.failure_reason and c.phase == Phase.WAIT_SCENE


def test_no_plan_ahead_when_switched_off_or_the_place_pose_is_unknown() -> None:
    off = PickCycle(CycleConfig(startup_grace_s=0.0, plan_ahead=False))
    off.start(0.0)
    _, t0 = carrying(off)
    frame = t0 + CFG.scene_clear_delay_s + 0.05
    assert off.on_decision(decision(frame, option(2, x=0.6)), frame + 0.1) == []
    unknown = PickCycle(CFG)
    unknown.start(0.0)
    t = run_to_verify(unknown, 1.0)  # its plan reported no transfer end
    unknown.on_qa(qa(unknown, 'lifted'), t)
    frame = t + CFG.scene_clear_delay_s + 0.05
    assert unknown.on_decision(decision(frame, option(2, x=0.6)), frame + 0.1) == []
    assert unknown.stats.plan_ahead_skipped == {'the place pose is unknown': 1}  # and the status says why


def test_packages_entering_the_view_get_the_belt_nudged_after_a_few_decisions() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    entering = Decision(frame_stamp_ns=int(1e9), options=(), reason='no pickable package', entering=1)
    for k in range(CFG.entering_scenes_before_nudge - 1):
        assert c.on_decision(entering, 1.05 + 0.01 * k) == []
    assert of(c.on_decision(entering, 1.1), AdvanceBelt)[0].seconds == CFG.belt_nudge_s
    assert CFG.entering_scenes_before_nudge < CFG.unpickable_scenes_before_nudge
    # frames are trusted again once the pile has settled after the belt stopped
    settled = 1.1 + CFG.belt_nudge_s + CFG.belt_settle_s
    assert c.on_decision(decision(settled - 0.05, option()), settled) == []
    assert of(c.on_decision(decision(settled + 0.01, option()), settled + 0.05), RequestPlan)


def test_time_in_phase_splits_belt_feeding_from_waiting_for_a_decision() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    for k in range(CFG.empty_scenes_before_advance):
        cmds = c.on_decision(decision(1.0, reason='empty scene'), 1.0 + 0.01 * k)
    assert of(cmds, AdvanceBelt)
    t_belt = 1.0 + 0.01 * (CFG.empty_scenes_before_advance - 1)
    feed = CFG.belt_advance_s + CFG.belt_settle_s
    t = t_belt + feed + 0.5  # half a second of waiting after the pile settled
    of(c.on_decision(decision(t - 0.1, option()), t), RequestPlan)
    budget = c.time_budget(t + 0.2)
    assert abs(budget['feed'] - feed) < 1e-6
    assert abs(budget['wait_scene'] - (t - feed)) < 1e-6  # start-up wait included
    assert abs(budget['plan'] - 0.2) < 1e-6


def test_a_pick_planned_ahead_starts_once_the_cups_let_go_before_the_placement_verdict() -> None:
    c = PickCycle(CFG)
    pick, t0, frame, ahead = planning_ahead(c)
    c.on_plan(ahead.pick_id, True, '', frame + 0.3, place_joints=PLACE)
    t_release = t0 + 1.4
    c.on_segment(pick, 'transfer', True, '', t_release)
    cmds = c.on_tick(t_release + CFG.release_s + 0.01)
    assert ExecuteSegment(ahead.pick_id, 'approach') in cmds and c.record.record_id == ahead.pick_id
    assert not of(cmds, EmitRecord)  # the placed pick's record waits for QA's placement verdict
    cmds = c.on_qa(qa_for(pick, 'placed', final=True), t_release + 0.8)
    assert [(e.record.record_id, e.record.outcome) for e in of(cmds, EmitRecord)] == [(pick, 'succeeded')]
    assert c.phase == Phase.APPROACH and c.record.record_id == ahead.pick_id  # undisturbed


def qa_for(record_id: str, phase: str, verdict: str = 'ok', final: bool = False) -> QaEvent:
    return QaEvent(record_id=record_id, phase=phase, verdict=verdict, final=final)


def test_an_empty_pick_area_behind_the_carried_package_runs_the_belt_at_once() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick, t0 = carrying(c)
    frame = t0 + CFG.scene_clear_delay_s + 0.05
    empty = [decision(frame + 0.1 * k, reason='empty scene') for k in range(CFG.empty_scenes_before_feed_ahead)]
    for d in empty[:-1]:
        assert c.on_decision(d, frame + 0.5) == []  # one frame is not a fact
    cmds = c.on_decision(empty[-1], frame + 0.5)
    assert cmds == [AdvanceBelt(CFG.belt_advance_s)] and c.phase == Phase.TRANSFER
    assert c.stats.feeds_ahead == 1 and c.stats.belt_advances == 1
    # once per carried package; frames until the belt settles show a moving pile
    assert c.on_decision(decision(frame + 0.4, reason='empty scene'), frame + 0.6) == []
    settled = frame + 0.5 + CFG.belt_advance_s + CFG.belt_settle_s
    placed(c, pick, t0 + 1.4)
    c.on_tick(t0 + 1.4 + CFG.release_s + 0.01)
    assert c.on_decision(decision(settled - 0.05, option(2)), settled + 0.1) == []
    assert of(c.on_decision(decision(settled + 0.05, option(2)), settled + 0.2), RequestPlan)


def test_a_pickable_frame_in_between_resets_the_count_and_feeding_ahead_can_be_off() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    _pick, t0 = carrying(c)
    frame = t0 + CFG.scene_clear_delay_s + 0.05
    n = CFG.empty_scenes_before_feed_ahead
    for k in range(n - 1):
        c.on_decision(decision(frame + 0.01 * k, reason='empty scene'), frame + 0.3)
    c.on_decision(decision(frame + 0.05, reason='nothing pickable'), frame + 0.3)  # packages are there
    assert c.on_decision(decision(frame + 0.06, reason='empty scene'), frame + 0.3) == []
    off = PickCycle(replace(CFG, feed_ahead=False))
    off.start(0.0)
    carrying(off)
    for k in range(n + 2):
        assert off.on_decision(decision(frame + 0.01 * k, reason='empty scene'), frame + 0.3) == []


def test_waiting_for_a_scene_is_accounted_to_what_the_decisions_said() -> None:
    c = PickCycle(CFG)
    t = CFG.startup_grace_s + 1.0
    c.start(0.0)
    c.on_decision(decision(t, reason='nothing pickable'), t + 0.5)  # waited 3.5 s for a usable frame
    c.on_decision(decision(t + 1.0, reason='nothing pickable'), t + 1.5)
    c.on_decision(decision(t + 1.5, option(1)), t + 2.0)  # 1.5 s on an unpickable scene, then plans
    by = c.stats.wait_scene_by_reason_s
    assert by == {'no fresh decision': pytest.approx(t + 0.5), 'nothing pickable': pytest.approx(1.5)}
    assert sum(by.values()) == pytest.approx(c.stats.time_in_phase_s['wait_scene'])


def masked(d: Decision) -> Decision:
    return replace(d, arm_masked=True)


def test_a_frame_with_the_arm_masked_out_is_planned_on_from_the_verified_lift() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    _pick, t0 = carrying(c)
    early = t0 + 0.05  # the arm is still over the pile: unusable as it is, usable masked
    assert c.on_decision(decision(early, option(2, x=0.6)), early + 0.2) == []
    ahead = of(c.on_decision(masked(decision(early + 0.01, option(2, x=0.6))), early + 0.3), RequestPlan)[0]
    assert ahead.start == PLACE and ahead.scene_stamp_ns == int((early + 0.01) * 1e9)
    # a masked frame from before the lift was verified (the pile may still move under it) is not
    c2 = PickCycle(CFG)
    c2.start(0.0)
    _p, t1 = carrying(c2)
    assert c2.on_decision(masked(decision(t1 - 0.1, option(2, x=0.6))), t1 + 0.1) == []
    off = PickCycle(replace(CFG, use_arm_masked_frames=False))
    off.start(0.0)
    _p, t2 = carrying(off)
    assert off.on_decision(masked(decision(t2 + 0.05, option(2, x=0.6))), t2 + 0.2) == []


def test_masked_frames_do_not_count_while_the_belt_runs_or_once_the_arm_goes_back_in() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick, t0 = carrying(c)
    c.on_belt_speed(0.2, True, t0 + 0.1)  # fed ahead: the pile moves
    assert c.on_decision(masked(decision(t0 + 0.2, option(2, x=0.6))), t0 + 0.3) == []
    # after this pick, the next approach puts the arm into the pile: masked frames wait for the next lift
    c = PickCycle(CFG)
    c.start(0.0)
    pick, t0 = carrying(c)
    placed(c, pick, t0 + 1.4)
    t = t0 + CFG.scene_clear_delay_s + 1.0
    cmds = c.on_decision(decision(t, option(2, x=0.6)), t + 0.1)
    nxt = of(cmds, RequestPlan)[0].pick_id
    c.on_plan(nxt, True, '', t + 0.2, place_joints=PLACE)
    assert c.phase == Phase.APPROACH
    before = c.stats.decision_latency_ms[:]
    c.on_decision(masked(decision(t + 0.5, option(3, x=0.4))), t + 0.6)
    assert c.stats.decision_latency_ms == before  # refused, not even counted as fresh
