"""COCO RLE round trip, dataset records, mask metrics and confidence calibration."""

from __future__ import annotations

import numpy as np
import pytest

from robin_perception.coco_format import rle_decode, rle_encode
from robin_perception.confidence_calibration import ConfidenceModel, auroc, fit_confidence
from robin_perception.mask_metrics import average_precision, frame_match, summarize

CASES = ('black', 'pickable')


@pytest.mark.parametrize('shape', [(1, 1), (5, 7), (48, 64)])
@pytest.mark.parametrize('first_on', [False, True])
def test_rle_round_trip(shape, first_on):
    rng = np.random.default_rng(shape[0] * 10 + first_on)
    mask = rng.random(shape) < 0.4
    mask.flat[0] = first_on
    rle = rle_encode(mask)
    assert rle['size'] == list(shape)
    assert sum(rle['counts']) == mask.size
    assert np.array_equal(rle_decode(rle), mask)


def _frame(shift: int = 0, drop_second: bool = False):
    gt = np.zeros((40, 40), np.uint16)
    gt[0:20, 0:20], gt[20:40, 20:40], gt[0:15, 25:40] = 1, 2, 3
    pred = np.roll(gt, shift, axis=1)
    if drop_second:
        pred[pred == 2] = 0
        pred[pred == 3] = 2
    n = int(pred.max())
    return gt, pred, n


def test_perfect_prediction_scores_one():
    gt, pred, n = _frame()
    m = frame_match(gt, np.array([0, 1, 2]), [('pickable',), ('black',), ('black', 'pickable')], pred_labels=pred,
                    scores=np.ones(n), pred_types=np.array([0, 1, 2]), min_gt_area=10)
    res = summarize([m], ('a', 'b', 'c'), CASES)
    assert res['ap50_all'] == pytest.approx(1.0)
    assert res['ap_all'] == pytest.approx(1.0)
    assert res['recall_pickable'] == 1.0 and res['type_accuracy'] == 1.0


def test_missed_and_wrong_type_are_counted():
    gt, pred, _ = _frame(drop_second=True)
    m = frame_match(gt, np.array([0, 1, 2]), [('pickable',), ('black',), ('pickable',)], pred_labels=pred,
                    scores=np.array([0.9, 0.8]), pred_types=np.array([0, 1]), min_gt_area=10)
    res = summarize([m], ('a', 'b', 'c'), CASES)
    assert res['recall_all'] == pytest.approx(2 / 3)
    assert res['per_case']['black']['recall'] == 0.0
    assert res['per_case']['black']['missed'] == 1
    assert res['type_accuracy'] == pytest.approx(0.5)  # instance 3 found but typed as 1
    assert res['ap50_all'] < 1.0
    # rows: true type, columns: predicted; the missed instance (true type 1) is in no row
    assert res['type_confusion'] == {'classes': ['a', 'b', 'c'], 'counts': [[1, 0, 0], [0, 0, 0], [0, 1, 0]]}


def test_shifted_masks_lose_high_iou_ap():
    gt, pred, n = _frame(shift=4)
    m = frame_match(gt, np.array([0, 1, 2]), [(), (), ()], pred_labels=pred, scores=np.ones(n),
                    pred_types=np.array([0, 1, 2]), min_gt_area=10)
    assert average_precision([m], 0.5) > 0.99
    assert average_precision([m], 0.9) < 0.5


def test_auroc_and_calibration():
    assert auroc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1], bool)) == 1.0
    assert auroc(np.array([0.5, 0.5]), np.array([0, 1], bool)) == 0.5
    assert np.isnan(auroc(np.array([0.5]), np.array([True])))
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.5
    x = rng.normal(0, 1, (400, 7))
    x[:, 1] += 2.0 * y  # one informative cue
    conf = fit_confidence(x, y)
    assert auroc(conf.score(x), y) > 0.85
    assert ConfidenceModel.from_dict(conf.as_dict()).score(x[:3]) == pytest.approx(conf.score(x[:3]))
