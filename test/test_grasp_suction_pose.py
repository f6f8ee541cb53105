"""Top-surface fitting, suction points and tool orientation."""

from __future__ import annotations

import numpy as np
import pytest
from grasp_fixtures import BELT_Z
from scipy.spatial.transform import Rotation

from robin_grasp.height_map import HeightMap
from robin_grasp.suction_pose import (
    fit_plane,
    fit_top_surface,
    rotation_to_quaternion,
    suction_points,
    tool_rotation,
    tool_yaw,
)
from robin_grasp.synthetic_scene import Package, height_map, settle

RES = 0.0025


def _tilted_points(rng, normal, n=2000, outliers=0.2):
    normal = np.asarray(normal, float) / np.linalg.norm(normal)
    e1 = np.cross(normal, [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    uv = rng.uniform(-0.1, 0.1, (n, 2))
    pts = np.array([0.5, 0.0, 0.2]) + uv[:, :1] * e1 + uv[:, 1:] * e2 + rng.normal(0, 0.0005, (n, 1)) * normal
    k = int(outliers * n)
    pts[:k] += rng.uniform(0.01, 0.05, (k, 1)) * normal  # e.g. a crumpled flap above the surface
    return pts, normal


@pytest.mark.parametrize('method', ['svd', 'open3d'])
def test_fit_plane_recovers_a_tilted_plane_despite_outliers(method):
    rng = np.random.default_rng(0)
    pts, normal = _tilted_points(rng, [0.2, -0.1, 1.0])
    n, _, inliers = fit_plane(pts, 0.003, method)
    assert np.degrees(np.arccos(min(abs(float(n @ normal)), 1.0))) < 1.0
    assert n[2] > 0
    assert inliers[:400].mean() < 0.05 and inliers[400:].mean() > 0.95


def test_fit_plane_rejects_bad_input():
    with pytest.raises(ValueError):
        fit_plane(np.zeros((2, 3)), 0.003)
    with pytest.raises(ValueError):
        fit_plane(np.random.default_rng(0).random((10, 3)), 0.003, method='magic')


def _box_map(*packages, x=(0.18, 0.82), y=(-0.42, 0.42)):
    return height_map(settle(list(packages), BELT_Z), x, y, RES)


def test_top_surface_of_a_rotated_box():
    hm = _box_map(Package(1, 0.5, 0.05, 0.32, 0.18, 0.08, yaw=0.7))
    s = fit_top_surface(hm, 1)
    assert s is not None
    assert s.normal == pytest.approx([0, 0, 1], abs=1e-6)
    assert abs(abs(s.major_axis[:2] @ [np.cos(0.7), np.sin(0.7)]) - 1.0) < 1e-3
    assert s.length == pytest.approx(0.32, abs=2 * RES)
    assert s.width == pytest.approx(0.18, abs=2 * RES)
    assert s.point[:2] == pytest.approx([0.5, 0.05], abs=RES)
    assert float(s.height_at(np.array([0.6, 0.1]))) == pytest.approx(BELT_Z + 0.08)
    assert fit_top_surface(hm, 9) is None


def test_suction_point_avoids_edges_and_a_dent():
    hm = _box_map(Package(1, 0.5, 0.0, 0.30, 0.20, 0.10))
    # A dent in the left half: lower by 2 cm over x in [0.36, 0.46].
    xy = hm.cell_xy(*np.indices(hm.shape))
    dent = (hm.labels == 1) & (xy[..., 0] > 0.36) & (xy[..., 0] < 0.46)
    hm.height[dent] -= 0.02
    s = fit_top_surface(hm, 1)
    pts = suction_points(hm, 1, s, lip_radius=0.02, count=3)
    assert len(pts) == 3
    best = pts[0]
    assert best.position[0] > 0.46 + 0.01  # on the flat right part
    assert best.edge_distance >= 0.04
    assert all(p.quality <= best.quality for p in pts)
    d = [np.linalg.norm(a.position - b.position) for i, a in enumerate(pts) for b in pts[i + 1 :]]
    assert min(d) >= 0.02


def test_suction_points_empty_when_target_missing():
    hm = HeightMap(np.zeros((10, 10), np.float32), np.zeros((10, 10), np.uint16), (0.0, 0.0), 0.01)
    s = _box_map(Package(1, 0.5, 0.0, 0.30, 0.20, 0.10))
    surf = fit_top_surface(s, 1)
    assert suction_points(hm, 1, surf, 0.02) == []


@pytest.mark.parametrize('yaw', [0.0, 0.5, np.pi, -2.0])
def test_tool_rotation_faces_the_surface_with_x_along_the_long_side(yaw):
    normal = np.array([0.1, -0.2, 1.0])
    normal /= np.linalg.norm(normal)
    major = np.cross(normal, [0.0, 0.0, 1.0]) + np.array([0.3, 0.2, 0.0])
    rot = tool_rotation(normal, major, yaw)
    assert rot.T @ rot == pytest.approx(np.eye(3), abs=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    assert rot[:, 2] == pytest.approx(-normal)
    x0 = tool_rotation(normal, major, 0.0)[:, 0]
    assert float(np.arccos(np.clip(rot[:, 0] @ x0, -1, 1))) == pytest.approx(abs(np.angle(np.exp(1j * yaw))), abs=1e-6)
    q = rotation_to_quaternion(rot)
    assert q[3] >= 0
    assert Rotation.from_quat(q).as_matrix() == pytest.approx(rot, abs=1e-9)


def test_tool_yaw_of_a_downward_tool():
    rot = tool_rotation(np.array([0, 0, 1.0]), np.array([np.cos(0.4), np.sin(0.4), 0]))
    assert tool_yaw(rot) == pytest.approx(0.4)
