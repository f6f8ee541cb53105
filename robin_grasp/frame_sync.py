"""The grasp planner's frame: instance table + label image (exact stamp) + aligned depth (nearest).

A typed view of :class:`robin_core.frame_sync.FrameSync`, which holds the matching rules.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from robin_core.frame_sync import MAX_PARTS_PER_STREAM, SyncStats
from robin_core.frame_sync import FrameSync as _StreamSync

T = TypeVar('T')
L = TypeVar('L')
D = TypeVar('D')

__all__ = ['MAX_PARTS_PER_STREAM', 'FrameSync', 'SyncStats']


class FrameSync(Generic[T, L, D]):
    """Match (table, labels) by exact stamp and depth by nearest stamp within ``tolerance_ns``.

    Args:
        tolerance_ns: largest accepted depth-to-colour stamp difference [ns].
        depth: most parts kept per stream while waiting.
        keep_ns: parts are kept while less than this behind the newest of their stream (0: by count).
    """

    def __init__(self, tolerance_ns: int = 20_000_000, depth: int = 4, keep_ns: int = 0) -> None:
        self._sync = _StreamSync(('table', 'labels'), ('depth',), tolerance_ns, depth, keep_ns)
        self.tolerance_ns = self._sync.tolerance_ns

    @property
    def stats(self) -> SyncStats:
        return self._sync.stats

    def add_table(self, stamp_ns: int, item: T) -> tuple[int, T, L, D] | None:
        """Offer an instance table; return (stamp, table, labels, depth) when a frame completes."""
        return self._unpack(self._sync.add('table', stamp_ns, item))

    def add_labels(self, stamp_ns: int, item: L) -> tuple[int, T, L, D] | None:
        """Offer a label image; see :meth:`add_table`."""
        return self._unpack(self._sync.add('labels', stamp_ns, item))

    def add_depth(self, stamp_ns: int, item: D) -> tuple[int, T, L, D] | None:
        """Offer an aligned depth image; completes the newest waiting frame within tolerance."""
        return self._unpack(self._sync.add('depth', stamp_ns, item))

    @staticmethod
    def _unpack(frame: tuple[int, dict] | None) -> tuple[int, T, L, D] | None:
        if frame is None:
            return None
        stamp, parts = frame
        return stamp, parts['table'], parts['labels'], parts['depth']
