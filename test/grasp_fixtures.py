"""Shared geometry for the grasp planner tests: an explicit gripper, camera and pick area.

Written out here (not read from urdf/) so the tests pin the geometry they reason about; a test
also checks that the shipped cell has the same cup layout.
"""

from __future__ import annotations

import numpy as np

from robin_core.cell_description import CameraIntrinsics, GripperDescription, PickArea
from robin_grasp.grasp_candidates import GraspCandidate
from robin_grasp.synthetic_scene import Package

BELT_Z = -0.05
PITCH = 0.055
LIP = 0.02
CUP_XY = np.array([[x * PITCH, y * PITCH] for y in (-0.5, 0.5) for x in (-1.5, -0.5, 0.5, 1.5)])

GRIPPER = GripperDescription(
    flange_frame='tool0',
    tcp_frame='tcp',
    cup_names=tuple(f'cup_{k}' for k in range(8)),
    cup_positions=np.column_stack([CUP_XY, np.zeros(8)]),
    lip_radius=LIP,
    rated_force_per_cup=35.0,
    rated_vacuum=60.0,
    T_flange_tcp=np.eye(4),
)

PICK_AREA = PickArea(belt_z=BELT_Z, x_range=(0.30, 0.70), y_range=(-0.30, 0.30), flow_direction=np.array([0, 1.0, 0]))

INTRINSICS = CameraIntrinsics(width=640, height=480, fx=615.0, fy=615.0, cx=319.5, cy=239.5)

# Camera 1.3 m above base_link looking straight down; optical x = -base y, optical y = -base x.
T_BASE_OPTICAL = np.array([[0.0, -1.0, 0.0, 0.5], [-1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 1.3], [0, 0, 0, 1.0]])


def cup_centres_base(cand: GraspCandidate, cup_xy: np.ndarray = CUP_XY) -> np.ndarray:
    """(C, 2) base_link x, y of the cup centres of a candidate, from its quaternion (independent path)."""
    x, y, z, w = cand.quaternion
    rot = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    return (np.column_stack([cup_xy, np.zeros(len(cup_xy))]) @ rot.T + cand.position)[:, :2]


def on_cups(mask: int, n: int = 8) -> np.ndarray:
    return ((int(mask) >> np.arange(n)) & 1).astype(bool)


def lip_inside(pkg: Package, centres: np.ndarray, radius: float = LIP) -> np.ndarray:
    """(C,) True where the whole lip disc lies within the package's footprint."""
    return pkg.contains(centres, grow=-radius)


def lip_touches(pkg: Package, centres: np.ndarray, radius: float = LIP) -> np.ndarray:
    """(C,) True where any part of the lip disc overlaps the package's footprint (conservative)."""
    return pkg.contains(centres, grow=radius)
