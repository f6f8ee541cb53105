"""The pick state machine, every path driven by events on plain data (no ROS)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from robin_cell.pick_cycle import (
    AdvanceBelt,
    CycleConfig,
    Decision,
    EmitRecord,
    ExecuteSegment,
    GraspOption,
    NotifyQa,
    Phase,
    PickCycle,
    RequestPlan,
    SetCups,
)
from robin_core.records import QaEvent

CFG = CycleConfig(startup_grace_s=0.0)


def option(instance_id: int = 1, x: float = 0.5, y: float = 0.0, mask: int = 0b00111100) -> GraspOption:
    return GraspOption(instance_id=instance_id, package_type='box', score=0.95, type_score=0.9, grasp_score=0.8,
                       cup_mask=mask, position=(x, y, 0.1), orientation=(1.0, 0.0, 0.0, 0.0), expected_mass_kg=1.0)


def decision(t: float, *options: GraspOption, reason: str = '') -> Decision:
    return Decision(frame_stamp_ns=int(t * 1e9), options=tuple(options), reason=reason, latency_ms=80.0)


def of(cmds: list, kind: type) -> list:
    return [c for c in cmds if isinstance(c, kind)]


def qa(cycle: PickCycle, phase: str, verdict: str = 'ok', recovery: str = 'none', final: bool = False) -> QaEvent:
    assert cycle.record is not None
    return QaEvent(record_id=cycle.record.record_id, phase=phase, verdict=verdict, recovery=recovery, final=final)


def run_to_verify(cycle: PickCycle, t: float, *opts: GraspOption) -> float:
    """Drive a fresh cycle from a decision at ``t`` to the VERIFY state; returns the time."""
    cmds = cycle.on_decision(decision(t, *(opts or (option(),))), t + 0.1)
    pick = of(cmds, RequestPlan)[0].pick_id
    cmds = cycle.on_plan(pick, True, '', t + 0.2)
    assert [q.phase for q in of(cmds, NotifyQa)] == ['approach'] and ExecuteSegment(pick, 'approach') in cmds
    cmds = cycle.on_segment(pick, 'approach', True, '', t + 1.2)
    assert of(cmds, SetCups)[0].mask == (opts[0].cup_mask if opts else option().cup_mask)
    assert not of(cmds, NotifyQa)  # QA reads the seal only once it had time to build
    assert cycle.on_tick(t + 1.25) == []  # the seal is still building
    cmds = cycle.on_tick(t + 1.2 + CFG.seal_settle_s + 1e-6)
    assert [q.phase for q in of(cmds, NotifyQa)] == ['grasped'] and ExecuteSegment(pick, 'lift') in cmds
    assert cycle.on_segment(pick, 'lift', True, '', t + 1.7) == []
    assert cycle.phase == Phase.VERIFY
    assert [q.phase for q in cycle.on_tick(t + 1.7 + CFG.lift_settle_s + 1e-6)] == ['lifted']  # hung still
    return t + 1.7 + CFG.lift_settle_s


def carrying() -> tuple[PickCycle, str, float]:
    """A fresh cycle whose pick QA passed at the lift: the transfer is under way."""
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 1.0)
    pick = c.record.record_id
    c.on_qa(qa(c, 'lifted'), t)
    return c, pick, t


def test_happy_path_emits_a_succeeded_record_and_counts_it() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 1.0)
    pick = c.record.record_id
    cmds = c.on_qa(qa(c, 'lifted'), t + 0.05)
    assert ExecuteSegment(pick, 'transfer') in cmds and c.phase == Phase.TRANSFER
    cmds = c.on_segment(pick, 'transfer', True, '', t + 1.5)
    assert SetCups(0) in cmds and [q.phase for q in of(cmds, NotifyQa)] == ['released']
    assert c.on_qa(qa(c, 'released'), t + 1.6) == []  # the placement verdict is still to come
    cmds = c.on_qa(qa(c, 'placed', final=True), t + 1.8)
    rec = of(cmds, EmitRecord)[-1]
    assert rec.final and rec.record.outcome == 'succeeded' and rec.record.verdict == 'ok'  # QA's final verdict
    assert [s for s, _ in rec.record.states][:3] == ['plan', 'approach', 'suction']
    assert not [q for q in cmds if isinstance(q, NotifyQa)]  # released already: no 'aborted'
    assert c.phase == Phase.WAIT_SCENE
    assert (c.stats.attempts, c.stats.succeeded, c.stats.first_attempt_succeeded) == (1, 1, 1)
    assert c.stats.decision_latency_ms == [80.0]


def _released(c: PickCycle, t: float) -> tuple[str, float]:
    """Drive a fresh cycle to RELEASE; returns the record id and the time the cups went off."""
    t = run_to_verify(c, t)
    pick = c.record.record_id
    c.on_qa(qa(c, 'lifted'), t + 0.05)
    c.on_segment(pick, 'transfer', True, '', t + 1.5)
    assert c.phase == Phase.RELEASE
    return pick, t + 1.5


def test_the_arm_moves_on_after_the_release_and_the_placement_verdict_closes_the_record() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick, t = _released(c, 1.0)
    assert c.on_tick(t + CFG.release_s / 2) == []  # the cups are still letting go
    cmds = c.on_tick(t + CFG.release_s + 0.01)
    assert c.phase == Phase.WAIT_SCENE and c.record is None  # free for the next pick ...
    assert not of(cmds, EmitRecord) and c.stats.attempts == 0  # ... while the record waits for QA
    assert not of(cmds, NotifyQa)  # 'released' was sent: no 'aborted'
    # the next decision is acted on before the previous placement verdict arrives
    assert of(c.on_decision(decision(t + 0.3, option()), t + 0.4), RequestPlan)
    cmds = c.on_qa(QaEvent(record_id=pick, phase='placed', verdict='ok', final=True), t + 0.8)
    rec = of(cmds, EmitRecord)[0]
    assert rec.final and rec.record.record_id == pick and rec.record.outcome == 'succeeded'
    assert (c.stats.attempts, c.stats.succeeded) == (1, 1)
    assert c.record is not None and c.phase == Phase.PLAN  # the next pick went on undisturbed


def test_a_released_record_without_a_placement_verdict_closes_as_suspect() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick, t = _released(c, 1.0)
    c.on_tick(t + CFG.release_s + 0.01)
    assert not of(c.on_tick(t + CFG.release_s + CFG.placement_timeout_s - 0.01), EmitRecord)
    rec = of(c.on_tick(t + CFG.release_s + CFG.placement_timeout_s + 0.01), EmitRecord)[0].record
    assert (rec.record_id, rec.outcome, rec.verdict) == (pick, 'failed', 'suspect')
    assert rec.failure_reason == 'placement: no verdict'  # a failed record always says why
    assert any('no placement verdict' in r for r in rec.verdict_reasons)
    # a late verdict for it changes nothing
    assert c.on_qa(QaEvent(record_id=pick, phase='placed', verdict='ok', final=True), t + 3.0) == []


def test_without_overlap_the_arm_waits_for_the_placement_verdict() -> None:
    c = PickCycle(replace(CFG, overlap_placement=False))
    c.start(0.0)
    _pick, t = _released(c, 1.0)
    assert c.on_tick(t + CFG.release_s + 0.01) == [] and c.phase == Phase.RELEASE
    rec = of(c.on_tick(t + CFG.release_s + CFG.placement_timeout_s + 0.01), EmitRecord)[0].record
    assert (rec.outcome, rec.verdict, rec.failure_reason) == ('failed', 'suspect', 'placement: no verdict')
    assert c.phase == Phase.WAIT_SCENE


def test_frames_taken_while_the_arm_was_over_the_pile_are_not_used() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 1.0)
    c.on_qa(qa(c, 'lifted'), t)  # transfer starts at t: frames before t + clear delay are unusable
    c.on_segment(c.record.record_id, 'transfer', True, '', t + 1.0)
    c.on_qa(qa(c, 'placed', final=True), t + 1.2)
    assert c.on_decision(decision(t + 0.2, option()), t + 1.3) == []
    assert of(c.on_decision(decision(t + CFG.scene_clear_delay_s + 0.01, option()), t + 1.3), RequestPlan)


def test_nothing_is_acted_on_during_the_startup_grace() -> None:
    c = PickCycle(CycleConfig(startup_grace_s=3.0))
    c.start(0.0)
    assert c.on_decision(decision(1.0, option()), 1.1) == []
    assert of(c.on_decision(decision(3.1, option()), 3.2), RequestPlan)


def test_stale_decisions_are_ignored() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    assert c.on_decision(decision(1.0, option()), 1.0 + CFG.max_decision_age_s + 0.1) == []
    assert c.phase == Phase.WAIT_SCENE


def test_plan_failure_tries_the_next_option_then_waits_for_a_new_scene() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    cmds = c.on_decision(decision(1.0, option(1), option(2, x=0.7)), 1.1)
    first = of(cmds, RequestPlan)[0]
    cmds = c.on_plan(first.pick_id, False, 'ik_failed', 1.2)
    aborted = of(cmds, EmitRecord)[0].record
    assert aborted.outcome == 'aborted' and 'ik_failed' in aborted.failure_reason
    second = of(cmds, RequestPlan)[0]
    assert second.option.instance_id == 2 and c.phase == Phase.PLAN
    cmds = c.on_tick(1.2 + CFG.plan_timeout_s + 0.1)  # planning timeout on the last option
    assert 'planning timeout' in of(cmds, EmitRecord)[0].record.failure_reason
    assert c.phase == Phase.WAIT_SCENE and c.record is None


def test_a_package_that_keeps_failing_to_plan_is_left_alone_for_a_while() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    # three variants (cups/yaw) of instance 1, then instance 2
    variants = (option(1), option(1, mask=0b11), option(1, mask=0b1100))
    cmds = c.on_decision(decision(1.0, *variants, option(2, x=0.7)), 1.1)
    cmds = c.on_plan(of(cmds, RequestPlan)[0].pick_id, False, 'ik_failed', 1.2)
    assert of(cmds, RequestPlan)[0].option.cup_mask == 0b11  # one more variant of the same package
    cmds = c.on_plan(of(cmds, RequestPlan)[0].pick_id, False, 'ik_failed', 1.3)
    assert of(cmds, RequestPlan)[0].option.instance_id == 2  # its third variant is skipped
    c.on_plan(of(cmds, RequestPlan)[0].pick_id, False, 'goal_in_collision', 1.4)
    assert c.phase == Phase.WAIT_SCENE
    # the next frames still show both packages: neither spot is planned again for a while ...
    assert of(c.on_decision(decision(2.0, option(1), option(2, x=0.7)), 2.1), RequestPlan) == []
    plans = of(c.on_decision(decision(3.0, option(3, x=0.6, y=0.2), option(1)), 3.1), RequestPlan)
    assert plans[0].option.instance_id == 3
    c2 = PickCycle(CFG)
    c2.start(0.0)
    c2._plan_failed = [(0.5, 0.0, 5.0)]
    assert of(c2.on_decision(decision(6.0, option(1)), 6.1), RequestPlan)  # ... then it is tried again


def test_a_belt_move_forgets_the_spots_that_failed_to_plan() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    cmds = c.on_decision(decision(1.0, option(1), option(1, mask=0b11)), 1.1)
    cmds = c.on_plan(of(cmds, RequestPlan)[0].pick_id, False, 'ik_failed', 1.2)
    c.on_plan(of(cmds, RequestPlan)[0].pick_id, False, 'ik_failed', 1.3)
    for k in range(CFG.unpickable_scenes_before_nudge - 1):
        assert c.on_decision(decision(2.0 + k * 0.1, option(1)), 2.05 + k * 0.1) == []
    assert of(c.on_decision(decision(4.0, option(1)), 4.05), AdvanceBelt)
    t = 4.05 + CFG.belt_nudge_s + CFG.scene_clear_delay_s + 0.1
    assert of(c.on_decision(decision(t, option(1)), t + 0.05), RequestPlan)


def test_arm_wait_counts_only_waits_between_picks() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 20.0)  # nothing to pick for 20 s after start-up: not a wait of the cycle
    pick = c.record.record_id
    c.on_qa(qa(c, 'lifted'), t + 0.05)
    c.on_segment(pick, 'transfer', True, '', t + 2.0)
    c.on_qa(qa(c, 'placed', final=True), t + 2.5)  # finished at t + 2.5: the arm is idle from here
    assert c.stats.arm_wait_s == 0.0
    cmds = c.on_decision(decision(t + 3.0, option()), t + 3.4)
    c.on_plan(of(cmds, RequestPlan)[0].pick_id, True, '', t + 3.5)
    assert c.stats.arm_wait_s == pytest.approx(1.0)  # idle from t + 2.5 to the next approach
    assert c.stats.arm_wait_s <= c.stats.cycle_s + 1.0


def test_double_pick_is_put_back_and_never_carried() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 1.0)
    pick = c.record.record_id
    cmds = c.on_qa(qa(c, 'lifted', 'double_pick', 'put_back_and_repick'), t + 0.1)
    assert ExecuteSegment(pick, 'putback') in cmds
    assert not [x for x in cmds if isinstance(x, ExecuteSegment) and x.segment == 'transfer']
    assert SetCups(0) not in cmds  # never let go in the air
    assert c.on_segment(pick, 'putback', True, '', t + 1.0) == [SetCups(0), ExecuteSegment(pick, 'retreat')]
    cmds = c.on_segment(pick, 'retreat', True, '', t + 1.5)
    rec = of(cmds, EmitRecord)[0].record
    assert (rec.outcome, rec.verdict, rec.recovery) == ('failed', 'double_pick', 'put_back_and_repick')
    assert [q.phase for q in of(cmds, NotifyQa)] == ['aborted']  # QA closes the attempt
    assert c.stats.succeeded == 0 and c.phase == Phase.WAIT_SCENE
    # frames from before the retreat ended show the arm over the pile: only later ones count
    assert c.on_decision(decision(t + 1.4, option()), t + 1.6) == []
    assert of(c.on_decision(decision(t + 1.55, option()), t + 1.6), RequestPlan)


def test_a_suspicion_after_the_lift_is_carried_and_the_placement_decides() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 1.0)
    pick = c.record.record_id
    cmds = c.on_qa(qa(c, 'lifted', 'suspect', 'verify'), t + 0.1)
    assert ExecuteSegment(pick, 'transfer') in cmds and c.phase == Phase.TRANSFER
    assert c.record.verdict == 'suspect'  # kept until the placement verdict replaces it
    c.on_segment(pick, 'transfer', True, '', t + 1.0)
    cmds = c.on_qa(qa(c, 'placed', 'ok', final=True), t + 2.0)
    rec = of(cmds, EmitRecord)[0].record
    assert (rec.outcome, rec.verdict) == ('succeeded', 'ok')


def test_a_suspicion_is_put_back_when_carrying_suspects_is_off() -> None:
    c = PickCycle(replace(CFG, carry_suspect=False))
    c.start(0.0)
    t = run_to_verify(c, 1.0)
    cmds = c.on_qa(qa(c, 'lifted', 'suspect', 'verify'), t + 0.1)
    assert ExecuteSegment(c.record.record_id, 'putback') in cmds and c.phase == Phase.RECOVER


def test_missing_qa_verdict_is_treated_as_suspect() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 1.0)
    cmds = c.on_tick(t + CFG.verify_timeout_s + 0.01)
    assert of(cmds, ExecuteSegment)[0].segment == 'putback'
    assert any('suspect' in r for r in c.record.verdict_reasons)


def test_drop_during_transfer_lets_the_transfer_finish_and_closes_the_pick() -> None:
    c, pick, t = carrying()
    cmds = c.on_qa(qa(c, 'transferring', 'drop'), t + 0.5)
    assert cmds == [SetCups(0)]  # no new motion while the arm is still moving
    assert c.phase == Phase.TRANSFER
    cmds = c.on_segment(pick, 'transfer', True, '', t + 1.5)
    assert [q.phase for q in of(cmds, NotifyQa)] == ['released']  # QA closes it with its placement check
    rec = of(c.on_qa(qa(c, 'placed', 'drop', final=True), t + 2.3), EmitRecord)[0].record
    assert rec.verdict == 'drop' and rec.outcome == 'failed' and c.phase == Phase.WAIT_SCENE


def _lift_fails(c: PickCycle, t: float) -> tuple[str, list]:
    """Drive a fresh cycle to the lift and fail it; returns the pick id and the failure's commands."""
    cmds = c.on_decision(decision(t, option()), t + 0.1)
    pick = of(cmds, RequestPlan)[0].pick_id
    c.on_plan(pick, True, '', t + 0.2)
    c.on_segment(pick, 'approach', True, '', t + 1.2)
    c.on_tick(t + 1.2 + CFG.seal_settle_s + 1e-6)
    assert c.phase == Phase.LIFT
    return pick, c.on_segment(pick, 'lift', False, 'timeout: lift not within 0.08 rad of its end', t + 2.5)


