"""The arm mask a recorded grasp decision was planned with, rebuilt from the recorded /joint_states.

The grasp planner hides the pixels the arm covers when a frame is taken (robin_grasp/arm_view.py)
and writes the stamps of the joint states it drew the mask from into the decision. A replay draws
the same samples with the same parameters, so a decision made while the arm was over the pile
re-plans exactly. Decisions recorded before those stamps existed get the mask the planner would
draw from every recorded sample near the frame (said so in the report: it may differ, since the
live planner saw only the samples that had arrived when it planned). What the planner drew under
the tool (a carried package's footprint, nothing, or the square of an unknown carry) is in the
decision too (``arm_carry``, ``arm_carried_package``) and drawn the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robin_core.cell_description import CameraIntrinsics, CellDescription
from robin_grasp.arm_view import ArmView
from robin_grasp.carry_state import NOTHING, UNKNOWN, CarriedPackage, Carry
from robin_grasp.grasp_decision import GraspDecision
from robin_insight.decision_bag import RecordedFrame


class ReplayArmMask:
    """Arm masks for recorded frames, with the planner's ``arm_mask.*`` parameters.

    Args:
        cell: the cell the recording was made on.
        planner_params: grasp planner parameter values (``config/grasp.yaml``).
    """

    def __init__(self, cell: CellDescription, planner_params: Mapping[str, Any]) -> None:
        self.enabled = bool(planner_params.get('arm_mask.enabled', False))
        self.window_s = float(planner_params.get('arm_mask.window_s', 0.06))
        self._cell = cell
        self._view: ArmView | None = None
        if self.enabled:
            self._view = ArmView(cell, window_s=self.window_s,
                                 column_half_size=float(planner_params.get('arm_mask.column_half_size', 0.2)),
                                 dilate_px=int(planner_params.get('arm_mask.dilate_px', 12)))

    @property
    def window_ns(self) -> int:
        """Joint states this close to a frame are needed (0: masking is off)."""
        return int(self.window_s * 1e9) if self.enabled else 0

    def mask(self, frame: RecordedFrame, decision: GraspDecision | None,
             intr: CameraIntrinsics) -> tuple[np.ndarray | None, str, Carry]:
        """(mask or None, where it came from, what it drew as carried) for one recorded frame."""
        if self._view is None:
            return None, 'off (arm_mask.enabled is false)', UNKNOWN
        exact = decision is not None and 'arm_joint_stamps_ns' in decision.model_fields_set
        if exact:
            assert decision is not None
            stamps = decision.arm_joint_stamps_ns
            if not stamps:
                return None, 'none (the planner had no joint state near the frame)', UNKNOWN
            missing = [s for s in stamps if s not in frame.joints]
            if missing:
                return None, f'not rebuilt: joint states at {missing[:3]} ns not in the recording', UNKNOWN
            joints = [self._ordered(frame.joints[s]) for s in stamps]
            if any(q is None for q in joints):
                return None, f'not rebuilt: a recorded joint state lacks one of {self._cell.joint_names}', UNKNOWN
            carry = _recorded_carry(decision)
            return self._view.mask_of([q for q in joints if q is not None], intr, carry), \
                f'rebuilt from the {len(stamps)} joint states the planner drew', carry
        view = self._view
        view.clear()
        for stamp in sorted(frame.joints):
            q = self._ordered(frame.joints[stamp])
            if q is not None:
                view.add(stamp, q)
        arm = view.frame(frame.stamp_ns, intr)  # no carry heard: the square column, as such planners drew
        if arm.mask is None:
            return None, 'none (no joint state recorded near the frame)', UNKNOWN
        return arm.mask, 'approximated: the decision names no joint states, drawn from those recorded near the frame', \
            arm.carry

    def _ordered(self, joints: Mapping[str, float]) -> np.ndarray | None:
        names = self._cell.joint_names
        if not all(n in joints for n in names):
            return None
        q = np.array([joints[n] for n in names], dtype=float)
        return q if np.isfinite(q).all() else None


def _recorded_carry(decision: GraspDecision) -> Carry:
    if decision.arm_carry == 'package' and decision.arm_carried_package is not None:
        return CarriedPackage.from_list(decision.arm_carried_package)
    return NOTHING if decision.arm_carry == 'nothing' else UNKNOWN
