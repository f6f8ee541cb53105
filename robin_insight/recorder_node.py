"""Recorder node: writes selected topics (any type) to rotating rosbag2 MCAP splits.

Topics are discovered from the graph periodically, so a node that starts later is still recorded.
Subscriptions are raw (serialized CDR straight into the bag: no deserialization cost, exact
bytes). Writing happens on a separate thread behind a bounded queue (see :mod:`bag_recorder`).
"""

from __future__ import annotations

import time
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from robin_core.diagnostics import ERROR, OK, WARN, DiagnosticsPublisher, Status
from robin_core.node_main import run_node
from robin_core.params import ParameterError, declare
from robin_insight.bag_recorder import BagRecorder
from robin_insight.bag_splits import SplitPolicy, SplitWriter
from robin_insight.msg_types import UnknownMessageTypeError, default_bag_types, message_class
from robin_insight.topic_filter import TopicFilter

MB = 2**20


class RecorderNode(Node):
    """Subscribes to every graph topic the filter selects and records it."""

    def __init__(self, **kwargs) -> None:
        super().__init__('recorder', **kwargs)
        output_dir = declare(self, 'output_dir', 'runs/bags', 'root folder for the bag splits')
        include = declare(self, 'include', ['.*'], 'regexes (full match, absolute names) of topics to record')
        exclude = declare(self, 'exclude', ['/rosout', '/parameter_events'], 'regexes of topics never recorded')
        period = declare(self, 'discovery_period_s', 1.0, 'how often to look for new topics [s]', low=0.05, high=60.0)
        split_mb = declare(self, 'max_split_mb', 512.0, 'start a new split after this size [MiB]', low=0.01, high=1e6)
        split_s = declare(self, 'max_split_duration_s', 300.0, 'start a new split after this time [s], 0 = never',
                          low=0.0, high=1e6)
        total_mb = declare(self, 'max_total_mb', 8192.0, 'delete oldest splits beyond this [MiB], 0 = unbounded',
                           low=0.0, high=1e9)
        max_queue = declare(self, 'max_queue', 2000, 'messages waiting for the disk before drops', low=1, high=10**6)
        max_queue_mb = declare(self, 'max_queue_mb', 256.0, 'bytes waiting for the disk before drops [MiB]',
                               low=1.0, high=65536.0)
        try:
            self._filter = TopicFilter(include, exclude)
        except ValueError as exc:
            raise ParameterError('include/exclude', str(exc)) from exc
        policy = SplitPolicy(int(split_mb * MB), float(split_s), int(total_mb * MB))
        self.recorder = BagRecorder(SplitWriter(Path(output_dir), policy, types=default_bag_types()), int(max_queue),
                                    int(max_queue_mb * 2**20))
        self._subs: dict[str, tuple[str, object]] = {}  # topic -> (type name, subscription)
        self.skipped: dict[str, str] = {}  # topic -> reason (unknown type, several types, ...)
        self._diag = DiagnosticsPublisher(self)
        self._diag.add('recorder', self._status)
        self.create_timer(period, self.discover)
        self.discover()
        self.get_logger().info(f'recording to {Path(output_dir).resolve()}')

    def discover(self) -> None:
        """Subscribe to selected topics not yet recorded."""
        for topic, types in self.get_topic_names_and_types():
            if topic in self._subs or topic in self.skipped or not self._filter(topic):
                continue
            if len(types) != 1:
                self._skip(topic, f'published with several types {types}; recording none')
                continue
            type_name = types[0]
            try:
                cls = message_class(type_name)
                default_bag_types().ensure(type_name)  # fail now, not on the writer thread
            except UnknownMessageTypeError as exc:
                self._skip(topic, str(exc))
                continue
            qos = self._qos_for(topic)
            if qos is None:
                continue  # publisher QoS not known yet: guessing risks an incompatible match; next round
            sub = self.create_subscription(cls, topic, self._callback(topic, type_name), qos, raw=True)
            self._subs[topic] = (type_name, sub)
            self.get_logger().info(f'recording {topic} [{type_name}]')

    def _qos_for(self, topic: str) -> QoSProfile | None:
        """Match the publishers: best effort if any is, transient local only if all are.

        None while no publisher's QoS is known (the topic name can be discovered first): a
        reliable guess would not match a best-effort camera and would record nothing.
        """
        infos = self.get_publishers_info_by_topic(topic)
        if not infos:
            return None
        best_effort = any(i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for i in infos)
        latched = bool(infos) and all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos)
        return QoSProfile(
            depth=100,
            history=HistoryPolicy.KEEP_LAST,
            reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
        )

    def _callback(self, topic: str, type_name: str):
        put = self.recorder.put

        def on_message(data: bytes) -> None:
            stamp = self.get_clock().now().nanoseconds
            put(topic, type_name, data, stamp or time.time_ns())  # 0 = sim time before the first /clock

        return on_message

    def _skip(self, topic: str, reason: str) -> None:
        self.skipped[topic] = reason
        self.get_logger().warning(f'not recording {topic}: {reason}')

    def _status(self) -> Status:
        st = self.recorder.stats
        w = self.recorder.writer
        level = ERROR if st.write_errors else WARN if st.dropped or self.skipped else OK
        message = (f'{st.write_errors} write errors, last: {st.last_error}' if st.write_errors
                   else f'{st.dropped} messages dropped (queue full)' if st.dropped
                   else f'{len(self.skipped)} topics skipped' if self.skipped else 'recording')
        return Status(level, message, {
            'topics': len(self._subs),
            'received': st.received,
            'written': st.written,
            'dropped': st.dropped,
            'queue_depth': self.recorder.queue_depth, 'queued_mb': round(self.recorder.queued_bytes / 2**20, 1),
            'current_split': str(w.current_path or ''),
            'closed_splits': len(w.splits),
            'deleted_splits': len(w.deleted),
            'total_mb': w.total_bytes() / MB,
            'skipped_topics': ', '.join(sorted(self.skipped)),
        })

    def close(self) -> None:
        """Flush and close the bag (called by run_node on shutdown, also on SIGINT)."""
        self.recorder.close()


def main(args: list[str] | None = None) -> int:
    return run_node(RecorderNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
