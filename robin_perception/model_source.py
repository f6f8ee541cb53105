"""Which ONNX file the segmentation node loads: registry alias/version, a file, or the default.

Order (first that applies):

1. ``ROBIN_MODEL_REF`` in the environment (set per cell by the fleet runner): a registry alias
   (``production``, ``canary``, ``candidate``), a version id, or a ``.onnx`` path;
2. parameter ``model_path`` when not empty: that file, no registry;
3. parameter ``model_ref`` when not empty: resolved in the registry
   (``robin_learning.registry.resolve_model``, sha256-checked);
4. the shipped universal model file.

A reference that cannot be resolved (unknown alias or version, corrupt registry, file missing
or not matching its hash) gives a choice with ``path=None`` and the reason in ``error``: the
node then runs the geometric fallback and reports the error. No rclpy import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from robin_core.fleet_env import MODEL_REF_ENV, env_override
from robin_learning.registry import ModelRegistry, RegistryError, resolve_model


@dataclass(frozen=True)
class ModelChoice:
    """The model to load, or why there is none."""

    path: Path | None
    ref: str  # what was asked for
    source: str  # ROBIN_MODEL_REF | parameter model_path | parameter model_ref | default
    version: str | None = None  # registry version id (None: a plain file)
    error: str = ''

    @property
    def ok(self) -> bool:
        return self.path is not None


def choose_model(model_ref: str, model_path: str, default_path: Path, registry_root: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> ModelChoice:
    """Apply the order above; never raises for a bad reference (see ``ModelChoice.error``)."""
    ref = env_override('model_ref', model_ref, MODEL_REF_ENV, environ)
    if ref.source == MODEL_REF_ENV:
        return _resolve(ref.value, ref.source, registry_root)
    if model_path.strip():
        return ModelChoice(Path(model_path), model_path, 'parameter model_path')
    if ref.value.strip():
        return _resolve(ref.value.strip(), ref.source, registry_root)
    return ModelChoice(Path(default_path), str(default_path), 'default')


def _resolve(ref: str, source: str, root: Path | None) -> ModelChoice:
    if ref.endswith('.onnx'):
        p = Path(ref)
        if p.is_file():
            return ModelChoice(p, ref, source)
        return ModelChoice(None, ref, source, error=f"model_ref '{ref}' ({source}): file not found")
    registry = ModelRegistry(root)
    try:
        version = registry.get(ref).version
        path = resolve_model(ref, registry.root)
    except (RegistryError, OSError) as exc:
        return ModelChoice(None, ref, source, error=f"model_ref '{ref}' ({source}) not resolved: {exc}")
    return ModelChoice(path, ref, source, version=version)


def registry_root(param: str, share: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Registry location: the parameter, else ``$ROBIN_MODEL_REGISTRY``, else ``<share>/models/registry``."""
    env = os.environ if environ is None else environ
    if param.strip():
        return Path(param)
    if env.get('ROBIN_MODEL_REGISTRY', '').strip():
        return Path(env['ROBIN_MODEL_REGISTRY'])
    return Path(share) / 'models' / 'registry'
