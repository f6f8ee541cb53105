"""Collision-free joint-space paths: the direct segment first, OMPL RRTConnect when it collides.

Most moves in the cell are free (the arm swings over the belt and the station), so a straight
joint-space segment is tried first; only when it collides does RRTConnect search, followed by
OMPL's path simplification (shortcutting) within what is left of the time budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from ompl import base as ob
from ompl import geometric as og
from ompl import util as ou

from robin_grasp.motion.carry_constraint import LevelSubspace
from robin_grasp.motion.collision import CollisionChecker
from robin_grasp.motion.interface import FailureReason, FloatArray, PlanFailure

ou.setLogLevel(ou.LogLevel.LOG_WARN)  # OMPL logs every solve at INFO to stdout

#: detail of the failure of a plan without the sampling planner whose direct and via paths collide
NO_CHEAP_PATH = 'neither the direct segment nor a raised via path is free'


@dataclass(frozen=True)
class JointPath:
    """A collision-checked piecewise-linear joint path.

    Attributes:
        waypoints: (N, dof) vertices [rad].
        planner: 'direct', 'via' or 'rrtconnect'.
        planning_time: Wall time spent [s].
    """

    waypoints: FloatArray
    planner: str
    planning_time: float


class JointPathPlanner:
    """Direct segment, else RRTConnect + simplification.

    Args:
        checker: Collision checker (its current scene applies).
        bounds_margin: The search box is the start/goal box widened by this [rad], within the
            joint limits; keeps RRTConnect from exploring the far side of ±2π wrist ranges.
        simplify_fraction: Share of the remaining time budget given to path simplification.
        use_ompl: False gives the direct-only baseline.
    """

    def __init__(
        self,
        checker: CollisionChecker,
        *,
        bounds_margin: float = 1.5,
        simplify_fraction: float = 0.3,
        use_ompl: bool = True,
    ) -> None:
        self.checker = checker
        self.bounds_margin = bounds_margin
        self.simplify_fraction = simplify_fraction
        self.use_ompl = use_ompl

    def plan(
        self,
        start: FloatArray,
        goal: FloatArray,
        timeout_s: float,
        via: Callable[[FloatArray, FloatArray], Iterable[Sequence[FloatArray]]] | None = None,
        subspace: LevelSubspace | None = None,
        *,
        cheap: bool = True,
        sampling: bool = True,
    ) -> JointPath | PlanFailure:
        """A valid path start → goal [rad] within ``timeout_s`` [s] of wall time, or a failure.

        Args:
            via: Optional generator of via chains (start → via states → goal), tried in order
                after the direct segment and before the sampling planner.
            subspace: The sampling planner searches this linear subspace of joint space (through
                start and goal) instead of all of it: a carried package's tilt stays put.
            cheap: Try the direct segment and the via chains (False: they were tried already).
            sampling: Run the sampling planner when they fail (False: fail with
                :data:`NO_CHEAP_PATH` instead, so a caller can try another goal first).
        """
        t0 = time.perf_counter()
        cc = self.checker
        if not cc.is_valid(start):
            return PlanFailure(FailureReason.START_IN_COLLISION, cc.describe(start))
        if not cc.is_valid(goal):
            return PlanFailure(FailureReason.GOAL_IN_COLLISION, cc.describe(goal))
        if cheap and cc.segment_valid(start, goal):
            return JointPath(np.stack([start, goal]), 'direct', time.perf_counter() - t0)
        if cheap and via is not None:
            for chain in via(start, goal):
                if time.perf_counter() - t0 > timeout_s:
                    break
                pts = np.stack([start, *chain, goal])
                if cc.path_valid(pts):
                    return JointPath(pts, 'via', time.perf_counter() - t0)
        if not self.use_ompl:
            return PlanFailure(FailureReason.UNREACHABLE, 'direct path collides and the sampling planner is off')
        if not sampling:
            return PlanFailure(FailureReason.UNREACHABLE, NO_CHEAP_PATH)
        remaining = timeout_s - (time.perf_counter() - t0)
        if remaining <= 0:
            return PlanFailure(FailureReason.PLANNING_TIMEOUT, 'no time left for the sampling planner')
        waypoints = self._rrt_connect(start, goal, remaining, subspace)
        if isinstance(waypoints, PlanFailure):
            return waypoints
        return JointPath(waypoints, 'rrtconnect', time.perf_counter() - t0)

    def _rrt_connect(self, start: FloatArray, goal: FloatArray, budget: float,
                     subspace: LevelSubspace | None = None) -> FloatArray | PlanFailure:
        cc = self.checker
        lim = cc.model.limits
        if subspace is None:
            lift: Callable[[FloatArray], FloatArray] = lambda u: u  # noqa: E731 - identity
            u_start, u_goal = start, goal
            lim_lo, lim_hi = lim.lower, lim.upper
        else:
            lift = subspace.lift
            u_start, u_goal = subspace.start_u, subspace.goal_u
            lim_lo, lim_hi = subspace.bounds(lim.lower, lim.upper)
        dof = len(u_start)
        space = ob.RealVectorStateSpace(dof)
        bounds = ob.RealVectorBounds(dof)
        lo = np.maximum(lim_lo, np.minimum(u_start, u_goal) - self.bounds_margin)
        hi = np.minimum(lim_hi, np.maximum(u_start, u_goal) + self.bounds_margin)
        for j in range(dof):
            bounds.setLow(j, float(lo[j]))
            bounds.setHigh(j, float(hi[j]))
        space.setBounds(bounds)
        setup = og.SimpleSetup(space)
        setup.setStateValidityChecker(lambda s: cc.is_valid(lift(np.array(s[0:dof]))))
        si = setup.getSpaceInformation()
        # OMPL's motion check resolution is a fraction of the space extent (in a subspace a step
        # moves q4 by up to the q2 and q3 steps together: half the step)
        step = cc.segment_step / (1.0 if subspace is None else 2.0)
        si.setStateValidityCheckingResolution(min(0.5, step / space.getMaximumExtent()))
        s_state, g_state = si.allocState(), si.allocState()
        s_state[0:dof] = u_start.tolist()
        g_state[0:dof] = u_goal.tolist()
        setup.setStartAndGoalStates(s_state, g_state)
        setup.setPlanner(og.RRTConnect(si))
        # OMPL checks motions at its own sample points; our checker (which the executor and every
        # later re-check use) samples differently, so a grazing path can pass one and not the other.
        # Only a path that passes cc.path_valid is returned: the simplified one, else the raw one,
        # else search again while the budget lasts.
        deadline = time.perf_counter() + budget
        while (left := deadline - time.perf_counter()) > 0.01:
            setup.clear()
            search_time = left * (1.0 - self.simplify_fraction)
            setup.solve(search_time)
            if not setup.haveExactSolutionPath():
                break
            raw = self._waypoints(setup.getSolutionPath(), start, goal, dof, lift)
            simplify_time = deadline - time.perf_counter()
            if simplify_time > 0.005:
                setup.simplifySolution(simplify_time)
            for pts in (self._waypoints(setup.getSolutionPath(), start, goal, dof, lift), raw):
                if cc.path_valid(pts):
                    return pts
        return PlanFailure(FailureReason.PLANNING_TIMEOUT,
                           f'RRTConnect found no checked path in {budget:.3f} s')

    @staticmethod
    def _waypoints(path: og.PathGeometric, start: FloatArray, goal: FloatArray, dof: int,
                   lift: Callable[[FloatArray], FloatArray]) -> FloatArray:
        pts = np.array([lift(np.array(path.getState(i)[0:dof])) for i in range(path.getStateCount())])
        pts[0], pts[-1] = start, goal  # exact ends (the goal may lie a hair off the subspace)
        return pts
