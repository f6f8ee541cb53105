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

from robin_cell.pick_cycle import Decision, GraspOption, NotifyQa
from robin_core.records import RecordError

MOTION_REQUEST_SCHEMA = 'robin.motion.request/1'
MOTION_EVENT_SCHEMA = 'robin.motion.event/1'
PHASE_SCHEMA = 'robin.pick_phase/1'

#: the controller's segments → the executor's pick-sequence segments
PICK_SEGMENTS = {'approach': ['approach', 'descend'], 'lift': ['lift'], 'transfer': ['transfer']}


def decision_from_json(text: str, now_ns: int) -> Decision:
    """Read a grasp decision; ``now_ns`` (receipt time) gives the end-to-end decision latency.

    Raises:
        RecordError: not a grasp decision.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f'grasp decision is not JSON: {exc.msg}') from exc
    if not isinstance(raw, dict) or raw.get('schema') != 'robin.grasp_decision/1':
        raise RecordError("not a 'robin.grasp_decision/1' record")
    try:
        stamp = int(raw['stamp_ns'])
        options = [_option(c) for c in [raw.get('chosen'), *raw.get('alternatives', [])] if c]
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(f'grasp decision is malformed: {exc}') from exc
    reason = str(raw.get('reason') or raw.get('status', ''))
    return Decision(
        frame_stamp_ns=stamp,
        options=tuple(options),
        reason='' if options else reason,
        latency_ms=max(0.0, (now_ns - stamp) * 1e-6),
        model_version=raw.get('model_version'),
        model_sha256=raw.get('model_sha256'),
        segmenter=str(raw.get('segmenter', 'none')),
        instance_count=len(raw.get('targets', []) or []) + len(raw.get('rejected', {}) or {}),
    )


def _option(c: dict[str, Any]) -> GraspOption:
    pos, quat = c['position'], c['quaternion']
    return GraspOption(
        instance_id=int(c['instance_id']),
        package_type=str(c.get('type_name', 'unknown')),
        score=float(c.get('instance_score', 0.0)),
        type_score=float(c.get('type_score', 0.0)),
        grasp_score=float(c.get('score', 0.0)),
        cup_mask=int(c['cup_mask']),
        position=(float(pos[0]), float(pos[1]), float(pos[2])),
        orientation=(float(quat[0]), float(quat[1]), float(quat[2]), float(quat[3])),
        expected_mass_kg=float(c.get('mass_kg', 0.0)),
        height_top_m=float(c['height_top_m']) if c.get('height_top_m') is not None else None,
    )


def plan_request(request_id: str, option: GraspOption, package_size: tuple[float, float, float] | None) -> str:
    """A ``plan_pick`` request that plans every segment and executes none yet."""
    return json.dumps({
        'schema': MOTION_REQUEST_SCHEMA, 'op': 'plan_pick', 'id': request_id,
        'grasp': {'position': list(option.position), 'orientation': list(option.orientation)},
        'place': None, 'package_size': list(package_size) if package_size else None, 'execute': False,
    })


def execute_request(request_id: str, plan_id: str, segment: str) -> str:
    """Execute pick-sequence segments of an earlier plan."""
    return json.dumps({'schema': MOTION_REQUEST_SCHEMA, 'op': 'execute', 'id': request_id, 'plan_id': plan_id,
                       'segments': PICK_SEGMENTS[segment]})


def move_request(request_id: str, *, goal_joints: list[float] | None = None,
                 goal_pose: tuple[tuple[float, float, float], tuple[float, float, float, float]] | None = None,
                 linear: bool = False) -> str:
    """A ``plan_move`` executed at once: recovery moves (put back, retreat)."""
    body: dict[str, Any] = {'schema': MOTION_REQUEST_SCHEMA, 'op': 'plan_move', 'id': request_id,
                            'linear': linear, 'execute': True}
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
    if instances_stamp_s is not None:
        body['instances_stamp_s'] = instances_stamp_s
    return json.dumps(body)
