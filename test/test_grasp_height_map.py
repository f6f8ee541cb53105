"""Rasterising the aligned depth into the base_link height map."""

from __future__ import annotations

import numpy as np
import pytest
from grasp_fixtures import BELT_Z, INTRINSICS, T_BASE_OPTICAL

from robin_grasp.height_map import HeightMap, backproject, build_height_map
from robin_grasp.synthetic_scene import Package, render, settle


def test_backproject_inverts_the_pinhole_projection():
    rng = np.random.default_rng(1)
    depth = np.full((INTRINSICS.height, INTRINSICS.width), np.nan, np.float32)
    v, u = rng.integers(0, 480, 50), rng.integers(0, 640, 50)
    depth[v, u] = rng.uniform(0.5, 1.5, 50)
    pts, flat = backproject(depth, INTRINSICS, T_BASE_OPTICAL)
    assert pts.shape == (np.unique(v * 640 + u).size, 3)
    inv = np.linalg.inv(T_BASE_OPTICAL)
    cam = pts @ inv[:3, :3].T + inv[:3, 3]
    fv, fu = np.divmod(flat, 640)
    # float32 points: well below a pixel and a micrometre
    assert cam[:, 0] / cam[:, 2] * INTRINSICS.fx + INTRINSICS.cx == pytest.approx(fu, abs=1e-3)
    assert cam[:, 1] / cam[:, 2] * INTRINSICS.fy + INTRINSICS.cy == pytest.approx(fv, abs=1e-3)
    assert cam[:, 2] == pytest.approx(depth[fv, fu], abs=1e-6)


@pytest.mark.parametrize('z_range', [None, (BELT_Z - 0.05, BELT_Z + 0.8)])
def test_rendered_boxes_appear_at_their_height_with_their_label(z_range):
    pile = settle([Package(1, 0.45, -0.1, 0.20, 0.15, 0.10, yaw=0.3), Package(2, 0.60, 0.12, 0.18, 0.12, 0.04)], BELT_Z)
    depth, labels = render(pile, INTRINSICS, T_BASE_OPTICAL)
    hm = build_height_map(depth, labels, INTRINSICS, T_BASE_OPTICAL, x_range=(0.2, 0.8), y_range=(-0.4, 0.4),
                          resolution=0.0025, z_range=z_range)
    z, lab = hm.sample(np.array([[0.45, -0.1], [0.60, 0.12], [0.30, 0.30]]))
    assert lab.tolist() == [1, 2, 0]
    assert z == pytest.approx([BELT_Z + 0.10, BELT_Z + 0.04, BELT_Z], abs=2e-4)
    assert np.isfinite(hm.height).mean() > 0.97  # pinholes filled, only perspective shadows remain
    assert hm.labels.dtype == np.uint16


def test_pixel_roi_does_not_change_the_map():
    pile = settle([Package(1, 0.5, 0.0, 0.25, 0.2, 0.3)], BELT_Z)
    depth, labels = render(pile, INTRINSICS, T_BASE_OPTICAL, noise=0.001)
    box = {'x_range': (0.3, 0.7), 'y_range': (-0.3, 0.3)}
    a = build_height_map(depth, labels, INTRINSICS, T_BASE_OPTICAL, **box)
    b = build_height_map(depth, labels, INTRINSICS, T_BASE_OPTICAL, **box, z_range=(-0.1, 0.75))
    assert np.array_equal(a.labels, b.labels)
    assert np.allclose(a.height, b.height, equal_nan=True)


def test_highest_point_per_cell_wins():
    # Two pixels that land in the same cell at different heights: a straight-down camera.
    intr = type(INTRINSICS)(width=2, height=1, fx=1000.0, fy=1000.0, cx=0.5, cy=0.0)
    t = np.array([[1.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, -1.0, 1.0], [0, 0, 0, 1.0]])
    depth = np.array([[1.0, 0.9]], np.float32)  # pixel 1 is 10 cm higher
    labels = np.array([[3, 4]], np.uint16)
    hm = build_height_map(depth, labels, intr, t, x_range=(-0.01, 0.01), y_range=(-0.01, 0.01), resolution=0.02,
                          fill_cells=0)
    assert hm.shape == (2, 2)
    assert np.nanmax(hm.height) == pytest.approx(0.1, abs=1e-4)
    assert hm.labels[np.unravel_index(np.nanargmax(hm.height), hm.shape)] == 4


def test_mismatched_inputs_raise():
    with pytest.raises(ValueError):
        build_height_map(np.zeros((4, 4)), np.zeros((4, 5), np.uint16), INTRINSICS, T_BASE_OPTICAL, x_range=(0, 1),
                         y_range=(0, 1))


def test_cells_of_flags_points_outside():
    hm = HeightMap(np.zeros((3, 4), np.float32), np.zeros((3, 4), np.uint16), (0.0, 0.0), 0.1)
    rows, cols, inside = hm.cells_of(np.array([[0.0, 0.0], [0.31, 0.19], [0.5, 0.0], [-0.2, 0.1]]))
    assert inside.tolist() == [True, True, False, False]
    assert (rows[1], cols[1]) == (2, 3)
