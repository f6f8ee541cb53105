"""Loaded segments are slowed to the tool acceleration the grasp holds the package through."""

from __future__ import annotations

import numpy as np
import pytest
from test_motion_planning import HOME, configured_settings, down_pose

from robin_core.cell_description import default_cell
from robin_grasp.motion.builtin_factory import build_builtin_backend
from robin_grasp.motion.interface import JointGoal, JointTrajectory
from robin_grasp.motion.payload_limit import limit_tool_acceleration, peak_tool_acceleration, stretched
from robin_grasp.motion.pick_sequence import LOADED_SEGMENTS, PickPlan, PickRequest, PickSequencePlanner


def _slide(accel: float, duration: float = 1.0, dt: float = 0.01) -> JointTrajectory:
    """Joint 0 accelerates uniformly from rest: q0 = a t² / 2."""
    t = np.arange(0.0, duration + 1e-9, dt)
    q = np.zeros((t.size, 6))
    q[:, 0] = 0.5 * accel * t**2
    qd = np.zeros_like(q)
    qd[:, 0] = accel * t
    qdd = np.zeros_like(q)
    qdd[:, 0] = accel
    return JointTrajectory(tuple(f'j{k}' for k in range(6)), t, q, qd, qdd)


def _x_is_q0(q: np.ndarray) -> np.ndarray:  # a prismatic "arm": the tool's x is joint 0 [m]
    pose = np.eye(4)
    pose[0, 3] = q[0]
    return pose


def test_peak_tool_acceleration_of_a_uniform_acceleration():
    assert peak_tool_acceleration(_slide(3.0), _x_is_q0) == pytest.approx(3.0, rel=1e-6)
    assert peak_tool_acceleration(_slide(3.0, duration=0.01), _x_is_q0) == 0.0  # too few samples


def test_stretching_scales_time_velocity_and_acceleration():
    traj = _slide(4.0)
    slow = stretched(traj, 2.0)
    assert slow.duration == pytest.approx(2.0 * traj.duration)
    assert np.array_equal(slow.positions, traj.positions)
    assert np.abs(slow.velocities).max() == pytest.approx(np.abs(traj.velocities).max() / 2)
    assert np.abs(slow.accelerations).max() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        stretched(traj, 0.5)


def test_limit_slows_only_what_exceeds_it():
    traj = _slide(8.0)
    slow, k = limit_tool_acceleration(traj, _x_is_q0, 2.0)
    assert k == pytest.approx(2.0) and peak_tool_acceleration(slow, _x_is_q0) == pytest.approx(2.0, rel=1e-6)
    same, k = limit_tool_acceleration(traj, _x_is_q0, 10.0)
    assert k == 1.0 and same is traj
    assert limit_tool_acceleration(traj, _x_is_q0, None) == (traj, 1.0)
    with pytest.raises(ValueError, match='positive'):
        limit_tool_acceleration(traj, _x_is_q0, 0.0)


def test_a_pick_keeps_its_loaded_segments_within_the_payload_acceleration():
    cell = default_cell()
    backend = build_builtin_backend(cell, configured_settings())
    planner = PickSequencePlanner(backend)
    grasp = down_pose(0.5, 0.05, 0.1)
    base = PickRequest(grasp, cell.place_station.T_base_tray, package_size=(0.3, 0.2, 0.15))
    fast = planner.plan(HOME, base, timeout_s=30.0)
    assert isinstance(fast, PickPlan), fast
    peak = peak_tool_acceleration(fast.segment('transfer').trajectory, backend.forward_kinematics)
    assert peak > 3.0  # the premise: a full-speed transfer swings the package harder than it may go
    limited = planner.plan(HOME, PickRequest(grasp, cell.place_station.T_base_tray, package_size=(0.3, 0.2, 0.15),
                                             payload_acceleration=3.0), timeout_s=30.0)
    assert isinstance(limited, PickPlan), limited
    assert limited.payload_acceleration == 3.0 and set(limited.stretch) == set(LOADED_SEGMENTS)
    for seg in limited.segments:
        traj = seg.trajectory
        if seg.name in LOADED_SEGMENTS:
            assert peak_tool_acceleration(traj, backend.forward_kinematics) <= 3.0 * (1 + 1e-6)
            assert np.allclose(traj.end, fast.segment(seg.name).trajectory.end, atol=1e-6)  # same path
        else:  # the empty tool moves at full speed
            assert traj.duration == pytest.approx(fast.segment(seg.name).trajectory.duration)
    assert limited.segment('transfer').trajectory.duration > 1.3 * fast.segment('transfer').trajectory.duration
    # a move that finishes the transfer still holds the package: slowed alike
    carry, k = planner.plan_carry(limited.segment('lift').trajectory.end,
                                  JointGoal(limited.segment('transfer').trajectory.end), limited, timeout_s=30.0)
    assert k > 1.0 and peak_tool_acceleration(carry, backend.forward_kinematics) <= 3.0 * (1 + 1e-6)
    bad = planner.plan(HOME, PickRequest(grasp, cell.place_station.T_base_tray, payload_acceleration=-1.0))
    assert not bad and 'payload acceleration' in bad.detail
