"""Choose which queued frames get the annotation budget: active (uncertainty) or random.

Both take the same candidates and budget, so the learning-curve benchmark compares them fairly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, TypeVar

import numpy as np

Strategy = Literal['active', 'random']


class Scored(Protocol):
    @property
    def priority(self) -> float: ...


T = TypeVar('T', bound=Scored)


def select_active(candidates: Sequence[T], budget: int) -> list[T]:
    """The ``budget`` most uncertain candidates (ties: earlier first, deterministic)."""
    if budget <= 0:
        return []
    order = sorted(range(len(candidates)), key=lambda i: (-candidates[i].priority, i))
    return [candidates[i] for i in order[:budget]]


def select_random(candidates: Sequence[T], budget: int, rng: np.random.Generator) -> list[T]:
    """``budget`` candidates drawn uniformly without replacement."""
    if budget <= 0 or not candidates:
        return []
    idx = rng.choice(len(candidates), size=min(budget, len(candidates)), replace=False)
    return [candidates[i] for i in sorted(idx)]


def select(candidates: Sequence[T], budget: int, strategy: Strategy, rng: np.random.Generator | None = None) -> list[T]:
    """Dispatch on ``strategy`` ('active' or 'random')."""
    if strategy == 'active':
        return select_active(candidates, budget)
    if strategy == 'random':
        return select_random(candidates, budget, rng if rng is not None else np.random.default_rng(0))
    raise ValueError(f"unknown selection strategy '{strategy}' (active, random)")
