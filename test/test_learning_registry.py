"""Model registry: register / refuse / promote / rollback / resolve, and the retrain orchestration."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from learning_fixtures import boxes_frame, queue_frame
from onnx import TensorProto, helper

from robin_learning.ground_truth_annotator import annotate_from_ground_truth
from robin_learning.instances import mask_instance
from robin_learning.perception_backend import BackendError
from robin_learning.queue_store import AnnotationQueue
from robin_learning.registry import ModelRefusedError, ModelRegistry, RegistryError, resolve_model
from robin_learning.retrain import RetrainConfig, RetrainError, run_retrain


def tiny_onnx(path: Path, scale: float = 1.0) -> Path:
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [1])
    c = helper.make_tensor('c', TensorProto.FLOAT, [1], [scale])
    g = helper.make_graph([helper.make_node('Mul', ['x', 'c'], ['y'])], 'g', [x], [y], [c])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
    m.ir_version = 9  # what this onnxruntime reads
    onnx.save(m, path)
    return path


@pytest.fixture
def reg(tmp_path):
    return ModelRegistry(tmp_path / 'registry')


def test_register_promote_rollback_resolve(reg, tmp_path):
    v1 = reg.register(tiny_onnx(tmp_path / 'a.onnx'), metrics={'ap50_all': 0.8}, alias='production')
    v2 = reg.register(tiny_onnx(tmp_path / 'b.onnx', 2.0), parent='production', training_data={'x': {'count': 3}})
    assert (v1.version, v2.version, v2.parent) == ('v0001', 'v0002', 'v0001')
    assert v1.sha256 != v2.sha256
    assert reg.resolve('production') == reg.root / 'v0001' / 'package_seg.onnx'
    reg.promote('production', 'v0002')
    assert resolve_model('production', reg.root).parent.name == 'v0002'
    assert reg.rollback('production') == 'v0001'
    assert reg.aliases()['production'] == 'v0001'
    with pytest.raises(RegistryError, match='no previous version'):
        reg.rollback('production')
    with pytest.raises(RegistryError, match="unknown model 'v0009'"):
        reg.resolve('v0009')
    log = json.loads(reg.file.read_text())['log']
    assert [e['action'] for e in log] == ['register', 'promote', 'register', 'promote', 'rollback']
    assert reg.verify() == []


def test_refused_model_leaves_registry_unchanged(reg, tmp_path):
    reg.register(tiny_onnx(tmp_path / 'a.onnx'), alias='production')
    before = reg.file.read_text()
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(b'not an onnx model at all')
    with pytest.raises(ModelRefusedError, match='onnxruntime cannot load'):
        reg.register(bad, alias='candidate')
    with pytest.raises(ModelRefusedError, match='did the export fail'):
        reg.register(tmp_path / 'missing.onnx')
    with pytest.raises(RegistryError, match='already exists'):
        reg.register(tiny_onnx(tmp_path / 'c.onnx'), version='v0001')
    assert reg.file.read_text() == before
    assert sorted(p.name for p in reg.root.iterdir()) == ['registry.json', 'registry.lock', 'v0001']


def test_resolve_detects_tampering(reg, tmp_path):
    reg.register(tiny_onnx(tmp_path / 'a.onnx'), alias='production')
    tiny_onnx(reg.root / 'v0001' / 'package_seg.onnx', 3.0)
    with pytest.raises(RegistryError, match='does not match its registered sha256'):
        reg.resolve('production')
    assert reg.verify() and 'sha256 mismatch' in reg.verify()[0]


def test_a_shipped_version_gets_its_own_files_before_the_shipped_directory_moves_on(reg, tmp_path):
    shipped = tmp_path / 'universal'
    shipped.mkdir()
    weights = shipped / 'weights.pt'
    weights.write_bytes(b'v1 weights')
    old = reg.register(tiny_onnx(shipped / 'package_seg.onnx'), version='u-1', weights=weights, alias='production',
                       in_place=True)
    assert old.onnx == '../universal/package_seg.onnx'
    moved = reg.internalize('production')
    assert (moved.onnx, moved.weights) == ('u-1/package_seg.onnx', 'u-1/weights.pt')
    assert reg.internalize('u-1') == moved  # nothing left outside: a no-op
    tiny_onnx(shipped / 'package_seg.onnx', 2.0)  # the shipped directory takes the next model
    weights.write_bytes(b'v2 weights')
    assert reg.verify() == [] and reg.resolve('u-1') == reg.root / 'u-1' / 'package_seg.onnx'
    assert (reg.root / 'u-1' / 'weights.pt').read_bytes() == b'v1 weights'
    assert json.loads(reg.file.read_text())['log'][-1]['action'] == 'internalize'
    # a referenced file that changed already is not adopted as the registered model
    late = reg.register(shipped / 'package_seg.onnx', version='u-2', in_place=True)
    tiny_onnx(shipped / 'package_seg.onnx', 3.0)
    with pytest.raises(RegistryError, match='no longer the registered model'):
        reg.internalize(late.version)
    assert reg.get('u-2').onnx == '../universal/package_seg.onnx'
    with pytest.raises(RegistryError, match="unknown model 'u-9'"):
        reg.internalize('u-9')


class FakeBackend:
    """Pretends to train: the candidate's eval numbers are given; export can be made to fail."""

    def __init__(self, tmp: Path, cand: dict, cand_hard: dict, fail_export: bool = False) -> None:
        self.tmp, self.cand, self.cand_hard, self.fail_export = tmp, cand, cand_hard, fail_export
        self.trained_on: list[Path] = []

    def fine_tune(self, data, init_weights, replay, ckpt_dir):
        self.trained_on.append(data)
        ckpt_dir.mkdir(parents=True)
        (ckpt_dir / 'last.pt').write_bytes(b'ckpt')
        return ckpt_dir / 'last.pt'

    def export(self, checkpoint, out_dir, version, data):
        if self.fail_export:
            raise BackendError('ONNX export failed (exit 1)')
        out_dir.mkdir(parents=True)
        return tiny_onnx(out_dir / 'package_seg.onnx', 5.0)

    def evaluate(self, onnx_path, data, split, out_json):
        base = {'recall_pickable': 0.95, 'type_accuracy': 0.93, 'ap50_all': 0.85, 'recall_all': 0.7}
        if 'registry' in str(onnx_path):
            return base
        return self.cand if split == 'test' and 'frozen' in str(data) else self.cand_hard


