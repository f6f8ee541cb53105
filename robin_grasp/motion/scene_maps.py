"""Recent pile height maps by frame stamp, so a pick is planned around the scene it was chosen on.

The grasp planner publishes a map per planned frame; the newest one may show the arm itself (it
was taken while the arm was over the pile). The cell controller names the frame of its decision
in the plan request and gets exactly that scene.
"""

from __future__ import annotations

from collections import OrderedDict

from robin_grasp.motion.interface import HeightMap


class SceneMaps:
    """The last ``capacity`` maps, keyed by header stamp [ns]."""

    def __init__(self, capacity: int = 30) -> None:
        if capacity < 1:
            raise ValueError('capacity must be at least 1')
        self.capacity = capacity
        self._maps: OrderedDict[int, HeightMap] = OrderedDict()

    def add(self, stamp_ns: int, height_map: HeightMap) -> None:
        self._maps[stamp_ns] = height_map
        self._maps.move_to_end(stamp_ns)
        while len(self._maps) > self.capacity:
            self._maps.popitem(last=False)

    def latest(self) -> HeightMap | None:
        return next(reversed(self._maps.values())) if self._maps else None

    def for_frame(self, stamp_ns: int | None) -> tuple[HeightMap | None, str]:
        """The map of frame ``stamp_ns`` (None: the latest) and how it was found.

        Returns:
            (map, how): how is ``exact``, ``latest``, ``earlier`` (the newest map taken before that
            frame: the pile only loses packages between frames the cell acts on) or ``none``.
        """
        if stamp_ns is None:
            m = self.latest()
            return m, 'latest' if m is not None else 'none'
        if stamp_ns in self._maps:
            return self._maps[stamp_ns], 'exact'
        earlier = [s for s in self._maps if s < stamp_ns]
        if earlier:
            return self._maps[max(earlier)], 'earlier'
        return None, 'none'
