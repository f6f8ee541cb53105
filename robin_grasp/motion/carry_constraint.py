"""Keep a carried package level: the tool-tilt bound of a transfer and the joint subspace that holds it.

A package held by suction peels off when it is swung at a steep tilt: the cups on the high side
take a moment instead of a pull. In the session-6 closed-loop run RRTConnect transfers (the sampling
planner ignores orientation) tilted a 2 kg box 46° from vertical; four cups lost their seal half way
and the half-held box was rammed into the drive robot (docs/motion.md, "Carrying level").

For arms whose shoulder, elbow and first wrist axes are parallel (the UR family), the direction of
the tool axis depends only on q1, q2 + q3 + q4 and q5. Holding q2 + q3 + q4 and q5 fixed keeps the
tilt constant while q1, q2, q3 and q6 move: a *linear* subspace of joint space, so straight segments
and splines between its states stay in it. The sampling planner searches that 4-D subspace when a
transfer starts and ends on the same one (the lift end and the place pose both point the tool down);
:func:`level_subspace` checks the kinematics numerically and returns None for arms without the
property, where the tilt bound alone (checked per state) applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robin_grasp.motion.interface import FloatArray

#: The free joints of the level subspace (q1, q2, q3, q6) and the coupled ones.
_FREE = (0, 1, 2, 5)
_SUM = (1, 2, 3)  #: q2 + q3 + q4 is held
_WRIST_2 = 4  #: q5 is held


def tool_tilt(tcp_pose: FloatArray) -> float:
    """Angle [rad] between the tool axis (tcp z, pointing out of the tool) and straight down."""
    return float(np.arccos(np.clip(-tcp_pose[2, 2], -1.0, 1.0)))


@dataclass(frozen=True)
class LevelSubspace:
    """q = base + basis @ u, u = (q1, q2, q3, q6[, s]): joint states whose tool axis is that of the
    start, or — with the blend coordinate s ∈ [0, 1] — blends linearly from the start's held pair
    (q2 + q3 + q4, q5) to the goal's.

    Attributes:
        base: (6,) joint offsets [rad].
        basis: (6, 4 or 5) map from the subspace coordinates to all six joints.
        start_u: subspace coordinates of the start.
        goal_u: subspace coordinates of the goal.
    """

    base: FloatArray
    basis: FloatArray
    start_u: FloatArray
    goal_u: FloatArray

    @property
    def dim(self) -> int:
        return self.basis.shape[1]

    def lift(self, u: FloatArray) -> FloatArray:
        """Joint state [rad] of subspace coordinates ``u``."""
        return self.base + self.basis @ np.asarray(u, dtype=float)

    def coordinates(self, q: FloatArray) -> FloatArray:
        """Subspace coordinates of joint state(s) ``q`` (N, 6) or (6,) [rad], least squares: the
        exact ones for states of the subspace, the nearest subspace state's for others."""
        q = np.asarray(q, dtype=float)
        u, *_ = np.linalg.lstsq(self.basis, (q - self.base).T, rcond=None)
        return u.T

    def bounds(self, lower: FloatArray, upper: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Search box of the subspace coordinates from the joint limits (the blend: 0..1)."""
        lo, hi = np.asarray(lower, dtype=float)[list(_FREE)], np.asarray(upper, dtype=float)[list(_FREE)]
        if self.dim == len(_FREE):
            return lo, hi
        return np.append(lo, 0.0), np.append(hi, 1.0)


def level_subspace(fk: Callable[[FloatArray], FloatArray], start: FloatArray, goal: FloatArray,
                   max_blend: float = 0.35) -> LevelSubspace | None:
    """The level subspace from ``start`` to ``goal``: 4-D when both hold the same (q2 + q3 + q4, q5)
    (within 1 mrad), else 5-D with the blend coordinate when they differ by at most ``max_blend``
    [rad] in each (a grasp tilted with its package, a tool-down place pose). ``fk`` (joints → 4×4
    tcp pose) verifies that the arm's kinematics hold the tilt (UR-type parallel axes); other arms
    get None."""
    start, goal = np.asarray(start, dtype=float), np.asarray(goal, dtype=float)
    if start.shape != (6,) or goal.shape != (6,):
        return None
    held = np.array([start[list(_SUM)].sum(), start[_WRIST_2]])
    delta = np.array([goal[list(_SUM)].sum(), goal[_WRIST_2]]) - held
    if np.abs(delta).max() > max_blend:
        return None
    blend = bool(np.abs(delta).max() > 1e-3)
    basis = np.zeros((6, 5 if blend else 4))
    for k, j in enumerate(_FREE):
        basis[j, k] = 1.0
    basis[3, 1] = basis[3, 2] = -1.0  # q4 = held - q2 - q3
    base = np.zeros(6)
    base[3], base[_WRIST_2] = held
    if blend:
        basis[3, 4], basis[_WRIST_2, 4] = delta
    free = list(_FREE)
    start_u, goal_u = start[free], goal[free]
    if blend:
        start_u, goal_u = np.append(start_u, 0.0), np.append(goal_u, 1.0)
    sub = LevelSubspace(base, basis, start_u, goal_u)
    tilt = tool_tilt(fk(start))
    probe = np.random.default_rng(0).uniform(-1.0, 1.0, (3, 4)) + start[free]
    fixed = LevelSubspace(base, basis[:, :4], start[free], start[free])
    if any(abs(tool_tilt(fk(fixed.lift(u))) - tilt) > 1e-3 for u in probe):
        return None
    return sub
