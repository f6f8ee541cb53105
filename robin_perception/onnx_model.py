"""Load a segmentation ONNX with onnxruntime: provider preference, thread counts, metadata checks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from robin_perception.model_metadata import ModelMetadata, ModelMetadataError

DEFAULT_PROVIDERS = ('TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider')


class ModelLoadError(RuntimeError):
    """The model file is missing, corrupt, or its metadata contradicts the configuration."""


def choose_providers(preference: Sequence[str], available: Sequence[str]) -> list[str]:
    """The preferred execution providers that exist here, in order; CPU is always the last resort."""
    chosen = [p for p in preference if p in available]
    if 'CPUExecutionProvider' not in chosen and 'CPUExecutionProvider' in available:
        chosen.append('CPUExecutionProvider')
    return chosen


class OnnxModel:
    """An onnxruntime session of a RobinSegNet export, checked against its metadata.

    Args:
        path: the .onnx file.
        providers: execution-provider preference (those not installed are skipped).
        intra_op_threads: ORT intra-op threads (≤ physical cores; the node shares the CPU).
        inter_op_threads: ORT inter-op threads.
        expect_classes: configured class names; a mismatch raises ModelLoadError.
        expect_input_hw: configured input size; a mismatch raises ModelLoadError.

    Raises:
        ModelLoadError: missing/corrupt file, bad metadata, or metadata contradicting the config.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        providers: Sequence[str] = DEFAULT_PROVIDERS,
        intra_op_threads: int = 2,
        inter_op_threads: int = 1,
        expect_classes: Sequence[str] | None = None,
        expect_input_hw: tuple[int, int] | None = None,
    ) -> None:
        os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # no spinning threads stealing the shared CPU
        import onnxruntime as ort  # noqa: PLC0415 - after OMP_WAIT_POLICY is set

        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f'model file not found: {path}')
        data = path.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.path = path
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(intra_op_threads)
        so.inter_op_num_threads = int(inter_op_threads)
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.providers = choose_providers(providers, ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(data, so, providers=self.providers)
        except Exception as exc:
            raise ModelLoadError(f'cannot load {path}: {str(exc).splitlines()[0][:200]}') from exc
        try:
            self.metadata = ModelMetadata.from_props(self.session.get_modelmeta().custom_metadata_map)
        except ModelMetadataError as exc:
            raise ModelLoadError(f'{path}: {exc}') from exc
        problems = self.metadata.problems_with(
            tuple(expect_classes) if expect_classes is not None else None, expect_input_hw)
        inp = self.session.get_inputs()[0]
        if inp.name != self.metadata.input_name or list(inp.shape[2:]) != list(self.metadata.input_hw):
            problems.append(f'graph input {inp.name}{inp.shape} does not match metadata {self.metadata.input_hw}')
        if problems:
            raise ModelLoadError(f'{path}: ' + '; '.join(problems))

    @property
    def input_hw(self) -> tuple[int, int]:
        return self.metadata.input_hw

    def run(self, rgbh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(4, h, w) float32 input -> semantic (2+T, h/2, w/2), center (h/2, w/2), offset (2, h/2, w/2)."""
        sem, ctr, off = self.session.run(list(self.metadata.output_names),
                                         {self.metadata.input_name: rgbh[None].astype(np.float32, copy=False)})
        return sem[0], ctr[0, 0], off[0]
