"""Time-optimal parametrization of a joint path within velocity/acceleration limits (toppra).

The geometric path is a clamped cubic spline through the waypoints over cumulative chord length
(rest to rest). toppra enforces the limits on its grid; between grid points the sampled
acceleration can overshoot slightly, so the result is checked on the output samples and uniformly
slowed down (t → k·t scales velocity by 1/k and acceleration by 1/k²) until it is within limits.
"""

from __future__ import annotations

import numpy as np
import toppra
import toppra.algorithm
import toppra.constraint

from robin_grasp.motion.interface import FloatArray, JointTrajectory

toppra.setup_logging('WARNING')


class TimeParametrizationError(RuntimeError):
    """toppra found no feasible parametrization (should not happen for rest-to-rest paths)."""


def spline_path(waypoints: FloatArray) -> toppra.SplineInterpolator:
    """A C² path through (N, dof) ``waypoints`` parametrized by chord length, zero end slopes."""
    seg = np.linalg.norm(np.diff(waypoints, axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-9])  # duplicate points break the spline
    pts = waypoints[keep]
    s = np.concatenate([[0.0], np.cumsum(seg[seg > 1e-9])])
    if len(pts) < 2:
        raise ValueError('path needs two distinct waypoints')
    return toppra.SplineInterpolator(s, pts, bc_type='clamped')


def parametrize(
    waypoints: FloatArray,
    velocity_limit: FloatArray,
    acceleration_limit: FloatArray,
    joint_names: tuple[str, ...],
    *,
    sample_dt: float = 0.01,
    grid_points: int | None = None,
) -> JointTrajectory:
    """Time-parametrize a rest-to-rest path through ``waypoints`` (N, dof) [rad].

    Args:
        waypoints: Path vertices [rad]; the path passes through all of them.
        velocity_limit: (dof,) [rad/s].
        acceleration_limit: (dof,) [rad/s²].
        joint_names: Column names of the result.
        sample_dt: Output sample period [s] (the last sample is at the exact end).
        grid_points: toppra grid size; default scales with the number of waypoints.

    Returns:
        A trajectory starting at ``waypoints[0]`` and ending at ``waypoints[-1]`` at rest, whose
        sampled |velocity| and |acceleration| are within the limits.
    """
    waypoints = np.asarray(waypoints, dtype=float)
    if len(waypoints) < 2 or (np.max(np.abs(waypoints[-1] - waypoints[0])) < 1e-9 and len(waypoints) == 2):
        return _stationary(waypoints[0], joint_names)
    path = spline_path(waypoints)
    n_grid = grid_points or int(np.clip(40 * len(waypoints), 100, 800))
    vlim = np.stack([-velocity_limit, velocity_limit], axis=1)
    alim = np.stack([-acceleration_limit, acceleration_limit], axis=1)
    instance = toppra.algorithm.TOPPRA(
        [toppra.constraint.JointVelocityConstraint(vlim), toppra.constraint.JointAccelerationConstraint(alim)],
        path,
        gridpoints=np.linspace(0.0, path.duration, n_grid),
        parametrizer='ParametrizeConstAccel',
    )
    traj = instance.compute_trajectory(0.0, 0.0)
    if traj is None:
        raise TimeParametrizationError('toppra: infeasible path')
    duration = float(traj.duration)
    n = max(2, int(np.ceil(duration / sample_dt)) + 1)
    t = np.linspace(0.0, duration, n)
    q, qd, qdd = traj(t), traj(t, 1), traj(t, 2)
    q[0], q[-1] = waypoints[0], waypoints[-1]
    qd[0] = qd[-1] = 0.0
    # uniform slow-down if the samples exceed the limits (toppra enforces them on its grid only)
    k = max(1.0, float(np.max(np.abs(qd) / velocity_limit)), float(np.sqrt(np.max(np.abs(qdd) / acceleration_limit))))
    if k > 1.0:
        t, qd, qdd = t * k, qd / k, qdd / (k * k)
    return JointTrajectory(joint_names, t, q, qd, qdd)


def _stationary(q: FloatArray, joint_names: tuple[str, ...]) -> JointTrajectory:
    z = np.zeros((1, len(q)))
    return JointTrajectory(joint_names, np.zeros(1), q[None, :].copy(), z, z.copy())


def concatenate(parts: list[JointTrajectory]) -> JointTrajectory:
    """Join rest-to-rest trajectories end to start into one (for plotting and duration sums)."""
    times, pos, vel, acc = [], [], [], []
    offset = 0.0
    for k, p in enumerate(parts):
        sl = slice(0 if k == 0 else 1, None)
        times.append(p.times[sl] + offset)
        pos.append(p.positions[sl])
        vel.append(p.velocities[sl])
        acc.append(p.accelerations[sl])
        offset += p.duration
    return JointTrajectory(parts[0].joint_names, np.concatenate(times), np.concatenate(pos), np.concatenate(vel),
                           np.concatenate(acc))
