"""Motion executor: plans pick sequences and moves on request, publishes and monitors trajectories.

Thin rclpy adapter around :mod:`robin_grasp.motion`; the protocol is in
:mod:`robin_grasp.motion.protocol` and docs/motion.md. Planning runs on one worker thread; callbacks
only parse, enqueue and publish, and a timer drains planning results and watches execution.
"""

from __future__ import annotations

import dataclasses
import queue
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory as JointTrajectoryMsg
from trajectory_msgs.msg import JointTrajectoryPoint

from robin_core import diagnostics, qos, topics
from robin_core.cell_description import CellDescription, default_cell, load_cell_description
from robin_core.node_main import run_node
from robin_core.params import declare
from robin_grasp.motion.backend_selection import BACKENDS, select_backend
from robin_grasp.motion.builtin_factory import DEFAULT_POSTURE, BuiltinSettings, build_builtin_backend
from robin_grasp.motion.execution_monitor import ExecutionMonitor, Progress
from robin_grasp.motion.interface import (
    FailureReason,
    HeightMap,
    JointGoal,
    JointTrajectory,
    PlanFailure,
    PoseGoal,
    Scene,
)
from robin_grasp.motion.moveit_backend import MoveItBackend, moveit_available
from robin_grasp.motion.pick_sequence import PickPlan, PickRequest, PickSequencePlanner, PickSettings
from robin_grasp.motion.protocol import MOVE_SEGMENT, MotionRequest, ProtocolError, event, parse_request
from robin_grasp.motion.scene_maps import SceneMaps
from robin_grasp.motion.start_blend import blend_from


@dataclass
class _Active:
    request_id: str
    plan_id: str
    segment: str
    monitor: ExecutionMonitor


#: plan requests waiting or running at once; more are rejected as ``busy``
MAX_QUEUED_PLANS = 2
#: segments that begin where an earlier one ended (a guarded descent, a loaded lift) and may start from
#: where the arm is; an approach that misses its start is re-planned by the controller instead
BLENDED_SEGMENTS = ('lift', 'transfer')
#: segments that carry the package: the arm's gravity compensation leaves the payload out, so the wrist sags
LOADED_SEGMENTS = ('lift', 'transfer', MOVE_SEGMENT[True])


