"""Staged rollout: which cells run the canary, and when to promote it or roll it back.

The canary group (cells on alias ``canary``) is compared with the baseline group (alias
``production``) over the same window. Per metric:

- pick success and QA-flag rate (proportions): *worse* means beyond the tolerance **and**
  significantly so (one-sided two-proportion z test at ``z``); worse but not yet significant
  keeps waiting, up to ``max_picks`` per group, where the rule turns conservative (roll back).
- decision latency p50: the canary's median may exceed the baseline's by at most a relative
  tolerance; beyond it, it is worse when also significant (one-sided Mann-Whitney U at ``z``);
  p99 (same tolerance idea, no test) only once both groups have ``min_p99_samples`` samples —
  a 99th percentile of a few dozen samples is just the maximum.
- pick rate (only when the windows carry ``exposure_s``, the time the cell ran): a canary that
  attempts picks at less than ``min_rate_ratio`` of the baseline's rate per cell-second, and
  significantly so (one-sided exact binomial test of the canary's share of all picks against its
  share of the exposure, p < ``rate_alpha``), is rolled back even before ``min_picks``: a model
  that sees nothing stalls its cell instead of failing picks.

Proportions use the pooled two-proportion z statistic (the variance under "no difference"), so a
canary with 0 failures or 0 successes in a small window does not look infinitely certain.
Too few picks in either group (``min_picks``) -> wait. Nothing worse -> promote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import stats

Action = Literal['promote', 'rollback', 'wait']


@dataclass
class CellWindow:
    """One cell's picks over the comparison window."""

    cell_id: str
    picks: int = 0
    successes: int = 0
    qa_flags: int = 0
    decision_ms: list[float] = field(default_factory=list)
    exposure_s: float = 0.0  # how long the cell ran in the window (0: unknown, no pick-rate rule)


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
    min_p99_samples: int = 100
    min_rate_ratio: float = 0.5
    rate_alpha: float = 0.01


@dataclass
class GroupStats:
    picks: int
    success_rate: float
    qa_rate: float
    latency_p50_ms: float
    latency_p99_ms: float
    exposure_s: float = 0.0
    picks_per_hour: float = math.nan  # per cell-hour of exposure


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
    exposure = sum(w.exposure_s for w in windows)
    return GroupStats(
        picks=picks,
        exposure_s=exposure,
        picks_per_hour=picks / exposure * 3600.0 if exposure > 0 else math.nan,
        success_rate=sum(w.successes for w in windows) / picks if picks else math.nan,
        qa_rate=sum(w.qa_flags for w in windows) / picks if picks else math.nan,
        latency_p50_ms=float(np.percentile(lat, 50)) if lat.size else math.nan,
        latency_p99_ms=float(np.percentile(lat, 99)) if lat.size else math.nan,
    )


def _worse_rate(name: str, canary: float, base: float, *, nc: int, nb: int, tol: float, z: float,
                higher_is_better: bool) -> tuple[bool, bool, str]:
    """(worse beyond tolerance, significantly so, explanation)."""
    d = (canary - base) if higher_is_better else (base - canary)  # < 0: canary worse
    pooled = (canary * nc + base * nb) / (nc + nb)
    se = math.sqrt(max(pooled * (1 - pooled), 1e-9) * (1 / nc + 1 / nb))
    worse = d < -tol
    return worse, worse and d / se < -z, f'{name} canary {canary:.3f} vs baseline {base:.3f} (z {d / se:+.2f})'


def _rate_rule(c: GroupStats, b: GroupStats, policy: RolloutPolicy) -> str | None:
    """Reason to roll back because the canary attempts far fewer picks per cell-second, or None."""
    if not (c.exposure_s > 0 and b.exposure_s > 0) or b.picks < policy.min_picks:
        return None
    ratio = (c.picks / c.exposure_s) / (b.picks / b.exposure_s)
    share = c.exposure_s / (c.exposure_s + b.exposure_s)
    p = float(stats.binom.cdf(c.picks, c.picks + b.picks, share))
    if ratio < policy.min_rate_ratio and p < policy.rate_alpha:
        return (f'pick rate canary {c.picks_per_hour:.0f}/h vs baseline {b.picks_per_hour:.0f}/h per cell '
                f'(ratio {ratio:.2f} < {policy.min_rate_ratio}, binomial p {p:.2g})')
    return None


def _latency_rules(canary: Sequence[CellWindow], baseline: Sequence[CellWindow], c: GroupStats, b: GroupStats,
                   policy: RolloutPolicy) -> list[str]:
    out = []
    if math.isfinite(c.latency_p50_ms) and math.isfinite(b.latency_p50_ms) \
            and c.latency_p50_ms > b.latency_p50_ms * (1 + policy.latency_p50_tolerance):
        xc = np.concatenate([np.asarray(w.decision_ms, float) for w in canary])
        xb = np.concatenate([np.asarray(w.decision_ms, float) for w in baseline])
        p = float(stats.mannwhitneyu(xc, xb, alternative='greater').pvalue)
        if p < float(stats.norm.sf(policy.z)):
            out.append(f'decision latency p50 canary {c.latency_p50_ms:.1f} ms vs baseline {b.latency_p50_ms:.1f} ms '
                       f'(> +{policy.latency_p50_tolerance:.0%}, Mann-Whitney p {p:.2g})')
    n_c = sum(len(w.decision_ms) for w in canary)
    n_b = sum(len(w.decision_ms) for w in baseline)
    p99_limit = b.latency_p99_ms * (1 + policy.latency_p99_tolerance)
    if min(n_c, n_b) >= policy.min_p99_samples and math.isfinite(c.latency_p99_ms) \
            and math.isfinite(b.latency_p99_ms) and c.latency_p99_ms > p99_limit:
        out.append(f'decision latency p99 canary {c.latency_p99_ms:.1f} ms vs baseline {b.latency_p99_ms:.1f} ms '
                   f'(> +{policy.latency_p99_tolerance:.0%})')
    return out


def decide_rollout(canary: Sequence[CellWindow], baseline: Sequence[CellWindow],
                   policy: RolloutPolicy = RolloutPolicy()) -> RolloutDecision:
    """Promote, roll back, or wait for more picks."""
    c, b = group_stats(canary), group_stats(baseline)
    if (stalled := _rate_rule(c, b, policy)) is not None:
        return RolloutDecision('rollback', [stalled], c, b)
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
    rollback += _latency_rules(canary, baseline, c, b, policy)
    if rollback:
        return RolloutDecision('rollback', rollback, c, b)
    if pending:
        if c.picks >= policy.max_picks:
            return RolloutDecision('rollback', [*pending, f'still inconclusive after {c.picks} picks'], c, b)
        return RolloutDecision('wait', pending, c, b)
    return RolloutDecision('promote', ['canary not worse than baseline on success, QA rate, latency and pick rate'],
                           c, b)
