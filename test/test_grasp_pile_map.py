"""The pile map handed to the motion planner and the executor's choice of map per request."""

from __future__ import annotations

import numpy as np
import pytest

from robin_core.cell_description import default_cell
from robin_grasp.height_map import HeightMap as SceneMap
from robin_grasp.motion.interface import HeightMap
from robin_grasp.motion.scene_maps import SceneMaps
from robin_grasp.pile_map import pile_grid


def test_pile_grid_keeps_the_tallest_point_of_every_coarse_cell() -> None:
    area = default_cell().pick_area
    res = 0.0025
    xs = np.arange(area.x_range[0] - 0.1, area.x_range[1] + 0.1, res)
    ys = np.arange(area.y_range[0] - 0.1, area.y_range[1] + 0.1, res)
    height = np.full((ys.size, xs.size), np.nan, np.float32)
    gx, gy = np.meshgrid(xs, ys)
    height[(np.abs(gx - 0.5) < 0.1) & (np.abs(gy - 0.0) < 0.05)] = 0.05  # a box top
    height[np.argmin(np.abs(ys - 0.02)), np.argmin(np.abs(xs - 0.53))] = 0.09  # one taller point
    fine = SceneMap(height, np.zeros(height.shape, np.uint16), (float(xs[0]), float(ys[0])), res)
    grid = pile_grid(fine, area, 0.01)
    # the pick area (0.6 m x 0.4 m) and 20 cm around it at 1 cm, cell centres on both edges
    assert grid.shape == (101, 81)
    (x0, _), (y0, _) = area.pile_map_x_range, area.pile_map_y_range
    col = lambda x: round((x - x0) / 0.01)  # noqa: E731
    row = lambda y: round((y - y0) / 0.01)  # noqa: E731
    assert grid[row(0.0), col(0.5)] == pytest.approx(0.05)
    assert grid[row(0.02), col(0.53)] == pytest.approx(0.09)  # one fine cell is enough
    assert np.isnan(grid[row(0.2), col(0.35)])  # nothing seen there
    assert np.isnan(grid[row(0.42), col(0.5)])  # beyond the fine map: unknown
    assert np.nanmax(grid) == pytest.approx(0.09)
    with pytest.raises(ValueError):
        pile_grid(fine, area, 0.0)


def _map(z: float) -> HeightMap:
    return HeightMap((0.3, -0.3), 0.01, np.full((3, 3), z))


def test_scene_maps_give_the_decision_frame_or_the_newest_earlier_one() -> None:
    maps = SceneMaps(capacity=3)
    assert maps.for_frame(None) == (None, 'none')
    for stamp, z in ((100, 0.1), (200, 0.2), (300, 0.3)):
        maps.add(stamp, _map(z))
    assert maps.for_frame(200)[1] == 'exact' and maps.for_frame(200)[0].heights[0, 0] == 0.2
    found, how = maps.for_frame(250)  # that frame's map was dropped: the newest before it
    assert how == 'earlier' and found.heights[0, 0] == 0.2
    assert maps.for_frame(None)[0].heights[0, 0] == 0.3
    maps.add(400, _map(0.4))  # capacity 3: the oldest goes
    assert maps.for_frame(100) == (None, 'none')
    with pytest.raises(ValueError):
        SceneMaps(0)
