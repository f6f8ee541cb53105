"""The arm releases a package only onto an empty drive robot docked at the place station."""

from __future__ import annotations

from test_cell_pick_cycle import CFG, decision, of, option, qa
from test_cell_plan_ahead import PLACE, carrying

from robin_cell.pick_cycle import EmitRecord, ExecuteSegment, NotifyQa, Phase, PickCycle, RequestPlan, SetCups


def test_without_a_docked_robot_the_package_is_held_until_one_arrives() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    assert c.on_station(False, 0.5) == []
    pick, t0 = carrying(c)
    cmds = c.on_segment(pick, 'transfer', True, '', t0 + 1.3)
    assert cmds == [] and c.phase == Phase.WAIT_ROBOT  # no cups off, nothing released
    assert c.on_tick(t0 + 1.3 + CFG.segment_timeout_s + 1.0) == []  # no timeout lets go of it
    assert c.waiting_for_robot_s(t0 + 1.3 + CFG.robot_wait_warn_s + 0.5) is not None  # but it is reported
    assert c.on_station(False, t0 + 3.0) == []
    cmds = c.on_station(True, t0 + 4.0, 'drive_robot_2')
    assert SetCups(0) in cmds and [q.phase for q in of(cmds, NotifyQa)] == ['released']
    # QA is told which robot the release waited for: its own station copy may not show it docked yet
    assert [q.drive_robot_id for q in of(cmds, NotifyQa)] == ['drive_robot_2']
    assert c.phase == Phase.RELEASE and c.stats.robot_waits == 1
    done = of(c.on_qa(qa(c, 'placed', final=True), t0 + 4.5), EmitRecord)
    assert c.phase == Phase.WAIT_SCENE and done[-1].record.outcome == 'succeeded'
    assert 'wait_robot' in [s for s, _ in done[-1].record.states]


def test_a_docked_empty_robot_means_release_at_once_and_no_station_state_cannot_hold_the_cell() -> None:
    for ready in (True, None):
        c = PickCycle(CFG)
        c.start(0.0)
        if ready is not None:
            c.on_station(ready, 0.5)
        pick, t0 = carrying(c)
        cmds = c.on_segment(pick, 'transfer', True, '', t0 + 1.3)
        assert SetCups(0) in cmds and c.phase == Phase.RELEASE and c.stats.robot_waits == 0


def test_a_package_dropped_while_waiting_is_closed_like_a_drop() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    c.on_station(False, 0.5)
    pick, t0 = carrying(c)
    c.on_segment(pick, 'transfer', True, '', t0 + 1.3)
    cmds = c.on_qa(qa(c, 'transferring', verdict='drop'), t0 + 2.0)
    assert SetCups(0) in cmds and c.phase == Phase.RELEASE
    assert 'waiting for a drive robot' in c.record.failure_reason and c.record.outcome == 'failed'
    # QA's placement check then finds it on the robot that docked meanwhile: a success, no reason
    done = of(c.on_qa(qa(c, 'placed', final=True), t0 + 2.8), EmitRecord)
    assert done[-1].record.outcome == 'succeeded' and done[-1].record.failure_reason == ''


def test_the_next_pick_is_planned_ahead_while_waiting_for_a_robot() -> None:
    c = PickCycle(CFG)
    c.start(0.0)
    c.on_station(False, 0.5)
    pick, t0 = carrying(c)
    c.on_segment(pick, 'transfer', True, '', t0 + 1.3)
    frame = t0 + CFG.scene_clear_delay_s + 0.05
    ahead = of(c.on_decision(decision(frame, option(2, x=0.6)), t0 + 1.5), RequestPlan)[0]
    assert ahead.start == PLACE
    c.on_plan(ahead.pick_id, True, '', t0 + 1.8, place_joints=PLACE)
    c.on_station(True, t0 + 2.5)
    cmds = c.on_qa(qa(c, 'placed', final=True), t0 + 3.0)
    assert ExecuteSegment(ahead.pick_id, 'approach') in cmds
