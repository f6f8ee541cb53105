"""Naive baseline for benchmarks: grab the largest visible instance at its centroid with all cups on.

No pile reasoning, no surface fit, no footprint or force check: the reference the real planner is
compared against (success rate, double picks, latency). Same output type as the real planner.
"""

from __future__ import annotations

import time

import numpy as np

from robin_core.cell_description import GripperDescription
from robin_core.instance_table import PACKAGE_TYPES
from robin_grasp.grasp_candidates import GraspCandidate, ReasonCode
from robin_grasp.grasp_planner import STATUS_EMPTY, STATUS_OK, PlanResult, Scene
from robin_grasp.height_map import backproject
from robin_grasp.mass_prior import estimate_mass
from robin_grasp.suction_pose import rotation_to_quaternion, tool_rotation, tool_yaw
from robin_grasp.target_selection import SelectionResult, TargetScore


def plan_naive(scene: Scene, gripper: GripperDescription, belt_z: float = 0.0,
               type_names: tuple[str, ...] = PACKAGE_TYPES) -> PlanResult:
    """Largest visible instance (by pixel area), tcp at its centroid pointing straight down, all cups on.

    The result carries the target's size and a mass from the same type prior the real planner
    uses, so the pick record and QA's weight check see the baseline's picks like any other.

    Args:
        scene: the perception frame.
        gripper: cup layout (all cups are switched on).
        belt_z: belt surface height in the planning frame [m] (the package's height above it).
        type_names: class names indexed by ``type_id``.

    Returns:
        A one-candidate result, or an empty-scene result.
    """
    t0 = time.perf_counter()
    inst = scene.instances
    if inst.size == 0:
        return PlanResult(STATUS_EMPTY, 'no instances in the scene', [], None, {}, {'total': _ms(t0)})
    row = inst[int(np.argmax(inst['area_px']))]
    iid = int(row['id'])
    u0, v0, u1, v1 = (int(row[k]) for k in ('u0', 'v0', 'u1', 'v1'))
    mask = np.zeros(scene.labels.shape, bool)
    mask[v0:v1, u0:u1] = scene.labels[v0:v1, u0:u1] == iid
    pts, _ = backproject(scene.depth_m, scene.intrinsics, scene.T_base_optical, mask)
    if pts.shape[0] < 3:
        return PlanResult('no_feasible_grasp', f'instance {iid} has no depth', [], None, {iid: 'no depth'},
                          {'total': _ms(t0)})
    centre = pts.mean(axis=0)
    centre[2] = np.percentile(pts[:, 2], 95)
    xy = pts[:, :2] - centre[:2]
    _, evecs = np.linalg.eigh(np.cov(xy.T))
    major = np.array([evecs[0, 1], evecs[1, 1], 0.0])
    up = np.array([0.0, 0.0, 1.0])
    rot = tool_rotation(up, major)
    n = gripper.num_cups
    along, across = xy @ major[:2], xy @ np.array([-major[1], major[0]])
    length, width = float(np.ptp(along)), float(np.ptp(across))
    type_id = int(row['type_id'])
    type_name = type_names[type_id] if type_id < len(type_names) else 'unknown'
    mass = estimate_mass(length, width, float(centre[2] - belt_z), type_name, float(row['type_score']))
    target = TargetScore(instance_id=iid, type_name=type_name, type_score=float(row['type_score']),
                         score=float(row['score']), terms={'confidence': float(row['score'])}, centroid=centre,
                         top=float(centre[2]), length=length, width=width, thickness=float('nan'),
                         clearance=float('nan'))
    cand = GraspCandidate(
        target_id=iid, type_id=int(row['type_id']), position=centre, quaternion=rotation_to_quaternion(rot),
        yaw=tool_yaw(rot), normal=up, cup_mask=(1 << n) - 1, cup_states=np.zeros(n, np.uint8), feasible=True,
        reason_code=ReasonCode.OK, reason='', target_score=float(row['score']), pose_score=1.0,
        score=float(row['score']), force_available=n * gripper.rated_force_per_cup, mass=mass.mass,
        mass_upper=mass.mass_upper,
    )  # fmt: skip
    return PlanResult(STATUS_OK, '', [cand], SelectionResult([target], {}, None), {}, {'total': _ms(t0)})


def _ms(t_start: float) -> float:
    return 1000.0 * (time.perf_counter() - t_start)
