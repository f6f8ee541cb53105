"""Grasp planning benchmark: latency per scene size, and grasp safety, next to the naive baseline.

Synthetic piles (robin_grasp.synthetic_scene, ray-cast depth with noise, perfect labels) of N
packages dropped in the shipped cell's pick area (a package that would top out above
``--max-height`` lands elsewhere, or is left out when the area is full), seen by the shipped
camera. For every scene both
planners run on the same frame:

- latency: wall time p50/p99 of ``plan_grasps`` (height map + selection + poses + cups) and the
  process CPU time p50 (less sensitive to other load on a shared machine);
- safety of the chosen grasp against the scene's ground truth: *upend* (something rests on the
  target), *overhang* (an on cup's lip not fully on the target: leaks, drops), *double* (an on
  cup's lip over another package, not under the target, at its height or above: lifts it too).

Usage: ``python bench/grasp_planning.py [--sizes 1 5 10 20 40] [--scenes 20] [--out PATH]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scipy.spatial.transform import Rotation

from robin_core.cell_description import default_cell
from robin_grasp.baseline_planner import plan_naive
from robin_grasp.grasp_candidates import GraspCandidate
from robin_grasp.grasp_planner import STATUS_OK, PlannerConfig, plan_grasps
from robin_grasp.synthetic_scene import Pile, make_scene, random_pile


def grasp_faults(pile: Pile, cand: GraspCandidate, cup_xy: np.ndarray, lip: float) -> dict[str, bool]:
    """Ground-truth faults of one grasp (see the module docstring)."""
    rot = Rotation.from_quat(cand.quaternion).as_matrix()
    centres = (np.column_stack([cup_xy, np.zeros(len(cup_xy))]) @ rot.T + cand.position)[:, :2]
    on = ((cand.cup_mask >> np.arange(len(cup_xy))) & 1).astype(bool)
    target = next(p for p in pile.packages if p.id == cand.target_id)
    # Packages that would come along: not below the target (its support) and about as high or higher.
    others = [p for p in pile.packages
              if p.id != target.id and p.top > target.bottom + 1e-3 and p.top >= target.top - 0.005]  # fmt: skip
    return {
        'upend': bool(pile.resting_on(target.id)),
        'overhang': bool((~target.contains(centres[on], grow=-lip)).any()),
        'double': any(bool(p.contains(centres[on], grow=lip).any()) for p in others),
    }


def run(sizes: list[int], scenes: int, seed: int, max_height: float) -> list[dict]:
    cell = default_cell()
    cam, grip = cell.camera, cell.gripper
    cup_xy = np.asarray(grip.cup_positions)[:, :2]
    cfg = PlannerConfig()
    rows = []
    for n in sizes:
        stats: dict[str, list] = {k: [] for k in ('wall', 'cpu', 'base_wall', 'visible')}
        faults = {'planner': np.zeros(4, int), 'baseline': np.zeros(4, int)}  # picks, upend, overhang, double
        for s in range(scenes):
            rng = np.random.default_rng(seed + 1000 * n + s)
            pile = random_pile(rng, n, cell.pick_area, spread=1.0, max_height=max_height)
            scene = make_scene(pile, cam.intrinsics, cam.T_base_optical, noise=0.001, seed=s)
            stats['visible'].append(len(scene.instances))
            if s == 0:
                plan_grasps(scene, grip, cell.pick_area, config=cfg)  # warm caches and lazy imports
            w0, c0 = time.perf_counter(), time.process_time()
            res = plan_grasps(scene, grip, cell.pick_area, config=cfg)
            stats['wall'].append(1000 * (time.perf_counter() - w0))
            stats['cpu'].append(1000 * (time.process_time() - c0))
            w0 = time.perf_counter()
            base = plan_naive(scene, grip)
            stats['base_wall'].append(1000 * (time.perf_counter() - w0))
            for name, r in (('planner', res), ('baseline', base)):
                if r.status == STATUS_OK and r.chosen is not None:
                    f = grasp_faults(pile, r.chosen, cup_xy, grip.lip_radius)
                    faults[name] += [1, f['upend'], f['overhang'], f['double']]
        rows.append({
            'packages': n,
            'visible_mean': float(np.mean(stats['visible'])),
            'scenes': scenes,
            'planner_p50_ms': float(np.percentile(stats['wall'], 50)),
            'planner_p99_ms': float(np.percentile(stats['wall'], 99)),
            'planner_cpu_p50_ms': float(np.percentile(stats['cpu'], 50)),
            'baseline_p50_ms': float(np.percentile(stats['base_wall'], 50)),
            'baseline_p99_ms': float(np.percentile(stats['base_wall'], 99)),
            **{f'{k}_{m}': int(v) for k, arr in faults.items()
               for m, v in zip(('picks', 'upend', 'overhang', 'double'), arr, strict=True)},
        })  # fmt: skip
    return rows


def print_table(rows: list[dict]) -> None:
    head = (f'{"pkgs":>4} {"vis":>5} | {"plan p50":>8} {"p99":>7} {"cpu p50":>7} | {"naive p50":>9} {"p99":>6} | '
            f'{"planner picks/upend/overhang/double":>36} | {"naive picks/upend/overhang/double":>34}')
    print(head)
    print('-' * len(head))
    for r in rows:
        p = f'{r["planner_picks"]}/{r["planner_upend"]}/{r["planner_overhang"]}/{r["planner_double"]}'
        b = f'{r["baseline_picks"]}/{r["baseline_upend"]}/{r["baseline_overhang"]}/{r["baseline_double"]}'
        print(f'{r["packages"]:>4} {r["visible_mean"]:>5.1f} | {r["planner_p50_ms"]:>8.1f} {r["planner_p99_ms"]:>7.1f} '
              f'{r["planner_cpu_p50_ms"]:>7.1f} | {r["baseline_p50_ms"]:>9.2f} {r["baseline_p99_ms"]:>6.2f} | '
              f'{p:>36} | {b:>34}')
    print('times in ms (wall; cpu = process time); picks = scenes with a grasp; faults vs ground truth')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[1, 5, 10, 20, 40], help='packages per pile')
    ap.add_argument('--scenes', type=int, default=20, help='piles per size')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--max-height', type=float, default=0.35, help='piles spread rather than tower above this [m]')
    ap.add_argument('--out', type=Path, default=None, help='also write the rows as JSON here')
    args = ap.parse_args()
    rows = run(args.sizes, args.scenes, args.seed, args.max_height)
    print_table(rows)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({'benchmark': 'grasp_planning', 'rows': rows}, indent=2))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
