"""Label image + geometry -> INSTANCE_DTYPE rows."""

from __future__ import annotations

import numpy as np
import pytest
from perception_fixtures import CAM_H, INTR, box_scene

from robin_core.instance_table import INSTANCE_DTYPE
from robin_perception.belt_height import BeltPlane, height_above_belt
from robin_perception.instance_table_builder import best_iou, build_instance_table, percentile_per_label


def test_rows_match_geometry():
    # box 2 lies on box 1 (drawn later and higher); box 3 touches the image border
    depth, labels = box_scene([(40, 140, 40, 160, 0.05), (60, 120, 100, 200, 0.15), (200, 240, 280, 320, 0.1)])
    h = height_above_belt(depth, INTR, BeltPlane.from_camera_height(CAM_H))
    t = build_instance_table(labels, depth, h, INTR, type_id=np.array([0, 1, 2]), reference_labels=labels)
    assert t.dtype == INSTANCE_DTYPE
    assert list(t['id']) == [1, 2, 3]
    assert t['area_px'][1] == 60 * 100
    assert (t['u0'][1], t['v0'][1], t['u1'][1], t['v1'][1]) == (100, 60, 200, 120)
    assert t['z'][1] == pytest.approx(CAM_H - 0.15, abs=1e-3)
    u_c = (100 + 199) / 2
    assert t['x'][1] == pytest.approx((u_c - INTR.cx) / INTR.fx * (CAM_H - 0.15), abs=2e-3)
    assert t['height_top'][1] == pytest.approx(0.15, abs=1e-3)
    assert t['area_m2'][1] == pytest.approx(60 * 100 * (0.85 / 500) ** 2, rel=0.02)
    assert list(t['occluded_by']) == [1, 0, 0]
    assert list(t['touches_border']) == [0, 0, 1]
    assert np.allclose(t['geometric_iou'], 1.0)


def test_without_reference_iou_is_nan_and_empty_is_fine():
    depth, labels = box_scene([(40, 140, 40, 160, 0.05)])
    h = height_above_belt(depth, INTR, BeltPlane.from_camera_height(CAM_H))
    assert np.isnan(build_instance_table(labels, depth, h, INTR)['geometric_iou']).all()
    assert len(build_instance_table(np.zeros_like(labels), depth, h, INTR)) == 0


def test_percentile_and_best_iou():
    labels = np.array([[1, 1, 1, 2], [1, 1, 0, 2]], np.uint16)
    values = np.array([[1, 2, 3, 9], [4, 5, 7, np.nan]], np.float32)
    assert list(percentile_per_label(labels, values, 2, 1.0)) == [5, 9]
    assert list(percentile_per_label(labels, values, 2, 0.0)) == [1, 9]
    other = np.array([[1, 1, 0, 0], [1, 1, 0, 0]], np.uint16)
    assert best_iou(labels, other) == pytest.approx([0.8, 0.0])
