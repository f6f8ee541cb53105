"""Keep a carried package within the acceleration its suction cups can hold (see robin_grasp/hold_model.py).

Joint limits bound joint accelerations; what peels a package off the cups is the *tool's* linear
acceleration, which those limits leave at 7-20 m/s² on a fast transfer. A loaded segment whose
peak tool acceleration exceeds the grasp's limit is slowed down uniformly (t -> k t scales every
acceleration by 1/k², so k = sqrt(peak / limit)): the same path, the same collision check, only
later. Light packages on many cups are not slowed at all.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from robin_grasp.motion.interface import FloatArray, JointTrajectory


def stretched(traj: JointTrajectory, k: float) -> JointTrajectory:
    """``traj`` run ``k`` times slower (k >= 1): times × k, velocities / k, accelerations / k²."""
    if not k >= 1.0:
        raise ValueError(f'stretch factor must be >= 1, got {k}')
    return JointTrajectory(traj.joint_names, traj.times * k, traj.positions, traj.velocities / k,
                           traj.accelerations / (k * k))


def peak_tool_acceleration(traj: JointTrajectory, fk: Callable[[FloatArray], FloatArray]) -> float:
    """Largest linear acceleration of the tcp along ``traj`` [m/s²] (second differences of the
    forward kinematics on the trajectory's samples; 0 for fewer than three samples)."""
    t = np.asarray(traj.times, float)
    if t.size < 3:
        return 0.0
    p = np.array([np.asarray(fk(q))[:3, 3] for q in traj.positions])
    h0, h1 = np.diff(t)[:-1, None], np.diff(t)[1:, None]
    ok = (h0[:, 0] > 0) & (h1[:, 0] > 0)
    # second derivative on a non-uniform grid
    acc = 2.0 * (h0 * p[2:] - (h0 + h1) * p[1:-1] + h1 * p[:-2]) / np.maximum(h0 * h1 * (h0 + h1), 1e-12)
    return float(np.linalg.norm(acc[ok], axis=1).max(initial=0.0))


def limit_tool_acceleration(traj: JointTrajectory, fk: Callable[[FloatArray], FloatArray],
                            limit: float | None) -> tuple[JointTrajectory, float]:
    """``traj`` slowed just enough that its peak tool acceleration is at most ``limit`` [m/s²], and the
    stretch factor applied (1.0: unchanged; also when ``limit`` is None).

    Raises:
        ValueError: a non-positive limit (the grasp cannot hold the package at all).
    """
    if limit is None:
        return traj, 1.0
    if not limit > 0.0:
        raise ValueError(f'tool acceleration limit must be positive, got {limit}')
    peak = peak_tool_acceleration(traj, fk)
    if peak <= limit:
        return traj, 1.0
    k = float(np.sqrt(peak / limit))
    return stretched(traj, k), k
