"""Watches one trajectory's execution against measured joint states: done, still running, or failed."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from robin_grasp.motion.interface import FloatArray, JointTrajectory


class Progress(enum.StrEnum):
    RUNNING = 'running'
    DONE = 'done'
    TIMEOUT = 'timeout'


@dataclass(frozen=True)
class Verdict:
    """Outcome of one check: progress, the largest joint error to the segment end [rad] and the
    joint it is on (-1 without a joint state)."""

    progress: Progress
    error: float
    joint: int = -1


class ExecutionMonitor:
    """Decides when a published segment has arrived.

    Args:
        trajectory: The segment sent to the controller.
        start_time: When it was sent [s] (node clock: sim time under ``use_sim_time``).
        tolerance: Per-joint arrival tolerance [rad].
        settle_timeout: Time allowed after the nominal end before the segment fails [s].
    """

    def __init__(self, trajectory: JointTrajectory, start_time: float, tolerance: float, settle_timeout: float) -> None:
        self.trajectory = trajectory
        self.start_time = start_time
        self.tolerance = tolerance
        self.deadline = start_time + trajectory.duration + settle_timeout

    def check(self, now: float, q: FloatArray | None) -> Verdict:
        """Arrived when the nominal duration has passed and every joint is within tolerance."""
        if q is None:
            err, joint = float('inf'), -1
        else:
            diff = np.abs(np.asarray(q) - self.trajectory.end)
            joint = int(np.argmax(diff))
            err = float(diff[joint])
        if now - self.start_time >= self.trajectory.duration and err <= self.tolerance:
            return Verdict(Progress.DONE, err, joint)
        if now > self.deadline:
            return Verdict(Progress.TIMEOUT, err, joint)
        return Verdict(Progress.RUNNING, err, joint)
