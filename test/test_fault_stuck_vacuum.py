"""Fault: a stuck vacuum sensor (the reading of one cup freezes), seen by QA's cup health (no ROS).

A reading frozen high looks like vacuum on a cup that is off or over nothing: the cup is flagged
(``blocked``) so the grasp planner stops using it. A reading frozen low on a cup that is on the
package looks like a cup that never seals: flagged too. Either way the fault is named in the
reasons (published on ``qa/unhealthy_cups`` and /diagnostics by the QA node) and cleared by a
restore after the repair; a healthy cup next to it is never blamed.
"""

from __future__ import annotations

import numpy as np

from robin_qa.cup_health import CupHealthConfig, CupHealthMonitor
from robin_qa.cup_signals import NUM_CUPS

SEALED_KPA, OPEN_KPA = 65.0, 6.0
STUCK = 5


def _picks(rng: np.random.Generator, n: int, stuck_kpa: float):
    """n grasps with 4 cups on the target (the stuck one among them half of the time)."""
    for _ in range(n):
        on = np.zeros(NUM_CUPS, bool)
        on[rng.choice(NUM_CUPS, size=4, replace=False)] = True
        vac = np.where(on, SEALED_KPA, 0.0) + rng.normal(0, 0.4, NUM_CUPS)
        sealed = on.copy()  # the seal switches are fine: only the vacuum transducer is stuck
        vac[STUCK] = stuck_kpa
        yield on, on.copy(), sealed, np.clip(vac, 0, None)


def test_vacuum_stuck_high_flags_the_cup_and_restore_clears_it() -> None:
    monitor = CupHealthMonitor(CupHealthConfig())
    for pick in _picks(np.random.default_rng(0), 20, stuck_kpa=SEALED_KPA):
        monitor.observe_pick(*pick)
    assert monitor.unhealthy == {STUCK}, monitor.reasons
    monitor.restore(STUCK)
    assert not monitor.unhealthy
    for pick in _picks(np.random.default_rng(1), 20, stuck_kpa=float('nan')):  # repaired: reads normally again
        on, target, sealed, vac = pick
        vac[STUCK] = SEALED_KPA if on[STUCK] else 0.0
        monitor.observe_pick(on, target, sealed, vac)
    assert not monitor.unhealthy


def test_vacuum_stuck_low_on_a_sealed_cup_flags_it() -> None:
    monitor = CupHealthMonitor(CupHealthConfig())
    for pick in _picks(np.random.default_rng(2), 30, stuck_kpa=OPEN_KPA):
        monitor.observe_pick(*pick)
    assert monitor.unhealthy == {STUCK}, monitor.reasons
