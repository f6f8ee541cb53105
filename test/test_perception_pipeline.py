"""Tiny end-to-end proof: generate frames -> train a few steps -> export ONNX -> ORT -> segment."""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest

from robin_core.instance_table import INSTANCE_DTYPE, PACKAGE_TYPES
from robin_perception import dataset, evaluate, export_onnx, finetune_experiment, train
from robin_perception.onnx_model import ModelLoadError, OnnxModel
from robin_perception.seg_loss import type_class_weights
from robin_perception.segmentation_pipeline import SegmentationPipeline
from robin_perception.training_data import SampleCache


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    assert dataset.main(['--out', str(root), '--train', '6', '--val', '2', '--test', '2']) == 0
    ckpt = tmp_path_factory.mktemp('ckpt')
    assert train.main(['--data', str(root), '--ckpt-dir', str(ckpt), '--max-steps', '3', '--batch', '2',
                       '--threads', '1', '--hours', '0.01']) == 0
    out = tmp_path_factory.mktemp('model')
    assert export_onnx.main(['--ckpt', str(ckpt / 'last.pt'), '--out-dir', str(out), '--version', 'test']) == 0
    return root, ckpt, out


def test_dataset_layout_and_split_seeds(tiny_model):
    root, _, _ = tiny_model
    coco = json.loads((root / 'test' / 'annotations.json').read_text())
    test_ids = {im['id'] for im in coco['images']}
    train_ids = {r.image['id'] for r in dataset.read_split(root, 'train')}
    assert test_ids and not (test_ids & train_ids)
    assert {c['name'] for c in coco['categories']} == set(PACKAGE_TYPES)
    ann = coco['annotations'][0]
    assert {'segmentation', 'bbox', 'area', 'tags', 'pickable'} <= set(ann)
    frame = dataset.load_frame(dataset.read_split(root, 'test')[0])
    assert frame.depth_mm.dtype == np.uint16 and frame.labels.max() == len(frame.packages)


def test_train_export_load_infer(tiny_model):
    root, ckpt, out = tiny_model
    assert (ckpt / 'train.log').read_text().count('finished') == 1
    model = OnnxModel(out / export_onnx.ONNX_NAME, intra_op_threads=1, expect_classes=PACKAGE_TYPES)
    assert model.metadata.class_names == PACKAGE_TYPES
    assert model.metadata.training_data_sha256 == dataset.dataset_hash(root)
    meta = json.loads((out / 'metadata.json').read_text())
    assert meta['onnx_sha256'] == model.sha256
    assert (out / 'weights.pt').stat().st_size < (out / export_onnx.ONNX_NAME).stat().st_size
    frame = dataset.load_frame(dataset.read_split(root, 'test')[0])
    res = SegmentationPipeline(model).run(frame.rgb, evaluate.depth_mm_to_m(frame.depth_mm), frame.intrinsics)
    assert res.labels.shape == frame.labels.shape and res.labels.dtype == np.uint16
    assert res.table.dtype == INSTANCE_DTYPE
    assert len(res.table) == int(res.labels.max())


def test_resume_continues_the_run(tiny_model):
    _, ckpt, _ = tiny_model
    assert train.main(['--ckpt-dir', str(ckpt), '--resume', '--max-steps', '4', '--threads', '1']) == 0
    log = (ckpt / 'train.log').read_text()
    assert 'resumed at step 3' in log
    # the run's own budget (0.01 h) carries on: a resume without --hours is not reset to the default
    assert '"hours": "0.01"' in log.split('resumed at step 3')[1]


def test_finetune_from_shipped_weights_with_replay(tiny_model, tmp_path):
    root, _, out = tiny_model
    assert train.main(['--data', str(root), '--ckpt-dir', str(tmp_path), '--init', str(out / 'weights.pt'),
                       '--replay', str(root), '--replay-ratio', '0.5', '--max-steps', '2', '--batch', '2',
                       '--threads', '1']) == 0
    log = (tmp_path / 'train.log').read_text()
    assert 'initialised from' in log and 'replay' in log


