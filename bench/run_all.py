"""``make bench``: every benchmark in turn, one combined table, ``bench/results/latest.json``.

Each benchmark is its own script (runnable alone, printing its own table next to its baseline);
this runs them as subprocesses with JSON output, then prints one table of the headline numbers,
each next to its baseline from the same run, and writes them to ``bench/results/latest.json``:

- ``latency_vs_packages``: camera→instances (segmentation pipeline, 640×480) p50/p99 vs packages
  5…60, model vs the depth-only geometric segmenter (``segmentation_latency.py``);
- ``grasp_plan_ms``: grasp planner vs the naive planner (largest instance, all 8 cups) per pile size
  (``grasp_planning.py``);
- ``motion_plan_ms``: direct + transits + RRTConnect, the same without transits, and direct
  interpolation only (``motion_planning.py``);
- ``picks_per_hour_sim``, ``pick_success``, ``qa_confusion``, ``memory_mb``, ``records``: short
  closed-loop runs of the whole simulated cell, as shipped vs depth-only segmentation and vs the naive
  grasp baseline (``closed_loop.py``);
- ``realtime_factor``: of that closed-loop run, next to the simulator alone (physics only, and physics +
  camera in its render thread; ``sim_rtf.py``);
- ``pick_store_query_ms``: audit list query, indexed vs unindexed (``pick_store_query.py``);
- ``payload_hold``: drops in simulated transfers slowed to the grasp's hold acceleration vs full speed
  (``payload_hold.py``).

    python bench/run_all.py [--only NAME ...] [--long] [--picks N] [--duration S]

The scripts' own JSON goes to ``results/latest_parts/``; a subset (``--only``) writes
``results/partial.json`` and ``results/partial_parts/`` so it never replaces a full run.

Defaults keep the whole run near 10–15 minutes on 2 cores; ``--long`` uses more frames, scenes,
plans and picks (about an hour).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / 'results'


def plan(long: bool, picks: int | None, duration: float | None) -> dict[str, list[str]]:
    """Arguments per benchmark (each also gets ``--json results/<out>_parts/<name>.json``)."""
    return {
        'segmentation_latency': ['--packages', '5', '10', '20', '40', '60', '--frames', '40' if long else '12'],
        'grasp_planning': ['--sizes', '5', '10', '20', '40', '60', '--scenes', '20' if long else '8'],
        'motion_planning': ['--n', '100' if long else '25'],
        'payload_hold': ['--masses', *(['1', '2', '3', '4', '6'] if long else ['2', '4', '6'])],
        'sim_rtf': ['--packages', '40', '--seconds', '5' if long else '3', '--frames', '15' if long else '0',
                    '--modes', 'physics', 'thread'],
        'pick_store_query': ['--records', '100000' if long else '20000', '--repeats', '30' if long else '10'],
        'closed_loop': ['--picks', str(picks or (40 if long else 6)),
                        '--duration', str(duration or (1800 if long else 240))],
    }


def json_flag(name: str) -> str:
    return '--out' if name == 'grasp_planning' else '--json'  # grasp_planning predates the others


def run(name: str, args: list[str], parts: Path) -> tuple[dict | None, float, int]:
    out = parts / f'{name}.json'  # the scripts' own default outputs stay as they are
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    print(f'\n== bench/{name}.py {" ".join(args)}', flush=True)
    t0 = time.monotonic()
    code = subprocess.run([sys.executable, str(HERE / f'{name}.py'), *args, json_flag(name), str(out)],
                          check=False).returncode
    secs = time.monotonic() - t0
    data = json.loads(out.read_text()) if out.is_file() else None
    return data, secs, code


def _p(v: float | None, digits: int = 1) -> str:
    return '-' if v is None or not math.isfinite(v) else f'{v:.{digits}f}'


def finite(value: object) -> object:
    """``value`` with NaN/inf replaced by None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def combine(results: dict[str, dict | None]) -> dict:
    """The headline numbers of ``latest.json`` from the benchmarks' own JSON."""
    out: dict = {}
    if seg := results.get('segmentation_latency'):
        out['latency_vs_packages'] = [
            {'packages': r['packages'], 'visible_mean': r['visible_mean'], 'frames': r['frames'],
             'model': {'p50_ms': r['model_p50_ms'], 'p99_ms': r['model_p99_ms']},
             'baseline_depth_only': {'p50_ms': r['geometric_p50_ms'], 'p99_ms': r['geometric_p99_ms']}}
            for r in seg['rows']]
    if gp := results.get('grasp_planning'):
        out['grasp_plan_ms'] = [
            {'packages': r['packages'], 'scenes': r['scenes'],
             'planner': {'p50_ms': r['planner_p50_ms'], 'p99_ms': r['planner_p99_ms'],
                         'picks': r['planner_picks'], 'upend': r['planner_upend'],
                         'overhang': r['planner_overhang'], 'double': r['planner_double']},
             'baseline_naive': {'p50_ms': r['baseline_p50_ms'], 'p99_ms': r['baseline_p99_ms'],
                                'picks': r['baseline_picks'], 'upend': r['baseline_upend'],
                                'overhang': r['baseline_overhang'], 'double': r['baseline_double']}}
            for r in gp['rows']]
    if mp := results.get('motion_planning'):
        keys = {'cell': 'planner', 'no_transits': 'planner_without_transits', 'direct_only': 'baseline_direct_only'}
        rows = {keys[r['key']]: r for r in mp['rows'] if r.get('key') in keys}
        out['motion_plan_ms'] = {k: {'p50_ms': r['p50_ms'], 'p99_ms': r['p99_ms'], 'success': r['success'],
                                     'cycle_s': r['cycle_s'], 'n': mp['n']} for k, r in rows.items()}
    cl = results.get('closed_loop')
    runs = (cl or {}).get('runs', {})
    model, base, naive = runs.get('model', {}), runs.get('depth_only', {}), runs.get('naive_grasp', {})
    if cl:
        def pick_line(r: dict) -> dict:
            qa = r.get('qa_confusion') or {}
            return {'picks_per_hour_sim': r.get('picks_per_hour_sim'), 'attempted': r.get('picks_attempted'),
                    'succeeded': r.get('picks_succeeded'), 'truth_ok': qa.get('truth_ok'),
                    'sim_seconds': r.get('sim_seconds')}
        out['picks_per_hour_sim'] = {'model': pick_line(model),
                                     'baseline_depth_only': pick_line(base) if base else None,
                                     'baseline_naive_grasp': pick_line(naive) if naive else None}
        out['pick_success'] = {
            k: (None if not r or not r.get('picks_attempted') else
                {'controller': round(r['picks_succeeded'] / r['picks_attempted'], 3),
                 'first_attempt': r.get('first_attempt_success')})
            for k, r in (('model', model), ('baseline_depth_only', base), ('baseline_naive_grasp', naive))}
        out['qa_confusion'] = {'model': model.get('qa_confusion'),
                               'baseline_depth_only': base.get('qa_confusion') if base else None,
                               'baseline_naive_grasp': naive.get('qa_confusion') if naive else None}
        out['memory_mb'] = {'per_node': model.get('memory_mb'), 'total_mb': model.get('memory_total_mb'),
                            'baseline_bare_rclpy_node_mb': cl.get('bare_rclpy_node_mb'),
                            'baseline_depth_only_total_mb': base.get('memory_total_mb') if base else None}
        out['records'] = {'model': model.get('record_accounting'),
                          'baseline_depth_only': base.get('record_accounting') if base else None}
    rtf = results.get('sim_rtf')
    if cl or rtf:
        modes = {r['mode']: r['rtf'] for r in (rtf or {}).get('rows', [])}
        out['realtime_factor'] = {'closed_loop': model.get('realtime_factor'),  # sim s / wall s, start-up included
                                  'closed_loop_running': model.get('realtime_factor_running'),  # from /clock on
                                  'closed_loop_depth_only': base.get('realtime_factor') if base else None,
                                  'baseline_sim_physics_only': modes.get('physics'),
                                  'sim_with_camera_thread': modes.get('thread')}
    if ps := results.get('pick_store_query'):
        out['pick_store_query_ms'] = {'records': ps['records'], 'rows': ps['rows']}
    if ph := results.get('payload_hold'):
        out['payload_hold'] = {'hold_limited': ph['hold_limited'], 'baseline_full_speed': ph['full_speed']}
    return out