def test_a_failed_lift_asks_qa_as_the_cups_go_off_and_the_record_takes_its_verdict() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick, cmds = _lift_fails(c, 1.0)
    assert cmds[0] == SetCups(0) and [q.phase for q in of(cmds, NotifyQa)] == ['aborted']
    assert ExecuteSegment(pick, 'retreat') in cmds
    # QA answers while the arm retreats: the record closes with that verdict when the retreat ends
    c.on_qa(qa(c, 'aborted', 'drop', 'reperceive', final=True), 2.55)
    cmds = c.on_segment(pick, 'retreat', True, '', 3.5)
    assert not of(cmds, NotifyQa)  # QA already knows how the attempt ended
    rec = of(cmds, EmitRecord)[0].record
    assert rec.verdict == 'drop' and rec.outcome == 'failed' and rec.failure_reason.startswith('lift failed: timeout')
    # a late verdict: the record waits for it (the arm goes on), or closes as suspect without it
    pick, _ = _lift_fails(c, 5.0)
    assert not of(c.on_segment(pick, 'retreat', True, '', 7.5), EmitRecord) and c.phase == Phase.WAIT_SCENE
    rec = of(c.on_qa(QaEvent(record_id=pick, phase='aborted', verdict='missed', final=True), 7.6), EmitRecord)[0].record
    assert rec.verdict == 'missed' and rec.outcome == 'failed'
    pick, _ = _lift_fails(c, 10.0)
    c.on_segment(pick, 'retreat', True, '', 12.5)
    rec = of(c.on_tick(12.5 + CFG.placement_timeout_s + 0.1), EmitRecord)[0].record
    assert rec.verdict == 'suspect' and any('no final QA verdict' in r for r in rec.verdict_reasons)


