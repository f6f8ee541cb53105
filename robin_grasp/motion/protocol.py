"""JSON request/event protocol of the motion executor (std_msgs/String on both topics).

Requests (``motion/request``), every one with ``schema`` = :data:`REQUEST_SCHEMA` and a caller-chosen
``id``::

    {"op": "plan_pick", "id": "pick-17",
     "grasp": {"position": [x, y, z], "orientation": [qx, qy, qz, qw]},   # tcp pose, base_link
     "place": {...} | null,              # tray top pose; null = the cell's place station
     "package_size": [sx, sy, sz] | null, # carried box: length, width, thickness [m]
     "package_pose": [x, y, yaw] | null,  # its top centre and long side in the tcp frame [m, rad];
                                         # null = centred, long side along tcp x
     "payload_acceleration": a | null,   # the grasp holds the package through this tool acceleration
                                         # [m/s^2]: lift and transfer are slowed to it; null = unbounded
     "start": [q1..q6] | null,           # plan from here (pipelining); null = current joint state
     "scene_stamp_ns": int | null,       # plan around the pile height map of this frame; null = latest
     "execute": ["approach", "descend"] | true | false}   # segments to run at once (true = all)
    {"op": "plan_move", "id": "...", "goal_joints": [...] | "goal_pose": {...}, "linear": false,
     "start": null, "scene_stamp_ns": int | null, "execute": true,
     "carry_plan": "pick-17" | null}       # the move holds that pick's package: planned in the scene
                                         # of its transfer (box attached and kept level, own spot cleared);
                                         # its segment is then "carry" (loaded), else "move"
    {"op": "execute", "id": "...", "plan_id": "pick-17", "segments": ["lift", "transfer"]}
    {"op": "stop", "id": "..."}

Events (``motion/event``), ``schema`` = :data:`EVENT_SCHEMA`, ``id`` = the request's ``id``::

    {"event": "planned", "plan_id", "segments": [{"name", "duration_s", "end_joints"[, "slowed_by"]}],
     "planning_ms", "backend"}            # slowed_by: a loaded segment stretched to the payload acceleration
    {"event": "plan_failed", "reason": "ik_failed|goal_in_collision|...", "segment", "detail"}
    {"event": "segment_started" | "segment_done", "plan_id", "segment", "duration_s"[, "error_rad", "contact"]}
    {"event": "segment_failed", "plan_id", "segment", "detail",
     "reason": "timeout|start_mismatch|stopped|no_joint_state|unknown_segment"}
    {"event": "done", "plan_id"}                        # all requested segments executed
    {"event": "rejected", "reason": "malformed_request|unknown_plan|busy|no_joint_state", "detail"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from robin_grasp.motion.interface import FloatArray, pose_matrix
from robin_grasp.motion.pick_sequence import SEGMENTS

REQUEST_SCHEMA = 'robin.motion.request/1'
EVENT_SCHEMA = 'robin.motion.event/1'
OPS = ('plan_pick', 'plan_move', 'execute', 'stop')
MOVE_SEGMENT = {False: 'move', True: 'carry'}  #: a plan_move's one segment, by whether it holds a package


class ProtocolError(ValueError):
    """A request that cannot be understood; the message goes into the ``rejected`` event."""


@dataclass(frozen=True)
class MotionRequest:
    """A parsed, validated request (fields unused by an op are None)."""

    op: str
    id: str
    grasp: FloatArray | None = None
    place: FloatArray | None = None
    package_size: tuple[float, float, float] | None = None
    package_pose: tuple[float, float, float] | None = None
    payload_acceleration: float | None = None
    start: FloatArray | None = None
    goal_joints: FloatArray | None = None
    goal_pose: FloatArray | None = None
    linear: bool = False
    execute: tuple[str, ...] = ()
    plan_id: str = ''
    scene_stamp_ns: int | None = None
    carry_plan: str = ''


def parse_request(text: str, dof: int) -> MotionRequest:
    """Parse and validate one JSON request.

    Raises:
        ProtocolError: malformed JSON, wrong schema, unknown op, missing or ill-typed fields.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f'not JSON: {exc.msg}') from exc
    if not isinstance(raw, dict):
        raise ProtocolError('request must be a JSON object')
    if raw.get('schema') != REQUEST_SCHEMA:
        raise ProtocolError(f"schema must be '{REQUEST_SCHEMA}'")
    op, rid = raw.get('op'), raw.get('id')
    if op not in OPS:
        raise ProtocolError(f"op must be one of {', '.join(OPS)}")
    if not isinstance(rid, str) or not rid:
        raise ProtocolError('id must be a non-empty string')
    start = _joints(raw.get('start'), dof, 'start')
    stamp = raw.get('scene_stamp_ns')
    if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, int) or stamp < 0):
        raise ProtocolError('scene_stamp_ns must be a non-negative integer or null')
    if op == 'stop':
        return MotionRequest(op, rid)
    if op == 'execute':
        plan_id = raw.get('plan_id')
        if not isinstance(plan_id, str) or not plan_id:
            raise ProtocolError('execute needs plan_id')
        return MotionRequest(op, rid, plan_id=plan_id, execute=_segments(raw.get('segments', True), plan_id))
    if op == 'plan_pick':
        grasp = _pose(raw.get('grasp'), 'grasp')
        if grasp is None:
            raise ProtocolError('plan_pick needs grasp')
        size = raw.get('package_size')
        if size is not None:
            size_arr = _floats(size, 3, 'package_size')
            if np.any(size_arr <= 0):
                raise ProtocolError('package_size must be positive')
            size = (float(size_arr[0]), float(size_arr[1]), float(size_arr[2]))
        pose = raw.get('package_pose')
        if pose is not None:
            pose_arr = _floats(pose, 3, 'package_pose')
            if size is None or np.hypot(pose_arr[0], pose_arr[1]) > max(size[0], size[1]):
                raise ProtocolError('package_pose needs package_size and must put the package under the tool')
            pose = (float(pose_arr[0]), float(pose_arr[1]), float(pose_arr[2]))
        accel = raw.get('payload_acceleration')
        if accel is not None:
            if isinstance(accel, bool) or not isinstance(accel, int | float) or not 0.0 < accel < float('inf'):
                raise ProtocolError('payload_acceleration must be a positive number [m/s^2] or null')
            accel = float(accel)
        return MotionRequest(op, rid, grasp=grasp, place=_pose(raw.get('place'), 'place'), package_size=size,
                             package_pose=pose, payload_acceleration=accel, start=start,
                             execute=_segments(raw.get('execute', False), rid),
                             plan_id=rid, scene_stamp_ns=stamp)
    goal_joints = _joints(raw.get('goal_joints'), dof, 'goal_joints')
    goal_pose = _pose(raw.get('goal_pose'), 'goal_pose')
    if (goal_joints is None) == (goal_pose is None):
        raise ProtocolError('plan_move needs exactly one of goal_joints, goal_pose')
    carry = raw.get('carry_plan')
    if carry is not None and (not isinstance(carry, str) or not carry):
        raise ProtocolError('carry_plan must be a plan id or null')
    execute = (MOVE_SEGMENT[bool(carry)],) if raw.get('execute', True) is True else ()
    return MotionRequest(op, rid, goal_joints=goal_joints, goal_pose=goal_pose, linear=bool(raw.get('linear', False)),
                         start=start, execute=execute, plan_id=rid, scene_stamp_ns=stamp, carry_plan=carry or '')


