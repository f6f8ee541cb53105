"""ROS 2 adapter: instances + labels + aligned depth + camera_info in, ranked grasps out.

The algorithms live in plain modules (:func:`robin_grasp.grasp_planner.plan_grasps`); this node
assembles frames by stamp, hands the newest complete frame to one worker thread (older frames are
dropped, never queued), publishes the candidate table, the chosen pose and a JSON decision
record for every frame (also when there is nothing to pick), and reports latency to /diagnostics.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, JointState, PointCloud2
from std_msgs.msg import Header, String, UInt8MultiArray

from robin_core import topics
from robin_core.cell_description import CameraIntrinsics, CellDescription, default_cell
from robin_core.diagnostics import ERROR, OK, STALE, WARN, DiagnosticsPublisher, Status
from robin_core.image_codec import ImageFormatError, Stamp, depth_to_meters, image_to_numpy, numpy_to_image
from robin_core.instance_table import cloud_to_instances
from robin_core.node_main import run_node
from robin_core.params import ParameterError, declare
from robin_core.qos import LATCHED, RECORDS, RELIABLE, SENSOR
from robin_core.table_codec import TableFormatError, table_to_cloud
from robin_grasp.arm_view import ArmInFrame, ArmView
from robin_grasp.carry_state import UNKNOWN, carry_from_phase
from robin_grasp.cup_selection import unhealthy_from_flags
from robin_grasp.frame_planning import (
    PlanningFrame,
    bad_input_decision,
    intrinsics_from_k,
    plan_frame,
    unhealthy_indices,
)
from robin_grasp.frame_sync import MAX_PARTS_PER_STREAM, FrameSync
from robin_grasp.grasp_candidates import candidates_to_table
from robin_grasp.grasp_config import NODE_SPECS, PLANNER_SPECS, config_from_values
from robin_grasp.grasp_decision import GraspDecision
from robin_grasp.grasp_planner import PlanResult
from robin_grasp.pile_map import pile_grid


class GraspPlannerNode(Node):
    """Plans a grasp for every complete perception frame (newest first)."""

    def __init__(self, cell: CellDescription | None = None, **kwargs) -> None:
        super().__init__('grasp_planner', **kwargs)
        self._cell = cell or default_cell()
        values = {s.name: declare(self, s.name, s.default, s.description, low=s.low, high=s.high, choices=s.choices)
                  for s in (*NODE_SPECS, *PLANNER_SPECS)}  # fmt: skip
        try:
            self._config = config_from_values(values)
        except ValueError as exc:
            raise ParameterError('grasp planner', str(exc)) from exc
        # depth streams at camera rate while its frame's table comes a perception latency later
        self._sync: FrameSync[PointCloud2, Image, Image] = FrameSync(
            int(values['stamp_tolerance_s'] * 1e9), depth=MAX_PARTS_PER_STREAM,
            keep_ns=int(values['frame_history_s'] * 1e9))
        self._info_timeout = float(values['camera_info_timeout_s'])
        self._pile_res = float(values['pile_map_resolution'])
        self._strategy = str(values['strategy'])
        if self._strategy != 'planner':
            self.get_logger().warning(f'grasp strategy {self._strategy!r}: a benchmark baseline, not for production')
        n = self._cell.gripper.num_cups
        self._unhealthy = np.zeros(n, bool)
        self._suspect = np.zeros(n, bool)
        self._intrinsics: CameraIntrinsics | None = None
        self._info_time = 0.0
        self._lock = threading.Lock()
        self._pending: tuple[int, PointCloud2, Image, Image] | None = None
        self._wake = threading.Event()
        self._stop = False
        self._latency: deque[float] = deque(maxlen=200)
        self._frames = self._dropped = self._bad = 0
        self._last: tuple[str, str] = ('none', '')
        self._arm_view: ArmView | None = None
        if values['arm_mask.enabled']:
            self._arm_view = ArmView(self._cell, window_s=float(values['arm_mask.window_s']),
                                     column_half_size=float(values['arm_mask.column_half_size']),
                                     dilate_px=int(values['arm_mask.dilate_px']),
                                     carried_margin=float(values['arm_mask.carried_margin']))
        self._arm_lock = threading.Lock()
        self._masked_frames = 0
        # the last pile map of a frame without the arm: fills the cells a masked frame cannot see
        self._clear_grid: np.ndarray | None = None

        self._pub_table = self.create_publisher(PointCloud2, topics.GRASP_CANDIDATES, RELIABLE)
        self._pub_pose = self.create_publisher(PoseStamped, topics.GRASP_TARGET_POSE, RELIABLE)
        self._pub_decision = self.create_publisher(String, topics.GRASP_DECISION, RECORDS)
        # the scene each decision was made on, for the motion planner (it picks the map by stamp)
        self._pub_pile = self.create_publisher(Image, topics.PILE_HEIGHT_MAP, RELIABLE)
        self.create_subscription(PointCloud2, topics.INSTANCE_TABLE, self._on_table, RELIABLE)
        self.create_subscription(Image, topics.INSTANCE_LABELS, self._on_labels, RELIABLE)
        self.create_subscription(Image, topics.DEPTH_IMAGE, self._on_depth, SENSOR)
        self.create_subscription(CameraInfo, topics.COLOR_INFO, self._on_info, SENSOR)
        self.create_subscription(UInt8MultiArray, topics.QA_UNHEALTHY_CUPS, self._on_unhealthy, LATCHED)
        self.create_subscription(UInt8MultiArray, topics.QA_SUSPECT_CUPS, self._on_suspect, LATCHED)
        if self._arm_view is not None:
            self.create_subscription(JointState, topics.JOINT_STATES, self._on_joint_state, SENSOR)
            self.create_subscription(String, topics.PICK_PHASE, self._on_pick_phase, RECORDS)
        self._diag = DiagnosticsPublisher(self, period_s=1.0)
        self._diag.add('grasp planning', self._status)
        self._worker = threading.Thread(target=self._work, name='grasp_planner', daemon=True)
        self._worker.start()

    # ---------------------------------------------------------------- inputs
    def _on_table(self, msg: PointCloud2) -> None:
        self._offer(self._sync.add_table(Stamp.from_msg(msg.header.stamp).nanoseconds, msg))

    def _on_labels(self, msg: Image) -> None:
        self._offer(self._sync.add_labels(Stamp.from_msg(msg.header.stamp).nanoseconds, msg))

    def _on_depth(self, msg: Image) -> None:
        self._offer(self._sync.add_depth(Stamp.from_msg(msg.header.stamp).nanoseconds, msg))

    def _on_info(self, msg: CameraInfo) -> None:
        self._intrinsics = intrinsics_from_k(msg.width, msg.height, msg.k)
        self._info_time = time.monotonic()

    def _on_unhealthy(self, msg: UInt8MultiArray) -> None:
        try:
            self._unhealthy = unhealthy_from_flags(list(msg.data), self._cell.gripper.num_cups)
        except ValueError as exc:
            self.get_logger().error(f'ignoring {topics.QA_UNHEALTHY_CUPS}: {exc}')
            return
        self.get_logger().info(f'unhealthy cups now {np.flatnonzero(self._unhealthy).tolist()}')

    def _on_suspect(self, msg: UInt8MultiArray) -> None:
        try:
            self._suspect = unhealthy_from_flags(list(msg.data), self._cell.gripper.num_cups)
        except ValueError as exc:
            self.get_logger().error(f'ignoring {topics.QA_SUSPECT_CUPS}: {exc}')

    def _on_joint_state(self, msg: JointState) -> None:
        index = {n: i for i, n in enumerate(msg.name)}
        names = self._cell.joint_names
        if self._arm_view is None or not all(n in index for n in names) or len(msg.position) != len(msg.name):
            return
        q = np.array([msg.position[index[n]] for n in names])
        if np.isfinite(q).all():
            with self._arm_lock:
                self._arm_view.add(Stamp.from_msg(msg.header.stamp).nanoseconds, q)

    def _on_pick_phase(self, msg: String) -> None:
        """The controller's pick phases tell what the gripper carries from when (carry_state.py)."""
        if self._arm_view is None:
            return
        try:
            body = json.loads(msg.data)
            carry = carry_from_phase(body)
            stamp_ns = round(float(body['stamp_s']) * 1e9)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.get_logger().error(f'ignoring a malformed {topics.PICK_PHASE} message: {exc}')
            return
        if carry is not None:
            with self._arm_lock:
                self._arm_view.carry.set(stamp_ns, carry)

    def _arm_in_frame(self, stamp_ns: int) -> ArmInFrame:
        if self._arm_view is None or self._intrinsics is None:
            return ArmInFrame(None, (), UNKNOWN)
        with self._arm_lock:
            return self._arm_view.frame(stamp_ns, self._intrinsics)

    def _offer(self, frame: tuple[int, PointCloud2, Image, Image] | None) -> None:
        if frame is None:
            return
        with self._lock:
            self._dropped += self._pending is not None  # the worker was busy: newest frame wins
            self._pending = frame
        self._wake.set()

    # ---------------------------------------------------------------- planning
    def _work(self) -> None:
        while not self._stop:
            self._wake.wait(0.2)
            self._wake.clear()
            with self._lock:
                frame, self._pending = self._pending, None
            if frame is not None:
                try:
                    self._plan(*frame)
                except Exception as exc:  # noqa: BLE001 - a bad frame must never stop the node
                    self._bad += 1
                    self.get_logger().error(f'planning failed: {type(exc).__name__}: {exc}')

    def _plan(self, stamp_ns: int, table_msg: PointCloud2, labels_msg: Image, depth_msg: Image) -> None:
        t0 = time.perf_counter()
        header = Header(stamp=Stamp(stamp_ns).to_msg(), frame_id=self._cell.planning_frame)
        unhealthy, suspect = self._unhealthy.copy(), self._suspect.copy()
        try:
            arm = self._arm_in_frame(stamp_ns)
            frame = PlanningFrame(stamp_ns, cloud_to_instances(table_msg),
                                  image_to_numpy(labels_msg, expect=('mono16', '16UC1')), depth_to_meters(depth_msg),
                                  self._intrinsics, arm.mask, arm.joint_stamps_ns, arm.carry)
        except (ImageFormatError, TableFormatError, ValueError) as exc:
            decision, result = bad_input_decision(stamp_ns, header.frame_id, f'bad input: {exc}',
                                                  unhealthy_indices(unhealthy)), None
        else:
            decision, result = plan_frame(frame, self._cell, self._config, unhealthy, suspect,
                                          strategy=self._strategy)
        if result is None:
            self._bad += 1
        self._publish(header, decision, result, t0)

    def _publish(self, header: Header, decision: GraspDecision, result: PlanResult | None, t0: float) -> None:
        if result is not None and result.height_map is not None:
            grid = pile_grid(result.height_map, self._cell.pick_area, self._pile_res)
            if not result.arm_masked:
                self._clear_grid = grid
            elif self._clear_grid is not None and self._clear_grid.shape == grid.shape:
                # what the arm hides is unknown, and unknown is empty to the motion planner: take it
                # from the last frame without the arm (the lifted package still in it: conservative)
                grid = np.where(np.isnan(grid), self._clear_grid, grid).astype(np.float32)
            self._masked_frames += result.arm_masked
            self._pub_pile.publish(numpy_to_image(grid, '32FC1', header))
        candidates = result.candidates if result is not None else []
        self._pub_table.publish(table_to_cloud(candidates_to_table(candidates), header))
        if result is not None and (c := result.chosen) is not None:
            pose = PoseStamped(header=header)
            pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = (float(v) for v in c.position)
            o = pose.pose.orientation
            o.x, o.y, o.z, o.w = (float(v) for v in c.quaternion)
            self._pub_pose.publish(pose)
        latency = 1000.0 * (time.perf_counter() - t0)
        decision.latency_ms['node_total'] = latency
        self._pub_decision.publish(String(data=decision.to_json()))
        self._latency.append(latency)
        self._frames += 1
        self._last = (decision.status, decision.reason)

    # ---------------------------------------------------------------- state, diagnostics, shutdown
    @property
    def unhealthy_cups(self) -> list[int]:
        """Indices of the cups currently excluded."""
        return np.flatnonzero(self._unhealthy).tolist()

    @property
    def suspect_cups(self) -> list[int]:
        """Indices of the cups QA wants tested."""
        return np.flatnonzero(self._suspect).tolist()

    @property
    def has_camera_info(self) -> bool:
        return self._intrinsics is not None

    def _status(self) -> Status:
        lat = np.array(self._latency) if self._latency else np.zeros(1)
        values = {
            'frames': self._frames, 'dropped_busy': self._dropped, 'dropped_unmatched': self._sync.stats.dropped,
            'bad_frames': self._bad, 'latency_p50_ms': float(np.percentile(lat, 50)),
            'latency_p99_ms': float(np.percentile(lat, 99)), 'last_status': self._last[0],
            'unhealthy_cups': np.flatnonzero(self._unhealthy).tolist(), 'arm_masked_frames': self._masked_frames,
        }  # fmt: skip
        if self._intrinsics is None or time.monotonic() - self._info_time > self._info_timeout:
            return Status(STALE, 'no recent camera_info', values)
        if self._last[0] == 'bad_input':
            return Status(ERROR, self._last[1], values)
        if self._last[0] not in ('ok', 'none'):
            return Status(WARN, f'{self._last[0]}: {self._last[1]}', values)
        return Status(OK, 'planning', values)

    def close(self) -> None:
        """Stop the worker thread (called by run_node and the tests before destroy_node)."""
        self._stop = True
        self._wake.set()
        self._worker.join(timeout=2.0)


def main(args: list[str] | None = None) -> int:
    return run_node(GraspPlannerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