def test_a_failed_transfer_waits_for_the_placement_check_but_keeps_its_failure() -> None:
    c, pick, t = carrying()
    cmds = c.on_segment(pick, 'transfer', False, 'start_mismatch: arm is 0.296 rad from the segment start', t + 0.3)
    assert cmds[0] == SetCups(0) and [q.phase for q in of(cmds, NotifyQa)] == ['released']
    assert not of(c.on_segment(pick, 'retreat', True, '', t + 1.2), EmitRecord)
    # whatever the placement check finds (here: the package hung on and reached the robot), the transfer failed
    rec = of(c.on_qa(QaEvent(record_id=pick, phase='placed', verdict='ok', final=True), t + 1.6), EmitRecord)[0].record
    assert rec.verdict == 'ok' and rec.outcome == 'failed' and rec.failure_reason.startswith('transfer failed')


def test_empty_scene_and_decision_timeout_advance_the_belt() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    for k in range(CFG.empty_scenes_before_advance - 1):
        assert c.on_decision(decision(1.0 + 0.01 * k, reason='empty scene'), 1.05) == []
    assert of(c.on_decision(decision(1.1, reason='empty scene'), 1.1), AdvanceBelt)[0].seconds == CFG.belt_advance_s
    # frames during the belt move are not trusted
    assert c.on_decision(decision(1.5, option()), 1.6) == []
    assert of(c.on_tick(1.1 + CFG.decision_timeout_s + 0.1), AdvanceBelt)[0].seconds == CFG.belt_nudge_s
    assert c.stats.belt_advances == 2


