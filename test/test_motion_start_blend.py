"""Starting a segment from where the arm is: the offset fades out, the end stays (plain numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from robin_grasp.motion.interface import JointTrajectory
from robin_grasp.motion.start_blend import blend_from
from robin_grasp.motion.time_parametrization import parametrize

NAMES = tuple(f'j{i}' for i in range(6))


def lift() -> JointTrajectory:
    a = np.array([0.1, -1.2, 1.4, -1.7, -1.57, 0.2])
    b = a + np.array([0.0, -0.15, -0.1, 0.25, 0.0, 0.0])
    return parametrize(np.stack([a, b]), np.full(6, 3.0), np.full(6, 10.0), NAMES, sample_dt=0.005)


def test_a_blended_segment_starts_at_the_arm_and_ends_where_it_was_planned_to() -> None:
    traj = lift()
    q_now = traj.start + np.array([0.0, 0.04, -0.03, 0.06, 0.0, 0.0])  # stopped on contact, short of it
    out = blend_from(traj, q_now)
    assert np.allclose(out.start, q_now)
    assert np.allclose(out.positions[-1], traj.positions[-1])
    assert np.allclose(out.velocities[[0, -1]], traj.velocities[[0, -1]])  # at rest where the plan was
    assert np.array_equal(out.times, traj.times)
    # what the blend adds to velocities and accelerations is the derivative of what it adds to positions
    dt = np.diff(out.times)[:, None]
    dp, dv, da = (getattr(out, f) - getattr(traj, f) for f in ('positions', 'velocities', 'accelerations'))
    assert np.max(np.abs(np.diff(dp, axis=0) / dt - 0.5 * (dv[1:] + dv[:-1]))) < 1e-4
    assert np.max(np.abs(np.diff(dv, axis=0) / dt - 0.5 * (da[1:] + da[:-1]))) < 1e-2
    # the offset never grows along the way
    offset = np.abs(out.positions - traj.positions).max(axis=1)
    assert np.all(np.diff(offset) <= 1e-12) and offset[0] == pytest.approx(0.06)


def test_no_offset_or_no_duration_changes_nothing() -> None:
    traj = lift()
    same = blend_from(traj, traj.start.copy())
    for field in ('positions', 'velocities', 'accelerations'):
        assert np.allclose(getattr(same, field), getattr(traj, field))
    z = np.zeros((1, 6))
    hold = JointTrajectory(NAMES, np.array([0.0]), traj.start[None, :], z, z)
    assert blend_from(hold, traj.start + 0.05) is hold
