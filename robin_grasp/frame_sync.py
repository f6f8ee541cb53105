"""Assemble one planning frame from three streams: instance table, label image, aligned depth.

Perception stamps the table and the label image with the colour frame's stamp (exact match); the
aligned depth may differ by a little (nearest within a tolerance). Buffers are bounded and
everything older than an emitted frame is dropped, so a slow planner only ever sees the newest
complete frame and never builds a backlog.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar('T')
L = TypeVar('L')
D = TypeVar('D')


@dataclass
class SyncStats:
    """Counters for diagnostics."""

    emitted: int = 0
    dropped: int = 0  # parts discarded unmatched (stale or overflow)


class FrameSync(Generic[T, L, D]):
    """Match (table, labels) by exact stamp and depth by nearest stamp within ``tolerance_ns``.

    Args:
        tolerance_ns: largest accepted depth-to-colour stamp difference [ns].
        depth: parts kept per stream while waiting.
    """

    def __init__(self, tolerance_ns: int = 20_000_000, depth: int = 4) -> None:
        if tolerance_ns < 0 or depth < 1:
            raise ValueError('tolerance_ns must be >= 0 and depth >= 1')
        self.tolerance_ns = int(tolerance_ns)
        self._depth_n = depth
        self._tables: OrderedDict[int, T] = OrderedDict()
        self._labels: OrderedDict[int, L] = OrderedDict()
        self._depths: OrderedDict[int, D] = OrderedDict()
        self.stats = SyncStats()

    def add_table(self, stamp_ns: int, item: T) -> tuple[int, T, L, D] | None:
        """Offer an instance table; return (stamp, table, labels, depth) when a frame completes."""
        self._put(self._tables, stamp_ns, item)
        return self._try(stamp_ns)

    def add_labels(self, stamp_ns: int, item: L) -> tuple[int, T, L, D] | None:
        """Offer a label image; see :meth:`add_table`."""
        self._put(self._labels, stamp_ns, item)
        return self._try(stamp_ns)

    def add_depth(self, stamp_ns: int, item: D) -> tuple[int, T, L, D] | None:
        """Offer an aligned depth image; completes the newest waiting frame within tolerance."""
        self._put(self._depths, stamp_ns, item)
        for s in sorted(set(self._tables) & set(self._labels), reverse=True):
            if abs(s - stamp_ns) <= self.tolerance_ns:
                return self._try(s)
        return None

    def _put(self, buf: OrderedDict, stamp: int, item: object) -> None:
        buf[stamp] = item
        buf.move_to_end(stamp)
        while len(buf) > self._depth_n:
            buf.popitem(last=False)
            self.stats.dropped += 1

    def _try(self, stamp: int) -> tuple[int, T, L, D] | None:
        if stamp not in self._tables or stamp not in self._labels or not self._depths:
            return None
        d_stamp = min(self._depths, key=lambda s: abs(s - stamp))
        if abs(d_stamp - stamp) > self.tolerance_ns:
            return None
        out = (stamp, self._tables[stamp], self._labels[stamp], self._depths[d_stamp])
        for buf, limit in ((self._tables, stamp), (self._labels, stamp), (self._depths, d_stamp)):
            for s in [s for s in buf if s <= limit]:
                del buf[s]
                self.stats.dropped += s != limit
        self.stats.emitted += 1
        return out