def test_unpickable_scenes_nudge_the_belt_only_after_a_while() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = 1.0
    for _ in range(CFG.unpickable_scenes_before_nudge - 1):
        assert c.on_decision(decision(t, reason='no pickable package'), t + 0.05) == []
        t += 0.1
    cmds = c.on_decision(decision(t, reason='no pickable package'), t + 0.05)
    assert of(cmds, AdvanceBelt)[0].seconds == CFG.belt_nudge_s


def test_segment_timeout_retreats_with_a_reason() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick = of(c.on_decision(decision(1.0, option()), 1.1), RequestPlan)[0].pick_id
    c.on_plan(pick, True, '', 1.2)
    cmds = c.on_tick(1.2 + CFG.segment_timeout_s + 0.1)
    assert ExecuteSegment(pick, 'retreat') in cmds and 'timed out' in c.record.failure_reason
    rec = of(c.on_tick(1.2 + 2 * CFG.segment_timeout_s + 0.3), EmitRecord)[0].record  # retreat times out too
    assert rec.outcome == 'failed'


def test_repeated_failures_on_one_package_count_attempts() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = 1.0
    ids = set()
    for expected_attempt in (1, 2, 3):
        t = run_to_verify(c, t, option(instance_id=expected_attempt, x=0.5 + 0.01 * expected_attempt))
        assert c.record.attempt == expected_attempt
        ids.add(c.record.package_id)
        c.on_qa(qa(c, 'lifted', 'missed'), t)
        c.on_segment(c.record.record_id, 'retreat', True, '', t + 0.5)
        t += 1.0
    assert c.stats.first_attempts == 1
    assert len(ids) == 1  # one physical package, one id across frames
    t = run_to_verify(c, t, option(instance_id=9, x=0.9))
    assert c.record.attempt == 1 and c.record.package_id not in ids


