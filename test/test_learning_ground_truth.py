"""Simulation ground-truth annotator and the training-set writer (read back by robin_perception)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from learning_fixtures import boxes_frame, queue_frame

from robin_learning.annotation_import import AnnotationImportError
from robin_learning.ground_truth_annotator import GT_LABELS, GT_TYPES, annotate_from_ground_truth
from robin_learning.instances import mask_instance
from robin_learning.queue_store import AnnotationQueue
from robin_learning.training_set import build_training_set, split_of
from robin_perception.dataset import load_frame, read_split


def _sidecar(tmp_path, boxes, types):
    labels = boxes_frame(boxes)
    anns = [{**mask_instance(labels == k + 1, t + 1), 'tags': ['pickable'], 'visible_fraction': 1.0,
             'occluded_by': 0} for k, t in enumerate(types)]
    p = tmp_path / 'meta.json'
    p.write_text(json.dumps({'image': {}, 'annotations': anns}))
    return p


def test_ground_truth_answers_queue_and_trains(tmp_path):
    q = AnnotationQueue.at(tmp_path / 'q.db')
    boxes = [(2, 2, 20, 20), (30, 10, 60, 40)]
    side = _sidecar(tmp_path, boxes, [2, 1])
    gt_dir = tmp_path / 'simgt'
    gt_dir.mkdir()
    cv2.imwrite(str(gt_dir / GT_LABELS), boxes_frame(boxes) * 7)  # simulator package ids 7, 14
    (gt_dir / GT_TYPES).write_text(json.dumps({'7': 'flat_envelope', '14': 'box'}))
    a = queue_frame(q, tmp_path, 'a', [0.3, 0.4], gt_ref=str(side))
    b = queue_frame(q, tmp_path, 'b', [0.3, 0.4], gt_ref=str(gt_dir))
    assert annotate_from_ground_truth(q, q.items('queued')) == 2
    assert [i['category_id'] for i in q.get(a).annotation] == [3, 2]
    assert sorted(i['category_id'] for i in q.get(b).annotation) == [1, 4]

    m = build_training_set(q, tmp_path / 'data', 'run1', holdout_percent=0)
    assert (m.train_frames, m.test_frames) == (2, 0)
    assert q.counts()['used_in_training'] == 2
    recs = read_split(tmp_path / 'data', 'train')
    frame = load_frame(recs[0])
    assert frame.labels.max() == 2 and [p.type_id for p in frame.packages] == [2, 1]
    assert frame.packages[0].pickable
    assert np.array_equal(frame.labels > 0, boxes_frame(boxes) > 0)


def test_ground_truth_missing_is_all_or_nothing(tmp_path):
    q = AnnotationQueue.at(tmp_path / 'q.db')
    side = _sidecar(tmp_path, [(2, 2, 20, 20)], [0])
    queue_frame(q, tmp_path, 'a', [0.3], gt_ref=str(side))
    queue_frame(q, tmp_path, 'b', [0.3], gt_ref=str(tmp_path / 'nowhere.json'))
    with pytest.raises(AnnotationImportError, match='nowhere'):
        annotate_from_ground_truth(q, q.items('queued'))
    assert q.counts()['annotated'] == 0


def test_holdout_split_is_stable_and_proportional():
    keys = [f'cell_0/{k}' for k in range(2000)]
    share = sum(split_of(k, 20) == 'test' for k in keys) / len(keys)
    assert 0.16 < share < 0.24
    assert [split_of(k, 20) for k in keys[:50]] == [split_of(k, 20) for k in keys[:50]]
