"""QA node over real DDS: alert after N failures (latched, acknowledged), torn cup, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import WrenchStamped
from rclpy.parameter import Parameter
from rclpy.time import Time
from sensor_msgs.msg import JointState
from std_msgs.msg import Float32MultiArray, String, UInt8MultiArray
from std_srvs.srv import Trigger

from robin_core import qos, topics
from robin_core.records import QaEvent, from_msg, to_msg
from robin_qa.protocol import PickPhase, QaAlert
from robin_qa.qa_node import QaNode

pytestmark = pytest.mark.ros

SEALED_KPA, OPEN_KPA = 65.0, 6.0


class Cell:
    """Stands in for the simulator and the cell controller: streams gripper signals, sends phases."""

    def __init__(self, ros, **overrides: object) -> None:
        self.ros = ros
        self.qa = ros.add(QaNode(context=ros.context,
                                 parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()]))
        self.node = ros.node('fake_cell')
        n = self.node
        self.vacuum_pub = n.create_publisher(Float32MultiArray, topics.CUP_VACUUM, qos.SENSOR)
        self.sealed_pub = n.create_publisher(UInt8MultiArray, topics.CUP_SEALED, qos.SENSOR)
        self.wrench_pub = n.create_publisher(WrenchStamped, topics.WRIST_WRENCH, qos.SENSOR)
        self.joints_pub = n.create_publisher(JointState, topics.JOINT_STATES, qos.SENSOR)
        self.phase_pub = n.create_publisher(String, topics.PICK_PHASE, qos.RECORDS)
        self.events: list[QaEvent] = []
        self.cups: list[list[int]] = []
        self.suspects: list[list[int]] = []
        n.create_subscription(String, topics.QA_EVENTS, lambda m: self.events.append(from_msg(m, QaEvent)),
                              qos.RECORDS)
        n.create_subscription(UInt8MultiArray, topics.QA_UNHEALTHY_CUPS, lambda m: self.cups.append(list(m.data)),
                              qos.LATCHED)
        n.create_subscription(UInt8MultiArray, topics.QA_SUSPECT_CUPS,
                              lambda m: self.suspects.append(list(m.data)), qos.LATCHED)
        self.holding = np.zeros(8, bool)
        self.payload_kg = 0.0
        self.send_vacuum = True
        self.joint_stamp_offset_s = 0.0
        n.create_timer(0.02, self._stream)

    def _stream(self) -> None:
        now = self.node.get_clock().now()
        if self.send_vacuum:
            vac = np.where(self.holding, SEALED_KPA, OPEN_KPA)
            self.vacuum_pub.publish(Float32MultiArray(data=[float(v) for v in vac]))
            self.sealed_pub.publish(UInt8MultiArray(data=[int(v >= 35.0) for v in vac]))
        w = WrenchStamped()
        w.header.stamp = now.to_msg()
        w.wrench.force.z = self.payload_kg * 9.80665
        self.wrench_pub.publish(w)
        js = JointState(name=['j1'], position=[0.0])
        js.header.stamp = Time(nanoseconds=now.nanoseconds - int(self.joint_stamp_offset_s * 1e9)).to_msg()
        self.joints_pub.publish(js)

    def connected(self) -> bool:
        return self.phase_pub.get_subscription_count() > 0 and self.vacuum_pub.get_subscription_count() > 0

    def lifted(self, record_id: str, package_id: str, cup_mask: int = 0b1111) -> QaEvent:
        """Send a 'lifted' phase and wait for its QA event."""
        n = len(self.events)
        self.phase_pub.publish(to_msg(PickPhase(record_id=record_id, phase='lifted', package_id=package_id,
                                                cup_mask=cup_mask, expected_mass_kg=0.3)))
        assert self.ros.spin_until(lambda: len(self.events) > n, 5.0), 'no QA event'
        return self.events[-1]

    def call(self, name: str) -> Trigger.Response:
        client = self.node.create_client(Trigger, name)
        assert client.wait_for_service(timeout_sec=5.0)
        future = client.call_async(Trigger.Request())
        assert self.ros.spin_until(future.done, 5.0)
        return future.result()

    def late_alert(self) -> QaAlert:
        """Subscribe to the alert afresh (a late joiner) and return the latched state."""
        got: list[QaAlert] = []
        late = self.ros.node(f'late_{len(self.ros.nodes)}')
        late.create_subscription(String, topics.QA_ALERT, lambda m: got.append(from_msg(m, QaAlert)), qos.LATCHED)
        assert self.ros.spin_until(lambda: bool(got), 5.0), 'no latched alert'
        return got[-1]


def test_same_package_failing_n_times_raises_a_latched_alert_and_acknowledge_clears_it(ros) -> None:
    cell = Cell(ros, **{'recovery.max_failures_per_package': 3})
    assert ros.spin_until(cell.connected, 10.0)
    ros.spin_for(0.3)  # fresh samples in the buffers
    assert not cell.late_alert().active
    for k in range(1, 4):  # nothing lifted, three times on the same package
        event = cell.lifted(f'r{k}', 'pkg_42')
        assert event.verdict == 'missed', event.reasons
    assert event.alert and event.recovery == 'call_human'
    alert = cell.late_alert()
    assert alert.active and alert.package_id == 'pkg_42' and 'failed 3 times' in alert.reason
    response = cell.call(topics.QA_ACKNOWLEDGE)
    assert response.success
    assert not cell.late_alert().active
    assert not cell.call(topics.QA_ACKNOWLEDGE).success  # nothing left to acknowledge


def test_torn_cup_is_published_unhealthy_and_restore_clears_it(ros) -> None:
    cell = Cell(ros)
    assert ros.spin_until(cell.connected, 10.0)
    assert ros.spin_until(lambda: bool(cell.cups), 5.0) and cell.cups[-1] == [0] * 8
    cell.holding = np.array([1, 1, 1, 0, 1, 1, 1, 1], bool)  # cup 3 never seals
    cell.payload_kg = 0.3
    ros.spin_for(0.3)
    for k in range(10):
        assert cell.lifted(f'r{k}', f'pkg_{k}', cup_mask=0xFF).verdict == 'ok'
        if k == 0:  # one failed seal: the grasp planner is asked to test the cup
            assert ros.spin_until(lambda: bool(cell.suspects) and cell.suspects[-1][3] == 1, 3.0), cell.suspects
        if cell.cups[-1][3]:
            break
    assert ros.spin_until(lambda: cell.cups[-1] == [0, 0, 0, 1, 0, 0, 0, 0], 3.0), cell.cups[-1]
    assert ros.spin_until(lambda: cell.suspects[-1] == [0] * 8, 3.0)  # flagged: excluded, no longer probed
    assert cell.call(f'{topics.QA_RESTORE_CUP_PREFIX}3').success
    assert ros.spin_until(lambda: cell.cups[-1] == [0] * 8, 3.0)


def test_missing_vacuum_and_stale_joint_states_give_suspect_and_the_node_lives(ros) -> None:
    cell = Cell(ros)
    cell.send_vacuum = False
    cell.joint_stamp_offset_s = 5.0
    cell.payload_kg = 0.3
    assert ros.spin_until(lambda: cell.phase_pub.get_subscription_count() > 0, 10.0)
    ros.spin_for(0.3)
    event = cell.lifted('r1', 'pkg_1')
    assert event.verdict == 'suspect' and event.recovery == 'verify'
    assert any('missing vacuum' in r for r in event.reasons), event.reasons
    assert any('stale joint_states' in r for r in event.reasons), event.reasons
    cell.phase_pub.publish(String(data='{"not": "a phase"}'))  # malformed: logged and ignored
    cell.send_vacuum = True
    cell.joint_stamp_offset_s = 0.0
    cell.holding = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    ros.spin_for(0.5)
    assert cell.lifted('r2', 'pkg_2').verdict == 'ok'
