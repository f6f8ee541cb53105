"""QoS profiles used across the cell, chosen once so that publishers and subscribers match."""

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

#: Camera streams and other high-rate sensor data: best effort, keep last 5.
SENSOR = qos_profile_sensor_data

#: Commands and results that must arrive (trajectories, cup commands, perception results).
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)

#: State that late joiners must see (alerts, unhealthy cups, model info): transient local, depth 1.
LATCHED = QoSProfile(
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
    history=HistoryPolicy.KEEP_LAST,
)

#: Records that must never be dropped by DDS history (pick records, QA events): deep reliable queue.
RECORDS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
