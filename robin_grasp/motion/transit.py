"""Transits over low obstacles: the direct joint path with one or two of its states raised.

Almost every move of a pick cell goes from low over one fixture (the pile, the drive robot) to low
over another, with obstacles between them lower than the air over the higher end: the pile the
package was lifted from, packages beyond the pile map, the rails. The straight joint segment sweeps
the tool through them (a transfer drags the package over the pile while it already descends); a
sampling planner finds a way round but costs hundreds of milliseconds on this CPU (docs/motion.md,
"Transits"). An integrator would teach a via state: a point of the direct joint path, a quarter of
the way from the higher end, raised to that end's height (or a little more), so the arm stays high
until it is clear and the base swing sets the pace. Two raised states, or the ends themselves
raised (straight up, straight down), are for when one is not enough. Each candidate is checked
like any path; the first valid one wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from robin_grasp.motion.carry_constraint import LevelSubspace
from robin_grasp.motion.interface import FloatArray

#: Via positions along the direct joint path, as fractions of it from the higher end, in the order
#: tried (0 and 1: over the ends themselves).
VIA_PATTERNS: tuple[tuple[float, ...], ...] = ((0.35,), (0.2,), (0.5,), (0.25, 0.75), (0.0, 1.0))
#: A via already this close below the transit height [m] is not raised.
_RAISE_EPS = 0.01


def transit_chains(
    fk: Callable[[FloatArray], FloatArray],
    raise_to: Callable[[FloatArray, float], FloatArray | None],
    start: FloatArray,
    goal: FloatArray,
    clearances: Sequence[float],
    *,
    subspace: LevelSubspace | None = None,
    patterns: Sequence[tuple[float, ...]] = VIA_PATTERNS,
) -> Iterator[list[FloatArray]]:
    """Via chains [rad] for a move start → goal over low obstacles: per pattern, per clearance.

    Args:
        fk: Joints → tcp pose (4×4, base_link).
        raise_to: (joints, z) → joints with the tcp at the same x, y and orientation at height z
            [m], or None when out of reach.
        start, goal: The move's ends [rad].
        clearances: Transit heights above the higher end [m], lowest first.
        subspace: A carrying move's level subspace: the vias are projected onto it, so the whole
            chain keeps the package's tilt (segments between its states stay in it).
        patterns: Via positions along the direct joint path from the higher end, tried in order.
    """
    z_start, z_goal = float(fk(start)[2, 3]), float(fk(goal)[2, 3])
    from_goal = z_goal > z_start
    for pattern in patterns:
        fractions = sorted(1.0 - f if from_goal else f for f in pattern)
        for c in clearances:
            z = max(z_start, z_goal) + float(c)
            chain = []
            for f in fractions:
                q = start + (goal - start) * f
                if float(fk(q)[2, 3]) >= z - _RAISE_EPS:
                    continue
                raised = raise_to(q, z)
                if raised is None:
                    break
                chain.append(raised if subspace is None else subspace.lift(subspace.coordinates(raised)))
            else:
                if chain:
                    yield chain
