"""Faults: camera frames dropped or delayed (stale perception), over real DDS.

- The cell controller never acts on a decision whose frame is older than
  ``pipeline.max_decision_age``: the arm is held (no motion request) while only stale decisions
  arrive, and picking resumes with the first fresh one.
- The grasp planner reports STALE on /diagnostics when camera_info stops for longer than
  ``camera_info_timeout_s`` and returns to a non-stale level when it comes back.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cell_fixtures import grasp_decision_json
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header, String

from robin_cell.cell_controller_node import CellControllerNode
from robin_core import qos, topics
from robin_core.cell_description import default_cell
from robin_core.image_codec import Stamp
from robin_grasp.grasp_planner_node import GraspPlannerNode

pytestmark = pytest.mark.ros


def test_controller_holds_the_arm_on_stale_perception_and_resumes_on_fresh(ros, tmp_path: Path) -> None:
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal')), Parameter('tick_rate', value=100.0),
        Parameter('pipeline.startup_grace', value=0.0), Parameter('pipeline.max_decision_age', value=1.0)]))
    peer = ros.node('delayed_perception')
    pub = peer.create_publisher(String, topics.GRASP_DECISION, qos.RECORDS)
    requests: list[dict] = []
    peer.create_subscription(String, topics.MOTION_REQUEST, lambda m: requests.append(json.loads(m.data)),
                             qos.RELIABLE)
    diags: list[DiagnosticStatus] = []
    peer.create_subscription(DiagnosticArray, '/diagnostics',
                             lambda m: diags.extend(s for s in m.status if 'pick cycle' in s.name), 10)
    assert ros.spin_until(lambda: pub.get_subscription_count() > 0, 10)

    for _ in range(25):  # frames delayed 1.5 s (> max_decision_age) for 2.5 s
        pub.publish(String(data=grasp_decision_json(ctrl.get_clock().now().nanoseconds - 1_500_000_000)))
        ros.spin_for(0.1)
    assert requests == [] and ctrl.cycle.phase.value == 'wait_scene'  # held: nothing was planned or moved
    assert ros.spin_until(lambda: any(s.level == DiagnosticStatus.WARN and 'perception stale' in s.message
                                      for s in diags), 3)  # and says why

    pub.publish(String(data=grasp_decision_json(ctrl.get_clock().now().nanoseconds)))  # the fault clears
    assert ros.spin_until(lambda: bool(requests), 5)
    assert requests[0]['op'] == 'plan_pick' and ctrl.cycle.phase.value == 'plan'


def test_grasp_planner_reports_stale_camera_on_diagnostics_and_recovers(ros) -> None:
    planner = ros.add(GraspPlannerNode(context=ros.context,
                                       parameter_overrides=[Parameter('camera_info_timeout_s', value=0.6)]))
    peer = ros.node('camera_that_stops')
    info_pub = peer.create_publisher(CameraInfo, topics.COLOR_INFO, qos.SENSOR)
    levels: list[tuple[float, bytes]] = []

    def on_diag(msg: DiagnosticArray) -> None:
        for st in msg.status:
            if st.name.startswith(f'{planner.get_name()}:'):
                levels.append((time.monotonic(), st.level))

    peer.create_subscription(DiagnosticArray, '/diagnostics', on_diag, 10)
    intr = default_cell().camera.intrinsics

    def send_info() -> None:
        info = CameraInfo(header=Header(stamp=Stamp(time.time_ns()).to_msg(), frame_id='camera'),
                          width=intr.width, height=intr.height)
        info.k = [intr.fx, 0.0, intr.cx, 0.0, intr.fy, intr.cy, 0.0, 0.0, 1.0]
        info_pub.publish(info)

    def stream_until(pred, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            send_info()
            ros.spin_for(0.1)
            if pred():
                return True
        return False

    stale = DiagnosticStatus.STALE
    assert ros.spin_until(lambda: bool(levels), 5) and levels[-1][1] == stale  # no camera yet
    assert stream_until(lambda: planner.has_camera_info and levels[-1][1] != stale, 6), 'camera up: not stale'
    stopped = time.monotonic()
    assert ros.spin_until(lambda: levels[-1][0] > stopped and levels[-1][1] == stale, 5), 'camera stopped: STALE'
    assert stream_until(lambda: levels[-1][1] != stale, 6), 'camera back: no longer STALE'
