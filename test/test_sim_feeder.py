"""The simulator's feeder: a pile when nothing is coming, and when what is coming is jammed."""

from __future__ import annotations

from robin_sim.feeder import FeederWatch


def test_a_pile_is_due_when_nothing_is_coming() -> None:
    watch = FeederWatch()
    assert watch.due([], belt_run_s=0.0)
    assert not watch.due([-0.8], belt_run_s=1.0)


def test_packages_that_move_with_the_belt_are_coming() -> None:
    watch = FeederWatch(stall_belt_s=5.0)
    for k in range(30):
        assert not watch.due([-0.8 + 0.1 * k, -1.0 + 0.1 * k], belt_run_s=1.0)
    assert watch.jams == 0


def test_a_package_that_does_not_move_while_the_belt_runs_is_a_jam() -> None:
    watch = FeederWatch(stall_belt_s=5.0)
    due = [watch.due([-0.8], belt_run_s=1.0) for _ in range(6)]
    assert due == [False] * 5 + [True] and watch.jams == 1
    # the count starts again: the next pile is not dropped on the next check
    assert not watch.due([-0.8], belt_run_s=1.0)


def test_a_standing_belt_is_no_jam() -> None:
    watch = FeederWatch(stall_belt_s=5.0)
    assert not any(watch.due([-0.8], belt_run_s=0.0) for _ in range(100))
