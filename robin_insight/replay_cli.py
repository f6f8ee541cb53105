"""``robin-replay``: play a recorded bag (or a folder of splits) into the ROS graph.

Example::

    robin-replay runs/bags --start-offset 42.5 --duration 10 --rate 0.5 --clock \\
        --topics '/camera/.*' '/perception/.*'

Prints a report of everything skipped (damaged files, unknown types, bad topic names) at the end;
exit code 0 when something was played, 1 when nothing could be.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from robin_core.image_codec import Stamp
from robin_insight.bag_source import BagMessage, SkipReport, read_bag
from robin_insight.msg_types import UnknownMessageTypeError, message_class
from robin_insight.replay import Player, PublishSkippedError, ReplayOptions
from robin_insight.topic_filter import TopicFilter

# reliable + volatile: matches both reliable and best-effort subscribers
REPLAY_QOS = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.VOLATILE)


class ReplayPublisher:
    """Creates one raw publisher per recorded topic on first use; refuses what it cannot publish."""

    def __init__(self, node: Node, *, clock: bool = False) -> None:
        self.node = node
        self._pubs: dict[str, object] = {}
        self._refused: dict[str, str] = {}
        self._clock = node.create_publisher(Clock, '/clock', 10) if clock else None

    def __call__(self, msg: BagMessage) -> None:
        if reason := self._refused.get(msg.topic):
            raise PublishSkippedError(reason)
        pub = self._pubs.get(msg.topic)
        if pub is None:
            pub = self._create(msg)
        if self._clock is not None:
            self._clock.publish(Clock(clock=Stamp(msg.stamp_ns).to_msg()))
        pub.publish(msg.data)  # serialized bytes: published as recorded, no deserialization

    def _create(self, msg: BagMessage):
        try:
            cls = message_class(msg.type_name)
            pub = self.node.create_publisher(cls, msg.topic, REPLAY_QOS)
        except UnknownMessageTypeError as exc:
            self._refused[msg.topic] = f'unknown message type: {exc}'
            raise PublishSkippedError(self._refused[msg.topic]) from exc
        except Exception as exc:
            self._refused[msg.topic] = f'cannot publish on this topic name ({type(exc).__name__}: {exc})'
            raise PublishSkippedError(self._refused[msg.topic]) from exc
        self._pubs[msg.topic] = pub
        return pub


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog='robin-replay', description=__doc__.split('\n\n')[0])
    p.add_argument('bag', help='a rosbag2 folder, or a recorder output folder with splits')
    p.add_argument('--rate', type=float, default=1.0, help='speed factor; 0 = as fast as possible')
    p.add_argument('--loop', action='store_true', help='start again at the end')
    p.add_argument('--topics', nargs='+', default=['.*'], help='regexes of topics to play (absolute names)')
    p.add_argument('--exclude', nargs='*', default=[], help='regexes of topics not to play')
    p.add_argument('--start-offset', type=float, default=0.0, help='seconds after the first message to start')
    p.add_argument('--duration', type=float, default=None, help='seconds of recording to play')
    p.add_argument('--clock', action='store_true', help='publish the recorded time on /clock')
    args = p.parse_args(argv)
    if args.rate < 0:
        p.error('--rate must be >= 0')
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        keep = TopicFilter(args.topics, args.exclude)
    except ValueError as exc:
        print(f'robin-replay: {exc}', file=sys.stderr)
        return 2
    report = SkipReport()
    rclpy.init(args=None, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = Node('replay')
    options = ReplayOptions(args.rate, args.loop, args.start_offset, args.duration)
    player = Player(lambda: read_bag(args.bag, report, keep), ReplayPublisher(node, clock=args.clock), options, report)
    signal.signal(signal.SIGINT, lambda *_: player.stop())
    signal.signal(signal.SIGTERM, lambda *_: player.stop())
    try:
        player.run()
    except FileNotFoundError as exc:
        print(f'robin-replay: {exc}', file=sys.stderr)
        return 2
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        print(report.text(), file=sys.stderr, flush=True)
    return 0 if report.played else 1


if __name__ == '__main__':
    raise SystemExit(main())