def test_blocking_alert_holds_after_the_current_pick_until_acknowledged() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 1.0)
    c.on_alert(True, hold_cell=True, now=t)
    assert c.phase == Phase.VERIFY  # the pick in hand is finished first
    c.on_qa(qa(c, 'lifted', 'missed'), t)
    c.on_segment(c.record.record_id, 'retreat', True, '', t + 0.5)
    assert c.phase == Phase.HOLD
    assert c.on_decision(decision(t + 2.0, option()), t + 2.1) == []
    c.on_alert(False, hold_cell=False, now=t + 3.0)
    assert c.phase == Phase.WAIT_SCENE
    assert of(c.on_decision(decision(t + 3.0, option()), t + 3.1), RequestPlan)


def test_non_blocking_alert_skips_only_that_package() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 1.0, option(1, x=0.5))
    failed_pkg = c.record.package_id
    c.on_qa(qa(c, 'lifted', 'missed'), t)
    c.on_segment(c.record.record_id, 'retreat', True, '', t + 0.5)
    c.on_alert(True, hold_cell=False, now=t + 0.6, skipped_packages=(failed_pkg,))
    cmds = c.on_decision(decision(t + 1.0, option(1, x=0.51), option(2, x=0.8)), t + 1.1)
    assert of(cmds, RequestPlan)[0].option.instance_id == 2
    assert c.phase == Phase.PLAN  # the cell keeps working


