"""One perception frame (numpy) in, one grasp decision out: what the planner node runs per frame.

The grasp planner node and the offline decision diff (``robin-diff``) both call
:func:`plan_frame`, so a recorded frame replayed offline goes through exactly the code the cell ran:
the same shape checks, :func:`~robin_grasp.grasp_planner.plan_grasps` with the cell's gripper,
pick area and camera extrinsics, and :func:`~robin_grasp.grasp_decision.decision_from_plan`.
Everything the decision depends on is an argument: there is no hidden state (the unhealthy cups
come from QA and are written into the decision, so a recording carries them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robin_core.cell_description import CameraIntrinsics, CellDescription
from robin_grasp.baseline_planner import plan_naive
from robin_grasp.carry_state import NOTHING, UNKNOWN, CarriedPackage, Carry
from robin_grasp.cup_selection import unhealthy_from_flags
from robin_grasp.grasp_decision import GraspDecision, decision_from_plan
from robin_grasp.grasp_planner import PlannerConfig, PlanResult, Scene, plan_grasps


@dataclass(frozen=True)
class PlanningFrame:
    """The planner's inputs for one frame, decoded from the messages.

    Attributes:
        stamp_ns: perception frame stamp (the colour image's header stamp) [ns].
        instances: rows of INSTANCE_DTYPE.
        labels: (H, W) uint16 label image.
        depth_m: (H, W) float32 aligned depth [m], NaN = invalid.
        intrinsics: camera_info of the label/depth grid (None: none received yet).
        arm_mask: the arm's silhouette at the stamp (robin_grasp/arm_view.py), None when unknown.
        arm_joint_stamps_ns: stamps of the joint states ``arm_mask`` was drawn from.
        arm_carry: what ``arm_mask`` drew under the tool (robin_grasp/carry_state.py).
    """

    stamp_ns: int
    instances: np.ndarray
    labels: np.ndarray
    depth_m: np.ndarray
    intrinsics: CameraIntrinsics | None
    arm_mask: np.ndarray | None = None  #: (H, W) bool, pixels the arm covers (None: not known)
    arm_joint_stamps_ns: tuple[int, ...] = ()
    arm_carry: Carry = UNKNOWN


def intrinsics_from_k(width: int, height: int, k: list[float] | np.ndarray) -> CameraIntrinsics:
    """``sensor_msgs/CameraInfo`` size and row-major K -> the planner's pinhole model."""
    return CameraIntrinsics(int(width), int(height), float(k[0]), float(k[4]), float(k[2]), float(k[5]))


def bad_input_decision(stamp_ns: int, frame_id: str, reason: str, unhealthy_cups: list[int]) -> GraspDecision:
    """The decision published for a frame that cannot be planned (undecodable, inconsistent)."""
    return GraspDecision(stamp_ns=stamp_ns, frame_id=frame_id, status='bad_input', reason=reason,
                         unhealthy_cups=list(unhealthy_cups))


def unhealthy_indices(unhealthy: np.ndarray) -> list[int]:
    """Bool flags per cup -> sorted indices of the unhealthy cups."""
    return np.flatnonzero(np.asarray(unhealthy, bool)).tolist()


def unhealthy_mask(indices: list[int], num_cups: int) -> np.ndarray:
    """Cup indices (as written in a decision) -> bool flags per cup.

    Raises:
        ValueError: an index outside ``0 .. num_cups - 1``.
    """
    flags = [0] * num_cups
    for i in indices:
        if not 0 <= int(i) < num_cups:
            raise ValueError(f'cup index {i} outside 0..{num_cups - 1}')
        flags[int(i)] = 1
    return unhealthy_from_flags(flags, num_cups)


def plan_frame(
    frame: PlanningFrame,
    cell: CellDescription,
    config: PlannerConfig,
    unhealthy: np.ndarray,
    suspect: np.ndarray | None = None,
    *,
    strategy: str = 'planner',
) -> tuple[GraspDecision, PlanResult | None]:
    """Plan one frame and build its decision record (``bad_input`` when the inputs disagree).

    Args:
        frame: decoded inputs.
        cell: gripper, pick area, camera extrinsics, planning frame.
        config: planner configuration (``config/grasp.yaml``).
        unhealthy: (C,) bool, cups QA excluded.
        suspect: (C,) bool, cups QA wants tested (None: none).
        strategy: 'planner', or 'naive' for the benchmark baseline (which ignores cup health).

    Returns:
        The decision (latency not yet filled in by the caller) and the planner result (None for bad input).
    """
    bad_cups = unhealthy_indices(unhealthy)
    frame_id = cell.planning_frame
    intr = frame.intrinsics
    if intr is None:
        return bad_input_decision(frame.stamp_ns, frame_id, 'bad input: no camera_info received yet', bad_cups), None
    if frame.labels.shape != frame.depth_m.shape or frame.labels.shape != (intr.height, intr.width):
        reason = (f'bad input: labels {frame.labels.shape}, depth {frame.depth_m.shape} and camera_info '
                  f'{intr.height}x{intr.width} differ')
        return bad_input_decision(frame.stamp_ns, frame_id, reason, bad_cups), None
    scene = Scene(frame.instances, frame.labels, frame.depth_m, intr, cell.camera.T_base_optical)
    arm_mask = None
    if strategy == 'naive':
        result = plan_naive(scene, cell.gripper, cell.pick_area.belt_z)
    else:
        arm_mask = frame.arm_mask if frame.arm_mask is not None and frame.arm_mask.shape == frame.labels.shape else None
        result = plan_grasps(scene, cell.gripper, cell.pick_area, unhealthy=unhealthy, suspect=suspect,
                             config=config, arm_mask=arm_mask)
    decision = decision_from_plan(result, frame.stamp_ns, frame_id, unhealthy=bad_cups,
                                  suspect=[] if suspect is None else unhealthy_indices(suspect),
                                  num_cups=cell.gripper.num_cups, belt_z=cell.pick_area.belt_z)
    if arm_mask is not None:
        decision.arm_joint_stamps_ns = list(frame.arm_joint_stamps_ns)
        if isinstance(frame.arm_carry, CarriedPackage):
            decision.arm_carry, decision.arm_carried_package = 'package', frame.arm_carry.as_list()
        else:
            decision.arm_carry = 'nothing' if frame.arm_carry == NOTHING else 'unknown'
    return decision, result
