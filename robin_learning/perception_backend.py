"""What retraining needs from the perception package, as a Protocol, and its real implementation.

The orchestration (``retrain``) only sees :class:`PerceptionBackend`; tests and the learning
benchmark substitute fakes. :class:`RobinPerceptionBackend` drives the perception package's own
commands in-process (``robin_perception.train``, ``export_onnx``, ``evaluate`` ``main(argv)``),
so a retrain runs exactly what an engineer would run by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class BackendError(RuntimeError):
    """A perception step failed (non-zero exit or missing output)."""


class PerceptionBackend(Protocol):
    def fine_tune(self, data: Path, init_weights: Path | None, replay: Path | None, ckpt_dir: Path) -> Path:
        """Train on ``data`` (train split) from ``init_weights`` with replay; return the checkpoint."""
        ...

    def export(self, checkpoint: Path, out_dir: Path, version: str, data: Path) -> Path:
        """Export ``checkpoint`` to ONNX in ``out_dir`` (plus ``weights.pt``); return the ONNX path."""
        ...

    def evaluate(self, onnx: Path, data: Path, split: str, out_json: Path) -> dict[str, Any]:
        """Evaluate ``onnx`` on ``data/split``; return the eval JSON (recall_pickable, ...)."""
        ...


@dataclass
class RobinPerceptionBackend:
    """The real backend.

    Attributes:
        hours: fine-tune time budget [h] (sets the LR schedule).
        max_steps: stop after this many steps (0 = time budget only).
        replay_ratio: share of each batch from the replay set.
        threads: torch / onnxruntime threads.
        eval_limit: evaluate at most this many frames per split (0 = all).
    """

    hours: float = 0.3
    max_steps: int = 0
    replay_ratio: float = 0.3
    threads: int = 2
    eval_limit: int = 0

    def fine_tune(self, data: Path, init_weights: Path | None, replay: Path | None, ckpt_dir: Path) -> Path:
        from robin_perception import train  # noqa: PLC0415 - imports torch

        argv = ['--data', str(data), '--ckpt-dir', str(ckpt_dir), '--hours', str(self.hours),
                '--max-steps', str(self.max_steps), '--threads', str(self.threads)]
        if init_weights is not None:
            argv += ['--init', str(init_weights)]
        if replay is not None:
            argv += ['--replay', str(replay), '--replay-ratio', str(self.replay_ratio)]
        if (rc := train.main(argv)) != 0:
            raise BackendError(f'fine-tuning failed (exit {rc}); see {ckpt_dir}/train.log')
        for name in ('best.pt', 'last.pt'):  # best needs a val split; queue sets have none
            if (ckpt_dir / name).is_file():
                return ckpt_dir / name
        raise BackendError(f'fine-tuning wrote no checkpoint in {ckpt_dir}')

    def export(self, checkpoint: Path, out_dir: Path, version: str, data: Path) -> Path:
        from robin_perception import export_onnx  # noqa: PLC0415 - imports torch

        rc = export_onnx.main(['--ckpt', str(checkpoint), '--out-dir', str(out_dir), '--data', str(data),
                               '--version', version])
        onnx = Path(out_dir) / export_onnx.ONNX_NAME
        if rc != 0 or not onnx.is_file():
            raise BackendError(f'ONNX export of {checkpoint} failed (exit {rc})')
        return onnx

    def evaluate(self, onnx: Path, data: Path, split: str, out_json: Path) -> dict[str, Any]:
        from robin_perception import dataset, evaluate  # noqa: PLC0415 - imports onnxruntime

        if not dataset.read_split(data, split):  # evaluate.main would generate frames into it
            raise BackendError(f'{data}/{split} has no frames to evaluate on')
        argv = ['--model', str(onnx), '--data', str(data), '--split', str(split), '--out', str(out_json),
                '--threads', str(self.threads), '--limit', str(self.eval_limit)]
        if (rc := evaluate.main(argv)) != 0:
            raise BackendError(f'evaluation of {onnx} on {data}/{split} failed (exit {rc})')
        return json.loads(Path(out_json).read_text())
