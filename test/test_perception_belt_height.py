"""Belt plane fit and height above the belt."""

from __future__ import annotations

import numpy as np
import pytest
from perception_fixtures import CAM_H, INTR, box_scene

from robin_perception.belt_height import BeltFitError, BeltPlane, fill_height_holes, fit_belt_plane, height_above_belt


@pytest.mark.parametrize('tilt', [(0.0, 0.0), (0.05, -0.03)])
def test_fit_recovers_belt_under_a_pile(tilt):
    # half of the image covered by packages: the belt is still the lowest large plane
    depth, labels = box_scene([(20, 200, 10, 150, 0.12), (50, 150, 100, 200, 0.3)], tilt)
    rng = np.random.default_rng(0)
    depth += rng.normal(0, 0.001, depth.shape).astype(np.float32)
    plane = fit_belt_plane(depth, INTR)
    h = height_above_belt(depth, INTR, plane)
    assert abs(np.median(h[labels == 0])) < 0.002
    assert abs(np.median(h[labels == 2]) - 0.3) < 0.01
    assert abs(plane.offset - CAM_H) < 0.02


def test_fit_rejects_empty_depth():
    with pytest.raises(BeltFitError):
        fit_belt_plane(np.full((240, 320), np.nan, np.float32), INTR)


def test_known_plane_and_holes():
    depth, _ = box_scene([(100, 140, 100, 160, 0.2)])
    depth[110:115, 120:125] = np.nan
    h = height_above_belt(depth, INTR, BeltPlane.from_camera_height(CAM_H))
    assert np.isnan(h[112, 122])
    filled = fill_height_holes(h)
    assert np.isfinite(filled).all()
    assert filled[112, 122] == pytest.approx(0.2, abs=1e-3)  # hole on a package keeps its height
