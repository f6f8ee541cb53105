"""Fault: depth holes and noise spikes (plain modules, no ROS).

A depth frame with 15 % random holes, a 20×20 px hole inside a package and 0.5 % single-pixel
spikes 0.7 m above the belt must give the same packages at the same heights as the clean frame:
no phantom instance from the spikes, no inflated top height (the suction point's z), nothing lost
to the holes.
"""

from __future__ import annotations

import numpy as np
import pytest
from perception_fixtures import INTR, box_scene

from robin_perception.instance_table_builder import best_iou
from robin_perception.segmentation_pipeline import SegmentationPipeline

BOXES = [(20, 100, 20, 120, 0.10), (20, 100, 120, 220, 0.20), (140, 220, 60, 160, 0.05)]


def _corrupt(depth: np.ndarray, seed: int, holes: float = 0.15, spikes: float = 0.005) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = depth.copy()
    d[rng.random(d.shape) < holes] = np.nan  # invalid pixels (REP-118 zeros decode to NaN)
    d[40:60, 40:60] = np.nan  # a hole inside the first package (specular tape)
    d[rng.random(d.shape) < spikes] = 0.3  # flying pixels 0.7 m above the belt
    return d


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_holes_and_spikes_change_neither_the_packages_nor_their_heights(seed: int) -> None:
    depth, truth = box_scene(BOXES)
    rgb = np.full((*depth.shape, 3), 120, np.uint8)
    pipe = SegmentationPipeline(None)  # the depth-only path: the one a depth fault can mislead
    clean = pipe.run(rgb, depth, INTR)
    noisy = pipe.run(rgb, _corrupt(depth, seed), INTR)
    assert len(noisy.table) == len(clean.table) == 3  # no phantom instance, none lost
    assert sorted(noisy.table['height_top']) == pytest.approx(sorted(clean.table['height_top']), abs=0.01)
    assert (best_iou(truth, noisy.labels) > 0.9).all()
