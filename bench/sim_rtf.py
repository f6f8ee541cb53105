"""Benchmark (not a test): simulator real-time factor with 40 packages, with and without the camera.

    MUJOCO_GL=egl .venv/bin/python bench/sim_rtf.py [--packages 40] [--seconds 5] [--camera-hz 30] [--json PATH]

Rows, all in this run on this machine: physics only (baseline); physics + camera rendered inline
(one thread); physics + camera in a render thread as ``sim_node`` does it; the same with the
pre-optimisation depth noise (``reference_depth_noise``) for comparison. The pile is dropped and
let settle for 1 s first (not timed). RTF = sim seconds / wall seconds.

Then the cost of one camera frame of that pile, median of ``--frames`` renders: the GL pass
(RGB + depth), the depth noise model (``apply_depth_noise``, and the reference for comparison) and
the whole noisy frame.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault('MUJOCO_GL', 'egl')

import numpy as np

from robin_sim import camera
from robin_sim.depth_noise import DepthNoiseModel, apply_depth_noise, reference_depth_noise
from robin_sim.simulation import SimConfig, Simulation

CHUNK = 0.01  # [s] sim time per step call, as in sim_node


def run(packages: int, seconds: float, camera_hz: float, mode: str) -> tuple[float, float]:
    """Return (real-time factor, camera frames per wall second) for one mode."""
    if mode == 'thread-reference':
        camera.apply_depth_noise = lambda d, rgb, rng, m: reference_depth_noise(d, rgb, rng, m or DepthNoiseModel())
        try:
            return run(packages, seconds, camera_hz, 'thread')
        finally:
            camera.apply_depth_noise = apply_depth_noise
    sim = Simulation(SimConfig(seed=7, num_packages=packages))
    sim.step(1.0)
    frames = 0
    stop = threading.Event()
    q: queue.Queue = queue.Queue(maxsize=1)
    lock = threading.Lock()

    def render_thread() -> None:
        nonlocal frames
        renderer = sim.make_renderer()
        while not stop.is_set():
            try:
                snap = q.get(timeout=0.1)
            except queue.Empty:
                continue
            renderer.render(snap, np.random.default_rng(frames))
            frames += 1
        renderer.close()

    renderer = sim.make_renderer() if mode == 'inline' else None
    worker = threading.Thread(target=render_thread) if mode == 'thread' else None
    if worker:
        worker.start()
    t0, s0, next_cam = time.perf_counter(), sim.time, sim.time
    while sim.time - s0 < seconds:
        with lock:
            sim.step(CHUNK)
        if mode != 'physics' and sim.time >= next_cam:
            next_cam += 1.0 / camera_hz
            if renderer is not None:
                renderer.render(sim.snapshot(), np.random.default_rng(frames))
                frames += 1
            else:
                with contextlib.suppress(queue.Empty):
                    q.get_nowait()
                q.put_nowait(sim.snapshot())
    wall = time.perf_counter() - t0
    stop.set()
    if worker:
        worker.join()
    if renderer is not None:
        renderer.close()
    return (sim.time - s0) / wall, frames / wall


def frame_costs(packages: int, frames: int) -> dict[str, float]:
    """Median [ms] of the GL pass, the depth noise and a whole noisy frame, for a settled pile."""
    sim = Simulation(SimConfig(seed=7, num_packages=packages))
    sim.step(1.0)
    renderer = sim.make_renderer()
    snap = sim.snapshot()
    clean = renderer.render(snap, None)
    apply_depth_noise(clean.depth_m, clean.rgb, np.random.default_rng(0))  # noise banks are built once
    out: dict[str, list[float]] = {'GL pass (RGB + depth)': [], 'depth noise': [],
                                   'depth noise, reference (pre-optimisation)': [], 'whole noisy frame': []}
    model = DepthNoiseModel()
    for k in range(frames):
        t0 = time.perf_counter()
        renderer.render(snap, None)
        t1 = time.perf_counter()
        apply_depth_noise(clean.depth_m, clean.rgb, np.random.default_rng(k), model)
        t2 = time.perf_counter()
        reference_depth_noise(clean.depth_m, clean.rgb, np.random.default_rng(k), model)
        t3 = time.perf_counter()
        renderer.render(snap, np.random.default_rng(k))
        t4 = time.perf_counter()
        for key, dt in zip(out, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            out[key].append(1e3 * dt)
    renderer.close()
    return {k: float(np.median(v)) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--packages', type=int, default=40)
    ap.add_argument('--seconds', type=float, default=5.0, help='sim seconds timed per row')
    ap.add_argument('--camera-hz', type=float, default=30.0, help='camera rate in sim time')
    ap.add_argument('--frames', type=int, default=15, help='frames timed for the per-frame costs')
    ap.add_argument('--modes', nargs='+', default=['physics', 'inline', 'thread', 'thread-reference'],
                    choices=['physics', 'inline', 'thread', 'thread-reference'], help='rows to run')
    ap.add_argument('--json', type=Path, help='also write the results as JSON here')
    args = ap.parse_args()
    rows = [('physics only (baseline)', 'physics'), (f'physics + camera {args.camera_hz:g} Hz, inline', 'inline'),
            (f'physics + camera {args.camera_hz:g} Hz, render thread (sim_node)', 'thread'),
            ('  same, pre-optimisation depth noise', 'thread-reference')]
    print(f'packages={args.packages}  timed={args.seconds:g} sim-s/row  cpus={os.cpu_count()}  '
          f'load={os.getloadavg()[0]:.1f}')
    print(f'{"mode":<52} {"RTF":>7} {"camera fps (wall)":>18}')
    results = []
    for label, mode in rows:
        if mode not in args.modes:
            continue
        rtf, fps = run(args.packages, args.seconds, args.camera_hz, mode)
        results.append({'mode': mode, 'label': label, 'rtf': rtf, 'camera_fps_wall': fps})
        print(f'{label:<52} {rtf:>7.2f} {fps:>18.1f}')
    costs = frame_costs(args.packages, args.frames) if args.frames > 0 else {}
    if costs:
        print(f'\nper frame, {args.packages} packages (median of {args.frames}):')
    for label, ms in costs.items():
        print(f'{label:<52} {ms:>7.1f} ms')
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({'benchmark': 'sim_rtf', 'packages': args.packages, 'seconds': args.seconds,
                                         'rows': results, 'frame_ms': costs}, indent=2))


if __name__ == '__main__':
    main()
