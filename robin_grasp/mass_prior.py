"""Package mass from its visible size and a per-type density prior, and the force to hold it.

The camera sees the top surface, not the contents, so mass is a prior: visible length × width ×
estimated thickness × the type's bulk density, bounded by the type's plausible range. The planner
sizes the cup set on a conservative upper estimate; the QA node compares the payload reading with
the central estimate to spot double picks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

GRAVITY = 9.81  # [m/s²]


@dataclass(frozen=True)
class TypePrior:
    """Physical prior for one package type.

    Attributes:
        density: bulk density of packed parcels of this type [kg/m³].
        thickness_min: thinnest plausible package [m].
        thickness_default: thickness used when the surface below cannot be seen [m].
        thickness_max: thickest plausible package [m].
        seal_efficiency: share of a cup's rated force reached on this surface (film wrinkles and
            padding leak) [0..1].
        mass_min: lightest plausible package [kg].
        mass_max: heaviest plausible package [kg].
        lip_friction: friction coefficient between a cup lip and this surface, a low value of its
            range (cardboard grips a rubber lip better than film) [-].
    """

    density: float
    thickness_min: float
    thickness_default: float
    thickness_max: float
    seal_efficiency: float
    mass_min: float
    mass_max: float
    lip_friction: float = 0.4


#: Defaults for the shipped model's classes (robin_core.instance_table.PACKAGE_TYPES). Shipping
#: boxes average ~150-200 kg/m³ (carriers' dimensional-weight divisors assume ~170).
DEFAULT_PRIORS: dict[str, TypePrior] = {
    'box': TypePrior(180.0, 0.02, 0.12, 0.60, 0.95, 0.05, 25.0, 0.45),
    'poly_mailer': TypePrior(250.0, 0.005, 0.04, 0.15, 0.75, 0.02, 6.0, 0.25),
    'padded_mailer': TypePrior(200.0, 0.01, 0.03, 0.08, 0.80, 0.03, 3.0, 0.35),
    'flat_envelope': TypePrior(600.0, 0.002, 0.006, 0.02, 0.90, 0.01, 1.0, 0.3),
}


@dataclass(frozen=True)
class MassEstimate:
    """Estimated mass of one package.

    Attributes:
        mass: central estimate [kg].
        mass_upper: conservative estimate used to size the cup set [kg].
        thickness: thickness used [m].
        type_name: prior used ('any' when the type was too uncertain and the worst case was taken).
        seal_efficiency: share of rated cup force expected on this surface [0..1].
        lip_friction: lip-surface friction coefficient [-] (the lowest of all types for 'any').
    """

    mass: float
    mass_upper: float
    thickness: float
    type_name: str
    seal_efficiency: float
    lip_friction: float = 0.4


def estimate_mass(
    length: float,
    width: float,
    thickness: float | None,
    type_name: str,
    type_score: float,
    *,
    priors: Mapping[str, TypePrior] = DEFAULT_PRIORS,
    min_type_score: float = 0.5,
    upper_factor: float = 1.5,
) -> MassEstimate:
    """Mass of a package from its top-surface size and type.

    Args:
        length: top surface extent along its long axis [m].
        width: top surface extent along its short axis [m].
        thickness: measured height above what it rests on [m], None when unknown.
        type_name: predicted type, a key of ``priors`` (unknown names use the worst case).
        type_score: confidence of the type [0..1]; below ``min_type_score`` the worst case over all
            types is used, so a misclassified box is never sized as an envelope.
        priors: per-type priors.
        min_type_score: type confidence needed to trust the type [0..1].
        upper_factor: ratio of the conservative to the central estimate (density spread).

    Returns:
        The estimate.
    """
    trusted = type_name in priors and type_score >= min_type_score
    names = [type_name] if trusted else list(priors)
    best: MassEstimate | None = None
    for name in names:
        p = priors[name]
        t = p.thickness_default if thickness is None or not math.isfinite(thickness) else thickness
        t = min(max(t, p.thickness_min), p.thickness_max)
        m = min(max(length * width * t * p.density, p.mass_min), p.mass_max)
        upper = min(m * upper_factor, p.mass_max)
        est = MassEstimate(m, upper, t, name, p.seal_efficiency, p.lip_friction)
        if best is None or est.mass_upper > best.mass_upper:
            best = est
    assert best is not None
    if not trusted:
        worst_seal = min(priors[n].seal_efficiency for n in names)
        worst_friction = min(priors[n].lip_friction for n in names)
        best = MassEstimate(best.mass, best.mass_upper, best.thickness, 'any', worst_seal, worst_friction)
    return best


def required_holding_force(mass: float, max_acceleration: float, safety_factor: float) -> float:
    """Suction force needed to hold ``mass`` [kg] through vertical accelerations up to ``max_acceleration``.

    Args:
        mass: payload [kg].
        max_acceleration: peak tool acceleration during transfer [m/s²] (worst case adds to g).
        safety_factor: margin for seal wear, peeling moments and leaks [-].

    Returns:
        Force [N].
    """
    return mass * (GRAVITY + max_acceleration) * safety_factor
