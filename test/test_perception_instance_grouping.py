"""Grouping of (ideal) network outputs recovers the instances they were built from."""

from __future__ import annotations

import numpy as np

from robin_perception.instance_grouping import FEATURE_NAMES, GroupingParams, group_instances, upsample_labels
from robin_perception.instance_table_builder import best_iou
from robin_perception.training_targets import build_targets


def _ideal_outputs(labels: np.ndarray, types: dict[int, int], n_types: int = 4):
    t = build_targets(labels, types)
    sem = np.full((2 + n_types, *labels.shape), -8.0, np.float32)
    sem[0] = np.where(t.fg > 0, 8.0, -8.0)
    sem[1] = np.where(t.boundary > 0, 8.0, -8.0)
    for i, ty in types.items():
        sem[2 + ty][labels == i] = 8.0
    return sem, t.center, t.offset, t


def test_ideal_outputs_are_grouped_exactly():
    labels = np.zeros((60, 80), np.uint16)
    labels[5:30, 5:40] = 1
    labels[5:30, 40:75] = 2  # touching instance
    labels[35:55, 10:70] = 3
    labels[40:50, 30:45] = 4  # lies inside 3 (occludes its middle)
    types = {1: 0, 2: 1, 3: 2, 4: 3}
    sem, ctr, off, t = _ideal_outputs(labels, types)
    g = group_instances(sem, ctr, off)
    assert g.labels.max() == 4
    assert (best_iou(labels, g.labels) > 0.95).all()
    assert g.features.shape == (4, len(FEATURE_NAMES))
    # types follow the masks (match each truth instance to its predicted id)
    for i, ty in types.items():
        pred_id = np.bincount(g.labels[labels == i]).argmax()
        assert g.type_id[pred_id - 1] == ty
    assert np.all(t.center.max() <= 1.0)


def test_no_foreground_gives_no_instances():
    sem = np.full((6, 20, 20), -5.0, np.float32)
    g = group_instances(sem, np.zeros((20, 20), np.float32), np.zeros((2, 20, 20), np.float32), GroupingParams())
    assert g.labels.max() == 0 and g.type_id.size == 0


def test_upsample_keeps_ids_and_cuts_background():
    lab = np.zeros((10, 10), np.uint16)
    lab[2:8, 2:8] = 3
    fg = (lab > 0).astype(np.float32)
    up = upsample_labels(lab, fg, (40, 40))
    assert up.shape == (40, 40)
    assert set(np.unique(up)) == {0, 3}
    assert abs((up == 3).sum() - 24 * 24) < 100
