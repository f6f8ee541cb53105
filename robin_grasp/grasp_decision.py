"""The grasp decision record (JSON on ``grasp/decision``), validated on both ends by one model.

One record per planned frame: what was chosen and why, every candidate target's score terms,
every rejected instance's reason, and the planning latency. The pick record and the audit UI
consume it; :meth:`GraspDecision.model_validate_json` is the reader's side.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # readers of the record (the cell controller) must not import the planner
    from robin_grasp.grasp_candidates import GraspCandidate
    from robin_grasp.grasp_planner import PlanResult
    from robin_grasp.target_selection import TargetScore

SCHEMA = 'robin.grasp_decision/1'


class GraspRecord(BaseModel):
    """One executable grasp: the chosen one (first row of ``grasp/candidates``) or an alternative."""

    model_config = ConfigDict(extra='forbid')

    instance_id: int
    type_id: int
    type_name: str
    instance_score: float  #: perception confidence [0..1]
    type_score: float  #: type confidence [0..1]
    height_top_m: float  #: top surface above the belt [m]
    cup_mask: int = Field(ge=0, le=255)
    cups: list[int]  #: per cup 0/1, the ``gripper/cup_command`` layout
    position: list[float] = Field(min_length=3, max_length=3)  #: tcp in base_link [m]
    quaternion: list[float] = Field(min_length=4, max_length=4)  #: (x, y, z, w)
    yaw: float  #: [rad]
    score: float
    target_score: float
    pose_score: float
    pose_terms: dict[str, float]
    mass_kg: float
    mass_upper_kg: float
    force_required_n: float
    force_available_n: float
    #: largest tool acceleration the cups hold the package through [m/s^2] (robin_grasp/hold_model.py):
    #: the motion executor slows lift and transfer to it; None = not modelled (the naive baseline)
    payload_acceleration_mps2: float | None = Field(None, gt=0.0)
    #: (length, width, thickness) of the package [m]: the motion planner carries this box
    package_size_m: list[float] | None = Field(None, min_length=3, max_length=3)
    #: the package's top centre (x, y) [m] and long-side heading [rad] in the tcp frame: where the
    #: carried box hangs (None: unknown; then the motion planner centres a square box)
    package_in_tool: list[float] | None = Field(None, min_length=3, max_length=3)


class CandidateSummary(BaseModel):
    """One row of the published candidate table, for the pick record."""

    model_config = ConfigDict(extra='forbid')

    instance_id: int
    score: float
    cup_mask: int = Field(ge=0, le=255)
    yaw: float  #: [rad]


class TargetRecord(BaseModel):
    """One pickable instance and its target-selection score terms."""

    model_config = ConfigDict(extra='forbid')

    instance_id: int
    type_name: str
    score: float
    terms: dict[str, float]


class GraspDecision(BaseModel):
    """Decision for one perception frame."""

    model_config = ConfigDict(extra='forbid', populate_by_name=True)

    schema_: Literal['robin.grasp_decision/1'] = Field(SCHEMA, alias='schema')
    stamp_ns: int  #: header stamp of the perception frame [ns]
    frame_id: str  #: frame of the poses (base_link)
    status: Literal['ok', 'empty_scene', 'no_pickable_target', 'no_feasible_grasp', 'bad_input']
    reason: str = ''
    chosen: GraspRecord | None = None
    alternatives: list[GraspRecord] = Field(default_factory=list)  #: next-best grasps, best first
    targets: list[TargetRecord] = Field(default_factory=list)
    rejected: dict[str, str] = Field(default_factory=dict)  #: instance id -> reason
    #: instances only partly in view on the upstream side: running the belt brings them in
    entering: list[int] = Field(default_factory=list)
    #: the arm was in view and masked out: packages under it were not offered (arm_silhouette.py)
    arm_masked: bool = False
    #: stamps of the /joint_states samples the arm mask was drawn from (a replay rebuilds the mask)
    arm_joint_stamps_ns: list[int] = Field(default_factory=list)
    #: what the arm mask drew under the tool: the square column of an unknown carry, nothing, or the
    #: carried package's footprint ``arm_carried_package`` = [length, width, x, y, heading] (tcp frame)
    arm_carry: Literal['unknown', 'nothing', 'package'] = 'unknown'
    arm_carried_package: list[float] | None = Field(None, min_length=5, max_length=5)
    n_candidates: int = 0
    candidates: list[CandidateSummary] = Field(default_factory=list)  #: ranked, as on grasp/candidates
    unhealthy_cups: list[int] = Field(default_factory=list)  #: cup indices not used
    suspect_cups: list[int] = Field(default_factory=list)  #: cup indices QA wanted tested (force not counted)
    latency_ms: dict[str, float] = Field(default_factory=dict)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def decision_from_plan(
    result: PlanResult,
    stamp_ns: int,
    frame_id: str,
    *,
    unhealthy: list[int],
    num_cups: int,
    suspect: list[int] | None = None,
    belt_z: float = 0.0,
    max_alternatives: int = 5,
) -> GraspDecision:
    """Build the record from a planner result.

    Args:
        result: planner output.
        stamp_ns: perception frame stamp [ns].
        frame_id: frame of the poses.
        unhealthy: indices of cups excluded as unhealthy.
        suspect: indices of cups QA suspects (tested, not relied on).
        num_cups: cups on the tool.
        belt_z: belt height in base_link, for the target's height above it [m].
        max_alternatives: next-best grasps included for the controller's retries.
    """
    by_id = {t.instance_id: t for t in result.selection.ranked} if result.selection else {}
    feasible = [c for c in result.candidates if c.feasible and c.target_id in by_id]
    # Alternatives: the best grasp of every other target first (a retry usually wants another
    # package), then the remaining variants, each group in rank order.
    firsts, seen = [], set()
    for c in feasible:
        if c.target_id not in seen:
            seen.add(c.target_id)
            firsts.append(c)
    first_ids = {id(c) for c in firsts}
    ordered = firsts + [c for c in feasible if id(c) not in first_ids]
    records = [_grasp_record(c, by_id[c.target_id], belt_z, num_cups) for c in ordered[: 1 + max_alternatives]]
    targets = []
    if result.selection is not None:
        targets = [
            TargetRecord(instance_id=t.instance_id, type_name=t.type_name, score=t.score, terms=t.terms)
            for t in result.selection.ranked
        ]
    return GraspDecision(
        stamp_ns=stamp_ns,
        frame_id=frame_id,
        status=result.status,  # type: ignore[arg-type]
        reason=result.reason,
        chosen=records[0] if records and result.chosen is not None else None,
        alternatives=records[1:],
        targets=targets,
        rejected={str(k): v for k, v in sorted(result.rejected.items())},
        entering=list(result.selection.entering) if result.selection is not None else [],
        arm_masked=result.arm_masked,
        n_candidates=len(result.candidates),
        candidates=[
            CandidateSummary(instance_id=k.target_id, score=k.score, cup_mask=k.cup_mask, yaw=k.yaw)
            for k in result.candidates
        ],
        unhealthy_cups=list(unhealthy), suspect_cups=list(suspect or []),
        latency_ms=dict(result.timings_ms),
    )


def _grasp_record(c: GraspCandidate, t: TargetScore, belt_z: float, num_cups: int) -> GraspRecord:
    return GraspRecord(
        instance_id=c.target_id, type_id=c.type_id, type_name=t.type_name, instance_score=t.terms['confidence'],
        type_score=t.type_score, height_top_m=t.top - belt_z, cup_mask=c.cup_mask,
        cups=[(c.cup_mask >> k) & 1 for k in range(num_cups)],
        position=[float(v) for v in c.position], quaternion=[float(v) for v in c.quaternion], yaw=c.yaw,
        score=c.score, target_score=c.target_score, pose_score=c.pose_score, pose_terms=c.terms,
        mass_kg=_finite(c.mass), mass_upper_kg=_finite(c.mass_upper), force_required_n=_finite(c.force_required),
        force_available_n=c.force_available, package_size_m=_package_size(t, belt_z),
        payload_acceleration_mps2=round(c.hold_acceleration, 3) if math.isfinite(c.hold_acceleration) else None,
        package_in_tool=None if c.package_in_tool is None else [round(float(v), 4) for v in c.package_in_tool],
    )  # fmt: skip


def _package_size(t: TargetScore, belt_z: float) -> list[float] | None:
    """(length, width, thickness) [m]; thickness falls back to the top's height above the belt
    (an upper bound: the package may rest on another). None when the extent is unknown."""
    thickness = t.thickness if math.isfinite(t.thickness) and t.thickness > 0 else t.top - belt_z
    size = [t.length, t.width, thickness]
    if not all(math.isfinite(v) and v > 0 for v in size):
        return None
    return [round(float(v), 4) for v in size]


def _finite(v: float) -> float:
    """NaN and inf are not valid JSON; -1 marks 'not estimated'."""
    return float(v) if math.isfinite(v) else -1.0