@pytest.mark.parametrize('late', ['approach', 'lift'])
def test_events_for_other_picks_or_states_are_ignored(late: str) -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick = of(c.on_decision(decision(1.0, option()), 1.1), RequestPlan)[0].pick_id
    assert c.on_segment('someone-else', 'approach', True, '', 1.2) == []
    assert c.on_segment(pick, late, True, '', 1.2) == []  # no plan yet: nothing is executing
    assert c.phase == Phase.PLAN


def test_fault_injection_switches_on_every_healthy_cup_and_says_so_in_the_record() -> None:
    cycle = PickCycle(CycleConfig(startup_grace_s=0.0, fault_all_cups_rate=1.0))
    cycle.start(0.0)
    d = Decision(frame_stamp_ns=int(1e9), options=(option(mask=0b00000110),), latency_ms=80.0, unhealthy_cups=(5,))
    cmds = cycle.on_decision(d, 1.1)
    pick = of(cmds, RequestPlan)[0].pick_id
    rec = of(cmds, EmitRecord)[0].record
    assert rec.cup_mask == 0b11011111  # all cups but the unhealthy one
    assert rec.scene['fault_injection'] == 'all_cups' and rec.scene['planner_cup_mask'] == 0b00000110
    assert rec.candidates[0].cup_mask == 0b00000110  # the planner's own choice stays in the audit
    cycle.on_plan(pick, True, '', 1.2)
    cmds = cycle.on_segment(pick, 'approach', True, '', 2.0)
    assert of(cmds, SetCups)[0].mask == 0b11011111
    cmds = cycle.on_tick(2.0 + CycleConfig().seal_settle_s + 1e-6)
    grasped = of(cmds, NotifyQa)[0]
    assert grasped.option is not None and grasped.option.cup_mask == 0b11011111  # QA sees the cups really on


