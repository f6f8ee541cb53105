"""Inline SVG for the audit pages (no JavaScript, nothing fetched at run time)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from html import escape
from itertools import pairwise
from typing import Any

OUTCOME_COLORS = {'succeeded': '#2e9d4f', 'failed': '#d64541', 'aborted': '#e08a1e', 'interrupted': '#8e7cc3',
                  'in_progress': '#9aa0a6'}


def _label(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime('%m-%d %H:%M')


def outcome_chart(width_ns: int, rows: list[dict[str, Any]], w: int = 560, h: int = 170) -> str:
    """Stacked bars: picks per time bucket by outcome."""
    if not rows:
        return '<p class="muted">no picks in this range</p>'
    per: dict[int, dict[str, int]] = defaultdict(dict)
    for r in rows:
        per[r['bucket']][r['outcome']] = r['n']
    buckets = sorted(per)
    top = max(sum(v.values()) for v in per.values())
    pad, bw = 30, (w - 40) / max(len(buckets), 1)
    parts = [f'<svg class="chart" id="outcome-chart" viewBox="0 0 {w} {h}" role="img" aria-label="outcomes over time">']
    for k, b in enumerate(buckets):
        y = h - pad
        for outcome, n in sorted(per[b].items()):
            bh = (h - pad - 10) * n / top
            y -= bh
            parts.append(f'<rect x="{35 + k * bw:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}" height="{bh:.1f}" '
                         f'fill="{OUTCOME_COLORS.get(outcome, "#555")}"><title>{escape(_label(b))} {outcome}: {n}'
                         f'</title></rect>')
    parts.append(f'<text x="2" y="14" class="axis">{top}</text><text x="2" y="{h - pad}" class="axis">0</text>')
    parts.append(f'<text x="35" y="{h - 8}" class="axis">{_label(buckets[0])}</text>')
    end = _label(buckets[-1] + width_ns)
    parts.append(f'<text x="{w - 5}" y="{h - 8}" class="axis" text-anchor="end">{end}</text>')
    legend = ' '.join(f'<tspan fill="{c}">■ {o}</tspan>' for o, c in OUTCOME_COLORS.items())
    parts.append(f'<text x="{w // 2}" y="{h - 8}" class="axis" text-anchor="middle">{legend}</text></svg>')
    return ''.join(parts)


def latency_chart(rows: list[dict[str, Any]], w: int = 560, h: int = 170) -> str:
    """Mean and max cycle time per bucket [ms]."""
    agg: dict[int, list[float]] = {}
    for r in rows:
        if r['avg_ms'] is None:
            continue
        a = agg.setdefault(r['bucket'], [0.0, 0.0, 0.0])  # sum, n, max
        a[0] += r['avg_ms'] * r['n']
        a[1] += r['n']
        a[2] = max(a[2], r['max_ms'])
    if not agg:
        return '<p class="muted">no cycle times recorded</p>'
    buckets = sorted(agg)
    top = max(v[2] for v in agg.values()) or 1.0
    pad = 30

    def pts(values: list[float]) -> str:
        step = (w - 45) / max(len(values) - 1, 1)
        return ' '.join(f'{40 + i * step:.1f},{h - pad - (h - pad - 10) * v / top:.1f}' for i, v in enumerate(values))

    mean = [agg[b][0] / agg[b][1] for b in buckets]
    peak = [agg[b][2] for b in buckets]
    return (f'<svg class="chart" id="latency-chart" viewBox="0 0 {w} {h}" role="img" aria-label="cycle time">'
            f'<polyline fill="none" stroke="#d64541" stroke-width="1.5" points="{pts(peak)}"/>'
            f'<polyline fill="none" stroke="#1a73e8" stroke-width="2" points="{pts(mean)}"/>'
            f'<text x="2" y="14" class="axis">{top:.0f} ms</text><text x="2" y="{h - pad}" class="axis">0</text>'
            f'<text x="40" y="{h - 8}" class="axis">{_label(buckets[0])}</text>'
            f'<text x="{w // 2}" y="{h - 8}" class="axis" text-anchor="middle"><tspan fill="#1a73e8">━ mean</tspan> '
            f'<tspan fill="#d64541">━ max</tspan> cycle time</text>'
            f'<text x="{w - 5}" y="{h - 8}" class="axis" text-anchor="end">{_label(buckets[-1])}</text></svg>')


def cup_grid(cup_mask: int, unhealthy: list[int], sealed: list[bool] | None, vacuum: list[float] | None) -> str:
    """The 8 suction cups as a 2 × 4 grid: on/off, sealed, unhealthy, vacuum [kPa]."""
    parts = ['<svg class="cups" id="cup-grid" viewBox="0 0 250 130" role="img" aria-label="suction cups">']
    for i in range(8):
        x, y = 30 + (i % 4) * 60, 32 + (i // 4) * 60
        on = bool(cup_mask >> i & 1)
        cls = 'cup on' if on else 'cup off'
        parts.append(f'<g class="{cls}" data-cup="{i}" data-on="{int(on)}"><title>cup {i}: {"on" if on else "off"}'
                     f'</title><circle cx="{x}" cy="{y}" r="22" fill="{"#2e9d4f" if on else "#d0d4d9"}" '
                     f'stroke="{"#d64541" if i in unhealthy else "#555"}" stroke-width="{4 if i in unhealthy else 1}"/>'
                     f'<text x="{x}" y="{y - 4}" text-anchor="middle" class="cupnum">{i}</text>')
        if vacuum is not None and i < len(vacuum):
            parts.append(f'<text x="{x}" y="{y + 11}" text-anchor="middle" class="cupval">{vacuum[i]:.0f} kPa</text>')
        if sealed is not None and i < len(sealed) and sealed[i]:
            parts.append(f'<circle cx="{x + 16}" cy="{y - 16}" r="4" fill="#1a73e8"><title>sealed</title></circle>')
        parts.append('</g>')
    parts.append('</svg>')
    return ''.join(parts)


def state_timeline(states: list[tuple[str, float]], w: int = 560, h: int = 44) -> str:
    """The pick's state machine phases as consecutive bars (durations from entry times)."""
    if len(states) < 2:
        return ''
    t0, t1 = states[0][1], states[-1][1]
    span = max(t1 - t0, 1e-6)
    palette = ('#1a73e8', '#2e9d4f', '#e08a1e', '#8e7cc3', '#d64541', '#00897b')
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="state timeline">']
    for k, ((name, t), (_, t_next)) in enumerate(pairwise(states)):
        x, bw = 5 + (w - 10) * (t - t0) / span, (w - 10) * (t_next - t) / span
        parts.append(f'<rect x="{x:.1f}" y="4" width="{max(bw, 1):.1f}" height="20" fill="{palette[k % 6]}">'
                     f'<title>{escape(name)}: {t_next - t:.2f} s</title></rect>'
                     f'<text x="{x + 2:.1f}" y="38" class="axis">{escape(name)} {t_next - t:.2f}s</text>')
    parts.append('</svg>')
    return ''.join(parts)
