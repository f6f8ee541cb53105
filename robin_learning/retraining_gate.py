"""Register-or-refuse rule for a retrained model, and its report (JSON + markdown).

The candidate must be *not worse where it matters* on the frozen test set (each guarded metric
may drop by at most its tolerance) and must *improve on the new hard cases* (the held-out share
of annotated queue frames: what the retraining was for). A missing or NaN metric refuses: a
gate that cannot measure must not pass.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GateConfig:
    """Per-metric tolerances.

    Attributes:
        guarded: frozen-test metric -> largest allowed drop (absolute, candidate vs current).
        hard_metrics: hard-case metrics that must improve.
        min_hard_gain: required improvement of the *mean* of ``hard_metrics`` (absolute).
        max_hard_drop: no single hard metric may drop by more than this.
    """

    guarded: dict[str, float] = field(default_factory=lambda: {
        'recall_pickable': 0.005, 'type_accuracy': 0.01, 'ap50_all': 0.01})
    hard_metrics: tuple[str, ...] = ('recall_all', 'type_accuracy')
    min_hard_gain: float = 0.005
    max_hard_drop: float = 0.01

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GateConfig:
        base = cls()
        return cls(guarded={k: float(v) for k, v in d.get('guarded', base.guarded).items()},
                   hard_metrics=tuple(d.get('hard_metrics', base.hard_metrics)),
                   min_hard_gain=float(d.get('min_hard_gain', base.min_hard_gain)),
                   max_hard_drop=float(d.get('max_hard_drop', base.max_hard_drop)))


@dataclass
class MetricCheck:
    name: str
    scope: str  # 'frozen_test' or 'hard_cases'
    current: float | None
    candidate: float | None
    delta: float | None
    limit: str
    passed: bool


@dataclass
class GateDecision:
    register: bool
    reasons: list[str]
    checks: list[MetricCheck]
    hard_gain: float | None

    def as_dict(self) -> dict[str, Any]:
        return {'register': self.register, 'reasons': self.reasons, 'hard_gain': self.hard_gain,
                'checks': [asdict(c) for c in self.checks]}


def _num(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def decide(current: dict[str, Any], candidate: dict[str, Any], current_hard: dict[str, Any],
           candidate_hard: dict[str, Any], config: GateConfig = GateConfig()) -> GateDecision:
    """Compare eval results (``robin_perception.evaluate`` JSON) and decide."""
    checks, reasons = [], []
    for name, tol in config.guarded.items():
        a, b = _num(current, name), _num(candidate, name)
        if a is None or b is None:
            checks.append(MetricCheck(name, 'frozen_test', a, b, None, f'drop <= {tol}', False))
            reasons.append(f'{name}: not measured on the frozen test set (missing or NaN)')
            continue
        ok = b >= a - tol
        checks.append(MetricCheck(name, 'frozen_test', a, b, b - a, f'drop <= {tol}', ok))
        if not ok:
            reasons.append(f'{name} dropped {a - b:.4f} on the frozen test set (tolerance {tol})')
    gains = []
    for name in config.hard_metrics:
        a, b = _num(current_hard, name), _num(candidate_hard, name)
        if a is None or b is None:
            checks.append(MetricCheck(name, 'hard_cases', a, b, None, 'measured', False))
            reasons.append(f'{name}: not measured on the hard cases (missing or NaN)')
            continue
        ok = b >= a - config.max_hard_drop
        checks.append(MetricCheck(name, 'hard_cases', a, b, b - a, f'drop <= {config.max_hard_drop}', ok))
        gains.append(b - a)
        if not ok:
            reasons.append(f'{name} dropped {a - b:.4f} on the hard cases (tolerance {config.max_hard_drop})')
    hard_gain = sum(gains) / len(gains) if gains and len(gains) == len(config.hard_metrics) else None
    if hard_gain is not None and hard_gain < config.min_hard_gain:
        reasons.append(f'no improvement on the hard cases: mean gain {hard_gain:+.4f} < {config.min_hard_gain}')
    return GateDecision(not reasons, reasons or ['not worse on the frozen test set and better on the hard cases'],
                        checks, hard_gain)


def _fmt(v: float | None) -> str:
    return '-' if v is None else f'{v:.4f}'


def write_report(decision: GateDecision, out_dir: Path, context: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``gate_report.json`` and ``gate_report.md`` into ``out_dir``; return both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / 'gate_report.json'
    js.write_text(json.dumps({**context, 'decision': decision.as_dict()}, indent=2, default=str) + '\n')
    verdict = 'REGISTER' if decision.register else 'REFUSE'
    lines = [f'# Retraining gate: {verdict}', '']
    lines += [f'- {k}: `{v}`' for k, v in context.items() if not isinstance(v, dict | list)]
    lines += ['', '| scope | metric | current | candidate | delta | limit | pass |', '|---|---|---:|---:|---:|---|---|']
    for c in decision.checks:
        lines.append(f'| {c.scope} | {c.name} | {_fmt(c.current)} | {_fmt(c.candidate)} | {_fmt(c.delta)} | '
                     f'{c.limit} | {"yes" if c.passed else "**no**"} |')
    lines += ['', f'Mean hard-case gain: {_fmt(decision.hard_gain)}', '', '## Reasons', '']
    lines += [f'- {r}' for r in decision.reasons]
    md = out_dir / 'gate_report.md'
    md.write_text('\n'.join(lines) + '\n')
    return js, md
