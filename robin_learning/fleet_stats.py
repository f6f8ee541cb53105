"""Statistics of the fleet correlation report: rates with intervals, buckets, correlations."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass
class Bucket:
    """Failures and latency of one bucket (numeric range or category)."""

    label: str
    n: int
    failures: int
    rate: float
    ci_low: float
    ci_high: float
    latency_p50_ms: float


@dataclass
class FactorResult:
    """How one factor relates to failures and to decision latency.

    Attributes:
        failure_effect: |point-biserial r| (numeric) or Cramér's V (categorical).
        failure_p: its p-value (pointbiserialr / chi-square).
        latency_effect: |Spearman rho| (numeric) or epsilon² of Kruskal-Wallis (categorical).
        latency_p: its p-value.
        direction: sign of r / rho for numeric factors (+1 more failures/latency as it grows).
    """

    name: str
    kind: str
    n: int
    buckets: list[Bucket]
    failure_effect: float
    failure_p: float
    failure_direction: int
    latency_effect: float
    latency_p: float
    latency_direction: int


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (95 % by default)."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def _bucket(label: str, failed: np.ndarray, lat: np.ndarray) -> Bucket:
    n, k = int(failed.size), int(failed.sum())
    lo, hi = wilson(k, n)
    lat = lat[np.isfinite(lat)]
    return Bucket(label, n, k, k / n if n else math.nan, lo, hi, float(np.median(lat)) if lat.size else math.nan)


def numeric_buckets(x: np.ndarray, max_buckets: int = 5) -> list[tuple[str, np.ndarray]]:
    """(label, member mask) per value when few distinct values, else per quantile range."""
    values = np.unique(x)
    if values.size <= max_buckets + 1:
        return [(f'{v:g}', x == v) for v in values]
    edges = np.unique(np.quantile(x, np.linspace(0, 1, max_buckets + 1)))
    out = []
    for k in range(edges.size - 1):
        lo, hi = edges[k], edges[k + 1]
        m = (x >= lo) & ((x < hi) if k < edges.size - 2 else (x <= hi))
        out.append((f'[{lo:.3g}, {hi:.3g}{"]" if k == edges.size - 2 else ")"}', m))
    return out


def numeric_factor(name: str, x: np.ndarray, failed: np.ndarray, lat: np.ndarray) -> FactorResult | None:
    """Point-biserial (failures) and Spearman (latency) of a numeric factor; None if constant."""
    ok = np.isfinite(x)
    x, failed, lat = x[ok], failed[ok].astype(bool), lat[ok]
    if x.size < 3 or np.ptp(x) == 0:
        return None
    buckets = [_bucket(lbl, failed[m], lat[m]) for lbl, m in numeric_buckets(x)]
    r, p = (stats.pointbiserialr(failed, x) if 0 < failed.sum() < failed.size else (0.0, 1.0))
    lm = np.isfinite(lat)
    rho, lp = stats.spearmanr(x[lm], lat[lm]) if lm.sum() > 2 and np.ptp(lat[lm]) > 0 else (0.0, 1.0)
    return FactorResult(name, 'numeric', int(x.size), buckets, abs(float(r)), float(p), int(np.sign(r)),
                        abs(float(rho)), float(lp), int(np.sign(rho)))


def categorical_factor(name: str, cats: np.ndarray, failed: np.ndarray, lat: np.ndarray) -> FactorResult | None:
    """Chi-square / Cramér's V (failures) and Kruskal-Wallis (latency) of a categorical factor."""
    ok = np.array([c is not None and not (isinstance(c, float) and math.isnan(c)) for c in cats], bool)
    cats, failed, lat = cats[ok].astype(str), failed[ok].astype(bool), lat[ok]
    levels = sorted(set(cats))
    if len(levels) < 2:
        return None
    buckets = [_bucket(str(lv), failed[cats == lv], lat[cats == lv]) for lv in levels]
    table = np.array([[b.failures, b.n - b.failures] for b in buckets])
    if table[:, 0].sum() in (0, table.sum()):
        v, p = 0.0, 1.0
    else:
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
        v = math.sqrt(chi2 / table.sum())  # Cramér's V for a k x 2 table
    groups = [lat[(cats == lv) & np.isfinite(lat)] for lv in levels]
    groups = [g for g in groups if g.size]
    eps2, lp = 0.0, 1.0
    if len(groups) > 1 and np.ptp(np.concatenate(groups)) > 0:
        h, lp = stats.kruskal(*groups)
        n = sum(g.size for g in groups)
        eps2 = max(0.0, float(h - len(groups) + 1) / (n - len(groups))) if n > len(groups) else 0.0
    return FactorResult(name, 'categorical', int(cats.size), buckets, float(v), float(p), 0, eps2, float(lp), 0)
