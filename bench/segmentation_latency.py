"""Segmentation latency at 640x480 on this CPU: model pipeline vs depth-only segmenter, same frames.

    python bench/segmentation_latency.py [--model models/universal/package_seg.onnx] [--frames 60]

Measures what the node runs per frame after decoding (belt height, inference, grouping,
label upsampling, instance table, optional geometric cross-check). Prints p50/p99 per stage.
A benchmark, not a test: numbers depend on what else the machine is doing.
"""

from __future__ import annotations

import argparse
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
from robin_perception.procedural_piles import render_pile
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', type=Path, default=Path('models/universal/package_seg.onnx'))
    ap.add_argument('--frames', type=int, default=60)
    ap.add_argument('--threads', type=int, default=2, help='onnxruntime intra-op threads')
    a = ap.parse_args()
    frames = [render_pile(3_000_000 + i) for i in range(a.frames)]
    model = OnnxModel(a.model, intra_op_threads=a.threads, expect_classes=PACKAGE_TYPES)
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
