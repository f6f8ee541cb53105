"""Find the message a pick record refers to (topic + header stamp) in recorded bags.

Bags are indexed by recording time, which is the arrival time and slightly after the header
stamp; a small window around the stamp is read and the header stamp matched exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rclpy.serialization import deserialize_message
from rosbags.rosbag2 import Reader

from robin_core.image_codec import Stamp
from robin_insight.bag_source import find_splits
from robin_insight.msg_types import message_class

WINDOW_BEFORE_NS = 1_000_000_000  # recording time may lag the header stamp by this much
WINDOW_AFTER_NS = 5_000_000_000


@dataclass(frozen=True)
class SplitSpan:
    path: Path
    start_ns: int
    end_ns: int


class BagFrames:
    """Looks up messages by ``(topic, stamp)`` across the splits under ``roots``."""

    def __init__(self, roots: list[Path], refresh_s: float = 10.0) -> None:
        self.roots = [Path(r) for r in roots]
        self._refresh_s = refresh_s
        self._spans: list[SplitSpan] = []
        self._listed_at = -1e9
        self.lookup = lru_cache(maxsize=64)(self._lookup)

    def spans(self) -> list[SplitSpan]:
        """Closed, readable splits with their time range (re-listed every ``refresh_s``)."""
        if time.monotonic() - self._listed_at > self._refresh_s:
            spans = []
            for root in self.roots:
                try:
                    splits = find_splits(root)
                except FileNotFoundError:
                    continue
                for split in splits:
                    try:
                        with Reader(split) as r:
                            spans.append(SplitSpan(split, r.start_time, r.end_time))
                    except Exception:  # noqa: BLE001 - open or damaged splits are not browsable
                        continue
            self._spans, self._listed_at = spans, time.monotonic()
            self.lookup.cache_clear()
        return self._spans

    def locate(self, stamp_ns: int) -> SplitSpan | None:
        """The split whose recording time covers ``stamp_ns`` (for the replay command)."""
        for span in self.spans():
            if span.start_ns - WINDOW_AFTER_NS <= stamp_ns <= span.end_ns:
                return span
        return None

    def _lookup(self, topic: str, stamp_ns: int) -> object | None:
        topic = topic if topic.startswith('/') else f'/{topic}'
        for span in self.spans():
            if not span.start_ns - WINDOW_AFTER_NS <= stamp_ns <= span.end_ns + WINDOW_BEFORE_NS:
                continue
            with Reader(span.path) as r:
                conns = [c for c in r.connections if c.topic == topic]
                if not conns:
                    continue
                cls = message_class(conns[0].msgtype)
                for _, _, data in r.messages(conns, start=stamp_ns - WINDOW_BEFORE_NS, stop=stamp_ns + WINDOW_AFTER_NS):
                    msg = deserialize_message(bytes(data), cls)
                    header = getattr(msg, 'header', None)
                    if header is not None and Stamp.from_msg(header.stamp).nanoseconds == stamp_ns:
                        return msg
        return None
