"""Segmentation latency at 640x480 on this CPU: model pipeline vs depth-only segmenter, same frames.

    python bench/segmentation_latency.py [--model models/universal/package_seg.onnx] [--frames 60]
    python bench/segmentation_latency.py --packages 5 10 20 40 60 [--frames 15] [--json PATH]

Measures what the node runs per frame after decoding (belt height, inference, grouping,
label upsampling, instance table, optional geometric cross-check). Prints p50/p99 per stage.
With ``--packages``: wall p50/p99 per frame against the number of packages in the pile
(procedural piles of exactly N packages), for the model pipeline as the node runs it
(``cross_check: true`` in config/perception.yaml) next to the depth-only geometric segmenter
(baseline), same frames. Not included: image decoding and DDS transport.
A benchmark, not a test: numbers depend on what else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from robin_core.instance_table import PACKAGE_TYPES
from robin_perception.evaluate import depth_mm_to_m
from robin_perception.onnx_model import OnnxModel
from robin_perception.procedural_piles import DOMAINS, render_pile
from robin_perception.segmentation_pipeline import SegmentationPipeline


def run(pipe: SegmentationPipeline, frames: list, warmup: int = 3) -> dict[str, np.ndarray]:
    stages: dict[str, list[float]] = {}
    for k, f in enumerate(frames):
        t0 = time.perf_counter()
        res = pipe.run(f.rgb, depth_mm_to_m(f.depth_mm), f.intrinsics)
        wall = (time.perf_counter() - t0) * 1e3
        if k < warmup:
            continue
        for name, ms in res.timings_ms.items():
            stages.setdefault(name, []).append(ms)
        stages.setdefault('wall', []).append(wall)
    return {k: np.asarray(v) for k, v in stages.items()}


def frames_with(packages: int, count: int) -> list:
    """``count`` procedural 640x480 piles of exactly ``packages`` packages (fixed seeds)."""
    from dataclasses import replace

    name = f'bench_{packages}'
    DOMAINS[name] = replace(DOMAINS['universal'], name=name, packages=(packages, packages))
    return [render_pile(4_000_000 + 1000 * packages + i, domain=name) for i in range(count)]


def sweep(model: OnnxModel, sizes: list[int], frames: int) -> list[dict]:
    """Wall p50/p99 per frame vs packages: model pipeline (+cross-check) and geometric baseline."""
    pipes = {'model': SegmentationPipeline(model, cross_check=True), 'geometric': SegmentationPipeline(None)}
    rows = []
    for n in sizes:
        fs = frames_with(n, frames + 3)  # 3 warm-up frames
        row: dict = {'packages': n, 'frames': frames,
                     'visible_mean': float(np.mean([len(f.packages) for f in fs[3:]]))}
        for name, pipe in pipes.items():
            wall = run(pipe, fs)['wall']
            row[f'{name}_p50_ms'] = float(np.percentile(wall, 50))
            row[f'{name}_p99_ms'] = float(np.percentile(wall, 99))
        rows.append(row)
    return rows


def print_sweep(rows: list[dict]) -> None:
    print(f"{'pkgs':>4} {'visible':>7} | {'model p50':>9} {'p99':>7} | {'geometric p50':>13} {'p99':>7}  [ms]")
    for r in rows:
        print(f"{r['packages']:>4} {r['visible_mean']:>7.1f} | {r['model_p50_ms']:>9.1f} {r['model_p99_ms']:>7.1f} | "
              f"{r['geometric_p50_ms']:>13.1f} {r['geometric_p99_ms']:>7.1f}")
    print('model = the node\'s pipeline (model + geometric cross-check); geometric = depth-only baseline')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', type=Path, default=Path('models/universal/package_seg.onnx'))
    ap.add_argument('--frames', type=int, default=60)
    ap.add_argument('--threads', type=int, default=2, help='onnxruntime intra-op threads')
    ap.add_argument('--packages', type=int, nargs='+', help='latency vs packages per pile instead of per stage')
    ap.add_argument('--json', type=Path, help='write the --packages rows as JSON here')
    a = ap.parse_args()
    model = OnnxModel(a.model, intra_op_threads=a.threads, expect_classes=PACKAGE_TYPES)
    if a.packages:
        print(f'{a.frames} frames 640x480 per size, model {a.model} ({model.providers[0]}, {a.threads} threads), '
              f'{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}')
        rows = sweep(model, a.packages, a.frames)
        print_sweep(rows)
        if a.json:
            a.json.parent.mkdir(parents=True, exist_ok=True)
            a.json.write_text(json.dumps({'benchmark': 'segmentation_latency', 'rows': rows}, indent=2))
        return 0
    frames = [render_pile(3_000_000 + i) for i in range(a.frames)]
    configs = {
        'model (+geometric cross-check)': SegmentationPipeline(model, cross_check=True),
        'model only': SegmentationPipeline(model, cross_check=False),
        'geometric only (fallback)': SegmentationPipeline(None),
    }
    print(f'{len(frames)} frames 640x480, model {a.model} ({model.providers[0]}, {a.threads} threads), '
          f'{os.cpu_count()} CPUs, OMP_WAIT_POLICY={os.environ["OMP_WAIT_POLICY"]}')
    print(f"{'pipeline':<32}{'stage':<11}{'p50 ms':>8}{'p99 ms':>8}")
    for name, pipe in configs.items():
        res = run(pipe, frames)
        for stage in ('prepare', 'geometric', 'infer', 'group', 'table', 'wall'):
            if stage in res:
                v = res[stage]
                print(f'{name if stage == "prepare" else "":<32}{stage:<11}{np.percentile(v, 50):>8.1f}'
                      f'{np.percentile(v, 99):>8.1f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
