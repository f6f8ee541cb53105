"""What the gripper carries at a given time, for the arm mask (plain Python).

The arm mask hides the column under the tool where a carried package hangs. Its size used to be
a fixed 0.4 × 0.4 m square down to the belt (the planner did not know what was carried), which
after a lift hides most of a 0.4 × 0.6 m pick area: in a session-11 demo the decisions on frames
taken during the lift and the verify rejected 2.4–3.2 packages each as "under the arm in this
frame", and most frames during a carry offered nothing to plan ahead on. The controller tells QA
every pick phase (``cell/pick_phase``) with the grasp it executes; the grasp planner reads the same
messages: from ``grasped`` until ``released``/``aborted`` the package of that grasp is carried
(its footprint: size and pose in the tool frame, as the motion planner carries it), after them and
during an ``approach`` nothing is. Before the first message, or for a grasp without a known
size, the carry is unknown and the conservative square column stays.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

#: pick phases from which the gripper holds the grasp's package, and after which it holds nothing
CARRYING_PHASES = frozenset({'grasped', 'lifted', 'transferring'})
FREE_PHASES = frozenset({'released', 'aborted', 'approach'})


@dataclass(frozen=True)
class CarriedPackage:
    """A carried package's footprint: size [m] and its top centre (x, y) [m] and long-side heading
    [rad] in the tcp frame."""

    length: float
    width: float
    x: float = 0.0
    y: float = 0.0
    heading: float = 0.0

    def as_list(self) -> list[float]:
        return [self.length, self.width, self.x, self.y, self.heading]

    @classmethod
    def from_list(cls, values: list[float]) -> CarriedPackage:
        if len(values) != 5:
            raise ValueError(f'a carried package is [length, width, x, y, heading], got {values}')
        return cls(*(float(v) for v in values))


#: the carry is not known (before the first phase, or a grasp without a size): the square column
UNKNOWN = 'unknown'
#: nothing is carried: no column under the tool
NOTHING = 'nothing'
Carry = CarriedPackage | str


def carry_from_phase(msg: dict[str, Any]) -> Carry | None:
    """The carry a ``robin.pick_phase/1`` message starts (None: the phase changes nothing).

    Raises:
        ValueError: a malformed package size or pose.
    """
    phase = msg.get('phase')
    if phase in FREE_PHASES:
        return NOTHING
    if phase not in CARRYING_PHASES:
        return None
    size, pose = msg.get('package_size_m'), msg.get('package_in_tool')
    if not size:
        return UNKNOWN
    if len(size) != 3 or (pose is not None and len(pose) != 3):
        raise ValueError(f'package_size_m needs 3 values and package_in_tool 3, got {size}, {pose}')
    length, width = float(size[0]), float(size[1])
    if not (length > 0 and width > 0):
        raise ValueError(f'package size must be positive, got {size}')
    if pose is None:  # centred on the tool, heading unknown: a square of the long side
        side = max(length, width)
        return CarriedPackage(side, side)
    return CarriedPackage(length, width, float(pose[0]), float(pose[1]), float(pose[2]))


class CarryTimeline:
    """Carry changes by time; :meth:`at` answers for a frame stamp.

    Args:
        history_s: how far back changes are kept [s] (frames older than that are not planned).
    """

    def __init__(self, history_s: float = 10.0) -> None:
        self._changes: deque[tuple[int, Carry]] = deque()
        self._history_ns = int(history_s * 1e9)

    def set(self, stamp_ns: int, carry: Carry) -> None:
        """From ``stamp_ns`` on the gripper carries ``carry``."""
        self._changes.append((int(stamp_ns), carry))
        # keep the last change before the window: it is the state at the window's start
        while len(self._changes) > 1 and self._changes[1][0] < stamp_ns - self._history_ns:
            self._changes.popleft()

    def at(self, stamp_ns: int) -> Carry:
        """What was carried at ``stamp_ns`` (UNKNOWN before the first change)."""
        state: Carry = UNKNOWN
        for t, carry in self._changes:
            if t > stamp_ns:
                break
            state = carry
        return state
