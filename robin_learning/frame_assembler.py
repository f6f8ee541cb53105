"""Join color, depth, label image and instance table of one camera frame by header stamp.

The label image and the table carry the color frame's header, so they match color exactly; depth
matches the nearest stamp within a tolerance (the rules live in :class:`robin_core.frame_sync.FrameSync`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robin_core.frame_sync import MAX_PARTS_PER_STREAM, FrameSync


@dataclass
class FrameParts:
    """A complete frame: arrays as the node decoded them."""

    stamp_ns: int
    color: Any
    depth: Any
    labels: Any
    table: Any


class FrameAssembler:
    """Collects parts; :meth:`add` returns a :class:`FrameParts` when a frame completes."""

    KINDS = ('color', 'depth', 'labels', 'table')

    def __init__(self, depth_tolerance_ns: int = 20_000_000, depth: int = MAX_PARTS_PER_STREAM,
                 keep_ns: int = 3_000_000_000) -> None:
        # colour and depth stream at camera rate; labels and table come a perception latency later
        self._sync = FrameSync(('table', 'labels', 'color'), ('depth',), depth_tolerance_ns, depth, keep_ns)

    @property
    def dropped(self) -> int:
        return self._sync.stats.dropped

    def add(self, kind: str, stamp_ns: int, item: Any) -> FrameParts | None:
        frame = self._sync.add(kind, stamp_ns, item)
        if frame is None:
            return None
        stamp, p = frame
        return FrameParts(stamp, p['color'], p['depth'], p['labels'], p['table'])
