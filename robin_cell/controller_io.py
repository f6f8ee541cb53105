"""Translation between the cell controller's state machine and its neighbours' JSON protocols.

Plain functions (no rclpy), so the node stays a thin adapter and every mapping is unit-tested:

- grasp planner ``grasp/decision`` (robin.grasp_decision/1) → :class:`Decision`
- :class:`RequestPlan` / :class:`ExecuteSegment` → motion executor requests (robin.motion.request/1)
- motion events (robin.motion.event/1) → segment outcomes
- :class:`NotifyQa` → QA's ``cell/pick_phase`` (robin.pick_phase/1)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from robin_cell.pick_cycle import Decision, GraspOption, NotifyQa
from robin_core.records import RecordError
from robin_grasp.grasp_decision import GraspDecision, GraspRecord

MOTION_REQUEST_SCHEMA = 'robin.motion.request/1'
MOTION_EVENT_SCHEMA = 'robin.motion.event/1'
PHASE_SCHEMA = 'robin.pick_phase/1'

#: the controller's segments → the executor's pick-sequence segments
PICK_SEGMENTS = {'approach': ['approach', 'descend'], 'lift': ['lift'], 'transfer': ['transfer']}


def decision_from_json(text: str, now_ns: int) -> Decision:
    """Read a grasp decision, validated by the planner's own model (robin.grasp_decision/1);
    ``now_ns`` (receipt time) gives the end-to-end decision latency.

    Raises:
        RecordError: not a valid grasp decision.
    """
    try:
        raw = GraspDecision.model_validate_json(text)
    except ValidationError as exc:
        problems = '; '.join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise RecordError(f'invalid grasp decision: {problems}') from exc
    # rank = position in the decision (0 = chosen, k = alternatives[k - 1]): the pick record keeps it
    options = [_option(c, rank) for rank, c in enumerate([raw.chosen, *raw.alternatives]) if c is not None]
    return Decision(
        frame_stamp_ns=raw.stamp_ns,
        options=tuple(options),
        reason='' if options else (raw.reason or raw.status),
        latency_ms=max(0.0, (now_ns - raw.stamp_ns) * 1e-6),
        instance_count=len(raw.targets) + len(raw.rejected),
        unhealthy_cups=tuple(raw.unhealthy_cups),
        entering=len(raw.entering),
        arm_masked=raw.arm_masked,
    )


def _option(c: GraspRecord, rank: int) -> GraspOption:
    pos, quat = c.position, c.quaternion
    return GraspOption(
        instance_id=c.instance_id,
        package_type=c.type_name,
        score=c.instance_score,
        type_score=c.type_score,
        grasp_score=c.score,
        cup_mask=c.cup_mask,
        position=(pos[0], pos[1], pos[2]),
        orientation=(quat[0], quat[1], quat[2], quat[3]),
        expected_mass_kg=c.mass_kg,
        height_top_m=c.height_top_m,
        rank=rank,
        package_size=tuple(c.package_size_m) if c.package_size_m else None,  # type: ignore[arg-type]
        package_in_tool=tuple(c.package_in_tool) if c.package_in_tool else None,  # type: ignore[arg-type]
        payload_acceleration=c.payload_acceleration_mps2,
    )


def plan_request(request_id: str, option: GraspOption, scene_stamp_ns: int | None = None,
                 start: tuple[float, ...] | None = None) -> str:
    """A ``plan_pick`` request that plans every segment and executes none yet, around the pile of
    frame ``scene_stamp_ns`` (the decision's), from joints ``start`` (None: where the arm is).

    The carried box is given in the tool frame: the package's size and, when the decision says
    where the package lies under the tool (``package_in_tool``), its pose; without it the box is
    the package's long side square, centred on the tool: never smaller than the package whichever
    way it hangs, but much larger (a 50 × 30 cm mailer at the map's edge met the unmapped belt)."""
    package_size, package_pose = None, None
    if option.package_size is not None and option.package_in_tool is not None:
        package_size, package_pose = option.package_size, option.package_in_tool
    elif option.package_size is not None:
        side = max(option.package_size[0], option.package_size[1])
        package_size = (side, side, option.package_size[2])
    return json.dumps({
        'schema': MOTION_REQUEST_SCHEMA, 'op': 'plan_pick', 'id': request_id,
        'grasp': {'position': list(option.position), 'orientation': list(option.orientation)},
        'place': None, 'package_size': list(package_size) if package_size else None,
        'package_pose': list(package_pose) if package_pose else None,
        'payload_acceleration': option.payload_acceleration, 'execute': False,
        'scene_stamp_ns': scene_stamp_ns, 'start': list(start) if start is not None else None,
    })


def execute_request(request_id: str, plan_id: str, segment: str) -> str:
    """Execute pick-sequence segments of an earlier plan."""
    return json.dumps({'schema': MOTION_REQUEST_SCHEMA, 'op': 'execute', 'id': request_id, 'plan_id': plan_id,
                       'segments': PICK_SEGMENTS[segment]})


def move_request(request_id: str, *, goal_joints: list[float] | None = None,
                 goal_pose: tuple[tuple[float, float, float], tuple[float, float, float, float]] | None = None,
                 linear: bool = False, scene_stamp_ns: int | None = None, carry_plan: str | None = None) -> str:
    """A ``plan_move`` executed at once: recovery moves (put back, retreat, the rest of a transfer),
    planned around the pile of frame ``scene_stamp_ns`` (the pick's decision: newer frames show the
    arm itself); ``carry_plan`` names the pick whose package the arm holds on the way."""
    body: dict[str, Any] = {'schema': MOTION_REQUEST_SCHEMA, 'op': 'plan_move', 'id': request_id,
                            'linear': linear, 'execute': True, 'scene_stamp_ns': scene_stamp_ns}
    if carry_plan is not None:
        body['carry_plan'] = carry_plan
    if goal_joints is not None:
        body['goal_joints'] = list(goal_joints)
    if goal_pose is not None:
        body['goal_pose'] = {'position': list(goal_pose[0]), 'orientation': list(goal_pose[1])}
    return json.dumps(body)


@dataclass(frozen=True)
class MotionEvent:
    request_id: str
    event: str  # planned | plan_failed | segment_started | segment_done | segment_failed | done | rejected
    reason: str = ''
    detail: str = ''
    planning_ms: float = 0.0
    segment: str = ''
    duration_s: float = 0.0
    segments: list[dict[str, Any]] = field(default_factory=list)


def plan_failure_text(event: MotionEvent) -> str:
    """A failed plan's reason for the pick record: the reason first (the controller branches on
    it), then which segment failed and the planner's detail, e.g.
    ``ik_failed (approach: no IK solution for [0.68, 0.21, 0.43])``."""
    where = ': '.join(x for x in (event.segment, event.detail) if x)
    if not event.reason:
        return where
    return f'{event.reason} ({where})' if where else event.reason


def segment_end(event: MotionEvent, name: str) -> tuple[float, ...] | None:
    """End joints of segment ``name`` of a ``planned`` event (None when it has no such segment)."""
    for seg in event.segments:
        if isinstance(seg, dict) and seg.get('name') == name and isinstance(seg.get('end_joints'), list):
            return tuple(float(v) for v in seg['end_joints'])
    return None


def motion_event_from_json(text: str) -> MotionEvent:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f'motion event is not JSON: {exc.msg}') from exc
    if not isinstance(raw, dict) or raw.get('schema') != MOTION_EVENT_SCHEMA or 'id' not in raw:
        raise RecordError(f"not a '{MOTION_EVENT_SCHEMA}' event")
    return MotionEvent(
        request_id=str(raw['id']), event=str(raw.get('event', '')), reason=str(raw.get('reason', '')),
        detail=str(raw.get('detail', '')), planning_ms=float(raw.get('planning_ms', 0.0) or 0.0),
        segment=str(raw.get('segment', '')), duration_s=float(raw.get('duration_s', 0.0) or 0.0),
        segments=list(raw.get('segments', []) or []),
    )


def phase_message(n: NotifyQa, stamp_s: float, instances_stamp_s: float | None = None) -> str:
    """QA's ``robin.pick_phase/1`` for a phase notification."""
    opt = n.option
    body: dict[str, Any] = {'schema': PHASE_SCHEMA, 'record_id': n.record_id, 'phase': n.phase,
                            'package_id': n.package_id, 'attempt': n.attempt, 'stamp_s': stamp_s}
    if opt is not None:
        body.update(target_instance_id=opt.instance_id, cup_mask=opt.cup_mask, target_cup_mask=opt.cup_mask,
                    expected_mass_kg=opt.expected_mass_kg if opt.expected_mass_kg > 0 else None)
        # the carried package's footprint: the grasp planner masks it (not a 0.4 m square) out of frames
        if opt.package_size is not None:
            body['package_size_m'] = list(opt.package_size)
            body['package_in_tool'] = list(opt.package_in_tool) if opt.package_in_tool is not None else None
    if instances_stamp_s is not None:
        body['instances_stamp_s'] = instances_stamp_s
    if n.drive_robot_id is not None:
        body['drive_robot_id'] = n.drive_robot_id
    return json.dumps(body)
