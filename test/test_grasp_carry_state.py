"""What the gripper carries over time, from the controller's pick phases (robin_grasp.carry_state)."""

from __future__ import annotations

import pytest

from robin_grasp.carry_state import NOTHING, UNKNOWN, CarriedPackage, CarryTimeline, carry_from_phase


def _phase(phase: str, **kw) -> dict:
    return {'schema': 'robin.pick_phase/1', 'record_id': 'r', 'phase': phase, 'stamp_s': 1.0, **kw}


def test_a_grasped_package_is_carried_until_it_is_released_or_the_pick_aborts():
    size, pose = [0.3, 0.2, 0.1], [0.02, -0.01, 0.5]
    assert carry_from_phase(_phase('grasped', package_size_m=size, package_in_tool=pose)) == \
        CarriedPackage(0.3, 0.2, 0.02, -0.01, 0.5)
    assert carry_from_phase(_phase('transferring', package_size_m=size, package_in_tool=None)) == \
        CarriedPackage(0.3, 0.3)  # centred, heading unknown: the long side all round
    assert carry_from_phase(_phase('lifted')) == UNKNOWN  # a grasp without a size
    for free in ('released', 'aborted', 'approach'):
        assert carry_from_phase(_phase(free)) == NOTHING
    assert carry_from_phase(_phase('verify')) is None  # changes nothing
    with pytest.raises(ValueError, match='3 values'):
        carry_from_phase(_phase('grasped', package_size_m=[0.3, 0.2]))
    with pytest.raises(ValueError, match='positive'):
        carry_from_phase(_phase('grasped', package_size_m=[0.0, 0.2, 0.1], package_in_tool=pose))
    with pytest.raises(ValueError, match='length, width'):
        CarriedPackage.from_list([0.3, 0.2])
    assert CarriedPackage.from_list(CarriedPackage(0.3, 0.2, 0.1).as_list()) == CarriedPackage(0.3, 0.2, 0.1)


def test_the_timeline_answers_for_a_frame_stamp_and_forgets_old_changes():
    t = CarryTimeline(history_s=10.0)
    box = CarriedPackage(0.3, 0.2)
    assert t.at(5) == UNKNOWN  # nothing heard yet: the conservative column
    t.set(1_000_000_000, box)
    t.set(3_000_000_000, NOTHING)
    assert t.at(999_999_999) == UNKNOWN and t.at(1_000_000_000) == box and t.at(2_500_000_000) == box
    assert t.at(3_000_000_000) == NOTHING
    t.set(20_000_000_000, box)  # the 1 s change is older than the history: the 3 s one is kept as the state
    assert t.at(15_000_000_000) == NOTHING and t.at(20_000_000_000) == box
    assert t.at(2_000_000_000) == UNKNOWN  # forgotten: the conservative answer again
