"""Joint-trajectory validation and interpolation for the simulated arm controller (plain numpy).

Mirrors what a ros2_control joint trajectory controller does with a
``trajectory_msgs/JointTrajectory``: a malformed goal is rejected with a reason and does not
preempt what the arm is doing; a valid one replaces the current motion and is interpolated with
cubic Hermite segments (velocities given, or estimated), then the last point is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Times within this [s] are considered equal when checking monotonicity.
TIME_EPS = 1e-6
#: Segment-average velocity may exceed the joint limit by this factor before a plan is rejected.
VELOCITY_TOLERANCE = 1.05


class TrajectoryRejected(ValueError):  # noqa: N818 - reads as the controller's verdict
    """A trajectory the controller refuses; the message is the reason."""


@dataclass(frozen=True)
class JointTrajectoryData:
    """Plain-array form of trajectory_msgs/JointTrajectory.

    Attributes:
        joint_names: names, in the column order of ``positions``.
        times: (N,) [s] time_from_start of each point.
        positions: (N, J) [rad].
        velocities: (N, J) [rad/s] or None (then estimated).
    """

    joint_names: tuple[str, ...]
    times: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray | None = None


@dataclass(frozen=True)
class ArmLimits:
    """Joint order and limits the controller enforces (see robin_core.cell_description)."""

    joint_names: tuple[str, ...]
    lower: np.ndarray  #: [rad]
    upper: np.ndarray  #: [rad]
    velocity: np.ndarray  #: [rad/s]


def validate_trajectory(traj: JointTrajectoryData, limits: ArmLimits, current: np.ndarray) -> JointTrajectoryData:
    """Check ``traj`` and return it reordered to the controller's joint order.

    Args:
        traj: the requested trajectory.
        limits: the arm's joints and limits.
        current: (J,) [rad] present joint positions (the implicit start point).

    Raises:
        TrajectoryRejected: with the first problem found, e.g. unknown joint names, NaN values,
            positions beyond limits, non-increasing times, or velocities beyond limits.
    """
    names = tuple(traj.joint_names)
    if unknown := [n for n in names if n not in limits.joint_names]:
        raise TrajectoryRejected(f'unknown joint name(s): {", ".join(unknown)}')
    if len(set(names)) != len(names):
        raise TrajectoryRejected('duplicate joint names')
    if missing := [n for n in limits.joint_names if n not in names]:
        raise TrajectoryRejected(f'missing joint(s): {", ".join(missing)}')
    times = np.asarray(traj.times, dtype=float)
    pos = np.asarray(traj.positions, dtype=float)
    if times.ndim != 1 or times.size == 0:
        raise TrajectoryRejected('trajectory has no points')
    if pos.shape != (times.size, len(names)):
        msg = f'positions shape {pos.shape} does not match {times.size} points x {len(names)} joints'
        raise TrajectoryRejected(msg)
    vel = None if traj.velocities is None else np.asarray(traj.velocities, dtype=float)
    if vel is not None and vel.shape != pos.shape:
        raise TrajectoryRejected(f'velocities shape {vel.shape} does not match positions {pos.shape}')
    if not np.isfinite(times).all() or not np.isfinite(pos).all() or (vel is not None and not np.isfinite(vel).all()):
        raise TrajectoryRejected('non-finite (NaN/inf) time, position or velocity')
    if times[0] < 0:
        raise TrajectoryRejected(f'negative time_from_start {times[0]:.3f} s')
    if (np.diff(times) <= TIME_EPS).any():
        k = int(np.argmax(np.diff(times) <= TIME_EPS)) + 1
        raise TrajectoryRejected(f'time_from_start not strictly increasing at point {k}')
    order = [names.index(n) for n in limits.joint_names]
    pos = pos[:, order]
    vel = None if vel is None else vel[:, order]
    below, above = pos < limits.lower - 1e-9, pos > limits.upper + 1e-9
    if below.any() or above.any():
        k, j = np.argwhere(below | above)[0]
        raise TrajectoryRejected(
            f'point {k}: {limits.joint_names[j]} = {pos[k, j]:.4f} rad is beyond its limits '
            f'[{limits.lower[j]:.4f}, {limits.upper[j]:.4f}]'
        )
    if vel is not None and (np.abs(vel) > limits.velocity * VELOCITY_TOLERANCE).any():
        k, j = np.argwhere(np.abs(vel) > limits.velocity * VELOCITY_TOLERANCE)[0]
        raise TrajectoryRejected(f'point {k}: {limits.joint_names[j]} velocity {vel[k, j]:.3f} rad/s exceeds limit')
    t_all = np.concatenate([[0.0], times]) if times[0] > TIME_EPS else times
    p_all = np.vstack([current, pos]) if times[0] > TIME_EPS else pos
    seg_v = np.abs(np.diff(p_all, axis=0)) / np.diff(t_all)[:, None] if len(t_all) > 1 else np.zeros((0, len(names)))
    if (seg_v > limits.velocity * VELOCITY_TOLERANCE).any():
        k, j = np.argwhere(seg_v > limits.velocity * VELOCITY_TOLERANCE)[0]
        raise TrajectoryRejected(
            f'segment {k}: {limits.joint_names[j]} needs {seg_v[k, j]:.3f} rad/s, above its velocity limit'
        )
    return JointTrajectoryData(limits.joint_names, times, pos, vel)


class TrajectoryFollower:
    """Interpolates an accepted trajectory from a start state; holds position when idle."""

    def __init__(self, hold: np.ndarray) -> None:
        self._t = np.zeros(1)
        self._q = np.asarray(hold, dtype=float)[None, :].copy()
        self._v = np.zeros_like(self._q)
        self._start = 0.0
        self.active = False

    def hold(self, q: np.ndarray) -> None:
        """Stop and hold ``q`` [rad]."""
        self.__init__(q)

    def start(self, traj: JointTrajectoryData, now: float, current: np.ndarray) -> None:
        """Follow a *validated* trajectory starting at sim time ``now`` [s] from ``current`` [rad]."""
        t, q = traj.times, traj.positions
        if t[0] > TIME_EPS:  # the present state is the implicit first point
            t = np.concatenate([[0.0], t])
            q = np.vstack([current, q])
        if traj.velocities is not None:
            v = traj.velocities if len(t) == len(traj.times) else np.vstack([np.zeros_like(current), traj.velocities])
        else:
            v = _estimate_velocities(t, q)
        self._t, self._q, self._v = t, q, v
        self._start = now
        self.active = True

    @property
    def goal(self) -> np.ndarray:
        """(J,) [rad] final position."""
        return self._q[-1]

    @property
    def end_time(self) -> float:
        """Sim time [s] at which the last point is reached."""
        return self._start + float(self._t[-1])

    def reference(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Reference position [rad] and velocity [rad/s] at sim time ``now`` [s]."""
        q, dq, _ = self.reference_with_acceleration(now)
        return q, dq

    def reference_with_acceleration(self, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reference position [rad], velocity [rad/s] and acceleration [rad/s²] at sim time ``now``
        (cubic Hermite between the trajectory points, so the acceleration is piecewise linear)."""
        s = now - self._start
        zero = np.zeros(self._q.shape[1])
        if not self.active or s >= self._t[-1]:
            self.active = False
            return self._q[-1], zero, zero
        if s <= self._t[0]:
            return self._q[0], self._v[0], zero
        k = int(np.searchsorted(self._t, s, side='right')) - 1
        h = self._t[k + 1] - self._t[k]
        u = (s - self._t[k]) / h
        h00, h10, h01, h11 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u, -2 * u**3 + 3 * u**2, u**3 - u**2
        q0, q1, v0, v1 = self._q[k], self._q[k + 1], self._v[k], self._v[k + 1]
        q = h00 * q0 + h10 * h * v0 + h01 * q1 + h11 * h * v1
        dq = ((6 * u**2 - 6 * u) * q0 + (3 * u**2 - 4 * u + 1) * h * v0 + (-6 * u**2 + 6 * u) * q1
              + (3 * u**2 - 2 * u) * h * v1) / h
        ddq = ((12 * u - 6) * q0 + (6 * u - 4) * h * v0 + (6 - 12 * u) * q1 + (6 * u - 2) * h * v1) / h**2
        return q, dq, ddq


def _estimate_velocities(t: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Zero at the ends, average of adjacent segment slopes inside (zero where the slope flips)."""
    v = np.zeros_like(q)
    if len(t) > 2:
        slopes = np.diff(q, axis=0) / np.diff(t)[:, None]
        mean = 0.5 * (slopes[:-1] + slopes[1:])
        v[1:-1] = np.where(np.sign(slopes[:-1]) == np.sign(slopes[1:]), mean, 0.0)
    return v


def trajectory_from_lists(
    joint_names: Sequence[str], times: Sequence[float], positions: Sequence[Sequence[float]],
    velocities: Sequence[Sequence[float]] | None = None,
) -> JointTrajectoryData:
    """Build :class:`JointTrajectoryData` from Python lists (ragged input raises TrajectoryRejected)."""
    try:
        pos = np.array(positions, dtype=float)
        vel = None if velocities is None or len(velocities) == 0 else np.array(velocities, dtype=float)
    except ValueError as exc:
        raise TrajectoryRejected(f'ragged positions/velocities: {exc}') from exc
    if pos.ndim != 2:
        raise TrajectoryRejected('positions must be points x joints')
    return JointTrajectoryData(tuple(joint_names), np.array(times, dtype=float), pos, vel)
