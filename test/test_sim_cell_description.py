"""URDF + cell description: kinematics against the public UR5e numbers, frames, units."""

from __future__ import annotations

import numpy as np
import pytest

from robin_core.cell_description import CellDescriptionError, default_cell, load_cell_description
from robin_sim import cell_urdf


def test_checked_in_urdf_matches_generator() -> None:
    assert cell_urdf.default_urdf_path().read_text() == cell_urdf.build_urdf(), (
        'urdf/robin_cell.urdf is stale: run `python -m robin_sim.cell_urdf`'
    )


def test_zero_pose_forward_kinematics_matches_ur5e() -> None:
    import yourdfpy

    robot = yourdfpy.URDF.load(str(cell_urdf.default_urdf_path()), load_meshes=False)
    tf = robot.get_transform('tool0', 'base_link')
    # UR5e at zero: flange at (a2 + a3, -(d4 + d6), d1 - d5)
    np.testing.assert_allclose(tf[:3, 3], [-0.8172, -0.2329, 0.0628], atol=1e-6)
    robot.update_cfg(np.array([0.0, -np.pi / 2, 0.0, -np.pi / 2, 0.0, 0.0]))
    tf = robot.get_transform('tool0', 'base_link')
    assert tf[2, 3] == pytest.approx(0.1625 + 0.425 + 0.3922 + 0.0997, abs=1e-6)  # arm straight up


def test_joints_and_limits() -> None:
    cell = default_cell()
    assert cell.joint_names == cell_urdf.JOINT_NAMES
    np.testing.assert_allclose(cell.upper, [2 * np.pi] * 2 + [np.pi] + [2 * np.pi] * 3)
    np.testing.assert_allclose(cell.lower, -cell.upper)
    np.testing.assert_allclose(cell.max_velocity, np.pi)
    assert (cell.max_acceleration > 0).all()


def test_camera_is_overhead_optical_convention() -> None:
    cam = default_cell().camera
    tf = cam.T_base_optical
    np.testing.assert_allclose(tf[:3, 2], [0, 0, -1], atol=1e-9)  # z forward = looking down
    np.testing.assert_allclose(tf[:3, :3] @ tf[:3, :3].T, np.eye(3), atol=1e-9)
    assert np.linalg.det(tf[:3, :3]) == pytest.approx(1.0)
    height = tf[2, 3] - default_cell().pick_area.belt_z
    assert 1.2 <= height <= 1.5
    assert (cam.intrinsics.width, cam.intrinsics.height) == (640, 480)
    # the pick area centre projects near the image centre
    pa = default_cell().pick_area
    p = np.array([np.mean(pa.x_range), np.mean(pa.y_range), pa.belt_z, 1.0])
    uvw = cam.intrinsics.K @ (np.linalg.inv(tf) @ p)[:3]
    assert np.allclose(uvw[:2] / uvw[2], [319.5, 239.5], atol=40)


def test_gripper_cups_grid() -> None:
    g = default_cell().gripper
    assert g.num_cups == 8
    assert g.cup_positions.shape == (8, 3)
    np.testing.assert_allclose(g.cup_positions[:, 2], 0.0)
    assert len(np.unique(g.cup_positions[:, 0])) == 4
    assert len(np.unique(g.cup_positions[:, 1])) == 2
    assert g.lip_radius == pytest.approx(0.02)
    assert g.T_flange_tcp[2, 3] > 0.05  # tcp lies out along the tool z
    with pytest.raises(ValueError, match='read-only'):
        g.cup_positions[0, 0] = 1.0


def test_missing_config_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(CellDescriptionError, match='cell config not found'):
        load_cell_description(cell_urdf.default_urdf_path(), tmp_path / 'nope.yaml')
    bad = tmp_path / 'cell.yaml'
    bad.write_text('camera: {}\n')
    with pytest.raises(CellDescriptionError, match='missing key'):
        load_cell_description(cell_urdf.default_urdf_path(), bad)