class MotionExecutorNode(Node):
    """Plans on request (off the executor thread), publishes trajectories, reports per segment."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('motion_executor', **kwargs)
        backend_name = declare(self, 'backend', 'builtin', 'motion backend', choices=BACKENDS)
        urdf = declare(self, 'urdf_path', '', 'cell URDF; empty = the installed urdf/robin_cell.urdf')
        self._timeout = declare(self, 'planning_timeout', 3.0, 'budget for one whole pick plan [s]',
                                low=0.05, high=30.0)
        self._tol = declare(self, 'arrival_tolerance', 0.02, 'per-joint arrival tolerance [rad]', low=1e-4, high=0.5)
        self._settle = declare(self, 'settle_timeout', 1.0, 'time after a segment end to arrive [s]',
                               low=0.05, high=30.0)
        self._contact_tol = declare(self, 'descend_contact_tolerance', 0.06,
                                    'the descent onto a package is a guarded move: stopped within this of its end, '
                                    'it arrived on contact (0 = off) [rad]', low=0.0, high=0.5)
        self._start_tol = declare(self, 'start_tolerance', 0.05, 'arm-to-segment-start mismatch allowed [rad]',
                                  low=1e-3, high=1.0)
        self._blend_tol = declare(self, 'start_blend_tolerance', 0.1,
                                  'a lift or transfer whose start the arm misses by more than start_tolerance and '
                                  'at most this starts from where the arm is, the offset blended out along the '
                                  'segment (0 = off) [rad]', low=0.0, high=0.5)
        self._loaded_tol = declare(self, 'loaded_arrival_tolerance', 0.08,
                                   'per-joint arrival tolerance of a lift or transfer: the package is in the air or '
                                   'over a tray, and a loaded wrist may sag this much short of its end [rad]',
                                   low=1e-4, high=0.5)
        period = declare(self, 'monitor_period', 0.01, 'execution check period [s]', low=0.002, high=0.5)
        max_plans = declare(self, 'max_stored_plans', 8, 'plans kept for later execute requests', low=1, high=100)
        builtin = BuiltinSettings(
            acceleration_limits=tuple(declare(self, 'builtin.acceleration_limits', [0.0],
                                              'joint acceleration limits [rad/s²]; [0.0] = cell.yaml')),
            clearance=declare(self, 'builtin.clearance', 0.01, 'robot-environment clearance [m]', low=0.0, high=0.1),
            keepout_boxes=tuple(declare(self, 'builtin.keepout_boxes', [0.0],
                                        'walls/floor: (cx cy cz sx sy sz) x n [m]; [0.0] = none')),
            preferred_posture=tuple(declare(self, 'builtin.preferred_posture', list(DEFAULT_POSTURE),
                                            'elbow-up, wrist-down posture [rad]')),
            use_ompl=declare(self, 'builtin.use_ompl', True, 'RRTConnect when the direct path collides'),
            sample_dt=declare(self, 'builtin.sample_dt', 0.01, 'trajectory sample period [s]', low=0.002, high=0.1),
            unmapped_belt_height=declare(self, 'builtin.unmapped_belt_height', 0.3,
                                         'the belt beyond the pile map counts as an obstacle this tall; 0 = free [m]',
                                         low=0.0, high=1.0),
            carry_max_tilt_deg=declare(self, 'builtin.carry_max_tilt_deg', 15.0,
                                       'largest tool tilt from straight down while a package is carried (the '
                                       'ends may tilt more: then theirs); 0 = unbounded [deg]', low=0.0, high=90.0),
            transit_clearances=tuple(declare(self, 'builtin.transit_clearances', [0.0, 0.05, 0.15, 0.3],
                                             'raised via states before the sampling planner, at these heights '
                                             'above the higher end of a move, lowest first; [-1.0] = none [m]')),
        )
        # ROS parameters cannot be empty typed arrays: [0.0] stands for "none"
        if builtin.acceleration_limits == (0.0,):
            builtin = dataclasses.replace(builtin, acceleration_limits=())
        if builtin.keepout_boxes == (0.0,):
            builtin = dataclasses.replace(builtin, keepout_boxes=())
        self._pick = PickSettings(
            approach_distance=declare(self, 'pick.approach_distance', 0.08, 'pre-grasp stand-off [m]',
                                      low=0.0, high=0.5),
            lift_distance=declare(self, 'pick.lift_distance', 0.10, 'minimum lift [m]', low=0.0, high=0.5),
            drop_height=declare(self, 'pick.drop_height', 0.05, 'package bottom above tray at release [m]',
                                low=0.0, high=0.3),
        )
        self._cell: CellDescription = load_cell_description(urdf) if urdf else default_cell()
        self._joint_names = self._cell.joint_names
        selection = select_backend(
            backend_name,
            build_builtin=lambda: build_builtin_backend(self._cell, builtin),
            build_moveit=lambda: MoveItBackend(self._joint_names),
            moveit_available=moveit_available,
            log=self.get_logger().warning,
        )
        self._selection = selection
        self._planner = PickSequencePlanner(selection.backend, self._pick)
        self.get_logger().info(f'motion backend: {selection.backend.name}')

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix='motion_plan')
        # (request, plan, planning [ms], loaded segment -> factor it was slowed by for its payload)
        self._results: queue.SimpleQueue[tuple[MotionRequest, PickPlan | dict[str, JointTrajectory] | PlanFailure,
                                               float, dict[str, float]]] = queue.SimpleQueue()
        self._plans: OrderedDict[str, dict[str, JointTrajectory]] = OrderedDict()
        # plan id -> its pick plan (the transfer's scene and payload acceleration), for moves that finish it
        self._carrying: dict[str, PickPlan] = {}
        self._max_plans = max_plans
        self._pending: deque[tuple[str, str, str]] = deque()  # (request id, plan id, segment)
        self._active: _Active | None = None
        self._q: np.ndarray | None = None
        self._scenes = SceneMaps(capacity=30)
        self._queued = 0  # plan jobs submitted and not finished
        self._scene_lookups: dict[str, int] = {'exact': 0, 'earlier': 0, 'latest': 0, 'none': 0}
        self._counts = {'planned': 0, 'plan_failed': 0, 'segments_done': 0, 'segments_failed': 0,
                        'segments_blended': 0}
        self._last_planning_ms = 0.0

        self._traj_pub = self.create_publisher(JointTrajectoryMsg, topics.ARM_TRAJECTORY, qos.RELIABLE)
        self._event_pub = self.create_publisher(String, topics.MOTION_EVENT, qos.RECORDS)
        self.create_subscription(JointState, topics.JOINT_STATES, self._on_joint_state, qos.SENSOR)
        self.create_subscription(String, topics.MOTION_REQUEST, self._on_request, qos.RELIABLE)
        self.create_subscription(Image, topics.PILE_HEIGHT_MAP, self._on_height_map, qos.RELIABLE)
        self.create_timer(period, self._tick)
        self._diag = diagnostics.DiagnosticsPublisher(self)
        self._diag.add('motion', self._status)

    # ---- inputs ----------------------------------------------------------------------------

    def _on_joint_state(self, msg: JointState) -> None:
        index = {n: i for i, n in enumerate(msg.name)}
        if all(n in index for n in self._joint_names) and len(msg.position) == len(msg.name):
            self._q = np.array([msg.position[index[n]] for n in self._joint_names])

    def _on_height_map(self, msg: Image) -> None:
        if msg.encoding != '32FC1' or msg.width < 2 or msg.height < 2:
            self.get_logger().warning(f'pile height map ignored: need 32FC1 of at least 2x2, got {msg.encoding}')
            return
        rows = np.frombuffer(bytes(msg.data), dtype=np.float32).reshape(msg.height, msg.step // 4)[:, : msg.width]
        area = self._cell.pick_area
        (x0, x1), y0 = area.pile_map_x_range, area.pile_map_y_range[0]
        res = (x1 - x0) / (msg.width - 1)
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self._scenes.add(stamp_ns, HeightMap((x0, y0), res, rows.astype(float)))

    def _on_request(self, msg: String) -> None:
        try:
            req = parse_request(msg.data, len(self._joint_names))
        except ProtocolError as exc:
            self._emit(_request_id(msg.data), 'rejected', reason='malformed_request', detail=str(exc))
            return
        if req.op == 'stop':
            self._stop(req.id)
        elif req.op == 'execute':
            if req.plan_id not in self._plans:
                self._emit(req.id, 'rejected', reason='unknown_plan', detail=f"no stored plan '{req.plan_id}'")
            else:
                self._start_execution(req.id, req.plan_id, req.execute)
        else:
            start = req.start if req.start is not None else self._q
            if start is None:
                self._emit(req.id, 'rejected', reason='no_joint_state', detail=f'nothing on {topics.JOINT_STATES} yet')
                return
            if self._queued >= MAX_QUEUED_PLANS:  # a looping client or a replayed bag must not queue minutes
                self._emit(req.id, 'rejected', reason='busy', detail=f'{self._queued} plans already waiting')
                return
            carrying = self._carrying.get(req.carry_plan) if req.carry_plan else None
            if req.carry_plan and carrying is None:
                self._emit(req.id, 'rejected', reason='unknown_plan',
                           detail=f"no stored pick plan '{req.carry_plan}' to carry the package of")
                return
            pile, how = self._scenes.for_frame(req.scene_stamp_ns)
            self._scene_lookups[how] += 1
            self._queued += 1
            self._pool.submit(self._plan_job, req, start.copy(), pile, carrying)

    # ---- planning (worker thread) ----------------------------------------------------------

    def _plan_job(self, req: MotionRequest, start: np.ndarray, height_map: HeightMap | None,
                  carrying: PickPlan | None = None) -> None:
        t0 = time.perf_counter()
        stretch: dict[str, float] = {}
        try:
            result: PickPlan | dict[str, JointTrajectory] | PlanFailure
            if req.op == 'plan_pick':
                assert req.grasp is not None
                tray = req.place if req.place is not None else self._cell.place_station.T_base_tray
                pick = PickRequest(req.grasp, tray, self._cell.place_station.tray_size, req.package_size,
                                   req.package_pose, req.payload_acceleration)
                result = self._planner.plan(start, pick, height_map, timeout_s=self._timeout)
                if isinstance(result, PickPlan):
                    stretch = result.stretch
            else:
                goal = (JointGoal(req.goal_joints) if req.goal_joints is not None
                        else PoseGoal(req.goal_pose, req.linear))
                name = MOVE_SEGMENT[carrying is not None]
                if carrying is not None:  # holding a pick's package: its transfer's scene and payload limit
                    traj, stretch[name] = self._planner.plan_carry(start, goal, carrying, timeout_s=self._timeout)
                else:
                    traj = self._planner.backend.plan(start, goal, Scene(height_map=height_map),
                                                      timeout_s=self._timeout)
                result = traj if isinstance(traj, PlanFailure) else {name: traj}
        except Exception as exc:  # noqa: BLE001 - a planner bug must become a reply, not a dead thread
            result = PlanFailure(FailureReason.BACKEND_ERROR, f'{type(exc).__name__}: {exc}')
        self._results.put((req, result, (time.perf_counter() - t0) * 1e3, stretch))

    # ---- executor-thread work --------------------------------------------------------------

    def _tick(self) -> None:
        while not self._results.empty():
            self._on_plan_result(*self._results.get_nowait())
        self._advance_execution()

    def _on_plan_result(self, req: MotionRequest, result: Any, ms: float, stretch: dict[str, float]) -> None:
        self._queued -= 1  # counted on this (executor) thread only: submit and result both run here
        self._last_planning_ms = ms
        if isinstance(result, PlanFailure):
            self._counts['plan_failed'] += 1
            self._emit(req.id, 'plan_failed', reason=str(result.reason), segment=result.segment, detail=result.detail,
                       planning_ms=round(ms, 1))
            return
        segments = {s.name: s.trajectory for s in result.segments} if isinstance(result, PickPlan) else result
        self._plans[req.plan_id] = segments
        if isinstance(result, PickPlan) and result.carrying is not None:
            self._carrying[req.plan_id] = result
        while len(self._plans) > self._max_plans:
            self._carrying.pop(self._plans.popitem(last=False)[0], None)
        self._counts['planned'] += 1
        self._emit(req.id, 'planned', plan_id=req.plan_id, backend=self._selection.backend.name,
                   planning_ms=round(ms, 1),
                   segments=[{'name': n, 'duration_s': round(t.duration, 4), 'end_joints': t.end,
                              **({'slowed_by': round(stretch[n], 3)} if stretch.get(n, 1.0) > 1.0 else {})}
                             for n, t in segments.items()])
        if req.execute:
            self._start_execution(req.id, req.plan_id, req.execute)

    def _start_execution(self, request_id: str, plan_id: str, segments: tuple[str, ...]) -> None:
        if self._active is not None or self._pending:
            busy_with = self._active.plan_id if self._active else self._pending[0][1]
            self._emit(request_id, 'rejected', reason='busy', detail=f'executing {busy_with}')
            return
        self._pending.extend((request_id, plan_id, s) for s in segments)
        self._advance_execution()

    def _advance_execution(self) -> None:
        now = self._now()
        if self._active is not None:
            a = self._active
            verdict = a.monitor.check(now, self._q)
            if verdict.progress is Progress.RUNNING:
                return
            self._active = None
            if verdict.progress is Progress.DONE:
                self._counts['segments_done'] += 1
                self._emit(a.request_id, 'segment_done', plan_id=a.plan_id, segment=a.segment,
                           duration_s=round(now - a.monitor.start_time, 4), error_rad=round(verdict.error, 5),
                           contact=verdict.contact)
                if not self._pending:
                    self._emit(a.request_id, 'done', plan_id=a.plan_id)
            else:
                self._fail_segment(a.request_id, a.plan_id, a.segment, 'timeout',
                                   f'{a.segment} not within {a.monitor.tolerance} rad of its end '
                                   f'(error {verdict.error:.4f} rad '
                                   f'on {self._joint_names[verdict.joint] if verdict.joint >= 0 else "?"})')
                return
        if not self._pending:
            return
        request_id, plan_id, segment = self._pending.popleft()
        traj = self._plans.get(plan_id, {}).get(segment)
        if traj is None:
            self._fail_segment(request_id, plan_id, segment, 'unknown_segment', f"plan '{plan_id}' has no {segment}")
            return
        if self._q is None:
            self._fail_segment(request_id, plan_id, segment, 'no_joint_state', 'no joint state')
            return
        mismatch = float(np.max(np.abs(self._q - traj.start)))
        blended = self._start_tol < mismatch <= self._blend_tol and segment in BLENDED_SEGMENTS
        if mismatch > self._start_tol and not blended:
            self._fail_segment(request_id, plan_id, segment, 'start_mismatch',
                               f'arm is {mismatch:.3f} rad from the segment start')
            return
        if blended:
            traj = blend_from(traj, self._q)
            self._counts['segments_blended'] += 1
        self._traj_pub.publish(_to_msg(traj))
        contact = self._contact_tol if segment == 'descend' else 0.0  # only the descent may end on contact
        tol = self._loaded_tol if segment in LOADED_SEGMENTS else self._tol
        self._active = _Active(request_id, plan_id, segment,
                               ExecutionMonitor(traj, now, tol, self._settle, contact_tolerance=contact))
        self._emit(request_id, 'segment_started', plan_id=plan_id, segment=segment, duration_s=round(traj.duration, 4),
                   start_offset_rad=round(mismatch, 5))

    def _fail_segment(self, request_id: str, plan_id: str, segment: str, reason: str, detail: str) -> None:
        self._counts['segments_failed'] += 1
        self._pending.clear()  # later segments start where this one should have ended
        self._emit(request_id, 'segment_failed', plan_id=plan_id, segment=segment, reason=reason, detail=detail)

    def _stop(self, request_id: str) -> None:
        if self._active is not None:
            a, self._active = self._active, None
            self._fail_segment(a.request_id, a.plan_id, a.segment, 'stopped', f'stop request {request_id}')
        self._pending.clear()
        if self._q is not None:  # hold where the arm is
            z = np.zeros((1, len(self._q)))
            hold = JointTrajectory(self._joint_names, np.array([0.05]), self._q[None, :], z, z)
            self._traj_pub.publish(_to_msg(hold))
        self._emit(request_id, 'done', plan_id='')

    # ---- helpers ---------------------------------------------------------------------------

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _emit(self, request_id: str, name: str, **fields: Any) -> None:
        self._event_pub.publish(String(data=event(request_id, name, **fields)))

    def _status(self) -> diagnostics.Status:
        values = {'backend': self._selection.backend.name, 'last_planning_ms': self._last_planning_ms,
                  'active_segment': self._active.segment if self._active else '', **self._counts,
                  **{f'pile_map_{k}': v for k, v in self._scene_lookups.items()}}
        if self._selection.fallback_reason and self._selection.requested == 'moveit':
            return diagnostics.Status(diagnostics.WARN, f'fallback: {self._selection.fallback_reason}', values)
        if self._q is None:
            return diagnostics.Status(diagnostics.WARN, f'no {topics.JOINT_STATES}', values)
        return diagnostics.Status(diagnostics.OK, 'ok', values)

    def close(self) -> None:
        """Stop the planning thread (called by run_node and the test helper)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _to_msg(traj: JointTrajectory) -> JointTrajectoryMsg:
    """trajectory_msgs/JointTrajectory with a zero stamp (= start on receipt)."""
    msg = JointTrajectoryMsg()
    msg.joint_names = list(traj.joint_names)
    for t, q, qd, qdd in zip(traj.times, traj.positions, traj.velocities, traj.accelerations, strict=True):
        p = JointTrajectoryPoint()
        p.positions, p.velocities, p.accelerations = q.tolist(), qd.tolist(), qdd.tolist()
        p.time_from_start.sec, p.time_from_start.nanosec = divmod(round(t * 1e9), 1_000_000_000)
        msg.points.append(p)
    return msg


def _request_id(text: str) -> str:
    """Best-effort id of a malformed request, so the caller can match the rejection."""
    import json  # noqa: PLC0415

    try:
        raw = json.loads(text)
        return str(raw.get('id', '')) if isinstance(raw, dict) else ''
    except json.JSONDecodeError:
        return ''


def main(args: list[str] | None = None) -> int:
    """Entry point: ``ros2 run robin_workcell motion_executor_node``."""
    return run_node(MotionExecutorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