def _annotated_queue(tmp_path) -> AnnotationQueue:
    q = AnnotationQueue.at(tmp_path / 'q.db')
    for k in range(12):
        side = tmp_path / f'gt{k}.json'
        side.write_text(json.dumps({'annotations': [mask_instance(boxes_frame([(2, 2, 20, 20)]) == 1, 1)]}))
        queue_frame(q, tmp_path, f'cell_0/{k}', [0.3], gt_ref=str(side))
    annotate_from_ground_truth(q, q.items('queued'))
    return q


@pytest.mark.parametrize(('cand', 'cand_hard', 'registered'), [
    ({'recall_pickable': 0.95, 'type_accuracy': 0.935, 'ap50_all': 0.86}, {'recall_all': 0.8, 'type_accuracy': 0.95},
     True),
    ({'recall_pickable': 0.90, 'type_accuracy': 0.935, 'ap50_all': 0.86}, {'recall_all': 0.8, 'type_accuracy': 0.95},
     False),
])
def test_retrain_registers_only_through_the_gate(tmp_path, cand, cand_hard, registered):
    reg = ModelRegistry(tmp_path / 'registry')
    reg.register(tiny_onnx(tmp_path / 'base.onnx'), alias='production')
    q = _annotated_queue(tmp_path)
    backend = FakeBackend(tmp_path, cand, cand_hard)
    cfg = RetrainConfig(base='production', frozen_test=tmp_path / 'frozen', out_dir=tmp_path / 'runs',
                        holdout_percent=30)
    res = run_retrain(cfg, q, reg, backend)
    assert res.decision.register is registered
    assert ('candidate' in reg.aliases()) is registered
    assert res.report_md.read_text().startswith('# Retraining gate: ' + ('REGISTER' if registered else 'REFUSE'))
    assert q.counts()['used_in_training'] == 12
    if registered:
        mv = reg.get('candidate')
        assert mv.parent == 'v0001' and mv.training_data['queue_annotations']['train_frames'] > 0


def test_retrain_export_failure_and_no_data(tmp_path):
    reg = ModelRegistry(tmp_path / 'registry')
    reg.register(tiny_onnx(tmp_path / 'base.onnx'), alias='production')
    cfg = RetrainConfig(base='production', frozen_test=tmp_path / 'frozen', out_dir=tmp_path / 'runs')
    with pytest.raises(RetrainError, match='no annotated frames'):
        run_retrain(cfg, AnnotationQueue.at(tmp_path / 'empty.db'), reg, FakeBackend(tmp_path, {}, {}))
    before = reg.file.read_text()
    with pytest.raises(ModelRefusedError, match='export failed'):
        run_retrain(cfg, _annotated_queue(tmp_path), reg, FakeBackend(tmp_path, {}, {}, fail_export=True))
    assert reg.file.read_text() == before
