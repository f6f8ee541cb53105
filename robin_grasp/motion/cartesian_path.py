"""Straight-line tcp paths (approach, lift): IK along the line, seeded step by step."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from robin_grasp.motion.collision import CollisionChecker
from robin_grasp.motion.ik import IkSolver
from robin_grasp.motion.interface import FailureReason, FloatArray, PlanFailure


def interpolate_poses(start: FloatArray, goal: FloatArray, step: float, angle_step: float = 0.05) -> list[FloatArray]:
    """Poses from ``start`` to ``goal`` (4×4): linear position, slerp rotation.

    Args:
        step: Largest translation between poses [m].
        angle_step: Largest rotation between poses [rad].
    """
    dist = float(np.linalg.norm(goal[:3, 3] - start[:3, 3]))
    rots = Rotation.from_matrix(np.stack([start[:3, :3], goal[:3, :3]]))
    angle = float((rots[0].inv() * rots[1]).magnitude())
    n = max(1, int(np.ceil(max(dist / step, angle / angle_step))))
    slerp = Slerp([0.0, 1.0], rots)
    out = []
    for k in range(1, n + 1):
        u = k / n
        t = np.eye(4)
        t[:3, :3] = slerp([u]).as_matrix()[0]
        t[:3, 3] = start[:3, 3] + u * (goal[:3, 3] - start[:3, 3])
        out.append(t)
    return out


def straight_line_path(
    ik: IkSolver,
    checker: CollisionChecker,
    start_q: FloatArray,
    goal_pose: FloatArray,
    *,
    step: float = 0.01,
    max_joint_step: float = 0.15,
) -> FloatArray | PlanFailure:
    """Joint waypoints (N, dof) [rad] that move the tcp along a straight line to ``goal_pose``.

    Each pose is solved from the previous solution; a joint jump above ``max_joint_step`` [rad]
    between neighbours (a configuration flip near a singularity) or a collision fails the line.
    """
    start_pose = ik.model.tcp_pose(start_q)
    path = [np.asarray(start_q, dtype=float)]
    for k, pose in enumerate(interpolate_poses(start_pose, goal_pose, step)):
        sol = ik.solve_from(pose, path[-1])
        if sol is None:
            return PlanFailure(FailureReason.IK_FAILED, f'straight line: no IK at step {k + 1}')
        if np.max(np.abs(sol.q - path[-1])) > max_joint_step:
            return PlanFailure(FailureReason.UNREACHABLE, f'straight line: configuration jump at step {k + 1}')
        path.append(sol.q)
    pts = np.stack(path)
    if not checker.path_valid(pts):
        reason = FailureReason.GOAL_IN_COLLISION if not checker.is_valid(pts[-1]) else FailureReason.UNREACHABLE
        return PlanFailure(reason, 'straight line collides')
    return pts
