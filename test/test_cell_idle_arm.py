"""An idle arm that stands in the camera's view (a recovery that left it over the pile) is parked."""

from __future__ import annotations

from dataclasses import replace

from test_cell_pick_cycle import CFG, decision, of, option, qa, run_to_verify

from robin_cell.pick_cycle import EmitRecord, ExecuteSegment, Phase, PickCycle, RequestPlan


def _left_in_view(c: PickCycle) -> float:
    """A pick whose lift is called a miss and whose retreat then fails: the arm stays where it was."""
    t = run_to_verify(c, 1.0)
    cmds = c.on_qa(qa(c, 'lifted', verdict='missed'), t + 0.1)
    pick = of(cmds, ExecuteSegment)[0].pick_id
    c.on_segment(pick, 'retreat', False, 'start_in_collision', t + 0.3)
    assert c.phase == Phase.WAIT_SCENE
    return t + 0.3


def masked(t: float, *options: object) -> object:
    return replace(decision(t, *options, reason='' if options else 'no pickable package'), arm_masked=True)


def test_nothing_to_offer_but_the_idle_arm_in_view_parks_the_arm() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = _left_in_view(c) + CFG.scene_clear_delay_s + 0.1
    for k in range(CFG.arm_in_view_decisions_before_retreat - 1):
        assert c.on_decision(masked(t + 0.2 * k), t + 0.2 * k + 0.1) == []
    t += 0.2 * CFG.arm_in_view_decisions_before_retreat
    cmds = c.on_decision(masked(t), t + 0.1)
    (retreat,) = of(cmds, ExecuteSegment)
    assert retreat.segment == 'retreat' and c.phase == Phase.RECOVER and c.stats.arm_clearing_retreats == 1
    done = of(c.on_segment(retreat.pick_id, 'retreat', True, '', t + 1.5), EmitRecord)
    assert done[-1].record.outcome == 'aborted' and 'view' in done[-1].record.failure_reason
    assert c.stats.attempts == 1  # the failed pick only: parking the arm is no attempt


def test_a_frame_without_the_arm_or_with_an_option_resets_the_count() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    t = _left_in_view(c) + CFG.scene_clear_delay_s + 0.1
    n = CFG.arm_in_view_decisions_before_retreat
    for k in range(n - 1):
        c.on_decision(masked(t + 0.2 * k), t + 0.2 * k + 0.1)
    t += 0.2 * n
    c.on_decision(decision(t, reason='no pickable package'), t + 0.1)  # the arm is out of this frame
    for k in range(n - 1):
        assert not of(c.on_decision(masked(t + 0.2 * (k + 1)), t + 0.2 * (k + 1) + 0.1), ExecuteSegment)
    # an option next to the arm is picked, not the arm parked
    t += 0.2 * n
    assert of(c.on_decision(masked(t, option()), t + 0.1), RequestPlan)
