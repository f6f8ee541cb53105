"""Missed pick: nothing came up with the gripper (no cup holds and no payload on the wrist), or the
package is pinned: the cups hold but the wrist feels their whole rated pull, so the package is
held down (something rests on it, it is wedged) or is too heavy, and it did not come up."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robin_qa.config_fields import setting
from robin_qa.cup_signals import GRAVITY, holding
from robin_qa.result import DetectorResult, suspect

NAME = 'missed'


@dataclass(frozen=True)
class MissedPickConfig:
    """Thresholds of the missed-pick detector."""

    seal_vacuum_kpa: float = setting(30.0, 'vacuum at or above which a cup holds [kPa]', 0.0, 100.0)
    min_payload_kg: float = setting(0.02, 'payload below this is "nothing lifted" [kg]', 0.0, 5.0)
    min_payload_fraction: float = setting(
        0.35, 'payload below this fraction of the expected mass is "nothing lifted"', 0.0, 1.0)
    contradiction_seal_fraction: float = setting(
        0.5, 'share of commanded cups holding with no payload that is contradictory, not a miss', 0.0, 1.0)
    cup_force_n: float = setting(35.0, "one cup's rated holding force (urdf/cell.yaml gripper) [N]", 1.0, 1000.0)
    pinned_fraction: float = setting(
        0.8, 'a payload pulling this share of the holding cups\' rated force did not come up (pinned)', 0.1, 10.0)


def cups_pull_kg(n_cups: int, config: MissedPickConfig) -> float:
    """The mass [kg] ``n_cups`` cups can hold at their rated force, hanging still."""
    return n_cups * config.cup_force_n / GRAVITY


def pinned_limit_kg(n_hold: int, config: MissedPickConfig) -> float:
    """A wrist load [kg] at or above which ``n_hold`` holding cups pull on a package that did not come up."""
    return config.pinned_fraction * cups_pull_kg(n_hold, config)


def check_missed_pick(
    cup_mask: np.ndarray,
    sealed: np.ndarray | None,
    vacuum_kpa: np.ndarray | None,
    payload_kg: float | None,
    expected_mass_kg: float | None,
    *,
    config: MissedPickConfig,
) -> DetectorResult:
    """Decide whether the pick lifted nothing.

    Args:
        cup_mask: (8,) bool, cups switched on.
        sealed: (8,) seal flags after the lift, or None when missing.
        vacuum_kpa: (8,) vacuum after the lift [kPa], or None when missing.
        payload_kg: payload measured at the wrist after the lift [kg], or None (not lifted yet / missing).
        expected_mass_kg: the target's expected mass [kg], or None.
        config: thresholds.

    Returns:
        ``missed``, ``ok`` or ``suspect`` (contradictory or missing signals).
    """
    cup_mask = np.asarray(cup_mask, dtype=bool)
    hold = holding(sealed, vacuum_kpa, config.seal_vacuum_kpa)
    n_on = int(cup_mask.sum())
    n_hold = int((hold & cup_mask).sum()) if hold is not None else None
    # The expected mass comes from vision (size x a type density prior) and can be off several
    # times over; when the cups hold, any clear payload means the package came up. The relative
    # floor is used only when there is no cup data to corroborate the payload.
    floor = max(config.min_payload_kg, config.min_payload_fraction * (expected_mass_kg or 0.0))
    lifted = None if payload_kg is None else payload_kg >= (config.min_payload_kg if n_hold else floor)
    signals = {'cups_on': n_on, 'cups_holding': n_hold, 'payload_kg': payload_kg, 'payload_floor_kg': floor}
    if n_on == 0:
        return suspect(NAME, 'no cup was switched on', **signals)
    if n_hold is None and lifted is None:
        return suspect(NAME, 'no vacuum, seal or payload data', **signals)
    if lifted is None:  # cups only (before the lift, or wrench missing)
        if n_hold == 0:
            return DetectorResult(NAME, 'missed', ('no commanded cup holds',), signals)
        return DetectorResult(NAME, 'ok', (), signals)
    if n_hold is None:  # payload only
        if lifted:
            return DetectorResult(NAME, 'ok', ('no cup data; payload present',), signals)
        return DetectorResult(NAME, 'missed', (f'payload {payload_kg:.3f} kg < {floor:.3f} kg, no cup data',), signals)
    if lifted and n_hold == 0:
        return suspect(NAME, f'contradictory: payload {payload_kg:.3f} kg but no cup holds', **signals)
    if not lifted and n_hold / n_on >= config.contradiction_seal_fraction:
        return suspect(NAME, f'contradictory: {n_hold}/{n_on} cups hold but payload {payload_kg:.3f} kg', **signals)
    if not lifted:
        why = f'payload {payload_kg:.3f} kg < {floor:.3f} kg, {n_hold}/{n_on} cups hold'
        return DetectorResult(NAME, 'missed', (why,), signals)
    pull_limit_kg = pinned_limit_kg(n_hold, config)
    if n_hold and payload_kg is not None and payload_kg >= pull_limit_kg:
        # the planner sizes the cups for (g + transfer acceleration) x a safety factor, so no
        # package it chose can weigh this much on the cups while hanging still
        why = (f'pinned or too heavy: the wrist feels {payload_kg:.2f} kg, the {n_hold} holding cups\' '
               f'pull limit is {pull_limit_kg:.2f} kg')
        return DetectorResult(NAME, 'missed', (why,), {**signals, 'pinned': True})
    return DetectorResult(NAME, 'ok', (), signals)

