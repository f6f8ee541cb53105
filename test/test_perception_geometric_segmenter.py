"""Depth-only segmenter on synthetic height maps."""

from __future__ import annotations

import numpy as np
from perception_fixtures import INTR, box_scene

from robin_perception.belt_height import BeltPlane, height_above_belt
from robin_perception.geometric_segmenter import geometric_segment
from robin_perception.instance_table_builder import best_iou


def test_separates_touching_boxes_of_different_height():
    boxes = [(20, 100, 20, 120, 0.10), (20, 100, 120, 220, 0.20), (140, 220, 60, 160, 0.05)]
    depth, truth = box_scene(boxes)
    h = height_above_belt(depth, INTR, BeltPlane.from_camera_height(1.0))
    labels = geometric_segment(h)
    assert labels.dtype == np.uint16
    assert labels.max() == 3
    assert (best_iou(truth, labels) > 0.9).all()
    assert (labels[truth == 0] == 0).mean() > 0.99


def test_empty_belt_gives_no_instances():
    depth, _ = box_scene([])
    h = height_above_belt(depth, INTR, BeltPlane.from_camera_height(1.0))
    assert geometric_segment(h).max() == 0
