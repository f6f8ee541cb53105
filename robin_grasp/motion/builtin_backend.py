"""The built-in backend: mink IK, MuJoCo collision checks, direct/OMPL paths, toppra timing."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from robin_grasp.motion.carry_constraint import LevelSubspace, level_subspace, tool_tilt
from robin_grasp.motion.cartesian_path import straight_line_path
from robin_grasp.motion.collision import CollisionChecker
from robin_grasp.motion.ik import IkSolver, choose_solution, nearest_equivalent, posture_flags, solution_cost
from robin_grasp.motion.interface import (
    FailureReason,
    FloatArray,
    Goal,
    JointGoal,
    JointTrajectory,
    PlanFailure,
    PlanResult,
    PoseGoal,
    Scene,
)
from robin_grasp.motion.joint_path import NO_CHEAP_PATH, JointPathPlanner
from robin_grasp.motion.planning_model import PlanningModel
from robin_grasp.motion.time_parametrization import concatenate, parametrize
from robin_grasp.motion.transit import transit_chains

#: (start, goal) → candidate via chains [rad] (see :mod:`~robin_grasp.motion.transit`)
ViaChains = Callable[[FloatArray, FloatArray], Iterator[list[FloatArray]]]

ESCAPE_MAX_M = 0.15  #: farthest the tool backs out straight up from a colliding start [m]

#: Spline smoothing may cut corners of a sampled path; re-densify and retry this many times.
_MAX_SMOOTHING_RETRIES = 3
#: A carrying path may tilt the tool this much beyond the more tilted of its ends [rad].
_TILT_SLACK = 0.02
#: IK seeds searched for other solutions of a goal pose whose preferred one has no cheap path
_ALT_IK_SEEDS = 6
_ALT_SEED = 13  #: fixed: the same request plans the same way


@dataclass
class PlanStats:
    """Counters of the last plan (for diagnostics and the benchmark)."""

    planner: str = ''
    ik_ms: float = 0.0
    path_ms: float = 0.0
    timing_ms: float = 0.0
    self_filtered: bool = False  # the arm's own image was taken out of the pile map (stuck start)
    carry_level: bool = False  # a carrying move searched the level subspace (carry_constraint)
    extra: dict[str, float] = field(default_factory=dict)


class BuiltinBackend:
    """Implements :class:`~robin_grasp.motion.interface.MotionBackend` without MoveIt.

    Args:
        model: The planning model of arm + cell.
        preferred_posture: Elbow-up, wrist-down reference posture [rad].
        use_ompl: False = direct-interpolation-only baseline.
        sample_dt: Output trajectory sample period [s].
        segment_step: Collision-check resolution along joint segments [rad].
        cartesian_step: Straight-line resolution [m].
        joint_weights: Weights of each joint's motion when choosing among IK solutions.
        transit_clearances: Up-over-down transits tried after the direct segment and before the
            sampling planner, at these heights above the higher end [m] (lowest first); empty =
            straight to the sampling planner (see :mod:`~robin_grasp.motion.transit`).
        carry_max_tilt: While a package is attached, no path state tilts the tool more than this
            from straight down (or than the more tilted end) [rad]; 0 = unbounded.
    """

    name = 'builtin'

    def __init__(
        self,
        model: PlanningModel,
        preferred_posture: Sequence[float],
        *,
        use_ompl: bool = True,
        sample_dt: float = 0.01,
        segment_step: float = 0.03,
        cartesian_step: float = 0.01,
        joint_weights: Sequence[float] | None = None,
        transit_clearances: Sequence[float] = (0.0, 0.05, 0.15, 0.3),
        carry_max_tilt: float = 0.0,
    ) -> None:
        self.model = model
        self.joint_names = model.joint_names
        self.checker = CollisionChecker(model, segment_step=segment_step)
        self.ik = IkSolver(model, preferred_posture)
        self.paths = JointPathPlanner(self.checker, use_ompl=use_ompl)
        self.sample_dt = sample_dt
        self.cartesian_step = cartesian_step
        self.joint_weights = None if joint_weights is None else np.asarray(joint_weights, dtype=float)
        self.transit_clearances = tuple(float(c) for c in transit_clearances)
        self.carry_max_tilt = float(carry_max_tilt)
        self.stats = PlanStats()

    def forward_kinematics(self, q: FloatArray) -> FloatArray:
        """tcp pose (4×4, base_link) at joints ``q`` [rad]."""
        return self.model.tcp_pose(np.asarray(q, dtype=float))

    def plan(self, start: FloatArray, goal: Goal, scene: Scene, timeout_s: float = 1.0) -> PlanResult:
        """Plan start → goal in ``scene`` (see :class:`MotionBackend`)."""
        t0 = time.perf_counter()
        start = np.asarray(start, dtype=float)
        self.stats = PlanStats()
        if start.shape != (len(self.joint_names),) or not np.all(np.isfinite(start)):
            return PlanFailure(FailureReason.INVALID_REQUEST, f'start must be {len(self.joint_names)} finite joints')
        self.checker.apply_scene(scene)
        self.checker.max_tilt = None  # only a carrying move's path is bounded (_carry_level)
        if isinstance(goal, PoseGoal) and goal.linear:
            return self._plan_linear(start, goal.pose, t0)
        escape: FloatArray | None = None
        if not self.checker.is_valid(start):
            # the arm rests on something (a put-back that ended on the package, a pile that
            # shifted under it): back out straight up first, then plan from there
            escape = self._escape_up(start)
            if escape is None and self.checker.filter_self(start):
                # the frame showed the arm itself over the pile: take its image out and try again
                self.stats.self_filtered = True
                escape = self._escape_up(start)
            if escape is None:
                return PlanFailure(FailureReason.START_IN_COLLISION, 'start state collides and lifting the tool '
                                   f'{ESCAPE_MAX_M:.2f} m straight up does not free it '
                                   f'({self.checker.describe(start)})')
            start = escape[-1]
        if isinstance(goal, JointGoal):
            q_goal = np.asarray(goal.positions, dtype=float)
            if q_goal.shape != start.shape:
                return PlanFailure(FailureReason.INVALID_REQUEST, 'goal joints have the wrong length')
        else:
            q_goal_or_fail = self.solve_ik(start, goal.pose)
            if isinstance(q_goal_or_fail, PlanFailure):
                return q_goal_or_fail
            q_goal = q_goal_or_fail
        t1 = time.perf_counter()
        self.stats.ik_ms = (t1 - t0) * 1e3
        carrying = scene.attached is not None
        subspace = self._carry_level(start, q_goal) if carrying else None
        path = self.paths.plan(start, q_goal, timeout_s - (time.perf_counter() - t0), via=self._transits(subspace),
                               subspace=subspace, sampling=False)
        if isinstance(path, PlanFailure) and path.detail == NO_CHEAP_PATH:
            if isinstance(goal, PoseGoal):
                # Before sampling for the preferred IK solution, the cheap paths to the other solutions
                # of its posture class: beside a tall stack the preferred one can be walled in while
                # another is a straight joint segment away (test_an_approach_over_a_tall_box_beside_...).
                for alt in self._alternative_goals(start, goal.pose, q_goal):
                    alt_sub = self._carry_level(start, alt) if carrying else None
                    found = self.paths.plan(start, alt, timeout_s - (time.perf_counter() - t0),
                                            via=self._transits(alt_sub), subspace=alt_sub, sampling=False)
                    if not isinstance(found, PlanFailure):
                        path, q_goal = found, alt
                        self.stats.extra['alternative_goal'] = 1.0
                        break
            if isinstance(path, PlanFailure):
                subspace = self._carry_level(start, q_goal) if carrying else None
                path = self.paths.plan(start, q_goal, timeout_s - (time.perf_counter() - t0), subspace=subspace,
                                       cheap=False)
        if isinstance(path, PlanFailure):
            return path
        self.stats.planner = path.planner if escape is None else f'escape+{path.planner}'
        t2 = time.perf_counter()
        self.stats.path_ms = (t2 - t1) * 1e3
        traj = self._time_parametrize(path.waypoints, smooth_check=path.planner != 'direct')
        if escape is not None and not isinstance(traj, PlanFailure):
            lim = self.model.limits
            up = parametrize(escape, lim.velocity, lim.acceleration, self.joint_names, sample_dt=self.sample_dt)
            traj = concatenate([up, traj])
        self.stats.timing_ms = (time.perf_counter() - t2) * 1e3
        return traj

    def _carry_level(self, start: FloatArray, goal: FloatArray) -> LevelSubspace | None:
        """While a package is carried: bound the tool tilt along the path to ``carry_max_tilt``
        (or the larger tilt of its ends) and return the level subspace through both ends, if any."""
        if self.carry_max_tilt <= 0.0:
            return None
        fk = self.model.tcp_pose
        ends = max(tool_tilt(fk(start)), tool_tilt(fk(goal)))
        self.checker.max_tilt = max(self.carry_max_tilt, ends + _TILT_SLACK)
        sub = level_subspace(fk, start, goal)
        self.stats.carry_level = sub is not None
        return sub

    def _escape_up(self, start: FloatArray) -> FloatArray | None:
        """Joint waypoints moving the tcp straight up in 1 cm steps from ``start`` until the state is
        collision-free (None when IK fails or ``ESCAPE_MAX_M`` is not enough). Collisions along the
        way are accepted: the arm is leaving a contact it is already in, not making a new one."""
        pose = self.model.tcp_pose(start)
        q, out = start, [start]
        for k in range(1, round(ESCAPE_MAX_M / 0.01) + 1):
            target = pose.copy()
            target[2, 3] += 0.01 * k
            sol = self.ik.solve_from(target, q)
            if sol is None:
                return None
            q = sol.q
            out.append(q)
            if self.checker.is_valid(q):
                return np.stack(out)
        return None

    def solve_ik(self, start: FloatArray, pose: FloatArray) -> FloatArray | PlanFailure:
        """The preferred valid IK solution for tcp ``pose`` near ``start``, or why there is none.

        The start state and the preferred posture aimed at the target are always tried; random
        seeds only when neither gives a valid solution. Among valid solutions
        :func:`choose_solution` prefers elbow-up, wrist-down, then the least motion.
        """
        if np.linalg.norm(pose[:3, 3]) > 1.2:  # far beyond a UR5e's 0.85 m reach + tool
            return PlanFailure(FailureReason.UNREACHABLE, f'target {np.round(pose[:3, 3], 3).tolist()} out of reach')
        converged, valid = 0, []
        for k, seed in enumerate(self.ik.seeds(pose, start)):
            if k >= 2 and any(all(posture_flags(self.model, q)) for q in valid):
                break
            sol = self.ik.solve_from(pose, seed)
            if sol is None:
                continue
            converged += 1
            q = nearest_equivalent(sol.q, start, self.model.limits.lower, self.model.limits.upper)
            if self.checker.is_valid(q):
                valid.append(q)
        if valid:
            best = choose_solution(self.model, valid, start, self.joint_weights)
            assert best is not None
            return best
        if converged:
            return PlanFailure(FailureReason.GOAL_IN_COLLISION, f'all {converged} IK solutions collide')
        return PlanFailure(FailureReason.IK_FAILED, f'no IK solution for {np.round(pose[:3, 3], 3).tolist()}')

    def _alternative_goals(self, start: FloatArray, pose: FloatArray, best: FloatArray) -> list[FloatArray]:
        """Other valid IK solutions of ``pose`` in ``best``'s posture class (elbow, wrist), cheapest
        first. Seeds: ``best`` mirrored to the UR's other shoulder branch (the base half a turn
        round, shoulder and elbow reflected, the wrist keeping the tool's direction), then random
        postures."""
        flags = posture_flags(self.model, best)
        lim = self.model.limits
        rng = np.random.default_rng(_ALT_SEED)
        q1, q2 = -np.pi - best[1], -best[2]
        mirrored = [np.array([best[0] + turn, q1, q2, best[1] + best[2] + best[3] - np.pi - q1 - q2, -best[4],
                              best[5]]) for turn in (np.pi, -np.pi)]
        randoms = [rng.uniform(np.maximum(lim.lower, -np.pi), np.minimum(lim.upper, np.pi))
                   for _ in range(_ALT_IK_SEEDS)]
        found: list[FloatArray] = []
        for seed in [*mirrored, *randoms]:
            sol = self.ik.solve_from(pose, np.clip(seed, lim.lower, lim.upper))
            if sol is None:
                continue
            q = nearest_equivalent(sol.q, start, lim.lower, lim.upper)
            if (np.max(np.abs(q - best)) < 0.1 or any(np.max(np.abs(q - f)) < 0.1 for f in found)
                    or posture_flags(self.model, q) != flags or not self.checker.is_valid(q)):
                continue
            found.append(q)
        return sorted(found, key=lambda q: solution_cost(self.model, q, start, self.joint_weights))

    def _transits(self, subspace: LevelSubspace | None) -> ViaChains:
        """Raised-via chains for a move (in the carrying subspace when there is one)."""
        fk = self.model.tcp_pose

        def raise_to(q: FloatArray, z: float) -> FloatArray | None:
            pose = fk(q)
            pose[2, 3] = z
            sol = self.ik.solve_from(pose, q)
            if sol is None:
                return None
            lim = self.model.limits
            return nearest_equivalent(sol.q, q, lim.lower, lim.upper)

        return lambda start, goal: transit_chains(fk, raise_to, start, goal, self.transit_clearances,
                                                   subspace=subspace)

    def _plan_linear(self, start: FloatArray, pose: FloatArray, t0: float) -> PlanResult:
        if not self.checker.is_valid(start):
            return PlanFailure(FailureReason.START_IN_COLLISION, 'start state collides')
        pts = straight_line_path(self.ik, self.checker, start, pose, step=self.cartesian_step)
        if isinstance(pts, PlanFailure):
            return pts
        self.stats.planner = 'linear'
        t1 = time.perf_counter()
        self.stats.path_ms = (t1 - t0) * 1e3
        traj = self._time_parametrize(pts, smooth_check=False)
        self.stats.timing_ms = (time.perf_counter() - t1) * 1e3
        return traj

    def _time_parametrize(self, waypoints: FloatArray, *, smooth_check: bool) -> JointTrajectory | PlanFailure:
        """toppra through the waypoints; for sparse (sampled) paths, check the smoothed curve and
        densify the polyline when the spline cut a corner into an obstacle; if that keeps failing,
        stop at each vertex (slower, but exactly the collision-checked path)."""
        lim = self.model.limits
        pts = waypoints
        for _ in range(_MAX_SMOOTHING_RETRIES + 1):
            traj = parametrize(pts, lim.velocity, lim.acceleration, self.joint_names, sample_dt=self.sample_dt)
            if not smooth_check or self.checker.path_valid(traj.positions):
                return traj
            pts = _densify(pts, 2)
        # last resort: stop at every vertex, so the timed path is exactly the checked polyline
        parts = [parametrize(np.stack([a, b]), lim.velocity, lim.acceleration, self.joint_names,
                             sample_dt=self.sample_dt) for a, b in itertools.pairwise(waypoints)]
        return concatenate(parts)


def _densify(pts: FloatArray, factor: int) -> FloatArray:
    """Insert ``factor - 1`` evenly spaced points into every segment of the polyline."""
    out = [pts[0]]
    for a, b in itertools.pairwise(pts):
        out.extend(a + (b - a) * (k / factor) for k in range(1, factor + 1))
    return np.stack(out)
