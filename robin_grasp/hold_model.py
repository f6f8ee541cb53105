"""How fast a package may be carried on a given set of suction cups.

A force-only budget (cups pull more than the package weighs, times a margin) misses the two ways a
swinging package actually leaves the cups. Both are the standard suction-gripper load cases:

- **slip**: the lateral inertial force ``m a`` is carried by friction at the lips, whose normal
  force is what the cups pull beyond the weight: ``m a <= mu (F - m g)``;
- **peel**: the same force acts at the package's centre of mass, ``h`` below the lips, and tips the
  package about an edge of the cups' support polygon, together with the weight if the centre is off
  the cups' middle: for every edge, ``sum_i f_i d(p_i) >= m (g + a) d(c) + m a h`` (``d``: distance
  from the edge line into the polygon, ``p_i`` the cup centres, ``c`` the centre of mass).

The support polygon is the convex hull of the lip discs; its edges are sampled as support lines in
``directions`` evenly spaced directions, so every condition is linear in ``a`` and the largest
acceptable acceleration has a closed form. All loads carry the safety factor. Two cups side by side
on a tall box peel at a few m/s² (their polygon is one lip diameter wide across them): exactly the
drops seen in simulation at full transfer speed, which four or eight cups survive.

Vectorised over P candidate cup sets; plain numpy (no ROS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robin_grasp.mass_prior import GRAVITY, MassEstimate


@dataclass(frozen=True)
class HoldModel:
    """Parameters of the slip and peel checks.

    Attributes:
        safety_factor: margin on every load (leaks, worn lips, mass and centre uncertainty) [-].
        directions: support-line directions sampled around the polygon [-].
    """

    safety_factor: float = 1.5
    directions: int = 16

    def __post_init__(self) -> None:
        if self.safety_factor < 1.0:
            raise ValueError(f'safety_factor must be >= 1, got {self.safety_factor}')
        if self.directions < 4:
            raise ValueError(f'directions must be >= 4, got {self.directions}')


def max_hold_acceleration(
    cup_xy: np.ndarray,
    cup_force: np.ndarray,
    centre_xy: np.ndarray,
    *,
    mass: np.ndarray | float,
    com_depth: np.ndarray | float,
    friction: np.ndarray | float,
    lip_radius: float,
    model: HoldModel = HoldModel(),
) -> np.ndarray:
    """Largest tool acceleration [m/s²], in any direction, at which each cup set holds its package.

    Args:
        cup_xy: (C, 2) cup centres in the tool frame [m].
        cup_force: (P, C) holding force of each cup of each candidate, 0 for an off cup [N].
        centre_xy: (P, 2) the package's centre of mass projected into the tool frame [m].
        mass: package mass [kg], scalar or (P,).
        com_depth: centre of mass below the lip plane [m] (half the thickness), scalar or (P,).
        friction: lip-package friction coefficient [-], scalar or (P,).
        lip_radius: [m].
        model: safety factor and polygon sampling.

    Returns:
        (P,) acceleration [m/s²]; negative where the set cannot even hold the package at rest
        (no cup on, too little force, or the weight alone peels it off).
    """
    cup_xy = np.asarray(cup_xy, np.float64)
    force = np.atleast_2d(np.asarray(cup_force, np.float64))
    centre = np.atleast_2d(np.asarray(centre_xy, np.float64))
    p_n = force.shape[0]
    m = np.broadcast_to(np.asarray(mass, np.float64), (p_n,))
    h = np.broadcast_to(np.asarray(com_depth, np.float64), (p_n,))
    mu = np.broadcast_to(np.asarray(friction, np.float64), (p_n,))
    if np.any(m <= 0) or np.any(h < 0) or np.any(mu <= 0):
        raise ValueError('mass and friction must be positive and com_depth non-negative')
    s = model.safety_factor
    on = force > 0
    total = force.sum(axis=1)
    # slip (and, for mu >= 1, plain tension): m a <= mu (F/S - m g)
    per_mass = total / (s * m) - GRAVITY
    limit = np.minimum(mu, 1.0) * per_mass
    # peel about each sampled support line
    ang = np.arange(model.directions) * (2 * np.pi / model.directions)
    n = np.stack((np.cos(ang), np.sin(ang)), axis=1)  # (K, 2) outward normals
    proj = cup_xy @ n.T  # (C, K)
    any_on = on.any(axis=1)
    support = np.where(on[:, :, None], proj[None], -np.inf).max(axis=1) + lip_radius  # (P, K)
    support[~any_on] = 0.0  # no cup on: no polygon (the result is -inf below); keeps the sums finite
    d_cup = support[:, None, :] - proj[None]  # (P, C, K) cup centre inside each line [m]
    resist = np.einsum('pc,pck->pk', force, d_cup) / s  # [N m]
    d_com = support - centre @ n.T  # (P, K)
    static = resist - m[:, None] * GRAVITY * d_com  # moment to spare at rest [N m]
    lever = m[:, None] * (d_com + h[:, None])  # [kg m] the moment per unit acceleration
    with np.errstate(divide='ignore', invalid='ignore'):
        peel = np.where(lever > 0, static / lever, np.where(static >= 0, np.inf, -np.inf))
    limit = np.minimum(limit, peel.min(axis=1))
    return np.where(any_on, limit, -np.inf)


def estimate_hold(cup_xy: np.ndarray, cup_force: np.ndarray, centre_xy: np.ndarray, estimate: MassEstimate, *,
                  lip_radius: float, safety_factor: float) -> np.ndarray:
    """:func:`max_hold_acceleration` on a mass estimate, as the grasp planner sizes grasps: its
    conservative mass, its centre half its thickness below the lips, its type's lip friction."""
    return max_hold_acceleration(cup_xy, cup_force, centre_xy, mass=estimate.mass_upper,
                                 com_depth=0.5 * estimate.thickness, friction=estimate.lip_friction,
                                 lip_radius=lip_radius, model=HoldModel(safety_factor))
