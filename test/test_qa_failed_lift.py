"""A lift that failed before QA's verify step gets a verdict from what the cups had when it was given up."""

from __future__ import annotations

import numpy as np
import pytest

from robin_qa.cup_signals import mask_to_bools
from robin_qa.drop import DropConfig
from robin_qa.failed_lift import LiftWindow, check_failed_lift
from robin_qa.missed_pick import MissedPickConfig

FOUR = mask_to_bools(0b1111)
NONE = np.zeros(8, bool)
SEALED, OPEN = 65.0, 6.0


def window(*, held_at_grasp: np.ndarray | None = FOUR, lost_at: float | None = None, hold_at_abort: np.ndarray = FOUR,
           payload: float | None = 1.2, vacuum: bool = True) -> LiftWindow:
    """Grasp at t=0, lift given up at t=1; ``lost_at``: every cup's vacuum goes then."""
    t = np.arange(0.0, 1.0001, 0.01)
    vac = np.tile(np.where(FOUR, SEALED, 0.0), (len(t), 1))
    if lost_at is not None:
        vac[t >= lost_at] = OPEN
    at_abort = np.where(hold_at_abort, SEALED, np.where(FOUR, OPEN, 0.0))
    return LiftWindow(FOUR, held_at_grasp, t if vacuum else t[:0], vac if vacuum else vac[:0],
                      at_abort >= 35.0 if vacuum else None, at_abort if vacuum else None, payload, 0.0, 1.0)


def check(w: LiftWindow) -> tuple[str, dict]:
    r = check_failed_lift(w, drop=DropConfig(), missed=MissedPickConfig())
    return r.verdict, dict(r.signals)


def test_held_until_the_controller_let_go_is_no_fault_of_the_pick() -> None:
    verdict, signals = check(window())
    assert verdict == 'ok' and signals['cups_holding'] == 4


def test_vacuum_lost_during_the_lift_is_a_drop() -> None:
    verdict, signals = check(window(lost_at=0.6, hold_at_abort=NONE, payload=0.0))
    assert verdict == 'drop' and signals['vacuum_loss_at_s'] == pytest.approx(0.6, abs=0.011)


def test_nothing_held_at_the_grasp_is_a_miss() -> None:
    assert check(window(held_at_grasp=NONE, hold_at_abort=NONE, payload=0.0))[0] == 'missed'


def test_cups_holding_a_package_that_never_came_up_is_a_miss() -> None:
    """The lift failed at its start (the arm was not where the plan began): sealed, nothing raised."""
    assert check(window(payload=0.0))[0] == 'missed'


def test_a_wrist_load_beyond_the_cups_pull_is_a_pinned_miss() -> None:
    verdict, signals = check(window(payload=40.0))
    assert verdict == 'missed' and signals['pinned'] is True


@pytest.mark.parametrize('kw', [{'vacuum': False}, {'held_at_grasp': None}, {'payload': None}])
def test_missing_data_is_suspect(kw: dict) -> None:
    assert check(window(**kw))[0] == 'suspect'