@pytest.mark.parametrize('rate', [0.0, 0.3])
def test_fault_injection_rate_is_the_share_of_forced_attempts(rate: float) -> None:
    forced = 0
    for k in range(400):
        cycle = PickCycle(CycleConfig(startup_grace_s=0.0, fault_all_cups_rate=rate), fault_seed=k)
        cycle.start(0.0)
        rec = of(cycle.on_decision(decision(1.0, option()), 1.1), EmitRecord)[0].record
        forced += rec.cup_mask == 0xFF
        assert ('fault_injection' in rec.scene) == (rec.cup_mask == 0xFF)
    assert abs(forced / 400 - rate) < 0.06


def test_frames_taken_while_the_belt_runs_are_refused() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    assert c.on_belt_speed(0.25, True, 1.0) == []  # a commanded run: no fault, but the pile moves
    assert c.on_belt_speed(0.0, False, 1.5) == []
    assert c.on_decision(decision(1.2, option()), 1.6) == []  # taken while it ran
    assert c.on_decision(decision(1.0 + CFG.scene_clear_delay_s - 0.01, option()), 2.0) == []  # just after
    assert c.stats.uncommanded_belt_runs == 0 and not c.belt_uncommanded(1.6)
    assert of(c.on_decision(decision(1.0 + CFG.scene_clear_delay_s + 0.01, option()), 2.0), RequestPlan)


def test_an_uncommanded_belt_run_during_the_approach_abandons_the_pick_and_retreats() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick = of(c.on_decision(decision(1.0, option()), 1.1), RequestPlan)[0].pick_id
    c.on_plan(pick, True, '', 1.2)
    assert c.phase == Phase.APPROACH
    cmds = c.on_belt_speed(0.3, False, 1.4)
    assert SetCups(0) in cmds and ExecuteSegment(pick, 'retreat') in cmds and c.phase == Phase.RECOVER
    assert 'belt moved without command' in c.record.failure_reason
    assert c.stats.uncommanded_belt_runs == 1 and c.belt_uncommanded(1.9)
    c.on_belt_speed(0.3, False, 1.6)  # the same run: counted once
    assert c.stats.uncommanded_belt_runs == 1
    rec = of(c.on_segment(pick, 'retreat', True, '', 2.0), EmitRecord)[0].record
    assert rec.outcome == 'failed'
    c.on_belt_speed(0.3, False, 2.1)  # still running after the retreat: no frame counts yet
    assert c.on_decision(decision(2.5, option()), 2.6) == []
    assert not c.belt_uncommanded(3.5)  # stopped: the fault clears and fresh frames are used again
    assert of(c.on_decision(decision(2.1 + CFG.scene_clear_delay_s + 0.1, option()), 3.5), RequestPlan)


def test_an_uncommanded_belt_run_while_holding_a_package_does_not_abort() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = run_to_verify(c, 1.0)
    assert c.on_belt_speed(0.3, False, t + 0.01) == [] and c.phase == Phase.VERIFY  # the package is in the cups
    assert c.stats.uncommanded_belt_runs == 1


def test_an_approach_that_did_not_start_where_the_arm_is_is_planned_again_once() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick = of(c.on_decision(decision(1.0, option()), 1.1), RequestPlan)[0].pick_id
    c.on_plan(pick, True, '', 1.2)
    cmds = c.on_segment(pick, 'approach', False, 'start_mismatch: arm is 0.227 rad from the segment start', 1.3)
    again = of(cmds, RequestPlan)
    assert again and again[0].pick_id == pick and c.phase == Phase.PLAN and not of(cmds, EmitRecord)
    assert c.record.plan['replanned_after'].startswith('start_mismatch')
    cmds = c.on_plan(pick, True, '', 1.5)
    assert ExecuteSegment(pick, 'approach') in cmds
    cmds = c.on_segment(pick, 'approach', False, 'start_mismatch: arm is 0.3 rad from the segment start', 1.6)
    assert ExecuteSegment(pick, 'retreat') in cmds and 'start_mismatch' in c.record.failure_reason  # only once


