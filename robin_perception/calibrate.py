"""Fit the instance-confidence model on a validation split and write it into the model metadata.

Example::

    python -m robin_perception.calibrate --model models/universal/package_seg.onnx \
        --data /work/data/universal --split val

Updates both the ONNX ``robin.confidence`` property and ``metadata.json`` beside the model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx

from robin_core.instance_table import PACKAGE_TYPES
from robin_perception.confidence_calibration import auroc, fit_confidence
from robin_perception.evaluate import evaluate_frames, iter_frames
from robin_perception.mask_metrics import _greedy
from robin_perception.model_metadata import PREFIX
from robin_perception.onnx_model import OnnxModel
from robin_perception.segmentation_pipeline import SegmentationPipeline


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog='python -m robin_perception.calibrate', description=__doc__.split('\n')[0])
    ap.add_argument('--model', type=Path, default=Path('models/universal/package_seg.onnx'))
    ap.add_argument('--data', type=Path, required=True)
    ap.add_argument('--split', default='val')
    ap.add_argument('--limit', type=int, default=200)
    a = ap.parse_args(argv)
    model = OnnxModel(a.model, expect_classes=PACKAGE_TYPES)
    pipe = SegmentationPipeline(model, cross_check=False)
    feats, correct = [], []
    # features and correctness per predicted instance, in the same order as the table rows
    for f in iter_frames(a.data, a.split):
        if len(feats) >= a.limit:
            break
        matches, _, fe = evaluate_frames(pipe, [f], progress=False)
        if not matches or fe.size == 0:
            continue
        m = matches[0]
        status, _, _ = _greedy(m, 0.5, ~m.gt_ignore)
        keep = status >= 0
        feats.append(fe[keep])
        correct.append(status[keep] == 1)
    x, y = np.concatenate(feats), np.concatenate(correct)
    conf = fit_confidence(x, y)
    print(f'{len(y)} instances ({y.mean():.2%} correct); validation AUROC prior '
          f'{auroc(pipe.confidence.score(x), y):.3f} -> fitted {auroc(conf.score(x), y):.3f}')
    proto = onnx.load(str(a.model))
    for p in proto.metadata_props:
        if p.key == PREFIX + 'confidence':
            p.value = json.dumps(conf.as_dict())
    data = proto.SerializeToString()
    a.model.write_bytes(data)
    meta_path = a.model.parent / 'metadata.json'
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta.update({'confidence': conf.as_dict(), 'onnx_sha256': hashlib.sha256(data).hexdigest(),
                 'onnx_bytes': len(data)})
    meta_path.write_text(json.dumps(meta, indent=2) + '\n')
    print(f'updated {a.model} and {meta_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
