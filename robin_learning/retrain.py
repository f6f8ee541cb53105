"""One retraining round: annotated queue -> fine-tune (with replay) -> export -> evaluate -> gate.

Only a candidate that passes the gate is registered (alias ``candidate``, parent = the model it
was fine-tuned from); either way a report is written. Rollout to cells is a separate step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robin_learning.perception_backend import BackendError, PerceptionBackend
from robin_learning.queue_store import AnnotationQueue
from robin_learning.registry import ModelRefusedError, ModelRegistry, ModelVersion
from robin_learning.retraining_gate import GateConfig, GateDecision, decide, write_report
from robin_learning.training_set import build_training_set


class RetrainError(RuntimeError):
    """Retraining could not run (no data, unknown base model)."""


@dataclass
class RetrainConfig:
    """Inputs of a round.

    Attributes:
        base: alias or version to fine-tune from and compare against.
        frozen_test: dataset root of the frozen test set; ``frozen_split`` its split.
        replay: dataset root of universal data mixed into training (None: no replay).
        out_dir: where the run's data, checkpoints, export and reports go.
        holdout_percent: share of annotated frames kept as new hard cases (never trained on).
        gate: tolerances.
    """

    base: str
    frozen_test: Path
    out_dir: Path
    replay: Path | None = None
    frozen_split: str = 'test'
    holdout_percent: int = 20
    gate: GateConfig = field(default_factory=GateConfig)
    version: str | None = None


@dataclass
class RetrainResult:
    run_id: str
    decision: GateDecision
    registered: ModelVersion | None
    report_json: Path
    report_md: Path


def _dataset_hash(root: Path | None) -> str | None:
    if root is None:
        return None
    from robin_perception.dataset import dataset_hash  # noqa: PLC0415

    return dataset_hash(root)


def run_retrain(cfg: RetrainConfig, queue: AnnotationQueue, registry: ModelRegistry,
                backend: PerceptionBackend) -> RetrainResult:
    """Run one round; see the module docstring."""
    base = registry.get(cfg.base)
    base_onnx = registry.resolve(cfg.base)
    run_id = time.strftime('retrain-%Y%m%d-%H%M%S')
    run_dir = Path(cfg.out_dir) / run_id
    data = run_dir / 'data'
    manifest = build_training_set(queue, data, run_id, cfg.holdout_percent, mark_used=False)
    if manifest.train_frames == 0:
        raise RetrainError('no annotated frames to train on (annotate the queue first)')
    init = registry.root / base.weights if base.weights else None
    ckpt = backend.fine_tune(data, init, cfg.replay, run_dir / 'ckpt')
    queue.set_status([i for i in manifest.image_ids if queue.get(i).status == 'annotated'], 'used_in_training', run_id)
    version = cfg.version or f'{base.version}-ft{time.strftime("%Y%m%d%H%M%S")}'
    context: dict[str, Any] = {'run_id': run_id, 'base': f'{cfg.base} ({base.version})', 'candidate_version': version,
                               'train_frames': manifest.train_frames, 'hard_case_frames': manifest.test_frames,
                               'frozen_test': f'{cfg.frozen_test}/{cfg.frozen_split}'}
    try:
        onnx = backend.export(ckpt, run_dir / 'export', version, data)
    except BackendError as exc:
        raise ModelRefusedError(f'candidate refused: {exc}') from exc
    ev = run_dir / 'eval'
    cur = backend.evaluate(base_onnx, cfg.frozen_test, cfg.frozen_split, ev / 'current_frozen.json')
    cand = backend.evaluate(onnx, cfg.frozen_test, cfg.frozen_split, ev / 'candidate_frozen.json')
    cur_h: dict[str, Any] = {}
    cand_h: dict[str, Any] = {}
    if manifest.test_frames:
        cur_h = backend.evaluate(base_onnx, data, 'test', ev / 'current_hard.json')
        cand_h = backend.evaluate(onnx, data, 'test', ev / 'candidate_hard.json')
    decision = decide(cur, cand, cur_h, cand_h, cfg.gate)
    context['metrics'] = {'current_frozen': cur, 'candidate_frozen': cand, 'current_hard': cur_h,
                          'candidate_hard': cand_h}
    registered = None
    if decision.register:
        card = run_dir / 'export' / 'model_card.md'
        card.write_text(f'# {version}\n\nFine-tuned from {base.version} on {manifest.train_frames} annotated queue '
                        f'frames (run {run_id}), replay: {cfg.replay}.\n\nGate: ' + '; '.join(decision.reasons) + '\n')
        weights = run_dir / 'export' / 'weights.pt'
        registered = registry.register(
            onnx, version=version, parent=base.version, alias='candidate', model_card=card,
            weights=weights if weights.is_file() else None,
            training_data={'queue_annotations': {'sha256': manifest.sha256, 'train_frames': manifest.train_frames,
                                                 'hard_case_frames': manifest.test_frames},
                           'replay': {'root': str(cfg.replay), 'sha256': _dataset_hash(cfg.replay)},
                           'parent': base.training_data},
            metrics={'frozen_test': cand, 'hard_cases': cand_h})
        context['registered'] = registered.version
    js, md = write_report(decision, run_dir, context)
    return RetrainResult(run_id, decision, registered, js, md)
