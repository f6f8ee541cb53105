"""Export a training checkpoint to the shipped model: ONNX (+metadata), metadata.json, fp16 weights.

Example::

    python -m robin_perception.export_onnx --ckpt /work/ckpt/universal/best.pt \
        --data /work/data/universal --out-dir models/universal --version 1.0.0

BatchNorm is folded into the convolutions first, the input size is fixed, and the graph is
checked with ``onnx.checker`` and loaded back in onnxruntime (outputs compared to torch).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from robin_core.instance_table import PACKAGE_TYPES
from robin_perception.dataset import dataset_hash
from robin_perception.model_metadata import ModelMetadata
from robin_perception.seg_model import RobinSegNet, architecture_of

ONNX_NAME = 'package_seg.onnx'
OPSET = 17


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with every Conv2d->BatchNorm2d pair fused into one conv."""
    m = copy.deepcopy(model).eval()
    for mod in m.modules():
        if isinstance(mod, nn.Sequential):
            for i in range(len(mod) - 1):
                if isinstance(mod[i], nn.Conv2d) and isinstance(mod[i + 1], nn.BatchNorm2d):
                    mod[i] = fuse_conv_bn_eval(mod[i], mod[i + 1])
                    mod[i + 1] = nn.Identity()
    return m


def export_model(model: RobinSegNet, out_path: Path, metadata: ModelMetadata) -> bytes:
    """Write ``model`` as ONNX with ``metadata`` to ``out_path``; return the file bytes."""
    fused = fold_batchnorm(model).float().to(memory_format=torch.contiguous_format)
    h, w = metadata.input_hw
    dummy = torch.rand(1, 4, h, w) * torch.tensor([255, 255, 255, 0.2]).view(1, 4, 1, 1)
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but gives the plainest graph
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(fused, (dummy,), buf, input_names=[metadata.input_name],
                          output_names=list(metadata.output_names), opset_version=OPSET, dynamo=False,
                          do_constant_folding=True)
    proto = onnx.load_from_string(buf.getvalue())
    proto.producer_name = 'robin_perception.export_onnx'
    proto.model_version = 1
    for k, v in metadata.to_props().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(proto)
    if bad := sorted({n.op_type for n in proto.graph.node} - ALLOWED_OPS):
        raise RuntimeError(f'exported graph uses ops outside the TensorRT-friendly set: {bad}')
    data = proto.SerializeToString()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(data)
    _check_runtime(out_path, fused, dummy)
    return data


ALLOWED_OPS = {'Conv', 'Relu', 'Resize', 'Concat', 'Add', 'Sub', 'Mul', 'Sigmoid', 'ReduceMean', 'Slice',
               'Constant', 'Identity', 'Div', 'Shape', 'Gather', 'Unsqueeze', 'Cast'}


def _check_runtime(path: Path, model: nn.Module, x: torch.Tensor) -> None:
    sess = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        ref = model(x)
    for g, r in zip(got, ref, strict=True):
        err = float(np.max(np.abs(g - r.numpy())))
        if err > 1e-2 * (1 + float(r.abs().max())):
            raise RuntimeError(f'onnxruntime output differs from torch by {err}')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog='python -m robin_perception.export_onnx', description=__doc__.split('\n')[0])
    ap.add_argument('--ckpt', type=Path, required=True, help='training checkpoint (best.pt / last.pt)')
    ap.add_argument('--out-dir', type=Path, default=Path('models/universal'))
    ap.add_argument('--data', type=Path, help='training dataset root (for the data hash); default: from ckpt')
    ap.add_argument('--version', default='1.0.0')
    a = ap.parse_args(argv)
    state = torch.load(a.ckpt, map_location='cpu', weights_only=False)
    args = state.get('args', {})
    arch = architecture_of(state['model'])
    model = RobinSegNet(len(PACKAGE_TYPES), arch['width'], arch['context_width'])
    model.load_state_dict(state['model'])
    model.eval()
    data_root = a.data or (Path(args['data']) if args.get('data') else None)
    md = ModelMetadata(
        version=a.version, class_names=PACKAGE_TYPES, input_hw=tuple(state.get('input_hw', (240, 320))),
        training_data_sha256=dataset_hash(data_root) if data_root else 'unknown',
        training={
            'steps': state.get('step'), 'trained_minutes': round(state.get('trained_s', 0) / 60, 1),
            'train_frames': state.get('train_frames'), 'val_loss': state.get('val_loss'), **arch,
            'data': str(data_root), 'init': args.get('init'), 'replay': args.get('replay'),
            'batch': args.get('batch'), 'params': sum(p.numel() for p in model.parameters()),
        },
    )
    old = a.out_dir / 'metadata.json'
    if old.exists():  # keep a calibration fitted for an earlier export only if asked by re-running calibrate
        md.confidence = {}
    data = export_model(model, a.out_dir / ONNX_NAME, md)
    sha = hashlib.sha256(data).hexdigest()
    (a.out_dir / 'metadata.json').write_text(
        json.dumps({**json.loads(md.to_json()), 'onnx_sha256': sha, 'onnx_bytes': len(data)}, indent=2) + '\n')
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
               a.out_dir / 'weights.pt')
    print(f'wrote {a.out_dir / ONNX_NAME} ({len(data) / 1e6:.2f} MB, sha256 {sha[:12]}), metadata.json, weights.pt')
    return 0


if __name__ == '__main__':
    sys.exit(main())
