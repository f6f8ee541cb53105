"""QA node: watches every pick and publishes verdicts, the human call and the unhealthy cups.

A thin rclpy adapter around :class:`robin_qa.qa_engine.QaEngine`: callbacks convert messages
(:mod:`robin_qa.conversions`) and hand them over; nothing here blocks. See docs/qa.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from geometry_msgs.msg import WrenchStamped
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState, PointCloud2
from std_msgs.msg import Float32MultiArray, Float64, String, UInt8MultiArray
from std_srvs.srv import Trigger

from robin_core import qos, topics
from robin_core.cell_description import default_cell
from robin_core.diagnostics import ERROR, OK, WARN, DiagnosticsPublisher, Status
from robin_core.instance_table import cloud_to_instances
from robin_core.node_main import run_node
from robin_core.params import declare, on_set
from robin_core.records import RecordError, from_msg, to_msg
from robin_qa import conversions as conv
from robin_qa.belt_end_watch import BeltGeometry
from robin_qa.config_fields import check_value, settings_of
from robin_qa.cup_signals import NUM_CUPS
from robin_qa.protocol import PickPhase
from robin_qa.qa_engine import EngineOutput, QaConfig, QaEngine

TICK_PERIOD_S = 0.05


def _sections() -> dict[str, type]:
    """Parameter prefix -> config dataclass (``double_pick`` -> DoublePickConfig, ...)."""
    defaults = QaConfig()
    return {f.name: type(getattr(defaults, f.name)) for f in dataclasses.fields(QaConfig)}


class QaNode(Node):
    """Subscribes the gripper/arm/station signals and pick phases; publishes QA events and alerts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('qa', **kwargs)
        # the camera's footprint and the belt's end, to follow packages the belt carries out of view
        self.engine = QaEngine(self._declare_config(), BeltGeometry.from_cell(default_cell()))
        on_set(self, self._validate_param)
        self.add_post_set_parameters_callback(self._apply_params)

        self._events = self.create_publisher(String, topics.QA_EVENTS, qos.RECORDS)
        self._alert = self.create_publisher(String, topics.QA_ALERT, qos.LATCHED)
        self._cups = self.create_publisher(UInt8MultiArray, topics.QA_UNHEALTHY_CUPS, qos.LATCHED)
        self._suspects = self.create_publisher(UInt8MultiArray, topics.QA_SUSPECT_CUPS, qos.LATCHED)

        # best effort matches both best-effort and reliable publishers
        sensor = qos.SENSOR
        self.create_subscription(Float32MultiArray, topics.CUP_VACUUM, self._on_vacuum, sensor)
        self.create_subscription(UInt8MultiArray, topics.CUP_SEALED, self._on_sealed, sensor)
        self.create_subscription(WrenchStamped, topics.WRIST_WRENCH, self._on_wrench, sensor)
        self.create_subscription(JointState, topics.JOINT_STATES, self._on_joint_states, sensor)
        self.create_subscription(String, topics.PLACE_STATION, self._on_station, sensor)
        self.create_subscription(PointCloud2, topics.INSTANCE_TABLE, self._on_instances, sensor)
        self.create_subscription(Float64, topics.BELT_SPEED, self._on_belt_speed, sensor)
        self.create_subscription(String, topics.PICK_PHASE, self._on_phase, qos.RECORDS)

        self.create_service(Trigger, topics.QA_ACKNOWLEDGE, self._on_acknowledge)
        self.create_service(Trigger, topics.QA_RESTORE_CUPS, self._on_restore_all)
        for k in range(NUM_CUPS):
            self.create_service(Trigger, f'{topics.QA_RESTORE_CUP_PREFIX}{k}', self._restore_one(k))

        self._bad_phase_messages = 0
        self._diag = DiagnosticsPublisher(self)
        self._diag.add('qa', self._status)
        self.create_timer(TICK_PERIOD_S, self._tick)
        self._publish_alert()
        self._publish_cups()

    # --- parameters --------------------------------------------------------------------------
    def _declare_config(self) -> QaConfig:
        sections = {}
        for section, cls in _sections().items():
            values = {s.name: declare(self, f'{section}.{s.name}', s.default, s.description, low=s.low, high=s.high,
                                      choices=s.choices) for s in settings_of(cls)}
            sections[section] = cls(**values)
        return QaConfig(**sections)

    def _validate_param(self, name: str, value: Any) -> str | None:
        section, _, key = name.partition('.')
        cls = _sections().get(section)
        info = next((s for s in settings_of(cls) if s.name == key), None) if cls else None
        return check_value(info, value) if info else None

    def _apply_params(self, params: Sequence[Parameter]) -> None:
        del params  # rebuild from the current values: simpler than patching one field
        sections = {section: cls(**{s.name: self.get_parameter(f'{section}.{s.name}').value
                                    for s in settings_of(cls)}) for section, cls in _sections().items()}
        self.engine.update_config(QaConfig(**sections))

    # --- inputs ----------------------------------------------------------------------------------
    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _stamp_or_now(self, stamp: Any) -> float:
        t = conv.stamp_to_s(stamp)
        return t if t > 0.0 else self._now()

    def _on_vacuum(self, msg: Float32MultiArray) -> None:
        self.engine.add_vacuum(self._now(), conv.vacuum_from_msg(msg))

    def _on_sealed(self, msg: UInt8MultiArray) -> None:
        self.engine.add_sealed(self._now(), conv.sealed_from_msg(msg))

    def _on_wrench(self, msg: WrenchStamped) -> None:
        self.engine.add_force(self._stamp_or_now(msg.header.stamp), conv.force_from_msg(msg))

    def _on_joint_states(self, msg: JointState) -> None:
        self.engine.add_joint_state(self._stamp_or_now(msg.header.stamp))

    def _on_station(self, msg: String) -> None:
        self.engine.add_station(self._now(), conv.place_station_from_msg(msg))

    def _on_belt_speed(self, msg: Float64) -> None:
        self.engine.add_belt_speed(self._now(), conv.finite_or_none(msg.data))

    def _on_instances(self, msg: PointCloud2) -> None:
        try:
            table = cloud_to_instances(msg)
        except ValueError as exc:  # TableFormatError: a producer with another table layout
            self.get_logger().warning(f'ignoring instance table: {exc}', throttle_duration_sec=5.0)
            return
        self._publish(self.engine.add_instances(self._stamp_or_now(msg.header.stamp), table))

    def _on_phase(self, msg: String) -> None:
        try:
            phase = from_msg(msg, PickPhase)
        except RecordError as exc:
            self._bad_phase_messages += 1
            self.get_logger().error(f'ignoring pick phase: {exc}')
            return
        self._publish(self.engine.on_phase(phase, self._now()))

    def _tick(self) -> None:
        self._publish(self.engine.tick(self._now()))

    # --- services --------------------------------------------------------------------------------
    def _on_acknowledge(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        del request
        response.success = self.engine.acknowledge()
        response.message = 'alert cleared, cell resumes' if response.success else 'no active alert'
        self._publish_alert()
        return response

    def _on_restore_all(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        del request
        self.engine.restore_cups()
        response.success, response.message = True, 'all cups marked healthy'
        self._publish_cups()
        return response

    def _restore_one(self, cup: int) -> Callable[[Trigger.Request, Trigger.Response], Trigger.Response]:
        def callback(request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
            del request
            self.engine.restore_cups(cup)
            response.success, response.message = True, f'cup {cup} marked healthy'
            self._publish_cups()
            return response

        return callback

    # --- outputs ---------------------------------------------------------------------------------
    def _publish(self, out: EngineOutput) -> None:
        for event in out.events:
            event.sim_time_s = self._now()
            self._events.publish(to_msg(event))
        if out.alert_changed:
            self._publish_alert()
            if self.engine.recovery.alert_active:
                self.get_logger().warning(f'calling a human: {self.engine.recovery.alerts[-1].reason}')
        if out.cups_changed:
            self._publish_cups()
            self.get_logger().warning(f'unhealthy cups: {self.engine.cup_health.reasons}')
        elif out.suspects_changed:  # _publish_cups sends the suspects too
            self._suspects.publish(conv.flags_to_msg(self.engine.cup_health.suspect_flags()))

    def _publish_alert(self) -> None:
        self._alert.publish(to_msg(self.engine.alert_state(self._now())))

    def _publish_cups(self) -> None:
        self._cups.publish(conv.flags_to_msg(self.engine.cup_health.flags()))
        self._suspects.publish(conv.flags_to_msg(self.engine.cup_health.suspect_flags()))

    def _status(self) -> Status:
        e = self.engine
        values = {**{f'verdicts.{k}': v for k, v in sorted(e.counts.items())},
                  'open_picks': len(e.picks), 'alert_active': e.recovery.alert_active,
                  'alert_reason': e.recovery.alerts[-1].reason if e.recovery.alerts else '',
                  'unhealthy_cups': sorted(e.cup_health.unhealthy), 'suspect_cups': sorted(e.cup_health.suspects),
                  'bad_messages': e.bad_messages,
                  'bad_phase_messages': self._bad_phase_messages}
        if e.recovery.alert_active:
            return Status(ERROR if e.recovery.paused else WARN, 'human needed', values)
        if e.cup_health.unhealthy:
            return Status(WARN, f'unhealthy cups {sorted(e.cup_health.unhealthy)}', values)
        return Status(OK, 'watching picks', values)


def main(args: list[str] | None = None) -> int:
    return run_node(QaNode, args)

