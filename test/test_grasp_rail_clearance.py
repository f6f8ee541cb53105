"""The tool body against the conveyor rails (robin_grasp.rail_clearance) and the grasp planner using it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from grasp_fixtures import BELT_Z, GRIPPER, INTRINSICS, PICK_AREA, T_BASE_OPTICAL
from scipy.spatial.transform import Rotation

from robin_core.cell_description import default_cell
from robin_grasp.grasp_planner import STATUS_OK, PlannerConfig, plan_grasps
from robin_grasp.rail_clearance import RailGeometry, box_corners, box_enters_slab, hits_rails
from robin_grasp.synthetic_scene import Package, make_scene, settle

DOWN = np.diag([1.0, -1.0, -1.0])  # tcp z into the package, tool x along base x
RAILS = RailGeometry(PICK_AREA.belt_x_range, PICK_AREA.belt_z, PICK_AREA.rail_height)


def _rot(yaw: float = 0.0, tilt_about_y: float = 0.0) -> np.ndarray:
    return Rotation.from_euler('y', tilt_about_y).as_matrix() @ Rotation.from_euler('z', yaw).as_matrix() @ DOWN


def test_the_long_plate_across_the_belt_meets_the_rail_along_it_does_not():
    at = np.array([[0.66, 0.0, BELT_Z + 0.03]])  # a thin package's top, 9 cm from the far rail
    assert hits_rails(_rot()[None], at, RAILS)[0]  # plate half length 0.115 along x: past the rail face
    assert not hits_rails(_rot(np.pi / 2)[None], at, RAILS)[0]  # half width 0.06: clear
    assert not hits_rails(_rot()[None], np.array([[0.5, 0.0, BELT_Z + 0.03]]), RAILS)[0]  # mid belt
    # above the rail top by more than the clearance, nothing beside the belt is in reach
    assert not hits_rails(_rot()[None], np.array([[0.66, 0.0, BELT_Z + 0.08 + 0.05]]), RAILS)[0]


def test_a_tool_tilted_towards_the_rail_swings_its_plate_into_it():
    at = np.array([[0.67, 0.0, BELT_Z + 0.05]])
    assert not hits_rails(_rot(np.pi / 2)[None], at, RAILS)[0]
    # tilted about y by +30° the tool axis leans away from the rail at the cups: the plate, 5 cm up
    # the axis, moves 2.5 cm towards the rail and dips; tilted the other way it moves off
    assert hits_rails(_rot(np.pi / 2, tilt_about_y=np.radians(30))[None], at, RAILS)[0]
    assert not hits_rails(_rot(np.pi / 2, tilt_about_y=np.radians(-30))[None], at, RAILS)[0]


def test_a_box_edge_crossing_into_the_slab_counts_though_no_corner_lies_in_it():
    # a box standing on one edge: its corners are either above the rail top or short of the face,
    # but its lower edges cross the face below the top
    corners = box_corners(Rotation.from_euler('y', np.pi / 4).as_matrix()[None], np.array([[0.75, 0.0, 0.0]]),
                          ((0.0, 0.0, 0.0), (0.05, 0.05, 0.05)))
    face, top = 0.76, -0.06
    assert not np.any((corners[0, :, 0] > face) & (corners[0, :, 2] < top))
    assert box_enters_slab(corners, face, 1.0, top)[0]
    assert not box_enters_slab(corners, face, 1.0, -0.08)[0]


def test_the_check_never_passes_a_pose_the_motion_planner_finds_in_the_rail():
    from robin_grasp.motion.builtin_factory import BuiltinSettings, build_builtin_backend
    from robin_grasp.motion.interface import Scene

    cell = default_cell()
    area = cell.pick_area
    rails = RailGeometry(area.belt_x_range, area.belt_z, area.rail_height)
    be = build_builtin_backend(cell, BuiltinSettings())
    be.checker.apply_scene(Scene())
    home = np.array([0.0, -np.pi / 2, np.pi / 2, -np.pi / 2, -np.pi / 2, 0.0])
    rng = np.random.default_rng(3)
    checked = flagged = 0
    for k in range(40):
        x = rng.uniform(0.62, 0.72) if k % 2 else rng.uniform(0.28, 0.38)
        tilt, axis = rng.uniform(0.0, 0.45), rng.uniform(-np.pi, np.pi)
        rot = Rotation.from_rotvec(tilt * np.array([np.cos(axis), np.sin(axis), 0.0])).as_matrix() @ _rot(
            rng.uniform(-np.pi, np.pi))
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = rot, (x, rng.uniform(-0.2, 0.2), area.belt_z + rng.uniform(0.02, 0.1))
        q = next((s.q for s in (be.ik.solve_from(pose, seed) for seed in be.ik.seeds(pose, home)) if s), None)
        if q is None:
            continue
        tool_in_rail = any(_is_rail(be, c) and ('gripper' in c.geom1 + c.geom2 or 'cup' in c.geom1 + c.geom2)
                           for c in be.checker.contacts(q))
        mine = bool(hits_rails(rot[None], pose[None, :3, 3], rails)[0])
        checked += 1
        flagged += mine
        assert mine or not tool_in_rail, (x, tilt)
    assert checked >= 30 and 0 < flagged < checked


def _is_rail(backend, contact) -> bool:
    """The contact involves one of the conveyor's two side rails (thin, belt-long boxes)."""
    import mujoco

    m = backend.model.model
    for name in (contact.geom1, contact.geom2):
        g = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, name)
        if g < 0 and '/geom' in name:
            g = int(name.rsplit('/geom', 1)[1])
        if g >= 0 and abs(m.geom_size[g][0] - 0.02) < 1e-6 and m.geom_size[g][1] > 0.9:
            return True
    return False


@pytest.mark.parametrize('clearance', [0.01, -1.0])
def test_the_planner_offers_no_grasp_whose_tool_meets_the_rail(clearance):
    # a long, narrow envelope along the belt beside the far rail: cups along it fit, across it the
    # plate would reach over the rail
    pkg = Package(1, x=0.665, y=0.0, length=0.34, width=0.13, thickness=0.02, yaw=np.pi / 2, type_id=3)
    pile = settle([pkg], BELT_Z)
    scene = make_scene(pile, INTRINSICS, T_BASE_OPTICAL)
    cfg = dataclasses.replace(PlannerConfig(), rail_clearance=clearance, candidates_per_target=30)
    res = plan_grasps(scene, GRIPPER, PICK_AREA, config=cfg)
    assert res.status == STATUS_OK
    rot = np.stack([Rotation.from_quat(c.quaternion).as_matrix() for c in res.candidates])
    pos = np.stack([c.position for c in res.candidates])
    hit = hits_rails(rot, pos, RAILS)
    if clearance >= 0:
        assert not hit.any()
    else:  # the check off: the same scene offers grasps into the rail (so the assertion above can fail)
        assert hit.any()
