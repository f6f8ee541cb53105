"""A deliberately worse copy of a segmentation ONNX, for rollout demos and tests.

Every float initializer ``w`` (convolution weights, biases; batch norm is folded at export)
gets Gaussian noise of ``noise * std(w)`` (seeded). The graph, inputs/outputs and metadata stay
valid, so the copy loads and runs exactly like the original; only its predictions get worse. The
metadata version is tagged (``<version>+degraded<noise>``) so the node's diagnostics show it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def degrade_onnx(src: Path, dst: Path, *, noise: float, seed: int = 0) -> Path:
    """Write a perturbed copy of ``src`` to ``dst``; return ``dst``.

    Raises:
        ValueError: ``noise`` is negative.
    """
    if noise < 0:
        raise ValueError(f'noise must be >= 0, got {noise}')
    import onnx  # noqa: PLC0415 - heavy; only when degrading
    from onnx import numpy_helper  # noqa: PLC0415

    model = onnx.load(str(src))
    rng = np.random.default_rng(seed)
    for init in model.graph.initializer:
        w = numpy_helper.to_array(init)
        if w.dtype.kind != 'f' or w.size < 2:
            continue
        scale = float(w.std()) * noise
        noisy = (w + rng.normal(0.0, scale, w.shape)).astype(w.dtype)
        init.CopyFrom(numpy_helper.from_array(noisy, init.name))
    for prop in model.metadata_props:
        if prop.key == 'robin.version':
            prop.value = json.dumps(f'{json.loads(prop.value)}+degraded{noise:g}')
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    return Path(dst)