def test_type_balance_weights_come_from_the_training_pixels(tiny_model, tmp_path):
    root, _, _ = tiny_model
    cache = SampleCache(root, 'train', train.DEFAULT_INPUT_HW)
    cache.refresh()
    counts = cache.type_pixel_counts(len(PACKAGE_TYPES))
    assert counts.sum() == sum(int((t[4] >= 0).sum()) for t in cache.targets) > 0
    assert train.main(['--data', str(root), '--ckpt-dir', str(tmp_path), '--type-balance', '0.5',
                       '--max-steps', '2', '--batch', '2', '--threads', '1', '--val-frames', '1']) == 0
    logged = (tmp_path / 'train.log').read_text().split('type loss weights ')[1].splitlines()[0]
    expected = type_class_weights(counts, 0.5).numpy()
    assert list(ast.literal_eval(logged).values()) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize('flag', [['--type-balance', '-0.5'], ['--val-frames', '0']])
def test_a_negative_type_balance_or_no_validation_frames_is_refused(tiny_model, tmp_path, flag):
    root, _, _ = tiny_model
    with pytest.raises(SystemExit) as exc:
        train.main(['--data', str(root), '--ckpt-dir', str(tmp_path), '--max-steps', '1', *flag])
    assert exc.value.code == 2 and not (tmp_path / 'last.pt').exists()


def test_metadata_contradiction_and_corrupt_file_are_refused(tiny_model, tmp_path):
    _, _, out = tiny_model
    with pytest.raises(ModelLoadError, match='classes'):
        OnnxModel(out / export_onnx.ONNX_NAME, expect_classes=('box', 'tote'))
    with pytest.raises(ModelLoadError, match='input'):
        OnnxModel(out / export_onnx.ONNX_NAME, expect_input_hw=(480, 640))
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(b'not a model')
    with pytest.raises(ModelLoadError):
        OnnxModel(bad)
    with pytest.raises(ModelLoadError, match='not found'):
        OnnxModel(tmp_path / 'missing.onnx')


def test_evaluate_writes_required_keys(tiny_model, tmp_path):
    root, _, out = tiny_model
    res_path = tmp_path / 'latest.json'
    assert evaluate.main(['--model', str(out / export_onnx.ONNX_NAME), '--data', str(root), '--split', 'test',
                          '--out', str(res_path), '--threads', '1']) == 0
    res = json.loads(res_path.read_text())
    for key in ('recall_pickable', 'type_accuracy', 'ap50_all', 'ap_all', 'confidence_auroc', 'per_case',
                'model_sha256'):
        assert key in res
    assert res['frames'] == 2 and isinstance(res['per_case'], dict)


def test_finetune_experiment_compares_three_models_of_one_architecture(tiny_model, tmp_path):
    """One command, one table: universal, fine-tuned and from-scratch models evaluated on both
    domains; from scratch means the universal model's own network (here one without the context
    branch a scratch run gets by default), untrained."""
    root, _, _ = tiny_model
    assert train.main(['--data', str(root), '--ckpt-dir', str(tmp_path / 'u'), '--max-steps', '1', '--batch', '2',
                       '--threads', '1', '--context-width', '0']) == 0
    universal = tmp_path / 'universal'
    assert export_onnx.main(['--ckpt', str(tmp_path / 'u' / 'last.pt'), '--out-dir', str(universal)]) == 0
    result = tmp_path / 'finetune.json'
    assert finetune_experiment.main(['--site', str(root), '--universal-data', str(root),
                                     '--universal-model', str(universal), '--minutes', '0.005', '--limit', '2',
                                     '--work', str(tmp_path / 'w'), '--out', str(result)]) == 0
    rows = json.loads(result.read_text())['rows']
    assert set(rows) == {'universal', 'fine-tuned', 'scratch'}
    assert all({'ap50_all', 'type_accuracy'} <= set(r['site']) and 'universal_retention' in r for r in rows.values())
    for run in ('finetuned', 'scratch'):
        assert train.init_architecture(tmp_path / 'w' / run / 'last.pt') == {'width': 1.0, 'context_width': 0}
