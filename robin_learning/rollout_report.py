"""Rollout report of the real-cell demo: ``rollout_report.json`` + a markdown table."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def _f(x: float | None, nd: int = 3) -> str:
    return '–' if x is None or (isinstance(x, float) and not math.isfinite(x)) else f'{x:.{nd}f}'


def rollout_markdown(report: dict[str, Any]) -> str:
    """The stages as one table (canary vs baseline per metric) plus the reasons and the scale."""
    scale = report['scale']
    lines = ['# Staged rollout on real simulated cells', '',
             f"{scale['n_cells']} cells (separate process groups, ROS domains {scale['domains']}), canary "
             f"{', '.join(report['stages'][0]['canary_cells']) if report['stages'] else '-'}; "
             f"camera {scale['camera_hz']} Hz; at most {scale['max_stage_s']:.0f} s wall per stage on a "
             f"{scale['cpu_count']}-core machine shared with other jobs. Pick counts include every attempt "
             f'(plan failures too).', '',
             '| stage | candidate | action | wall s | canary picks | baseline picks | canary picks/h/cell | '
             'baseline picks/h/cell | canary success | baseline success | canary QA rate | baseline QA rate | '
             'canary p50 ms | baseline p50 ms | production after |',
             '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|']
    for s in report['stages']:
        c, b = s['canary'], s['baseline']
        lines.append(f"| {s['stage']} | {s['candidate']} | **{s['action']}** | {s['wall_s']:.0f} | {c['picks']} | "
                     f"{b['picks']} | {_f(c['picks_per_hour'], 0)} | {_f(b['picks_per_hour'], 0)} | "
                     f"{_f(c['success_rate'])} | {_f(b['success_rate'])} | {_f(c['qa_rate'])} | {_f(b['qa_rate'])} | "
                     f"{_f(c['latency_p50_ms'], 0)} | {_f(b['latency_p50_ms'], 0)} | "
                     f"{s['aliases_after'].get('production')} |")
    lines.append('')
    for s in report['stages']:
        lines.append(f"- **{s['stage']}** ({s['candidate']}: {s.get('candidate_notes', '')}): "
                     + '; '.join(s['reasons']) + (f" — cells down: {s['cells_died']}" if s['cells_died'] else ''))
    lines += ['', f"Correlation report of the same run: `{report.get('fleet_report', 'fleet_report/report.md')}`"]
    return '\n'.join(lines) + '\n'


def write_rollout_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / 'rollout_report.json', out_dir / 'rollout_report.md'
    js.write_text(json.dumps(report, indent=2, default=str) + '\n')
    md.write_text(rollout_markdown(report))
    return js, md
