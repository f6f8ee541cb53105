"""Which faults the fault-injected QA benchmark injects at which pick (plain Python, no ROS).

The run is cut into blocks of ``block`` pick attempts that repeat until the run ends, so even a run
stopped early by its wall-time cap has seen every fault:

- ``clean``: no fault (the pre-fault pick success);
- ``double_picks``: real double picks. With ``stuck_pairs`` the simulator arms a stuck pair
  (``fault.stuck_pair``, robin_sim/adhesion.py) at each attempt's ``approach``: the package the
  gripper takes brings a touching neighbour along. Optionally the cell controller also forces
  ``double_pick_rate`` of the attempts onto every healthy cup (``fault_injection.all_cups_rate``,
  the naive baseline); in the session-2/3 runs that made no real double pick (a lip over a
  neighbour at another height does not seal), so its default is 0;
- ``weakened_cup``: the simulator weakens one cup of each attempt (``fault.weakened_cup``, set when
  the controller announces the attempt's ``approach`` phase, before the cups go on): drops;
- ``torn_cup``: the cup the cell used most so far is torn (``fault.torn_cup``) from the phase's
  first pick to the block's end; QA must flag it and the planner stop using it. At the block's end
  the cup is repaired (fault cleared, ``qa/restore_cups``);
- ``knock_off`` (on top of any phase): at the listed picks of each block the top package on the
  belt is pushed off the cell, which must raise an alert.

Pick ``k`` is the k-th attempt (0-based, in start order); the fault state for it is set when ``k``
attempts have finished.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass

PHASES: tuple[str, ...] = ('clean', 'double_picks', 'weakened_cup', 'torn_cup')


@dataclass(frozen=True)
class FaultSchedule:
    """Phase lengths in picks, per block (the block repeats)."""

    clean: int = 5
    double_picks: int = 8
    weakened_cup: int = 6
    torn_cup: int = 12  # room to flag the cup (issue 5: within 10 picks) and picks after it
    double_pick_rate: float = 0.0  # share of attempts forced onto every cup in the double_picks phase
    stuck_pairs: bool = True  # arm a stuck pair at every attempt of the double_picks phase
    knock_off_at: tuple[int, ...] = (2, 15, 27)  # picks within a block that knock a package off

    def __post_init__(self) -> None:
        if min(self.clean, self.double_picks, self.weakened_cup, self.torn_cup) < 1:
            raise ValueError('every phase needs at least one pick')
        if not 0.0 <= self.double_pick_rate <= 1.0:
            raise ValueError('double_pick_rate must be in [0, 1]')
        if not self.stuck_pairs and self.double_pick_rate == 0.0:
            raise ValueError('the double_picks phase needs stuck_pairs or a double_pick_rate > 0')
        if any(not 0 <= k < self.block for k in self.knock_off_at):
            raise ValueError(f'knock_off_at must lie within a block of {self.block} picks')

    @property
    def block(self) -> int:
        return self.clean + self.double_picks + self.weakened_cup + self.torn_cup

    def phase(self, pick: int) -> str:
        """The phase pick ``pick`` (0-based) belongs to."""
        k = pick % self.block
        for name in PHASES:
            length = int(getattr(self, name))
            if k < length:
                return name
            k -= length
        raise AssertionError('unreachable')

    def state(self, pick: int) -> FaultState:
        """The fault state to have in force while pick ``pick`` runs."""
        phase = self.phase(pick)
        return FaultState(phase=phase, block=pick // self.block,
                          all_cups_rate=self.double_pick_rate if phase == 'double_picks' else 0.0,
                          stick_pairs=phase == 'double_picks' and self.stuck_pairs,
                          weaken_cups=phase == 'weakened_cup', torn=phase == 'torn_cup',
                          knock_off=pick % self.block in self.knock_off_at)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), 'knock_off_at': list(self.knock_off_at), 'block': self.block}


@dataclass(frozen=True)
class FaultState:
    phase: str
    block: int
    all_cups_rate: float
    stick_pairs: bool
    weaken_cups: bool
    torn: bool
    knock_off: bool


@dataclass(frozen=True)
class Actions:
    """What to change when moving from one pick's state to the next's."""

    all_cups_rate: float | None = None  # new controller rate, None = unchanged
    tear: bool = False  # tear a cup now (choose it with most_used_cup)
    repair: bool = False  # clear the torn cup and restore QA's cup flags
    clear_weakened: bool = False
    clear_stuck: bool = False  # disarm a stuck pair that no attempt used
    knock_off: bool = False


def transition(prev: FaultState | None, new: FaultState) -> Actions:
    """The changes that turn fault state ``prev`` (None: nothing injected yet) into ``new``."""
    rate = None if prev is not None and prev.all_cups_rate == new.all_cups_rate else new.all_cups_rate
    torn_before = prev is not None and prev.torn and prev.block == new.block
    was_torn = prev is not None and prev.torn
    return Actions(all_cups_rate=rate, tear=new.torn and not torn_before,
                   repair=was_torn and not torn_before,
                   clear_weakened=prev is not None and prev.weaken_cups and not new.weaken_cups,
                   clear_stuck=prev is not None and prev.stick_pairs and not new.stick_pairs,
                   knock_off=new.knock_off)


def most_used_cup(masks: Iterable[int], num_cups: int = 8, exclude: Iterable[int] = ()) -> int:
    """The cup switched on most often in ``masks`` (lowest index on a tie; cup 0 with no data)."""
    skip = set(exclude)
    counts = Counter(k for m in masks for k in range(num_cups) if m >> k & 1 and k not in skip)
    if not counts:
        return min(set(range(num_cups)) - skip)
    best = max(counts.values())
    return min(k for k, c in counts.items() if c == best)


def cup_to_weaken(mask: int, num_cups: int = 8) -> int | None:
    """The cup of an attempt's mask to weaken: its lowest cup (None for an empty mask)."""
    return next((k for k in range(num_cups) if mask >> k & 1), None)
