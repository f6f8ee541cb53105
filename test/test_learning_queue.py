"""Annotation queue: scoring, selection, store transactions, COCO / Label Studio round trips, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from learning_fixtures import H, W, boxes_frame, queue_frame, table_for

from robin_core.records import PickRecord
from robin_learning.annotation_import import AnnotationImportError
from robin_learning.coco_io import export_coco, import_coco
from robin_learning.instances import instance_mask, label_image
from robin_learning.label_studio import export_label_studio, import_label_studio
from robin_learning.queue_status import TransitionError
from robin_learning.queue_store import AnnotationQueue, NewFrame, QueueError
from robin_learning.selection import select
from robin_learning.uncertainty import score_frame


@pytest.fixture
def queue(tmp_path):
    return AnnotationQueue.at(tmp_path / 'queue.db')


def test_uncertainty_reasons_and_order():
    labels = boxes_frame([(2, 2, 20, 20), (30, 10, 60, 40)])
    sure = score_frame(table_for(labels, [0.97, 0.95]))
    unsure = score_frame(table_for(labels, [0.97, 0.4]))
    types = score_frame(table_for(labels, [0.97, 0.95], type_scores=[0.5, 0.9]))
    geo = score_frame(table_for(labels, [0.97, 0.95], geo=[0.2, np.nan]))
    failed = score_frame(table_for(labels, [0.97, 0.95]), record=PickRecord(outcome='failed', verdict='drop'))
    assert not sure.should_queue
    assert unsure.reasons == ['low_instance_confidence']
    assert types.reasons == ['low_type_confidence']
    assert geo.reasons == ['geometric_disagreement']
    assert failed.reasons == ['pick_failed', 'qa_flagged']
    assert sure.score < unsure.score < failed.score


def test_selection_active_takes_most_uncertain_random_is_seeded(queue, tmp_path):
    ids = [queue_frame(queue, tmp_path, f'f{k}', [0.9, s]) for k, s in enumerate([0.9, 0.2, 0.5, 0.8, 0.3])]
    items = queue.items('queued', by_priority=False)
    active = select(items, 2, 'active')
    assert [i.image_id for i in active] == [ids[1], ids[4]]
    r1 = select(items, 3, 'random', np.random.default_rng(1))
    r2 = select(items, 3, 'random', np.random.default_rng(1))
    assert [i.image_id for i in r1] == [i.image_id for i in r2] and len(r1) == 3
    with pytest.raises(ValueError, match='unknown selection'):
        select(items, 1, 'smart')


def test_store_is_idempotent_and_guards_transitions(queue, tmp_path):
    a = queue_frame(queue, tmp_path, 'a', [0.3])
    assert queue.add(NewFrame('a', 'cell_0', W, H, 'x.png', 0.1, [], [])) is None
    queue.set_status([a], 'exported', 'b1')
    queue.apply_annotations({a: []}, 'test')
    queue.set_status([a], 'used_in_training', 'run1')
    with pytest.raises(TransitionError, match=f'frame {a}'):
        queue.set_status([a], 'queued')
    with pytest.raises(QueueError, match='unknown image id'):
        queue.set_status([a, 999], 'used_in_training')
    assert queue.counts() == {'queued': 0, 'exported': 0, 'annotated': 0, 'used_in_training': 1}


def test_coco_round_trip(queue, tmp_path):
    ids = [queue_frame(queue, tmp_path, f'f{k}', [0.3, 0.5]) for k in range(2)]
    out = export_coco(queue, queue.items('queued'), tmp_path / 'batch.json', 'b1')
    doc = json.loads(out.read_text())
    assert {im['id'] for im in doc['images']} == set(ids) and len(doc['annotations']) == 4
    assert all(queue.get(i).status == 'exported' for i in ids)
    # the annotator fixes a type and draws one polygon instead of the second mask
    doc['annotations'][0]['category_id'] = 3
    doc['annotations'][1]['segmentation'] = [[30, 10, 60, 10, 60, 40, 30, 40]]
    (tmp_path / 'fixed.json').write_text(json.dumps(doc))
    res = import_coco(queue, tmp_path / 'fixed.json')
    assert (res.images, res.instances) == (2, 4)
    first = queue.get(doc['annotations'][0]['image_id'])
    assert first.status == 'annotated' and first.annotation[0]['category_id'] == 3
    poly = instance_mask(first.annotation[1])
    assert poly[10:40, 30:60].mean() > 0.95 and poly.sum() < 35 * 35


@pytest.mark.parametrize(('edit', 'message'), [
    (lambda d: d['annotations'][0].update(image_id=4242), 'not in the queue'),
    (lambda d: d['annotations'][0].update(segmentation=[[1, 1, 5, 5]]), '2 point'),
    (lambda d: d['annotations'][0].update(segmentation=[[1, 1, 5, 5, 9, 9]]), 'zero area'),
    (lambda d: d['annotations'][0].update(category_id=9), 'out of range'),
    (lambda d: d['images'].append({'id': 777, 'width': W, 'height': H}), 'image 777'),
])
def test_coco_import_bad_input_changes_nothing(queue, tmp_path, edit, message):
    ids = [queue_frame(queue, tmp_path, f'f{k}', [0.3, 0.5]) for k in range(2)]
    doc = json.loads(export_coco(queue, queue.items('queued'), tmp_path / 'b.json', 'b1').read_text())
    edit(doc)
    (tmp_path / 'bad.json').write_text(json.dumps(doc))
    before = queue.counts()
    with pytest.raises(AnnotationImportError, match=message) as err:
        import_coco(queue, tmp_path / 'bad.json')
    assert err.value.problems
    assert queue.counts() == before and all(queue.get(i).annotation is None for i in ids)


def test_label_studio_round_trip_and_errors(queue, tmp_path):
    ids = [queue_frame(queue, tmp_path, f'f{k}', [0.3, 0.5]) for k in range(2)]
    tasks_path = export_label_studio(queue, queue.items('queued'), tmp_path / 'ls', 'b1')
    tasks = json.loads(tasks_path.read_text())
    assert (tmp_path / 'ls' / 'labeling_config.xml').read_text().count('<Label ') == 4
    assert tasks[0]['predictions'][0]['result'][0]['type'] == 'polygonlabels'
    # Label Studio's export: accepted predictions become annotations; second task not done yet
    export = [{'id': 10 + k, 'data': t['data'],
               'annotations': [{'result': t['predictions'][0]['result'], 'was_cancelled': False}] if k == 0 else []}
              for k, t in enumerate(tasks)]
    bad = json.loads(json.dumps(export))
    bad[0]['annotations'][0]['result'][0]['value']['polygonlabels'] = ['pallet']
    bad[0]['annotations'][0]['result'][1]['value']['points'] = [[1, 1], [2, 2]]
    (tmp_path / 'bad.json').write_text(json.dumps(bad))
    with pytest.raises(AnnotationImportError) as err:
        import_label_studio(queue, tmp_path / 'bad.json')
    assert any("'pallet'" in p and 'out of range' in p for p in err.value.problems)
    assert any('degenerate polygon with 2 point' in p for p in err.value.problems)
    assert queue.counts()['annotated'] == 0
    (tmp_path / 'good.json').write_text(json.dumps(export))
    res = import_label_studio(queue, tmp_path / 'good.json')
    assert res.images == 1 and len(res.skipped) == 1
    got = queue.get(ids[0])
    pred = [instance_mask(p) for p in got.prediction]
    ann = [instance_mask(a) for a in got.annotation]
    for p, a in zip(pred, ann, strict=True):  # polygons reproduce the masks closely
        assert (p & a).sum() / (p | a).sum() > 0.85


def test_label_image_paints_instances():
    labels = boxes_frame([(2, 2, 20, 20), (30, 10, 60, 40)])
    from robin_learning.instances import prediction_from_table

    inst = prediction_from_table(labels, table_for(labels, [0.9, 0.9]))
    painted, types = label_image(inst, H, W)
    assert np.array_equal(painted, labels) and types == [0, 1]
