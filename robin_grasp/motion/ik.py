"""Inverse kinematics with mink (differential IK on the MuJoCo planning model), multi-seed.

mink solves a small QP per step (tcp pose task + joint limits); a few seeds (the current state,
the preferred posture turned towards the target, random) give the alternative arm configurations,
and :func:`choose_solution` prefers elbow-up, wrist-down solutions close to the start state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mink
import numpy as np

from robin_grasp.motion.interface import FloatArray
from robin_grasp.motion.planning_model import PlanningModel


@dataclass(frozen=True)
class IkSolution:
    """A converged IK solution: joints [rad], position error [m], orientation error [rad]."""

    q: FloatArray
    position_error: float
    orientation_error: float


class IkSolver:
    """mink-based IK for the tcp.

    Args:
        model: Planning model (its MjModel is shared; mink keeps its own MjData).
        preferred_posture: Elbow-up, wrist-down reference posture [rad] (planning joint order).
        position_tolerance: Convergence threshold on position [m].
        orientation_tolerance: Convergence threshold on orientation [rad].
        max_iterations: Differential-IK steps per seed.
        max_step: Largest joint change per step [rad].
        random_seeds: Extra random seeds after the structured ones.
        rng_seed: For reproducible random seeds.
    """

    def __init__(
        self,
        model: PlanningModel,
        preferred_posture: Sequence[float],
        *,
        position_tolerance: float = 2e-4,
        orientation_tolerance: float = 1e-3,
        max_iterations: int = 40,
        max_step: float = 0.4,
        random_seeds: int = 4,
        rng_seed: int = 0,
    ) -> None:
        self.model = model
        self.preferred = np.asarray(preferred_posture, dtype=float)
        self.pos_tol = position_tolerance
        self.rot_tol = orientation_tolerance
        self.max_iterations = max_iterations
        self.max_step = max_step
        self.random_seeds = random_seeds
        self._rng = np.random.default_rng(rng_seed)
        self._config = mink.Configuration(model.model)
        self._task = mink.FrameTask(model.tcp_frame, 'body', position_cost=1.0, orientation_cost=1.0)
        # keep away from the exact limits so later collision checks and toppra have room
        self._limits = [mink.ConfigurationLimit(model.model, gain=0.95, min_distance_from_limits=0.01)]
        self._q_index = model.qpos_index

    def solve_from(self, target: FloatArray, seed: FloatArray) -> IkSolution | None:
        """Run differential IK from one ``seed`` [rad]; None when it does not converge."""
        cfg = self._config
        q_full = cfg.q.copy()
        q_full[self._q_index] = np.clip(seed, self.model.limits.lower + 0.011, self.model.limits.upper - 0.011)
        cfg.update(q_full)
        self._task.set_target(mink.SE3.from_matrix(target))
        for _ in range(self.max_iterations):
            err = self._task.compute_error(cfg)
            pos_err, rot_err = float(np.linalg.norm(err[:3])), float(np.linalg.norm(err[3:]))
            if pos_err < self.pos_tol and rot_err < self.rot_tol:
                lim = self.model.limits
                q = nearest_equivalent(cfg.q[self._q_index], seed, lim.lower, lim.upper)
                return IkSolution(q, pos_err, rot_err)
            try:
                dq = mink.solve_ik(cfg, [self._task], 1.0, 'daqp', damping=1e-2, limits=self._limits)
            except mink.NoSolutionFound:
                return None
            # full Gauss-Newton steps overshoot from far seeds; a capped step converges reliably
            largest = float(np.max(np.abs(dq)))
            if largest > self.max_step:
                dq *= self.max_step / largest
            cfg.integrate_inplace(dq, 1.0)
        return None

    def seeds(self, target: FloatArray, start: FloatArray) -> list[FloatArray]:
        """Start state, preferred posture aimed at the target, then random postures."""
        out = [np.asarray(start, dtype=float)]
        aimed = self.preferred.copy()
        # turn the base so the preferred posture's tcp lies in the target's direction
        tcp_pref = self.model.tcp_pose(self.preferred)[:3, 3]
        delta = np.arctan2(target[1, 3], target[0, 3]) - np.arctan2(tcp_pref[1], tcp_pref[0])
        lim = self.model.limits
        aimed[0] = _wrap_within(aimed[0] + delta, start[0], lim.lower[0], lim.upper[0])
        # and turn the last joint (its axis is the tool z axis) to the target's heading about z
        rel = self.model.tcp_pose(aimed)[:3, :3].T @ target[:3, :3]
        aimed[-1] = _wrap_within(aimed[-1] + np.arctan2(rel[1, 0], rel[0, 0]), start[-1], lim.lower[-1], lim.upper[-1])
        out.append(aimed)
        for _ in range(self.random_seeds):
            q = self._rng.uniform(np.maximum(lim.lower, -np.pi), np.minimum(lim.upper, np.pi))
            q[0] = aimed[0] + self._rng.uniform(-0.5, 0.5)
            out.append(q)
        return out

    def solve_all(self, target: FloatArray, start: FloatArray, max_solutions: int = 3) -> list[IkSolution]:
        """Converged solutions from several seeds (distinct, at most ``max_solutions``)."""
        found: list[IkSolution] = []
        for seed in self.seeds(target, start):
            sol = self.solve_from(target, seed)
            if sol is None or any(np.max(np.abs(sol.q - f.q)) < 1e-2 for f in found):
                continue
            found.append(sol)
            if len(found) >= max_solutions:
                break
        return found


def _wrap_near(angle: float, reference: float) -> float:
    """``angle`` shifted by a multiple of 2π to lie within π of ``reference``."""
    return reference + (angle - reference + np.pi) % (2 * np.pi) - np.pi


def _wrap_within(angle: float, reference: float, lower: float, upper: float) -> float:
    """The 2π-equivalent of ``angle`` nearest ``reference`` that lies within [lower, upper].

    A seed outside the limits is clipped onto them and the solver cannot turn past the limit,
    so after a few picks in one direction the aimed seed must come from the other side.
    """
    base = _wrap_near(angle, reference)
    for cand in sorted((base, base - 2 * np.pi, base + 2 * np.pi), key=lambda a: abs(a - reference)):
        if lower <= cand <= upper:
            return float(cand)
    return float(np.clip(base, lower, upper))


def nearest_equivalent(q: FloatArray, reference: FloatArray, lower: FloatArray, upper: FloatArray) -> FloatArray:
    """``q`` with each revolute joint shifted by multiples of 2π towards ``reference``, within limits.

    Joints with a range over 2π reach the same pose at q ± 2π; the shortest motion wins.
    """
    out = np.asarray(q, dtype=float).copy()
    for j in range(len(out)):
        cand = _wrap_near(out[j], reference[j])
        if lower[j] <= cand <= upper[j]:
            out[j] = cand
    return out


def posture_flags(model: PlanningModel, q: FloatArray) -> tuple[bool, bool]:
    """(elbow_up, wrist_out) of a UR-type 6R arm at ``q``: both True in the usual top-down picking
    posture.

    Elbow up: the elbow lies above the shoulder→wrist line. Wrist out: the second wrist body is
    no closer to the base axis than the first and not above it, so the forearm ends short of the
    tool instead of reaching past it and folding back (that "overreaching" solution reaches the
    same pose but sweeps the forearm over neighbouring packages and leaves the arm in a posture
    from which the place pose behind the robot is often unreachable).
    """
    model.set_joints(q)
    b = model.joint_bodies
    shoulder, elbow, wrist1, wrist2 = (model.body_position(int(b[k])) for k in (1, 2, 3, 4))
    line = wrist1 - shoulder
    u = np.clip(np.dot(elbow - shoulder, line) / max(np.dot(line, line), 1e-12), 0.0, 1.0)
    elbow_up = bool(elbow[2] > shoulder[2] + u * line[2])
    outward = float(np.hypot(*wrist2[:2]) - np.hypot(*wrist1[:2]))
    wrist_out = bool(outward > -0.01 and wrist2[2] < wrist1[2] + 0.01)
    return elbow_up, wrist_out


def solution_cost(model: PlanningModel, q: FloatArray, start: FloatArray,
                  joint_weights: FloatArray | None = None) -> float:
    """Preference of IK solution ``q`` (lower is better): elbow-up and wrist-out first, then the least
    weighted motion from ``start``."""
    w = np.ones_like(start) if joint_weights is None else joint_weights
    elbow_up, wrist_out = posture_flags(model, q)
    return (0.0 if elbow_up else 100.0) + (0.0 if wrist_out else 50.0) + float(np.sum(w * np.abs(q - start)))


def choose_solution(
    model: PlanningModel,
    solutions: Sequence[FloatArray],
    start: FloatArray,
    joint_weights: FloatArray | None = None,
) -> FloatArray | None:
    """The best of ``solutions`` by :func:`solution_cost`."""
    if not solutions:
        return None
    return min(solutions, key=lambda q: solution_cost(model, q, start, joint_weights))
