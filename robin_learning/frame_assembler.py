"""Join color, depth, label image and instance table of one camera frame by header stamp.

The label image and the table carry the color frame's header (design.md), so they match color
exactly; depth matches the nearest stamp within a tolerance. Everything is bounded: a part that
finds no partner within ``depth`` newer frames is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


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

    def __init__(self, depth_tolerance_ns: int = 20_000_000, depth: int = 8) -> None:
        self.tol = depth_tolerance_ns
        self.depth = depth
        self.parts: dict[str, OrderedDict[int, Any]] = {k: OrderedDict() for k in self.KINDS}
        self.dropped = 0

    def add(self, kind: str, stamp_ns: int, item: Any) -> FrameParts | None:
        buf = self.parts[kind]
        buf[stamp_ns] = item
        while len(buf) > self.depth:
            buf.popitem(last=False)
            self.dropped += 1
        return self._complete()

    def _complete(self) -> FrameParts | None:
        for stamp in list(self.parts['table']):
            if stamp in self.parts['labels'] and stamp in self.parts['color']:
                dstamps = [s for s in self.parts['depth'] if abs(s - stamp) <= self.tol]
                if not dstamps:
                    continue
                ds = min(dstamps, key=lambda s: abs(s - stamp))
                frame = FrameParts(stamp, self.parts['color'].pop(stamp), self.parts['depth'].pop(ds),
                                   self.parts['labels'].pop(stamp), self.parts['table'].pop(stamp))
                for kind in self.KINDS:  # older parts can no longer complete
                    for s in [s for s in self.parts[kind] if s < stamp - self.tol]:
                        del self.parts[kind][s]
                        self.dropped += 1
                return frame
        return None
