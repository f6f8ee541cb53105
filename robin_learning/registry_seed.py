"""Register the shipped universal model (``models/universal``) as a registry version.

The repository ships ``models/registry/registry.json`` with this version on alias
``production`` (``robin-learn registry seed`` wrote it); the fleet rollout demo seeds its own
scratch registry the same way. The entry is built from what ships next to the model:

- sha256: of ``package_seg.onnx``, which must equal ``metadata.json``'s ``onnx_sha256``;
- training-data manifest: ``training_data_sha256`` and the training facts of ``metadata.json``;
- metrics: the evaluation JSON (``eval/results/latest.json``), checked to be of this model;
- model card: ``docs/model_card.md``; weights: ``weights.pt`` (fine-tuning starts there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from robin_learning.registry import ONNX_NAME, ModelRegistry, ModelVersion, RegistryError, sha256_of

SHIPPED_ALIAS = 'production'


def training_manifest(metadata: dict[str, Any], metadata_file: str) -> dict[str, Any]:
    """The training-data manifest of a model from its ``metadata.json``."""
    training = metadata.get('training') or {}
    return {
        'sha256': metadata.get('training_data_sha256'),
        'frames': training.get('train_frames'),
        'data': training.get('data'),
        'replay': training.get('replay'),
        'init': training.get('init'),
        'steps': training.get('steps'),
        'trained_minutes': training.get('trained_minutes'),
        'source': metadata_file,
    }


def shipped_version_name(metadata: dict[str, Any]) -> str:
    return f"universal-{metadata['version']}"


def seed_shipped_model(registry: ModelRegistry, model_dir: Path, metrics_file: Path | None, model_card: Path | None,
                       *, in_place: bool, alias: str = SHIPPED_ALIAS, parent: str | None = None) -> ModelVersion:
    """Register ``model_dir``'s ONNX (+ weights) with its metadata, metrics and card; set ``alias``.

    ``parent``: the version this one was trained from (a shipped model that follows an earlier one;
    internalize that one first if it references the same files in place).

    Raises:
        RegistryError: metadata missing or contradicting the ONNX file or the metrics.
    """
    model_dir = Path(model_dir)
    meta_file = model_dir / 'metadata.json'
    try:
        metadata = json.loads(meta_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RegistryError(f'{meta_file}: cannot read model metadata ({exc})') from exc
    onnx = model_dir / ONNX_NAME
    if not onnx.is_file():
        raise RegistryError(f'{onnx}: shipped model missing')
    sha = sha256_of(onnx)
    if metadata.get('onnx_sha256') not in (None, sha):
        raise RegistryError(f"{onnx}: sha256 {sha[:12]} differs from metadata.json's {metadata['onnx_sha256'][:12]}")
    metrics: dict[str, Any] = {}
    if metrics_file is not None:
        metrics = json.loads(Path(metrics_file).read_text())
        if metrics.get('model_sha256') not in (None, sha):
            raise RegistryError(f'{metrics_file}: metrics are of another model (sha256 {metrics["model_sha256"][:12]})')
    weights = model_dir / 'weights.pt'
    return registry.register(onnx, version=shipped_version_name(metadata),
                             training_data=training_manifest(metadata, str(meta_file)), metrics=metrics,
                             model_card=model_card, weights=weights if weights.is_file() else None, alias=alias,
                             notes='shipped universal model', in_place=in_place, parent=parent)
