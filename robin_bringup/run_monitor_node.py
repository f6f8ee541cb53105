"""In-process rclpy node that watches a cell run and feeds :class:`RunReport`.

It listens the way any external tool would (the color stream for the frame rate, /clock, the
sim status), with best-effort subscriptions so it matches any publisher's QoS; it is an observer
and publishes nothing.
"""

from __future__ import annotations

import json

from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image
from std_msgs.msg import String

from robin_bringup.pick_truth import GraderStates, camera_view
from robin_bringup.run_report import RunReport
from robin_core import qos, topics
from robin_core.cell_description import default_cell
from robin_core.records import PickRecord, RecordError, from_json


class RunMonitorNode(Node):
    def __init__(self, report: RunReport, **kwargs) -> None:
        super().__init__('run_monitor', **kwargs)
        self.report = report
        self.create_subscription(Image, topics.COLOR_IMAGE, self._on_image, qos.SENSOR)
        self.create_subscription(Clock, '/clock', self._on_clock, qos.SENSOR)
        self.create_subscription(String, topics.SIM_STATUS, self._on_status, qos.SENSOR)
        self.create_subscription(String, topics.PICK_RECORDS, self._on_record, qos.RECORDS)
        self.create_subscription(String, topics.CELL_STATUS, self._on_cell_status, qos.LATCHED)
        # evaluation only: labels each attempt with what really happened (qa_confusion)
        self.grader_states = GraderStates(view=camera_view(default_cell()))
        self.create_subscription(String, topics.SIM_GROUND_TRUTH, self._on_ground_truth, qos.RECORDS)

    def _on_image(self, _msg: Image) -> None:
        self.report.on_camera_frame()

    def _on_clock(self, msg: Clock) -> None:
        self.report.on_clock(msg.clock.sec + msg.clock.nanosec * 1e-9)

    def _on_record(self, msg: String) -> None:
        try:
            self.report.on_pick_record(from_json(msg.data, PickRecord))
        except RecordError as exc:
            self.get_logger().warning(f'unreadable pick record: {exc}')

    def _on_cell_status(self, msg: String) -> None:
        try:
            self.report.on_cell_status(json.loads(msg.data))
        except json.JSONDecodeError as exc:
            self.get_logger().warning(f'unreadable cell status: {exc}')

    def _on_ground_truth(self, msg: String) -> None:
        try:
            states = self.grader_states(json.loads(msg.data)['packages'])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
            self.get_logger().warning(f'unreadable ground truth: {exc}')
            return
        self.report.on_ground_truth(self.report.sim_seconds, states)  # /clock time: the record states' clock

    def _on_status(self, msg: String) -> None:
        try:
            self.report.on_sim_status(json.loads(msg.data))
        except json.JSONDecodeError as exc:
            self.get_logger().warning(f'unreadable sim status: {exc}')
