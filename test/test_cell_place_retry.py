"""A transfer that stops short of the tray or is refused at its start, with the package on the cups,
moves on to the place pose once instead of letting go where the arm is (plain data, no ROS)."""

from __future__ import annotations

from dataclasses import replace

from test_cell_pick_cycle import CFG, of
from test_cell_plan_ahead import PLACE, carrying

from robin_cell.pick_cycle import ExecuteSegment, NotifyQa, Phase, PickCycle, SetCups

TIMEOUT = 'timeout: transfer not within 0.06 rad of its end (error 0.3130 rad on wrist_2_joint)'


def stopped_short(config=CFG) -> tuple[PickCycle, str, float, list]:
    c = PickCycle(config)
    c.start(0.0)
    pick, t0 = carrying(c)
    return c, pick, t0 + 3.0, c.on_segment(pick, 'transfer', False, TIMEOUT, t0 + 3.0)


def test_a_transfer_that_stopped_short_moves_on_to_the_place_pose_and_releases_there() -> None:
    c, pick, t, cmds = stopped_short()
    assert cmds == [ExecuteSegment(pick, 'place', goal_joints=PLACE)]  # cups stay on, nothing let go
    assert c.phase == Phase.TRANSFER and c.record.plan['place_after'] == TIMEOUT
    assert c.on_segment(pick, 'transfer', True, '', t + 0.5) == []  # the failed segment is done with
    cmds = c.on_segment(pick, 'place', True, '', t + 1.5)
    assert SetCups(0) in cmds and [q.phase for q in of(cmds, NotifyQa)] == ['released']
    assert c.phase == Phase.RELEASE and c.record.failure_reason == ''


def test_a_place_move_that_fails_too_lets_go_and_says_both() -> None:
    c, pick, t, _ = stopped_short()
    cmds = c.on_segment(pick, 'place', False, 'plan_failed: goal_in_collision', t + 0.8)
    assert SetCups(0) in cmds and [q.phase for q in of(cmds, NotifyQa)] == ['released']  # QA decides
    assert ExecuteSegment(pick, 'retreat') in cmds and c.phase == Phase.RECOVER
    assert c.record.failure_reason == f'transfer failed: {TIMEOUT}; place failed: plan_failed: goal_in_collision'
    c.on_segment(pick, 'retreat', True, '', t + 2.0)
    # the next pick's transfer is a transfer again
    c2_pick, t2 = carrying(c, t + 3.0)
    assert c.on_segment(c2_pick, 'transfer', False, TIMEOUT, t2 + 3.0) == [
        ExecuteSegment(c2_pick, 'place', goal_joints=PLACE)]


def test_a_transfer_refused_at_its_start_is_finished_too_but_a_stop_lets_go_and_so_does_switched_off() -> None:
    # run C: the arm drifted 0.17-0.19 rad off the lift's end while QA verified, the transfer was
    # refused, and letting go there dropped the package back onto the pile
    mismatch = 'start_mismatch: arm is 0.180 rad from the segment start'
    c = PickCycle(CFG)
    c.start(0.0)
    pick, t0 = carrying(c)
    cmds = c.on_segment(pick, 'transfer', False, mismatch, t0 + 0.1)
    assert cmds == [ExecuteSegment(pick, 'place', goal_joints=PLACE)]  # cups stay on
    assert c.phase == Phase.TRANSFER and c.record.plan['place_after'] == mismatch
    c = PickCycle(CFG)
    c.start(0.0)
    pick, t0 = carrying(c)
    cmds = c.on_segment(pick, 'transfer', False, 'stopped: stop request s1', t0 + 0.5)
    assert SetCups(0) in cmds and ExecuteSegment(pick, 'retreat') in cmds  # someone stopped the arm: not overridden
    _, pick, _, cmds = stopped_short(replace(CFG, place_after_failed_transfer=False))
    assert SetCups(0) in cmds and ExecuteSegment(pick, 'retreat') in cmds
