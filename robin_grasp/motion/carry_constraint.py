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
    """q = base + basis @ u, u = (q1, q2, q3, q6): the joint states with a fixed tool tilt.

    Attributes:
        base: (6,) joint offsets [rad] (q4 and q5 of the held combination).
        basis: (6, 4) map from the free joints to all six.
    """

    base: FloatArray
    basis: FloatArray

    @property
    def dim(self) -> int:
        return self.basis.shape[1]

    def lift(self, u: FloatArray) -> FloatArray:
        """Joint state [rad] of subspace coordinates ``u``."""
        return self.base + self.basis @ np.asarray(u, dtype=float)

    @staticmethod
    def coords(q: FloatArray) -> FloatArray:
        """Subspace coordinates (the free joints) of joint state ``q``."""
        return np.asarray(q, dtype=float)[list(_FREE)]


def level_subspace(fk: Callable[[FloatArray], FloatArray], start: FloatArray, goal: FloatArray,
                   tol: float = 0.01) -> LevelSubspace | None:
    """The level subspace through ``start`` when ``goal`` lies on it too (within ``tol`` [rad] on
    q2 + q3 + q4 and on q5), else None. ``fk`` (joints → 4×4 tcp pose) verifies that the arm's
    kinematics really hold the tilt there (UR-type parallel axes); other arms get None."""
    start, goal = np.asarray(start, dtype=float), np.asarray(goal, dtype=float)
    if start.shape != (6,) or goal.shape != (6,):
        return None
    held = float(start[list(_SUM)].sum())
    if abs(float(goal[list(_SUM)].sum()) - held) > tol or abs(goal[_WRIST_2] - start[_WRIST_2]) > tol:
        return None
    basis = np.zeros((6, 4))
    for k, j in enumerate(_FREE):
        basis[j, k] = 1.0
    basis[3, 1] = basis[3, 2] = -1.0  # q4 = held - q2 - q3
    base = np.zeros(6)
    base[3], base[_WRIST_2] = held, start[_WRIST_2]
    sub = LevelSubspace(base, basis)
    tilt = tool_tilt(fk(start))
    probe = np.random.default_rng(0).uniform(-1.0, 1.0, (3, 4)) + sub.coords(start)
    if any(abs(tool_tilt(fk(sub.lift(u))) - tilt) > 1e-3 for u in probe):
        return None
    return sub
