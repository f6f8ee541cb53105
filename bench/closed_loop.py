"""Closed-loop benchmark: the whole simulated cell as shipped next to its baselines.

Runs ``robin-cell demo --profile sim`` (every node a real process over DDS, MuJoCo simulator)
in a scratch directory on a private ROS domain: once as shipped (segmentation model, grasp
planner) and once per baseline — ``depth_only`` (the segmentation node on its depth-only
geometric fallback, no model file) and ``naive_grasp`` (the grasp planner node's naive strategy:
largest visible instance at its centroid, all 8 cups on) — each until ``--picks`` attempts or
``--duration`` wall seconds. The simulator's scenario seed is fixed (config/sim.yaml), so every
run starts from the same piles. From each run's report: picks per hour (sim
time), pick success (the controller's outcome and the simulator's ground truth), the real-time
factor (sim s / wall s over the whole run, start-up included), the QA confusion (final verdict vs
ground truth, robin_bringup/pick_truth.py), memory per node process and the record accounting.
Memory baseline: the RSS of a bare rclpy node process on this machine.

    python bench/closed_loop.py [--picks 8] [--duration 300] [--baselines depth_only,naive_grasp]
                                [--no-baseline] [--sim-rtf 0.3] [--json PATH]

The simulator is paced to ``--sim-rtf`` sim seconds per wall second (0: as fast as it goes). On
the 2-core reference machine the simulator (physics + 30 Hz rendering) takes ~0.6 of a core and
runs at RTF ~0.45 flat out; the cell's nodes then get ~2.2 core-seconds per sim second, and their
latencies — counted in sim time like everything in the report — are those of a cell computer
slower than the 2 cores themselves. Session 11 measured the same 420 s demo both ways: picks per
hour (sim) 313 → 495, arm wait 0.44 → 0.16, motion planning in the ``plan`` phase 26 → 5 s (the
plan requests of a recorded demo, replanned offline on an idle core, took 0.25–0.8 s each; live
1–6 s). Pacing gives the nodes the wall time a real cell's computer would spend per second, with nothing simulated
competing; the table prints the RTF every run had, and ``--sim-rtf 0`` reproduces the flat-out case.

A few picks give noisy rates: the tables print the counts they come from. Use ``--picks 50
--duration 1800`` for steadier numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from robin_core.ros_env import REPO_ROOT as REPO
from robin_core.ros_env import ros_environment
from robin_qa.confusion import TRUTHS, VERDICTS

MISSING_MODEL = 'no-model-depth-only-baseline.onnx'  # a path that does not exist: geometric fallback
#: baseline runs: node parameter overrides on top of the shipped graph
BASELINES: dict[str, list[str]] = {
    'depth_only': [f'segmentation:model_path={MISSING_MODEL}'],
    'naive_grasp': ['grasp_planner:strategy=naive'],
}
BARE_NODE = ('import rclpy, time; rclpy.init(); n = rclpy.create_node("bench_bare_node"); '
             'time.sleep(4.0); n.destroy_node(); rclpy.shutdown()')


def run_cell(label: str, work: Path, *, picks: int, duration: float, domain: int, params: list[str],
             profiles: list[str]) -> dict:
    """One demo run in ``work``; its report.json, or a dict with the failure."""
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, '-m', 'robin_bringup.cli', 'demo', '--graph', str(REPO / 'config' / 'cell.yaml'),
           '--picks', str(picks), '--duration', str(duration), '--domain-id', str(domain), '--out', 'runs',
           '--memory-warmup', str(min(60.0, duration / 3))]
    for p in profiles:
        cmd += ['--profile', p]
    for p in params:
        cmd += ['--param', p]
    print(f'[{label}] {" ".join(cmd[1:])}  (cwd {work})', flush=True)
    t0 = time.monotonic()
    log = work / 'demo.log'
    with log.open('w') as f:
        proc = subprocess.run(cmd, cwd=work, stdout=f, stderr=subprocess.STDOUT, check=False,
                              timeout=duration + 240)
    report_path = work / 'runs' / 'latest' / 'report.json'
    if not report_path.is_file():
        return {'error': f'no report (exit {proc.returncode}); see {log}'}
    report = json.loads(report_path.read_text())
    report['bench_exit_code'] = proc.returncode
    report['bench_wall_s'] = round(time.monotonic() - t0, 1)
    return report


def bare_node_rss_mb(domain: int) -> float:
    """RSS of a minimal rclpy node process (the floor every node pays)."""
    proc = subprocess.Popen([sys.executable, '-c', BARE_NODE], env=ros_environment(domain))
    try:
        time.sleep(3.0)
        rss = psutil.Process(proc.pid).memory_info().rss / 2**20
    finally:
        proc.wait(timeout=30)
    return round(rss, 1)


def summary(r: dict) -> dict:
    """The numbers the combined table shows, from one report."""
    if 'error' in r:
        return {'error': r['error']}
    qa = r.get('qa_confusion') or {}
    rec = r.get('record_accounting') or {}
    return {
        'picks_attempted': r.get('picks_attempted'), 'picks_succeeded': r.get('picks_succeeded'),
        'truth_ok': qa.get('truth_ok'), 'qa_graded': qa.get('picks'),
        'picks_per_hour_sim': r.get('picks_per_hour_sim'), 'realtime_factor': r.get('realtime_factor'),
        'realtime_factor_running': r.get('realtime_factor_running'),
        'sim_seconds': r.get('sim_seconds'), 'wall_seconds': r.get('wall_seconds'),
        'decision_latency_ms': r.get('decision_latency_ms'), 'first_attempt_success': r.get('first_attempt_success'),
        'memory_total_mb': r.get('memory_total_mb'), 'records_lost': rec.get('records_lost'),
        'arm_wait_fraction': r.get('arm_wait_fraction'), 'exit_reason': r.get('exit_reason'),
    }


def print_tables(runs: dict[str, dict], bare_mb: float) -> None:
    names = list(runs)
    print(f'\n{"closed loop":<28}' + ''.join(f'{n:>22}' for n in names))
    keys = ('picks_attempted', 'picks_succeeded', 'truth_ok', 'picks_per_hour_sim', 'first_attempt_success',
            'arm_wait_fraction', 'decision_latency_ms', 'realtime_factor', 'realtime_factor_running', 'sim_seconds',
            'wall_seconds', 'memory_total_mb', 'records_lost', 'exit_reason')
    sums = {n: summary(r) for n, r in runs.items()}
    for k in keys:
        print(f'{k:<28}' + ''.join(f'{sums[n].get(k, sums[n].get("error", "-"))!s:>22}' for n in names))
    for n, r in runs.items():
        qa = r.get('qa_confusion')
        if qa:
            print(f'\nQA confusion ({n}): truth rows x final verdict columns; {qa["picks"]} graded, '
                  f'{qa["unlabelled"]} unlabelled, {qa["not_graded"]} never switched the cups on')
            print(f'{"":<12}' + ''.join(f'{v:>12}' for v in VERDICTS))
            for truth in TRUTHS:
                print(f'{truth:<12}' + ''.join(f'{qa["confusion"][truth][v]:>12}' for v in VERDICTS))
        mem = r.get('memory_mb') or {}
        if mem:
            print(f'\nmemory per node ({n}) [MB RSS]; baseline: bare rclpy node {bare_mb:.0f} MB')
            print(f'{"node":<18}{"start":>8}{"end":>8}{"max":>8}{"growth/h":>10}')
            for node, m in mem.items():
                rate = '-' if m['growth_mb_per_h'] is None else f'{m["growth_mb_per_h"]:.0f}'
                print(f'{node:<18}{m["rss_start_mb"]:>8.0f}{m["rss_end_mb"]:>8.0f}{m["rss_max_mb"]:>8.0f}{rate:>10}')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--picks', type=int, default=8, help='stop each run after this many attempts')
    ap.add_argument('--duration', type=float, default=300.0, help='wall-time cap per run [s]')
    ap.add_argument('--baselines', default='depth_only,naive_grasp',
                    help=f'comma-separated baseline runs, of: {", ".join(BASELINES)}')
    ap.add_argument('--no-baseline', action='store_true', help='run the shipped cell only')
    ap.add_argument('--sim-rtf', type=float, default=0.3,
                    help='simulator pace, sim s per wall s (0: as fast as it goes; see the docstring)')
    ap.add_argument('--profile', action='append', default=None, help='graph profiles (default: sim)')
    ap.add_argument('--domain-id', type=int, default=92 + os.getpid() % 10,
                    help='private ROS domain (default: 92..101 by pid, clear of the test domains)')
    ap.add_argument('--work', type=Path, default=None, help='scratch directory (default: a temporary one)')
    ap.add_argument('--json', type=Path, help='write both reports and the memory baseline as JSON here')
    a = ap.parse_args()
    profiles = a.profile or ['sim']
    work = a.work or Path(tempfile.mkdtemp(prefix='robin_bench_cell_'))
    if a.sim_rtf < 0:
        ap.error('--sim-rtf must be >= 0')
    pace = [f'sim:real_time_factor={a.sim_rtf}']
    configs: dict[str, list[str]] = {'model': pace}
    for name in ([] if a.no_baseline else [b for b in a.baselines.split(',') if b]):
        if name not in BASELINES:
            ap.error(f'unknown baseline {name!r}; known: {", ".join(BASELINES)}')
        configs[name] = [*pace, *BASELINES[name]]
    runs = {name: run_cell(name, work / name, picks=a.picks, duration=a.duration, domain=a.domain_id, params=params,
                           profiles=profiles) for name, params in configs.items()}
    bare = bare_node_rss_mb(a.domain_id)
    print_tables(runs, bare)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({'benchmark': 'closed_loop', 'picks': a.picks, 'duration_s': a.duration,
                                      'sim_rtf_target': a.sim_rtf,
                                      'bare_rclpy_node_mb': bare, 'runs': runs}, indent=2))
    return 0 if all('error' not in r for r in runs.values()) else 1


if __name__ == '__main__':
    raise SystemExit(main())
