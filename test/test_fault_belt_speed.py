"""Fault: the belt runs without the controller's command (another controller, an operator, a drive
fault), over real DDS.

The controller reads the measured ``conveyor/speed``: while the belt moves, frames are refused and
the arm holds (no motion request), ``/diagnostics`` WARNs ``belt moving without command``; when the
belt stops the fault clears and the first fresh frame is picked from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cell_fixtures import grasp_decision_json
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.parameter import Parameter
from std_msgs.msg import Float64, String

from robin_cell.cell_controller_node import CellControllerNode
from robin_core import qos, topics

pytestmark = pytest.mark.ros


def test_uncommanded_belt_motion_holds_the_arm_reports_and_clears(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal')), Parameter('tick_rate', value=100.0),
        Parameter('pipeline.startup_grace', value=0.0)]))
    peer = ros.node('rogue_belt')
    decisions = peer.create_publisher(String, topics.GRASP_DECISION, qos.RECORDS)
    belt = peer.create_publisher(Float64, topics.BELT_SPEED, qos.RELIABLE)
    requests: list[dict] = []
    peer.create_subscription(String, topics.MOTION_REQUEST, lambda m: requests.append(json.loads(m.data)),
                             qos.RELIABLE)
    diags: list[DiagnosticStatus] = []
    peer.create_subscription(DiagnosticArray, '/diagnostics',
                             lambda m: diags.extend(s for s in m.status if 'pick cycle' in s.name), 10)
    assert ros.spin_until(lambda: decisions.get_subscription_count() > 0 and belt.get_subscription_count() > 0, 10)

    def now_ns() -> int:
        return ctrl.get_clock().now().nanoseconds

    belt.publish(Float64(data=0.3))  # the belt starts at 0.3 m/s: nobody here commanded it
    assert ros.spin_until(lambda: ctrl.cycle.stats.uncommanded_belt_runs == 1, 3)
    for _ in range(15):  # it keeps running; decisions on fresh frames keep coming
        belt.publish(Float64(data=0.3))
        decisions.publish(String(data=grasp_decision_json(now_ns())))
        ros.spin_for(0.1)
    assert requests == [] and ctrl.cycle.phase.value == 'wait_scene'  # never acted on a moving pile
    assert ctrl.cycle.stats.uncommanded_belt_runs == 1
    assert ros.spin_until(lambda: any(s.level == DiagnosticStatus.WARN and 'belt moving without command' in s.message
                                      for s in diags), 3)

    belt.publish(Float64(data=0.0))  # the fault clears
    ros.spin_for(ctrl.cycle.config.scene_clear_delay_s + 0.2)
    decisions.publish(String(data=grasp_decision_json(now_ns())))
    assert ros.spin_until(lambda: bool(requests), 5)
    assert requests[0]['op'] == 'plan_pick'
    diags.clear()
    assert ros.spin_until(lambda: any(s.level == DiagnosticStatus.OK for s in diags), 3)


def test_a_belt_speed_that_is_not_a_number_is_counted_and_ignored(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal'))]))
    belt = ros.node('broken_encoder').create_publisher(Float64, topics.BELT_SPEED, qos.RELIABLE)
    assert ros.spin_until(lambda: belt.get_subscription_count() > 0, 10)
    belt.publish(Float64(data=float('nan')))
    assert ros.spin_until(lambda: ctrl._bad_messages == 1, 3)
    assert ctrl.cycle.stats.uncommanded_belt_runs == 0
