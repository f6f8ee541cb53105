"""Packages the belt carries out of the camera's view, followed to the belt end (dead reckoning)."""

from __future__ import annotations

import numpy as np
import pytest
from test_qa_pile_watch import NONE, PILE, Cell, table

from robin_core.cell_description import default_cell
from robin_core.instance_table import empty_table
from robin_qa.belt_end_watch import BeltEndWatch, BeltGeometry, BeltOdometer
from robin_qa.qa_engine import QaEngine

# camera frame = base frame, the belt flows along +x; the camera sees up to x = 0.5, the belt ends at 1.0
LINE = BeltGeometry(np.eye(3), np.zeros(3), np.array([1.0, 0.0, 0.0]), view_end_m=0.5, belt_end_m=1.0)


def test_the_shipped_cell_sees_past_the_pick_area_but_not_to_the_belt_end() -> None:
    cell = default_cell()
    g = BeltGeometry.from_cell(cell)
    assert list(g.flow) == [0.0, 1.0, 0.0]  # the shipped belt flows along +y
    assert cell.pick_area.y_range[1] < g.view_end_m < g.belt_end_m
    assert g.belt_end_m == pytest.approx(cell.pick_area.belt_y_range[1])
    # a point on the optical axis lies at the camera's own along-flow coordinate
    assert g.along(np.array([[0.0, 0.0, 1.0]]))[0] == pytest.approx(
        g.flow @ (g.t_base_camera + g.R_base_camera[:, 2]))


def test_the_odometer_integrates_speed_changes_only() -> None:
    odo = BeltOdometer()
    for t in np.arange(0.0, 1.0, 0.01):
        odo.add(float(t), 0.0)
    odo.add(1.0, 0.25)
    odo.add(2.0, 0.25)  # unchanged speed: nothing new to keep
    odo.add(3.0, 0.0)
    odo.add(2.5, 1.0)  # out of order: ignored
    odo.add(3.5, float('nan'))  # a corrupt sample: ignored, the odometer stays usable
    odo.add(float('inf'), 0.5)
    assert odo.travel(0.0, 5.0) == pytest.approx(0.5)
    assert odo.travel(1.5, 2.5) == pytest.approx(0.25)
    assert odo.travel(4.0, 3.0) == 0.0
    assert BeltOdometer().travel(0.0, 10.0) == 0.0


def test_only_packages_carried_past_the_view_edge_and_not_seen_again_are_followed() -> None:
    watch = BeltEndWatch(LINE)
    before = table((1, 0.0, 0.0, 0.1), (2, 0.35, 0.0, 0.1), (3, 0.4, 0.2, 0.1))
    after = table((1, 0.2, 0.0, 0.1), (3, 0.4, 0.2, 0.1))  # 3 was held by the rail: it did not move
    assert watch.carried_out(before, after, 0.2, t=5.0) == 1  # only 2 (predicted at 0.55) is out of view
    assert watch.followed == [(pytest.approx(0.55), 5.0)]
    assert watch.advance(0.3, t=8.0) == []  # at 0.85: still on the belt
    found = watch.advance(0.25, t=10.0)
    assert len(found) == 1 and found[0].lost == 1 and 'belt end' in found[0].reason
    assert watch.followed == []
    assert watch.carried_out(before, after, 0.0, t=11.0) == 0  # no belt run: nothing was carried


def test_the_engine_alerts_when_a_package_carried_out_of_view_reaches_the_belt_end() -> None:
    cell = Cell()
    cell.engine = QaEngine(belt=LINE)
    cell.pick('r1', PILE, table((2, 0.3, 0.0, 0.10), (3, -0.3, 0.0, 0.05)))
    cell.engine.tick(cell.script.t)
    cell.engine.add_belt_speed(cell.script.t, 0.25)
    cell.script.hold(1.0, NONE, 0.0, NONE)  # 0.25 m: package 2 leaves the view (0.55), 3 moves to -0.05
    cell.engine.add_belt_speed(cell.script.t, 0.0)
    cell.pick('r2', table((3, -0.05, 0.0, 0.05)), empty_table(0))
    assert not cell.engine.recovery.alert_active  # out of view, still on the belt
    assert len(cell.engine.belt_end.followed) == 1
    cell.engine.add_belt_speed(cell.script.t, 0.25)
    cell.script.hold(2.0, NONE, 0.0, NONE)  # 0.5 m more: past the end at 1.0
    cell.engine.add_belt_speed(cell.script.t, 0.0)
    cell.take(cell.engine.tick(cell.script.t))
    assert cell.engine.recovery.alert_active and cell.alerts
    assert 'belt end' in cell.engine.recovery.alerts[-1].reason
