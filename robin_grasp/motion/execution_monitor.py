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
    contact: bool = False  # arrived by stopping short on contact (a guarded move), not at the end


class ExecutionMonitor:
    """Decides when a published segment has arrived.

    Args:
        trajectory: The segment sent to the controller.
        start_time: When it was sent [s] (node clock: sim time under ``use_sim_time``).
        tolerance: Per-joint arrival tolerance [rad].
        settle_timeout: Time allowed after the nominal end before the segment fails [s].
        contact_tolerance: For a guarded move (the descent onto a package): an arm that has
            stopped within this of the end after the nominal duration arrived on contact [rad];
            0 turns it off.
        stall_rad: Largest joint motion over ``stall_s`` that counts as stopped [rad].
        stall_s: How long the arm must stay stopped [s].
    """

    def __init__(self, trajectory: JointTrajectory, start_time: float, tolerance: float, settle_timeout: float,
                 *, contact_tolerance: float = 0.0, stall_rad: float = 2e-3, stall_s: float = 0.15) -> None:
        self.trajectory = trajectory
        self.start_time = start_time
        self.tolerance = tolerance
        self.deadline = start_time + trajectory.duration + settle_timeout
        self.contact_tolerance = contact_tolerance
        self.stall_rad = stall_rad
        self.stall_s = stall_s
        self._still: tuple[float, FloatArray] | None = None  # (since, joints) while the arm is not moving

    def check(self, now: float, q: FloatArray | None) -> Verdict:
        """Arrived when the nominal duration has passed and every joint is within tolerance."""
        if q is None:
            err, joint = float('inf'), -1
        else:
            diff = np.abs(np.asarray(q) - self.trajectory.end)
            joint = int(np.argmax(diff))
            err = float(diff[joint])
        ended = now - self.start_time >= self.trajectory.duration
        if ended and err <= self.tolerance:
            return Verdict(Progress.DONE, err, joint)
        if ended and q is not None and err <= self.contact_tolerance and self._stopped(now, np.asarray(q, float)):
            return Verdict(Progress.DONE, err, joint, contact=True)
        if now > self.deadline:
            return Verdict(Progress.TIMEOUT, err, joint)
        return Verdict(Progress.RUNNING, err, joint)

    def _stopped(self, now: float, q: FloatArray) -> bool:
        """Whether the arm has stayed within ``stall_rad`` of one posture for ``stall_s``."""
        if self._still is None or float(np.max(np.abs(q - self._still[1]))) > self.stall_rad:
            self._still = (now, q.copy())
            return False
        return now - self._still[0] >= self.stall_s