def event(request_id: str, name: str, **fields: Any) -> str:
    """Serialize one event (numpy values converted to plain JSON)."""
    return json.dumps({'schema': EVENT_SCHEMA, 'id': request_id, 'event': name, **fields}, default=_plain)


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [round(float(x), 6) for x in v.ravel()]
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f'not JSON serializable: {type(v).__name__}')


def _floats(v: Any, n: int, name: str) -> FloatArray:
    if not isinstance(v, list) or len(v) != n or not all(isinstance(x, int | float) and not isinstance(x, bool)
                                                         for x in v):
        raise ProtocolError(f'{name} must be a list of {n} numbers')
    arr = np.asarray(v, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ProtocolError(f'{name} must be finite')
    return arr


def _joints(v: Any, dof: int, name: str) -> FloatArray | None:
    return None if v is None else _floats(v, dof, name)


def _pose(v: Any, name: str) -> FloatArray | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise ProtocolError(f'{name} must be an object with position and orientation')
    frame = v.get('frame_id', 'base_link')
    if frame not in ('base_link', ''):
        raise ProtocolError(f"{name}.frame_id must be base_link (got '{frame}')")
    pos = _floats(v.get('position'), 3, f'{name}.position')
    quat = _floats(v.get('orientation'), 4, f'{name}.orientation')
    if abs(np.linalg.norm(quat) - 1.0) > 1e-2:
        raise ProtocolError(f'{name}.orientation must be a unit quaternion (x, y, z, w)')
    return pose_matrix(pos, quat)


def _segments(v: Any, where: str) -> tuple[str, ...]:
    if v is True:
        return SEGMENTS
    if v is False or v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise ProtocolError(f'segments of {where} must be true, false or a list of names')
    if bad := [s for s in v if s not in SEGMENTS]:
        raise ProtocolError(f"unknown segment(s) {', '.join(bad)}; known: {', '.join(SEGMENTS)}")
    return tuple(sorted(set(v), key=SEGMENTS.index))