def test_an_arm_stuck_in_the_pile_retreats_before_planning_again() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick = of(c.on_decision(decision(1.0, option(1), option(2, x=0.6)), 1.1), RequestPlan)[0].pick_id
    cmds = c.on_plan(pick, False, 'start_in_collision: the start state collides with the pile', 1.2)
    assert ExecuteSegment(pick, 'retreat') in cmds and not of(cmds, RequestPlan)  # not the next option: clear first
    assert c.phase == Phase.RECOVER and c.stats.arm_clearing_retreats == 1
    rec = of(c.on_segment(pick, 'retreat', True, '', 3.0), EmitRecord)[0].record
    assert rec.outcome == 'aborted' and 'the arm retreats first' in rec.failure_reason
    assert c.stats.attempts == 0 and c.phase == Phase.WAIT_SCENE  # no attempt: nothing touched a package
    assert c.on_decision(decision(2.9, option(1)), 3.1) == []  # frames from before the arm was parked
    assert of(c.on_decision(decision(3.05, option(1)), 3.1), RequestPlan)  # the pick that was refused is retried


def test_a_carried_package_that_cannot_start_its_transfer_is_an_option_failure_not_a_stuck_arm() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    pick = of(c.on_decision(decision(1.0, option(1), option(2, x=0.6)), 1.1), RequestPlan)[0].pick_id
    cmds = c.on_plan(pick, False, 'start_in_collision (transfer: start state collides and lifting the tool '
                     '0.15 m straight up does not free it (contact motion_payload/motion_static_3))', 1.2)
    again = of(cmds, RequestPlan)
    assert again and not of(cmds, ExecuteSegment) and c.stats.arm_clearing_retreats == 0  # the next option
    assert again[0].option.instance_id == 2 and c.phase == Phase.PLAN
    # the arm's own start in collision still clears the arm first, with or without a segment named
    cmds = c.on_plan(again[0].pick_id, False, 'start_in_collision (approach: contact cup_3/motion_pile)', 1.3)
    assert ExecuteSegment(again[0].pick_id, 'retreat') in cmds and c.stats.arm_clearing_retreats == 1


def test_an_arm_that_cannot_free_itself_waits_longer_each_time_instead_of_spinning() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = 1.0
    for k in range(3):
        pick = of(c.on_decision(decision(t, option(1)), t + 0.1), RequestPlan)[0].pick_id
        c.on_plan(pick, False, 'start_in_collision: the start state collides with the pile', t + 0.2)
        rec = of(c.on_segment(pick, 'retreat', False, 'start_in_collision: stuck', t + 0.3), EmitRecord)[0].record
        wait = CFG.stuck_backoff_s * 2**k
        assert 'the retreat failed too' in rec.failure_reason and c.stats.failed_clearing_retreats == k + 1
        assert c.on_decision(decision(t + 0.3 + wait - 0.05, option(1)), t + wait) == []  # still waiting
        t = t + 0.3 + wait + 0.05
    # a retreat that works ends the back-off
    pick = of(c.on_decision(decision(t, option(1)), t + 0.1), RequestPlan)[0].pick_id
    c.on_plan(pick, False, 'start_in_collision: the start state collides with the pile', t + 0.2)
    c.on_segment(pick, 'retreat', True, '', t + 0.3)
    assert of(c.on_decision(decision(t + 0.35, option(1)), t + 0.4), RequestPlan)


def test_a_parked_record_takes_a_bad_placement_verdict_and_a_second_release_closes_a_silent_one() -> None:
    c = PickCycle(replace(CFG, placement_timeout_s=30.0))  # the next picks end well within it
    c.start(0.0)
    first, t = _released(c, 1.0)
    c.on_tick(t + CFG.release_s + 0.01)  # parked, the arm moves on
    rec = of(c.on_qa(QaEvent(record_id=first, phase='placed', verdict='drop', final=True), t + 0.8),
             EmitRecord)[0].record
    assert (rec.outcome, rec.verdict, rec.failure_reason) == ('failed', 'drop', 'placement: drop')
    # a record whose verdict never comes is closed when the next one is parked in its place
    second, t = _released(c, t + 1.0)
    c.on_tick(t + CFG.release_s + 0.01)
    third, t = _released(c, t + 1.0)
    cmds = c.on_tick(t + CFG.release_s + 0.01)
    closed = [e.record for e in of(cmds, EmitRecord) if e.final]
    assert [r.record_id for r in closed] == [second] and closed[0].verdict == 'suspect'
    assert any('a newer package was released first' in r for r in closed[0].verdict_reasons)
    assert c._placing is not None and c._placing.record.record_id == third
