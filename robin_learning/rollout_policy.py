"""Staged rollout: which cells run the canary, and when to promote it or roll it back.

The canary group (cells on alias ``canary``) is compared with the baseline group (alias
``production``) over the same window. Per metric:

- pick success and QA-flag rate (proportions): *worse* means beyond the tolerance **and**
  significantly so (one-sided two-proportion z test at ``z``); worse but not yet significant
  keeps waiting, up to ``max_picks`` per group, where the rule turns conservative (roll back).
- decision latency p50 and p99: the canary's percentile may exceed the baseline's by at most a
  relative tolerance (latency samples are plentiful; the percentiles are stable).

Too few picks in either group (``min_picks``) -> wait. Nothing worse -> promote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Action = Literal['promote', 'rollback', 'wait']


@dataclass
class CellWindow:
    """One cell's picks over the comparison window."""

    cell_id: str
    picks: int = 0
    successes: int = 0
    qa_flags: int = 0
    decision_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class RolloutPolicy:
    """Thresholds of the promote-or-rollback rule (tolerances are absolute for rates)."""

    canary_fraction: float = 0.25
    min_picks: int = 150
    max_picks: int = 3000
    success_tolerance: float = 0.01
    qa_tolerance: float = 0.01
    latency_p50_tolerance: float = 0.15
    latency_p99_tolerance: float = 0.30
    z: float = 1.645  # one-sided 95 %


@dataclass
class GroupStats:
    picks: int
    success_rate: float
    qa_rate: float
    latency_p50_ms: float
    latency_p99_ms: float


@dataclass
class RolloutDecision:
    action: Action
    reasons: list[str]
    canary: GroupStats
    baseline: GroupStats


def canary_cells(cells: Sequence[str], fraction: float) -> list[str]:
    """The cells that get the canary: ceil(fraction * N), at least one, never all (N > 1)."""
    if not cells:
        return []
    n = max(1, math.ceil(fraction * len(cells)))
    n = min(n, len(cells) - 1) if len(cells) > 1 else 1
    return list(sorted(cells)[:n])


def group_stats(windows: Sequence[CellWindow]) -> GroupStats:
    picks = sum(w.picks for w in windows)
    lat = np.concatenate([np.asarray(w.decision_ms, float) for w in windows]) if windows else np.zeros(0)
    return GroupStats(
        picks=picks,
        success_rate=sum(w.successes for w in windows) / picks if picks else math.nan,
        qa_rate=sum(w.qa_flags for w in windows) / picks if picks else math.nan,
        latency_p50_ms=float(np.percentile(lat, 50)) if lat.size else math.nan,
        latency_p99_ms=float(np.percentile(lat, 99)) if lat.size else math.nan,
    )


def _worse_rate(name: str, canary: float, base: float, *, nc: int, nb: int, tol: float, z: float,
                higher_is_better: bool) -> tuple[bool, bool, str]:
    """(worse beyond tolerance, significantly so, explanation)."""
    d = (canary - base) if higher_is_better else (base - canary)  # < 0: canary worse
    se = math.sqrt(max(canary * (1 - canary), 1e-9) / nc + max(base * (1 - base), 1e-9) / nb)
    worse = d < -tol
    return worse, worse and d / se < -z, f'{name} canary {canary:.3f} vs baseline {base:.3f} (z {d / se:+.2f})'


def decide_rollout(canary: Sequence[CellWindow], baseline: Sequence[CellWindow],
                   policy: RolloutPolicy = RolloutPolicy()) -> RolloutDecision:
    """Promote, roll back, or wait for more picks."""
    c, b = group_stats(canary), group_stats(baseline)
    if c.picks < policy.min_picks or b.picks < policy.min_picks:
        return RolloutDecision('wait', [f'too few picks: canary {c.picks}, baseline {b.picks} '
                                        f'(need {policy.min_picks} each)'], c, b)
    rollback, pending = [], []
    for name, cv, bv, tol, hib in (('pick success', c.success_rate, b.success_rate, policy.success_tolerance, True),
                                   ('QA-flag rate', c.qa_rate, b.qa_rate, policy.qa_tolerance, False)):
        worse, significant, text = _worse_rate(name, cv, bv, nc=c.picks, nb=b.picks, tol=tol, z=policy.z,
                                                higher_is_better=hib)
        if significant:
            rollback.append(f'{text}: worse beyond tolerance {tol}')
        elif worse:
            pending.append(f'{text}: worse than tolerance {tol}, not yet significant')
    for name, cv, bv, tol in (('decision latency p50', c.latency_p50_ms, b.latency_p50_ms,
                               policy.latency_p50_tolerance),
                              ('decision latency p99', c.latency_p99_ms, b.latency_p99_ms,
                               policy.latency_p99_tolerance)):
        if math.isfinite(cv) and math.isfinite(bv) and cv > bv * (1 + tol):
            rollback.append(f'{name} canary {cv:.1f} ms vs baseline {bv:.1f} ms (> +{tol:.0%})')
    if rollback:
        return RolloutDecision('rollback', rollback, c, b)
    if pending:
        if c.picks >= policy.max_picks:
            return RolloutDecision('rollback', [*pending, f'still inconclusive after {c.picks} picks'], c, b)
        return RolloutDecision('wait', pending, c, b)
    return RolloutDecision('promote', ['canary not worse than baseline on success, QA rate and latency'], c, b)
