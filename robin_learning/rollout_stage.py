"""Apply rollout decisions to the model registry's aliases (the cells follow the aliases)."""

from __future__ import annotations

from robin_learning.registry import ModelRegistry
from robin_learning.rollout_policy import RolloutDecision


def start_canary(registry: ModelRegistry, candidate: str = 'candidate') -> str:
    """Point ``canary`` at ``candidate``; return the version now on canary cells."""
    return registry.promote('canary', candidate)


def finish_rollout(registry: ModelRegistry, decision: RolloutDecision) -> str | None:
    """Promote: ``production`` := canary's version. Rollback: ``canary`` := production's version.

    Returns the version every cell should run next, or None while waiting.
    """
    if decision.action == 'wait':
        return None
    if decision.action == 'promote':
        return registry.promote('production', 'canary')
    return registry.promote('canary', 'production')