def print_table(latest: dict) -> None:
    print('\n' + '=' * 110)
    print(f'{"make bench":<46}{"measured":>30}{"baseline (same run)":>34}')
    print('-' * 110)

    def row(label: str, value: str, base: str) -> None:
        print(f'{label:<46}{value:>30} {base:>33}')

    for r in latest.get('latency_vs_packages', []):
        row(f'camera→instances p50/p99 ms, {r["packages"]} pkgs ({r["visible_mean"]:.0f} vis)',
            f'model {_p(r["model"]["p50_ms"])}/{_p(r["model"]["p99_ms"])}',
            f'depth-only {_p(r["baseline_depth_only"]["p50_ms"])}/{_p(r["baseline_depth_only"]["p99_ms"])}')
    for r in latest.get('grasp_plan_ms', []):
        p, b = r['planner'], r['baseline_naive']
        row(f'grasp plan p50/p99 ms, {r["packages"]} pkgs', f'{_p(p["p50_ms"])}/{_p(p["p99_ms"])} '
            f'faults {p["upend"] + p["overhang"] + p["double"]}/{p["picks"]}',
            f'naive {_p(b["p50_ms"])}/{_p(b["p99_ms"])} faults {b["upend"] + b["overhang"] + b["double"]}/{b["picks"]}')
    if mp := latest.get('motion_plan_ms'):
        p, b = mp.get('planner', {}), mp.get('baseline_direct_only', {})
        row(f'motion plan p50/p99 ms (success), n={p.get("n")}',
            f'{_p(p.get("p50_ms"))}/{_p(p.get("p99_ms"))} ({_p(100 * p.get("success", 0), 0)}%)',
            f'direct {_p(b.get("p50_ms"))}/{_p(b.get("p99_ms"))} ({_p(100 * b.get("success", 0), 0)}%)')
        if s := mp.get('planner_without_transits'):
            row('motion plan p50/p99 ms, without transits', '', f'RRT only {_p(s.get("p50_ms"))}/{_p(s.get("p99_ms"))}')
    if pph := latest.get('picks_per_hour_sim'):
        m, b = pph['model'], pph['baseline_depth_only'] or {}
        row('picks/hour (sim) [ok/attempted, truth ok]',
            f'{m["picks_per_hour_sim"]} [{m["succeeded"]}/{m["attempted"]}, {m["truth_ok"]}]',
            f'depth-only {b.get("picks_per_hour_sim", "-")} [{b.get("succeeded", "-")}/{b.get("attempted", "-")}, '
            f'{b.get("truth_ok", "-")}]')
        if n := pph.get('baseline_naive_grasp'):
            row('picks/hour (sim), naive grasp baseline', '',
                f'naive {n["picks_per_hour_sim"]} [{n["succeeded"]}/{n["attempted"]}, {n["truth_ok"]}]')
    if rtf := latest.get('realtime_factor'):
        row('real-time factor closed loop (whole / running)',
            f'{_p(rtf["closed_loop"], 2)} / {_p(rtf.get("closed_loop_running"), 2)}',
            f'sim physics only {_p(rtf["baseline_sim_physics_only"], 2)}')
    if qa := latest.get('qa_confusion'):
        for k, label in (('model', 'QA'), ('baseline_depth_only', 'QA, depth-only run')):
            q = qa.get(k)
            if q:
                correct = sum(q['confusion'][t][t] for t in q['confusion'])
                row(f'{label}: verdict = truth / graded', f'{correct}/{q["picks"]}',
                    f'dp recall {_p(q["double_pick_recall"], 2)} drop recall {_p(q["drop_recall"], 2)}')
    if mem := latest.get('memory_mb'):
        for node, m in (mem.get('per_node') or {}).items():
            row(f'memory {node} MB (max, growth/h)', f'{m["rss_max_mb"]:.0f} ({_p(m["growth_mb_per_h"], 0)})',
                f'bare rclpy node {_p(mem["baseline_bare_rclpy_node_mb"], 0)}')
        row('memory total MB', _p(mem.get('total_mb'), 0),
            f'depth-only run {_p(mem.get("baseline_depth_only_total_mb"), 0)}')
    if rec := (latest.get('records') or {}).get('model'):
        row('pick records lost (journal/topic/store)', str(rec.get('records_lost')), f'of {rec.get("final_records")}')
    if ph := latest.get('payload_hold'):
        h, f = ph['hold_limited'], ph['baseline_full_speed']
        row('transfer drops (sim) [refused], mean transfer s',
            f'hold-limited {h["drops"]}/{h["runs"]} [{h["refused"]}], {_p(h["mean_transfer_s"], 2)}',
            f'full speed {f["drops"]}/{f["runs"]}, {_p(f["mean_transfer_s"], 2)}')
    if ps := latest.get('pick_store_query_ms'):
        worst = max(r['indexed_p99_ms'] for r in ps['rows'])
        worst_u = max(r['unindexed_p99_ms'] for r in ps['rows'])
        row(f'pick store list p99 ms, {ps["records"]} records', f'indexed {_p(worst)}', f'unindexed {_p(worst_u)}')
    print('=' * 110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--only', nargs='+', help='run only these benchmarks (names without .py)')
    ap.add_argument('--long', action='store_true', help='more frames, scenes, plans and picks (about an hour)')
    ap.add_argument('--picks', type=int, help='closed-loop pick attempts per run')
    ap.add_argument('--duration', type=float, help='closed-loop wall-time cap per run [s]')
    ap.add_argument('--out', type=Path, default=None,
                    help='default: results/latest.json for all benchmarks, results/partial.json for a subset')
    a = ap.parse_args()
    benches = plan(a.long, a.picks, a.duration)
    names = a.only or list(benches)
    if unknown := [n for n in names if n not in benches]:
        ap.error(f'unknown benchmark(s): {", ".join(unknown)}; known: {", ".join(benches)}')
    if a.out is None:  # a subset never replaces the full run's numbers
        a.out = RESULTS / ('latest.json' if set(names) >= set(benches) else 'partial.json')
    results: dict[str, dict | None] = {}
    timing: dict[str, dict] = {}
    t0 = time.monotonic()
    for name in names:
        data, secs, code = run(name, benches[name], a.out.parent / f'{a.out.stem}_parts')
        results[name] = data
        timing[name] = {'seconds': round(secs, 1), 'exit_code': code, 'args': benches[name]}
    latest = {
        'created': datetime.now(UTC).isoformat(timespec='seconds'),
        'machine': {'cpus': os.cpu_count(), 'platform': platform.platform(), 'python': platform.python_version(),
                    'load_avg_1m_at_end': round(os.getloadavg()[0], 2)},
        'mode': 'long' if a.long else 'default',
        **combine(results),
        'benchmarks': timing,
        'total_seconds': round(time.monotonic() - t0, 1),
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    latest = finite(latest)
    a.out.write_text(json.dumps(latest, indent=2, allow_nan=False) + '\n')
    print_table(latest)
    print(f'{len(names)} benchmarks in {latest["total_seconds"]:.0f} s; written {a.out}. Numbers depend on what '
          f'else the machine does (load {latest["machine"]["load_avg_1m_at_end"]} at the end).')
    if failed := [n for n, t in timing.items() if t['exit_code'] != 0]:
        print(f'non-zero exit (crashed, or missed its own target, e.g. pick_store_query < 500 ms): {", ".join(failed)}')
    return 0 if not failed else 1


if __name__ == '__main__':
    raise SystemExit(main())
