"""The fault schedule of the QA benchmark: phases, transitions and cup choices (no ROS)."""

from __future__ import annotations

import pytest

from robin_bringup.fault_schedule import FaultSchedule, cup_to_weaken, most_used_cup, transition

S = FaultSchedule(clean=2, double_picks=3, weakened_cup=2, torn_cup=4, double_pick_rate=0.5, knock_off_at=(1, 9))


def test_phases_follow_the_block_and_the_block_repeats() -> None:
    phases = [S.phase(k) for k in range(S.block)]
    assert phases == ['clean'] * 2 + ['double_picks'] * 3 + ['weakened_cup'] * 2 + ['torn_cup'] * 4
    assert [S.phase(S.block + k) for k in range(S.block)] == phases
    assert S.state(S.block + 3).block == 1 and S.state(3).all_cups_rate == 0.5 and S.state(0).all_cups_rate == 0.0


def test_transitions_inject_each_fault_once_and_undo_it() -> None:
    acts, prev = [], None
    for k in range(2 * S.block):
        new = S.state(k)
        acts.append(transition(prev, new))
        prev = new
    assert [k for k, a in enumerate(acts) if a.all_cups_rate is not None] == [0, 2, 5, 13, 16]
    assert [acts[k].all_cups_rate for k in (0, 2, 5)] == [0.0, 0.5, 0.0]
    assert [k for k, a in enumerate(acts) if a.tear] == [7, 18]  # once per block, at the torn phase
    assert [k for k, a in enumerate(acts) if a.repair] == [11]  # at the next block (the last tear stays)
    assert [k for k, a in enumerate(acts) if a.clear_weakened] == [7, 18]
    assert [k for k, a in enumerate(acts) if a.clear_stuck] == [5, 16]  # leaving the double_picks phase
    assert [S.state(k).stick_pairs for k in range(S.block)] == [False] * 2 + [True] * 3 + [False] * 6
    assert [k for k, a in enumerate(acts) if a.knock_off] == [1, 9, 12, 20]


@pytest.mark.parametrize('kwargs', [{'clean': 0}, {'double_pick_rate': 0.0, 'stuck_pairs': False},
                                    {'double_pick_rate': 1.5}, {'knock_off_at': (40,)}])
def test_a_schedule_that_cannot_run_is_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FaultSchedule(**kwargs)


def test_the_torn_cup_is_the_most_used_one_and_the_weakened_one_is_in_the_pick() -> None:
    assert most_used_cup([0b0110, 0b0100, 0b1100]) == 2
    assert most_used_cup([0b0110, 0b0110]) == 1  # tie: lowest index
    assert most_used_cup([0b0110, 0b0100], exclude=[2]) == 1
    assert most_used_cup([]) == 0
    assert cup_to_weaken(0b01100000) == 5 and cup_to_weaken(0) is None
