"""Pick-sequence planning time of the built-in backend vs the direct-interpolation-only baseline.

Random reachable suction poses on synthetic piles (a few boxes on the belt, grasp on the top face
of the highest, tool tilted up to 5° as from surface-fit noise), each planned from where the
previous pick ended (the place pose), as in the running cell. Prints a table: success, planning
time p50/p99, the motion time of a full cycle (sum of the four segments) and the steepest tool tilt
of the transfers (the carried package: suction cups peel off a steeply tilted one); rows: the cell's
planner (direct segment, raised-via transits, RRTConnect), the same without transits, the same with
the carried tilt unbounded, and direct interpolation only.

    python bench/motion_planning.py [--n 100] [--seed 0] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from robin_core.cell_description import default_cell
from robin_grasp.motion.builtin_factory import BuiltinSettings, build_builtin_backend
from robin_grasp.motion.carry_constraint import tool_tilt
from robin_grasp.motion.interface import HeightMap, PlanFailure
from robin_grasp.motion.pick_sequence import PickRequest, PickSequencePlanner

HOME = np.array([0.0, -np.pi / 2, np.pi / 2, -np.pi / 2, -np.pi / 2, 0.0])
ACCELERATIONS = (10.0, 10.0, 10.0, 15.0, 15.0, 15.0)  # config/motion.yaml
FLOOR_AND_FENCES = (0.0, 0.0, -0.85, 3.0, 3.0, 0.1, 0.0, -1.25, 0.0, 3.0, 0.1, 2.0, 0.0, 1.25, 0.0, 3.0, 0.1, 2.0)


def scene(rng: np.random.Generator, cell) -> tuple[HeightMap, np.ndarray, tuple[float, float, float]]:
    """A pile of 3–8 boxes as a height map, and a grasp on the top face of the highest box."""
    area = cell.pick_area
    res = 0.01
    xs = np.arange(area.x_range[0], area.x_range[1] + 1e-9, res)
    ys = np.arange(area.y_range[0], area.y_range[1] + 1e-9, res)
    gx, gy = np.meshgrid(xs, ys)
    h = np.full(gx.shape, area.belt_z)
    boxes = []
    for _ in range(rng.integers(3, 9)):
        size = (rng.uniform(0.1, 0.3), rng.uniform(0.08, 0.2), rng.uniform(0.03, 0.12))
        cx = rng.uniform(area.x_range[0] + 0.08, area.x_range[1] - 0.08)
        cy = rng.uniform(area.y_range[0] + 0.08, area.y_range[1] - 0.08)
        inside = (np.abs(gx - cx) <= size[0] / 2) & (np.abs(gy - cy) <= size[1] / 2)
        top = float(h[inside].max(initial=area.belt_z)) + size[2]
        h[inside] = top
        boxes.append((cx, cy, top, size))
    cx, cy, top, size = max(boxes, key=lambda b: b[2])
    tilt, yaw = rng.uniform(0, np.radians(5)), rng.uniform(-np.pi / 2, np.pi / 2)  # fit noise on flat tops
    axis = np.array([np.cos(yaw + np.pi / 2), np.sin(yaw + np.pi / 2), 0.0])
    grasp = np.eye(4)
    grasp[:3, :3] = _rot(axis, tilt) @ _rot(np.array([0.0, 0.0, 1.0]), yaw) @ np.diag([1.0, -1.0, -1.0])
    grasp[:3, 3] = (cx, cy, top)
    return HeightMap((xs[0], ys[0]), res, h), grasp, size


def _rot(axis: np.ndarray, angle: float) -> np.ndarray:
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def run(use_ompl: bool, n: int, seed: int, carry_max_tilt_deg: float = 15.0, transits: bool = True) -> dict[str, float]:
    cell = default_cell()
    backend = build_builtin_backend(cell, BuiltinSettings(acceleration_limits=ACCELERATIONS,
                                                          keepout_boxes=FLOOR_AND_FENCES, use_ompl=use_ompl,
                                                          carry_max_tilt_deg=carry_max_tilt_deg,
                                                          **({} if transits else {'transit_clearances': ()})))
    planner = PickSequencePlanner(backend)
    rng = np.random.default_rng(seed)
    q = HOME
    times, cycles, tilts, failures = [], [], [], {}
    for _ in range(n):
        hm, grasp, size = scene(rng, cell)
        req = PickRequest(grasp, cell.place_station.T_base_tray, cell.place_station.tray_size, size)
        t0 = time.perf_counter()
        plan = planner.plan(q, req, hm, timeout_s=2.0)
        times.append(time.perf_counter() - t0)
        if isinstance(plan, PlanFailure):
            key = f'{plan.segment}:{plan.reason}'
            failures[key] = failures.get(key, 0) + 1
            continue
        cycles.append(plan.duration)
        transfer = plan.segment('transfer').trajectory.positions
        tilts.append(max(tool_tilt(backend.forward_kinematics(x)) for x in transfer[::5]))
        q = plan.segments[-1].trajectory.end
    ms = np.array(times) * 1e3
    return {
        'success': len(cycles) / n,
        'p50_ms': float(np.percentile(ms, 50)),
        'p99_ms': float(np.percentile(ms, 99)),
        'cycle_s': float(np.mean(cycles)) if cycles else float('nan'),
        'transfer_tilt_max_deg': float(np.degrees(max(tilts))) if tilts else float('nan'),
        'transfer_tilt_p90_deg': float(np.degrees(np.percentile(tilts, 90))) if tilts else float('nan'),
        'failures': failures,  # type: ignore[dict-item]
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=100, help='picks per planner')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--json', type=Path, help='also write the rows as JSON here')
    args = ap.parse_args()
    rows = [('direct + transit + RRT', 'cell', run(True, args.n, args.seed)),
            ('  no transits', 'no_transits', run(True, args.n, args.seed, transits=False)),
            ('  carried tilt unbounded', 'tilt_unbounded', run(True, args.n, args.seed, carry_max_tilt_deg=0.0)),
            ('direct only (baseline)', 'direct_only', run(False, args.n, args.seed, transits=False))]
    print(f'pick-sequence planning, {args.n} random suction poses on synthetic piles (seed {args.seed})')
    print(f'{"planner":<24} {"success":>8} {"p50 ms":>8} {"p99 ms":>8} {"cycle s":>8} {"tilt p90":>9} '
          f'{"tilt max":>9}  failures')
    for name, _key, r in rows:
        fails = ', '.join(f'{k} x{v}' for k, v in sorted(r['failures'].items())) or '-'  # type: ignore[union-attr]
        print(f'{name:<24} {r["success"]:>8.1%} {r["p50_ms"]:>8.1f} {r["p99_ms"]:>8.1f} {r["cycle_s"]:>8.2f} '
              f'{r["transfer_tilt_p90_deg"]:>8.1f}° {r["transfer_tilt_max_deg"]:>8.1f}°  {fails}')
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out_rows = [{'planner': name, 'key': key, **r} for name, key, r in rows]
        args.json.write_text(json.dumps({'benchmark': 'motion_planning', 'n': args.n, 'seed': args.seed,
                                         'rows': out_rows}, indent=2))


if __name__ == '__main__':
    main()
