"""Pair colour and depth frames by stamp (exact or nearest within a tolerance), never queueing.

ROS message_filters is not available as a wheel; this is the small part of
ApproximateTime that the node needs. Buffers are bounded; once a pair is emitted, everything
older on both sides is dropped (stale), so a slow consumer only ever sees the newest pair.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar('T')
U = TypeVar('U')


@dataclass
class MatchStats:
    """Counters for diagnostics."""

    matched: int = 0
    dropped_color: int = 0
    dropped_depth: int = 0


class StampMatcher(Generic[T, U]):
    """Match items of two streams (colour, depth) whose stamps differ by at most ``tolerance_ns``.

    Args:
        tolerance_ns: largest accepted stamp difference [ns] (0 = exact match only).
        depth: items kept per stream while waiting for a partner.
    """

    def __init__(self, tolerance_ns: int = 5_000_000, depth: int = 4) -> None:
        if tolerance_ns < 0 or depth < 1:
            raise ValueError('tolerance_ns must be >= 0 and depth >= 1')
        self.tolerance_ns = int(tolerance_ns)
        self._color: deque[tuple[int, T]] = deque(maxlen=depth)
        self._depth: deque[tuple[int, U]] = deque(maxlen=depth)
        self._lock = threading.Lock()
        self.stats = MatchStats()

    def add_color(self, stamp_ns: int, item: T) -> tuple[int, T, U] | None:
        """Offer a colour frame; return (stamp, colour, depth) when it completes a pair."""
        with self._lock:
            return self._offer(stamp_ns, item, self._color, self._depth, color_first=True)

    def add_depth(self, stamp_ns: int, item: U) -> tuple[int, T, U] | None:
        """Offer a depth frame; return (stamp of the colour frame, colour, depth) on a pair."""
        with self._lock:
            return self._offer(stamp_ns, item, self._depth, self._color, color_first=False)

    def _offer(self, stamp: int, item, mine: deque, other: deque, *, color_first: bool):
        best, best_d = None, None
        for k, (s, _) in enumerate(other):
            d = abs(s - stamp)
            if d <= self.tolerance_ns and (best_d is None or d < best_d):
                best, best_d = k, d
        if best is None:
            if len(mine) == mine.maxlen:
                self._count_drop(color_first, 1)
            mine.append((stamp, item))
            return None
        o_stamp, o_item = other[best]
        # everything up to the partner on the other side, and all we held, is now stale
        self._count_drop(not color_first, best)
        self._count_drop(color_first, sum(1 for s, _ in mine if s <= stamp))
        for _ in range(best + 1):
            other.popleft()
        while mine and mine[0][0] <= stamp:
            mine.popleft()
        self.stats.matched += 1
        if color_first:
            return stamp, item, o_item
        return o_stamp, o_item, item

    def _count_drop(self, color: bool, n: int) -> None:
        if color:
            self.stats.dropped_color += n
        else:
            self.stats.dropped_depth += n
