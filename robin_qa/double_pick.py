"""Double pick: more than the target came up — from the seal pattern, the payload weight and vision.

Three independent checks each give strong, medium or no evidence:

- seal pattern: a commanded cup whose footprint is *off* the target holds a surface (strong): it
  sealed on a neighbour;
- weight: payload above the target's expected mass (medium), or so far above it that no single
  package reaches it (strong). The expected mass is a prior (visible size × type density), and a
  partly hidden package's mask understates its size: truly single picks weighed up to 7.7× the
  prior in the fault benchmark, so the strong threshold is set above that and weight alone is,
  in practice, medium evidence that the drive robot's package count settles (see
  :func:`robin_qa.misplace.settle_with_placement`);
- vision: more than one instance left the pile between the frames before and after the lift
  (medium: a package can also be knocked or occluded).

One strong or two medium findings make a ``double_pick``; a single medium finding is
``single_evidence_verdict`` (``suspect`` by default: verify before placing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robin_qa.config_fields import setting
from robin_qa.cup_signals import holding
from robin_qa.result import DetectorResult, SignalValue, not_run

NAME = 'double_pick'


@dataclass(frozen=True)
class DoublePickConfig:
    """Thresholds of the double-pick detector."""

    seal_vacuum_kpa: float = setting(30.0, 'vacuum at or above which a cup holds [kPa]', 0.0, 100.0)
    off_target_min_cups: int = setting(1, 'holding cups off the target footprint that make a double pick', 1, 8)
    mass_ratio_medium: float = setting(1.45, 'payload/expected above this is medium evidence', 1.0, 10.0)
    mass_ratio_strong: float = setting(10.0, 'payload/expected above this is strong evidence', 1.0, 100.0)
    mass_abs_tol_kg: float = setting(0.03, 'added to the weight thresholds for sensor noise [kg]', 0.0, 5.0)
    vision_max_removed: int = setting(1, 'instances that may leave the pile in one pick', 1, 10)
    single_evidence_verdict: str = setting('suspect', 'verdict for one medium finding',
                                           choices=('suspect', 'double_pick'))
    placement_settles_suspect: bool = setting(
        True, 'a suspicion (one medium finding) is cleared when the place station counts exactly one package '
        'arriving from the release')


@dataclass(frozen=True)
class DoublePickInputs:
    """Signals of one pick after the lift (any may be missing).

    Attributes:
        cup_mask: (8,) bool, cups switched on.
        target_cup_mask: (8,) bool, cups whose footprint lies on the target (planner's view).
        sealed: (8,) seal flags, or None.
        vacuum_kpa: (8,) vacuum [kPa], or None.
        payload_kg: measured payload [kg], or None.
        expected_mass_kg: the target's expected mass [kg], or None.
        removed_instances: instances that left the pile (vision), or None when not checked.
        payload_limit_kg: the most the switched-on cups can hold [kg], or None: a heavier reading
            is a contact force (the tool pressing on or snagged by something), not a payload.
    """

    cup_mask: np.ndarray
    target_cup_mask: np.ndarray
    sealed: np.ndarray | None = None
    vacuum_kpa: np.ndarray | None = None
    payload_kg: float | None = None
    expected_mass_kg: float | None = None
    removed_instances: int | None = None
    payload_limit_kg: float | None = None


def check_double_pick(inputs: DoublePickInputs, config: DoublePickConfig) -> DetectorResult:
    """Combine the seal, weight and vision checks into ``double_pick`` / ``suspect`` / ``ok``."""
    strong: list[str] = []
    medium: list[str] = []
    signals: dict[str, SignalValue] = {}
    checked = 0

    hold = holding(inputs.sealed, inputs.vacuum_kpa, config.seal_vacuum_kpa)
    off_target = np.asarray(inputs.cup_mask, bool) & ~np.asarray(inputs.target_cup_mask, bool)
    if hold is not None and off_target.any():
        checked += 1
        cups = [int(i) for i in np.flatnonzero(hold & off_target)]
        signals['off_target_holding_cups'] = str(cups)
        if len(cups) >= config.off_target_min_cups:
            strong.append(f'cups {cups} hold but their footprint is off the target')

    beyond_cups = (inputs.payload_kg is not None and inputs.payload_limit_kg is not None
                   and inputs.payload_kg > inputs.payload_limit_kg)
    if beyond_cups:
        signals['payload_beyond_cup_limit_kg'] = inputs.payload_limit_kg
    if inputs.payload_kg is not None and inputs.expected_mass_kg and not beyond_cups:
        checked += 1
        expected = inputs.expected_mass_kg
        ratio = inputs.payload_kg / expected
        signals.update(payload_kg=inputs.payload_kg, expected_mass_kg=expected, mass_ratio=round(ratio, 3))
        if inputs.payload_kg > expected * config.mass_ratio_strong + config.mass_abs_tol_kg:
            strong.append(f'payload {inputs.payload_kg:.3f} kg is {ratio:.2f}x the expected {expected:.3f} kg')
        elif inputs.payload_kg > expected * config.mass_ratio_medium + config.mass_abs_tol_kg:
            medium.append(f'payload {inputs.payload_kg:.3f} kg is {ratio:.2f}x the expected {expected:.3f} kg')

    if inputs.removed_instances is not None:
        checked += 1
        signals['vision_removed_instances'] = inputs.removed_instances
        if inputs.removed_instances > config.vision_max_removed:
            medium.append(f'{inputs.removed_instances} instances left the pile')

    if checked == 0 and beyond_cups:
        why = (f'the wrist reads {inputs.payload_kg:.2f} kg, more than the cups hold '
               f'({inputs.payload_limit_kg:.2f} kg): a contact force, not a payload')
        return DetectorResult(NAME, 'not_run', (why,), signals)
    if checked == 0:
        return not_run(NAME, 'no seal-pattern, weight or vision signal to check')
    reasons = tuple(strong + medium)
    if strong or len(medium) >= 2:
        return DetectorResult(NAME, 'double_pick', reasons, signals)
    if medium:
        verdict = 'double_pick' if config.single_evidence_verdict == 'double_pick' else 'suspect'
        return DetectorResult(NAME, verdict, (*reasons, 'single medium evidence of a double pick'), signals)
    return DetectorResult(NAME, 'ok', (), signals)
