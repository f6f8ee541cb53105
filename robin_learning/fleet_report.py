"""Fleet correlation report: which scene or machine properties go with failures and slow decisions.

Reads the Parquet dataset (:mod:`robin_learning.fleet_table`) with DuckDB, computes per factor
the failure rate per bucket with 95 % Wilson intervals, point-biserial / chi-square statistics
for failures and Spearman / Kruskal-Wallis for decision latency, and writes ``report.md``,
``report.json`` and one PNG per factor. A finding is a factor whose p-value is below ``alpha``
and whose effect size reaches ``min_effect`` (both reported, so a reader can judge).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from robin_learning.fleet_stats import FactorResult, categorical_factor, numeric_factor
from robin_learning.fleet_table import parquet_glob

NUMERIC = {'instance_count': 'clutter (instances in view)', 'lighting_lux': 'lighting [lux]',
           'belt_speed_mps': 'belt speed [m/s]', 'unhealthy_cups': 'unhealthy cups', 'confidence': 'target confidence'}
CATEGORICAL = {'package_type': 'package type', 'model_version': 'model version', 'cell_id': 'cell',
               'scenario': 'scenario'}


@dataclass(frozen=True)
class ReportConfig:
    alpha: float = 0.01
    min_effect: float = 0.1


def load(root: Path) -> dict[str, np.ndarray]:
    """All columns the report needs, via DuckDB over the Hive-partitioned Parquet files."""
    cols = ', '.join([*NUMERIC, *CATEGORICAL, 'failed', 'decision_ms'])
    rel = duckdb.sql(f"SELECT {cols} FROM read_parquet('{parquet_glob(root)}', hive_partitioning = true, "
                     f'union_by_name = true)')
    data = rel.fetchnumpy()
    out = {}
    for k, v in data.items():
        arr = np.ma.getdata(v) if not np.ma.isMaskedArray(v) else v.filled(np.nan if k in (*NUMERIC, 'decision_ms')
                                                                               else None)
        out[k] = np.asarray(arr)
    return out


def summary_sql(root: Path) -> list[dict[str, Any]]:
    """Failure rate, QA rate and latency per cell and model (one DuckDB query)."""
    q = (f"SELECT cell_id, model_version, count(*) AS picks, avg(failed::INT) AS failure_rate, "
         f"avg(qa_flagged::INT) AS qa_rate, quantile_cont(decision_ms, 0.5) AS decision_p50_ms, "
         f"quantile_cont(decision_ms, 0.99) AS decision_p99_ms "
         f"FROM read_parquet('{parquet_glob(root)}', hive_partitioning = true) "
         f"GROUP BY ALL ORDER BY cell_id, model_version")
    rel = duckdb.sql(q)
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def analyse(data: dict[str, np.ndarray]) -> list[FactorResult]:
    failed = data['failed'].astype(bool)
    lat = data['decision_ms'].astype(float)
    results = []
    for name in NUMERIC:
        r = numeric_factor(name, data[name].astype(float), failed, lat)
        if r:
            results.append(r)
    for name in CATEGORICAL:
        r = categorical_factor(name, data[name].astype(object), failed, lat)
        if r:
            results.append(r)
    return results


def findings(results: list[FactorResult], cfg: ReportConfig) -> list[dict[str, Any]]:
    """Significant relations, strongest first."""
    out = []
    for r in results:
        for target, eff, p, d in (('failures', r.failure_effect, r.failure_p, r.failure_direction),
                                  ('decision latency', r.latency_effect, r.latency_p, r.latency_direction)):
            if p < cfg.alpha and eff >= cfg.min_effect:
                out.append({'factor': r.name, 'target': target, 'effect': eff, 'p': p, 'direction': d})
    return sorted(out, key=lambda f: -f['effect'])


def plot_factor(r: FactorResult, out: Path) -> Path:
    import matplotlib as mpl  # noqa: PLC0415 - headless backend set before pyplot loads

    mpl.use('Agg')
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    x = np.arange(len(r.buckets))
    rate = np.array([b.rate for b in r.buckets])
    err = np.array([[b.rate - b.ci_low for b in r.buckets], [b.ci_high - b.rate for b in r.buckets]])
    ax.bar(x, rate, yerr=err, capsize=3, color='#c0504d', alpha=0.8, label='failure rate (95 % CI)')
    ax.set_ylabel('failure rate')
    ax.set_xticks(x, [b.label for b in r.buckets], rotation=20, fontsize=8)
    ax.set_title(f'{CATEGORICAL.get(r.name, NUMERIC.get(r.name, r.name))}: failures and decision latency', fontsize=10)
    ax2 = ax.twinx()
    ax2.plot(x, [b.latency_p50_ms for b in r.buckets], 'o-', color='#1f4e79', label='decision p50 [ms]')
    ax2.set_ylabel('decision latency p50 [ms]')
    fig.legend(loc='upper left', fontsize=8, bbox_to_anchor=(0.1, 0.9))
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def _f(v: float, nd: int = 3) -> str:
    return '-' if v is None or (isinstance(v, float) and math.isnan(v)) else f'{v:.{nd}f}'


def write_report(root: Path, out_dir: Path, cfg: ReportConfig = ReportConfig()) -> dict[str, Any]:
    """Analyse the dataset under ``root``; write report.md, report.json and PNGs to ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = load(root)
    results = analyse(data)
    found = findings(results, cfg)
    per_cell = summary_sql(root)
    lines = ['# Fleet correlation report', '',
             f"{len(data['failed'])} picks, failure rate {_f(float(np.mean(data['failed'])))}; "
             f'significance alpha {cfg.alpha}, minimum effect {cfg.min_effect}.', '', '## Findings', '']
    if not found:
        lines.append('No factor is significantly related to failures or decision latency.')
    for f in found:
        d = {1: 'higher values -> more', -1: 'higher values -> less', 0: 'differs by category:'}[f['direction']]
        lines.append(f"- **{f['factor']}** vs {f['target']}: effect {f['effect']:.3f}, p {f['p']:.2g} ({d} "
                     f"{f['target']})")
    lines += ['', '## Per cell and model', '', '| cell | model | picks | failure rate | QA rate | p50 ms | p99 ms |',
              '|---|---|---:|---:|---:|---:|---:|']
    lines += [f"| {r['cell_id']} | {r['model_version']} | {r['picks']} | {_f(r['failure_rate'])} | "
              f"{_f(r['qa_rate'])} | {_f(r['decision_p50_ms'], 1)} | {_f(r['decision_p99_ms'], 1)} |" for r in per_cell]
    for r in results:
        png = plot_factor(r, out_dir / f'{r.name}.png')
        lines += ['', f'## {CATEGORICAL.get(r.name, NUMERIC.get(r.name, r.name))} (`{r.name}`)', '',
                  f'failures: effect {_f(r.failure_effect)} (p {r.failure_p:.2g}); decision latency: effect '
                  f'{_f(r.latency_effect)} (p {r.latency_p:.2g})', '', f'![{r.name}]({png.name})', '',
                  '| bucket | picks | failures | rate | 95 % CI | decision p50 ms |', '|---|---:|---:|---:|---|---:|']
        lines += [f'| {b.label} | {b.n} | {b.failures} | {_f(b.rate)} | {_f(b.ci_low)}-{_f(b.ci_high)} | '
                  f'{_f(b.latency_p50_ms, 1)} |' for b in r.buckets]
    (out_dir / 'report.md').write_text('\n'.join(lines) + '\n')
    doc = {'picks': len(data['failed']), 'findings': found, 'per_cell_model': per_cell,
           'factors': [asdict(r) for r in results]}
    (out_dir / 'report.json').write_text(json.dumps(doc, indent=2, default=str) + '\n')
    return doc
