"""Cup health: flag a torn or blocked suction cup from its readings over recent picks.

Each cup keeps a sliding window of observations from the picks it took part in:

- torn: the cup was switched on with its footprint on the surface, the pick itself worked (another
  cup held), yet this cup did not hold. Picks where no cup held say nothing about one cup (the
  target was missed) and are skipped.
- blocked: the cup shows vacuum with nothing under it — switched on in free air, switched on with
  its footprint off every surface, or switched off but still reading vacuum ("sealed when it
  should not be").

A cup is flagged when the failing share in its window reaches a threshold with enough
observations, so one noisy pick never flags a healthy cup. Flags stay until :meth:`restore`
(after a repair).

Evidence only comes from picks that use the cup, and a cup whose footprint rarely fits the
packages is rarely used. So a cup whose latest torn observation failed is *suspect*: the grasp
planner then prefers poses that put it on the target (without counting on its force), which
confirms or clears it within a few picks instead of a few dozen.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from robin_qa.config_fields import setting
from robin_qa.cup_signals import NUM_CUPS, holding


@dataclass(frozen=True)
class CupHealthConfig:
    """Window and thresholds of the cup-health monitor."""

    window: int = setting(10, 'observations kept per cup and fault type', 2, 200)
    min_observations: int = setting(5, 'observations needed before a cup can be flagged', 1, 200)
    torn_fail_fraction: float = setting(0.6, 'share of on-surface picks without a hold that flags a torn cup',
                                        0.0, 1.0)
    blocked_fraction: float = setting(0.6, 'share of free-air readings with vacuum that flags a blocked cup',
                                      0.0, 1.0)
    seal_vacuum_kpa: float = setting(30.0, 'vacuum at or above which a cup holds [kPa]', 0.0, 100.0)
    blocked_vacuum_kpa: float = setting(30.0, 'vacuum with nothing under the cup that means blocked [kPa]',
                                        0.0, 100.0)


class CupHealthMonitor:
    """Per-cup sliding windows of torn/blocked evidence and the resulting unhealthy set."""

    def __init__(self, config: CupHealthConfig | None = None, num_cups: int = NUM_CUPS) -> None:
        self.config = config or CupHealthConfig()
        self.num_cups = num_cups
        self._torn: list[deque[bool]] = [deque(maxlen=self.config.window) for _ in range(num_cups)]
        self._blocked: list[deque[bool]] = [deque(maxlen=self.config.window) for _ in range(num_cups)]
        self._reasons: dict[int, str] = {}

    @property
    def unhealthy(self) -> frozenset[int]:
        """Indices of cups flagged unhealthy."""
        return frozenset(self._reasons)

    @property
    def suspects(self) -> frozenset[int]:
        """Cups not (yet) flagged whose latest on-surface observation failed to hold: worth testing."""
        return frozenset(i for i in range(self.num_cups)
                         if i not in self._reasons and self._torn[i] and self._torn[i][-1])

    def suspect_flags(self) -> list[int]:
        """(num_cups,) 0/1 list, 1 = suspect (the ``qa/suspect_cups`` payload)."""
        suspects = self.suspects
        return [1 if i in suspects else 0 for i in range(self.num_cups)]

    @property
    def reasons(self) -> dict[int, str]:
        """Cup index -> why it is flagged."""
        return dict(self._reasons)

    def flags(self) -> list[int]:
        """(num_cups,) 0/1 list, 1 = unhealthy (the ``qa/unhealthy_cups`` payload)."""
        return [1 if i in self._reasons else 0 for i in range(self.num_cups)]

    def observe_pick(
        self,
        cup_mask: np.ndarray,
        on_surface: np.ndarray,
        sealed: np.ndarray | None,
        vacuum_kpa: np.ndarray | None,
    ) -> set[int]:
        """Record one grasp (readings with the cups on, in contact).

        Args:
            cup_mask: (N,) bool, cups switched on.
            on_surface: (N,) bool, cups whose footprint lies on a package surface.
            sealed: (N,) seal flags, or None.
            vacuum_kpa: (N,) vacuum [kPa], or None.

        Returns:
            Cups newly flagged by this observation.
        """
        cup_mask = np.asarray(cup_mask, bool)
        on_surface = np.asarray(on_surface, bool)
        hold = holding(sealed, vacuum_kpa, self.config.seal_vacuum_kpa)
        if hold is None:
            return set()
        evidence = vacuum_kpa if vacuum_kpa is not None else np.where(np.asarray(sealed, bool), np.inf, 0.0)
        vac_high = np.asarray(evidence, float) >= self.config.blocked_vacuum_kpa
        pick_worked = bool((hold & cup_mask & on_surface).sum() >= 1)
        for i in range(self.num_cups):
            if cup_mask[i] and on_surface[i]:
                others_held = bool((hold & cup_mask & on_surface)[np.arange(self.num_cups) != i].any())
                if others_held and pick_worked:
                    self._torn[i].append(not hold[i])
            elif cup_mask[i]:  # switched on with nothing under it: vacuum means a blocked cup
                self._blocked[i].append(bool(vac_high[i]))
            elif vac_high[i]:  # switched off yet reading vacuum; an idle cup adds no evidence otherwise
                self._blocked[i].append(True)
        return self._update()

    def observe_free_air(self, cup_mask: np.ndarray, vacuum_kpa: np.ndarray | None,
                         sealed: np.ndarray | None = None) -> set[int]:
        """Record a reading with the cups in free air (nothing under any cup).

        Args:
            cup_mask: (N,) bool, cups switched on (all readings count: none should show vacuum).
            vacuum_kpa: (N,) vacuum [kPa], or None.
            sealed: (N,) seal flags, or None.
        """
        del cup_mask  # a switched-off cup must not show vacuum either
        if vacuum_kpa is None and sealed is None:
            return set()
        high = (np.asarray(vacuum_kpa, float) >= self.config.blocked_vacuum_kpa) if vacuum_kpa is not None \
            else np.asarray(sealed, bool)
        for i in range(self.num_cups):
            self._blocked[i].append(bool(high[i]))
        return self._update()

    def restore(self, cup: int | None = None) -> None:
        """Mark ``cup`` (or all cups) healthy after a repair and forget its history."""
        cups = range(self.num_cups) if cup is None else [cup]
        for i in cups:
            if not 0 <= i < self.num_cups:
                raise IndexError(f'cup index {i} outside 0..{self.num_cups - 1}')
            self._torn[i].clear()
            self._blocked[i].clear()
            self._reasons.pop(i, None)

    def _update(self) -> set[int]:
        new: set[int] = set()
        cfg = self.config
        for i in range(self.num_cups):
            if i in self._reasons:
                continue
            for history, limit, kind in ((self._torn[i], cfg.torn_fail_fraction, 'torn'),
                                         (self._blocked[i], cfg.blocked_fraction, 'blocked')):
                if len(history) >= cfg.min_observations and sum(history) / len(history) >= limit:
                    self._reasons[i] = f'{kind}: {sum(history)}/{len(history)} recent observations failed'
                    new.add(i)
                    break
        return new
