"""Evaluate a segmentation model (or the depth-only segmenter) on a held-out dataset split.

``make eval`` runs::

    python -m robin_perception.evaluate --model models/universal/package_seg.onnx \
        --data /work/data/universal --split test --out eval/results/latest.json

Prints a table (headline metrics, then per package type and per hard case with what is still
missed) and writes a JSON with ``recall_pickable``, ``type_accuracy``, ``ap50_all``,
``ap_all``, ``confidence_auroc``, ``per_case`` and ``model_sha256``. ``--data`` defaults to the
dataset generated on the fly (``--generate N`` frames of held-out test seeds, ``--backend
procedural`` or ``sim``) when the split is missing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robin_core.instance_table import PACKAGE_TYPES
from robin_perception.belt_height import BeltFitError, BeltPlane
from robin_perception.dataset import load_frame, read_split, renderer, split_seeds, write_frame
from robin_perception.mask_metrics import FrameMatch, frame_match, summarize
from robin_perception.onnx_model import OnnxModel
from robin_perception.pile_scene import HARD_CASES, PileFrame
from robin_perception.segmentation_pipeline import SegmentationPipeline


def depth_mm_to_m(depth_mm: np.ndarray) -> np.ndarray:
    d = depth_mm.astype(np.float32) * np.float32(1e-3)
    d[depth_mm == 0] = np.nan
    return d


def evaluate_frames(pipe: SegmentationPipeline, frames: list[PileFrame] | object, limit: int = 0,
                    progress: bool = True) -> tuple[list[FrameMatch], list[float], np.ndarray]:
    """Run the pipeline on frames; return per-frame matches, latencies [ms] and all instance cues."""
    matches, lat, feats = [], [], []
    it = frames
    if progress:
        it = tqdm(frames, desc='eval', file=sys.stderr, total=limit or None)
    for k, f in enumerate(it):
        if limit and k >= limit:
            break
        try:
            t0 = time.perf_counter()
            plane = BeltPlane.from_list(f.meta['belt_plane']) if 'belt_plane' in f.meta else None
            res = pipe.run(f.rgb, depth_mm_to_m(f.depth_mm), f.intrinsics, plane)
            lat.append((time.perf_counter() - t0) * 1e3)
        except BeltFitError:
            continue
        gt_types = np.array([p.type_id for p in sorted(f.packages, key=lambda p: p.id)], np.int64)
        gt_tags = [p.tags for p in sorted(f.packages, key=lambda p: p.id)]
        matches.append(frame_match(f.labels, gt_types, gt_tags, pred_labels=res.labels, scores=res.table['score'],
                                   pred_types=res.table['type_id']))
        if res.features.size:
            feats.append(res.features)
    return matches, lat, (np.concatenate(feats) if feats else np.zeros((0, 0), np.float32))


def iter_frames(data: Path, split: str):
    for rec in read_split(data, split):
        yield load_frame(rec)


def format_table(res: dict) -> str:
    """Human-readable summary of :func:`summarize` output."""

    def f(v: object) -> str:
        return f'{v:.3f}' if isinstance(v, float) and not math.isnan(v) else ('-' if isinstance(v, float) else str(v))

    lines = [
        f"model: {res.get('model', '?')}  sha256 {res.get('model_sha256', '')[:12]}  frames {res['frames']}",
        f"{'metric':<22}{'value':>8}   target",
        f"{'recall_pickable@0.5':<22}{f(res['recall_pickable']):>8}   >= 0.97",
        f"{'type_accuracy':<22}{f(res['type_accuracy']):>8}   >= 0.95",
        f"{'ap50_all':<22}{f(res['ap50_all']):>8}   >= 0.85",
        f"{'ap_all (50:95)':<22}{f(res['ap_all']):>8}",
        f"{'recall_all@0.5':<22}{f(res['recall_all']):>8}",
        f"{'confidence_auroc':<22}{f(res['confidence_auroc']):>8}   >= 0.85",
        f"{'latency p50/p99 [ms]':<22}{f(res['latency_ms_p50']):>8} / {f(res['latency_ms_p99'])}",
        '',
        f"{'subset':<26}{'count':>7}{'recall':>8}{'type_acc':>9}{'ap50':>7}{'missed':>7}{'miss best IoU':>14}",
    ]
    for name, v in res['per_case'].items():
        lines.append(f"{name:<26}{v['count']:>7}{f(v['recall']):>8}{f(v['type_accuracy']):>9}"
                     f"{f(v.get('ap50', float('nan'))):>7}{v['missed']:>7}{f(v['missed_mean_best_iou']):>14}")
    conf = res.get('type_confusion')
    if conf:
        names = conf['classes']
        lines += ['', 'type confusion (rows: true type, columns: predicted; found instances)',
                  f"{'':<18}" + ''.join(f'{n[:14]:>15}' for n in names)]
        lines += [f'{n:<18}' + ''.join(f'{c:>15}' for c in row) for n, row in zip(names, conf['counts'], strict=True)]
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog='python -m robin_perception.evaluate', description=__doc__.split('\n')[0])
    ap.add_argument('--model', type=Path, default=Path('models/universal/package_seg.onnx'))
    ap.add_argument('--geometric', action='store_true', help='evaluate the depth-only segmenter instead')
    ap.add_argument('--data', type=Path, default=Path('eval/data/universal'), help='dataset root')
    ap.add_argument('--split', default='test')
    ap.add_argument('--domain', default='universal', help='domain used with --generate')
    ap.add_argument('--generate', type=int, default=200, help='frames to generate if the split is missing')
    ap.add_argument('--backend', default='procedural', choices=('procedural', 'sim'), help='generator for --generate')
    ap.add_argument('--limit', type=int, default=0, help='evaluate at most this many frames (0 = all)')
    ap.add_argument('--threads', type=int, default=2, help='onnxruntime intra-op threads')
    ap.add_argument('--out', type=Path, default=Path('eval/results/latest.json'))
    a = ap.parse_args(argv)
    if not read_split(a.data, a.split):
        print(f'{a.data}/{a.split} is empty: generating {a.generate} held-out frames', file=sys.stderr)
        make = renderer(a.backend)
        for seed in split_seeds(a.split, a.domain, a.generate):
            write_frame(a.data, a.split, make(seed, a.domain))
    model = None if a.geometric else OnnxModel(a.model, intra_op_threads=a.threads, expect_classes=PACKAGE_TYPES)
    pipe = SegmentationPipeline(model, cross_check=False)
    n_frames = len(read_split(a.data, a.split))
    matches, lat, _ = evaluate_frames(pipe, iter_frames(a.data, a.split), a.limit or n_frames)
    res = summarize(matches, PACKAGE_TYPES, HARD_CASES)
    res.update({
        'model': 'geometric' if model is None else str(a.model),
        'model_sha256': 'geometric' if model is None else model.sha256,
        'model_version': 'geometric' if model is None else model.metadata.version,
        'data': str(a.data), 'split': a.split,
        'latency_ms_p50': float(np.percentile(lat, 50)) if lat else float('nan'),
        'latency_ms_p99': float(np.percentile(lat, 99)) if lat else float('nan'),
        'calibrated_confidence': bool(model is not None and model.metadata.confidence),
    })
    print(format_table(res))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2, default=_json_default) + '\n')
    print(f'wrote {a.out}')
    return 0


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))


if __name__ == '__main__':
    sys.exit(main())
