"""ROS 2 adapter of the simulator: the MuJoCo cell speaking the real cell's topics.

Threads: physics (steps the :class:`Simulation`, paced to ``real_time_factor``, publishes /clock,
joint states, gripper sensors and ground truth), render (owns the OpenGL context, renders queued
state snapshots and publishes the camera topics), and the executor (commands, services,
parameters, status). One lock serialises access to the simulation; callbacks stay short.

Shutdown: rclpy's SIGINT handler shuts the context down while the worker threads may be in the
middle of a publish. The threads stop on ``close()`` (``run_node`` calls it) or as soon as the
context is no longer ok, and the one error a publish raises in that window ("publisher's context
is invalid", or an already destroyed handle) ends them quietly instead of a traceback.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections import deque
from typing import Any

import numpy as np
import rclpy
from rclpy.exceptions import InvalidHandle
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float32MultiArray, Float64, Header, String, UInt8MultiArray
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from robin_core import topics
from robin_core.diagnostics import OK, WARN, DiagnosticsPublisher, Status
from robin_core.image_codec import meters_to_depth16, numpy_to_image
from robin_core.node_main import run_node
from robin_core.params import ParameterError, check_choices, declare, on_set
from robin_core.qos import LATCHED, RELIABLE, SENSOR
from robin_sim import ros_conversions as conv
from robin_sim.arm import TrajectoryRejected
from robin_sim.camera import CameraRenderer, StateSnapshot
from robin_sim.feeder import FeederWatch
from robin_sim.gripper import CupFault
from robin_sim.package_catalog import package_type_names
from robin_sim.scenarios import SCENARIOS
from robin_sim.simulation import SimConfig, Simulation

PHYSICS_CHUNK_S = 0.01  #: [s] sim time stepped per lock acquisition
#: what a publish raises once the context is shut down (or the node destroyed) under a thread
SHUTDOWN_ERRORS: tuple[type[BaseException], ...] = (_rclpy.RCLError, InvalidHandle)
FAULT_PARAMS = {'fault.blocked_cup': CupFault.BLOCKED, 'fault.torn_cup': CupFault.TORN,
                'fault.weakened_cup': CupFault.WEAKENED}


class SimNode(Node):
    """The simulated cell as a node (see module docstring)."""

    def __init__(self, **node_kwargs: Any) -> None:
        """``node_kwargs`` go to :class:`rclpy.node.Node` (context, parameter_overrides; in-process tests)."""
        super().__init__('sim', **node_kwargs)
        self._declare_parameters()
        cfg = SimConfig(seed=self.p['seed'], num_packages=self.p['num_packages'],
                        package_types=tuple(self.p['package_types']), scenario=self.p['scenario'],
                        belt_speed=self.p['belt_speed'], num_drive_robots=self.p['num_drive_robots'])
        self.sim = Simulation(cfg)
        self.cell = self.sim.cell
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.context.on_shutdown(self._stop.set)  # stop publishing as soon as the context goes
        self._time_offset = 0.0
        self._apply_faults()
        if self.p['fault.stuck_vacuum'] >= 0:
            self.sim.set_stuck_vacuum(int(self.p['fault.stuck_vacuum']))
        self._frames: queue.Queue[tuple[StateSnapshot, bool]] = queue.Queue(maxsize=1)
        self._camera_times: deque[float] = deque(maxlen=60)
        self._rtf_window: deque[tuple[float, float]] = deque(maxlen=50)
        self._frame_count = 0
        self._packages_spawned = len(self.sim.packages)
        self._feeder = FeederWatch(stall_belt_s=float(self.p['feeder_stall']))
        self._follower_was_active = False

        self.pub_clock = self.create_publisher(Clock, topics.CLOCK, RELIABLE)
        self.pub_color = self.create_publisher(Image, topics.COLOR_IMAGE, SENSOR)
        self.pub_depth = self.create_publisher(Image, topics.DEPTH_IMAGE, SENSOR)
        self.pub_color_info = self.create_publisher(CameraInfo, topics.COLOR_INFO, SENSOR)
        self.pub_depth_info = self.create_publisher(CameraInfo, topics.DEPTH_INFO, SENSOR)
        self.pub_joints = self.create_publisher(JointState, topics.JOINT_STATES, RELIABLE)
        self.pub_vacuum = self.create_publisher(Float32MultiArray, topics.CUP_VACUUM, RELIABLE)
        self.pub_sealed = self.create_publisher(UInt8MultiArray, topics.CUP_SEALED, RELIABLE)
        from geometry_msgs.msg import WrenchStamped  # noqa: PLC0415 - keeps the import list short

        self.pub_wrench = self.create_publisher(WrenchStamped, topics.WRIST_WRENCH, RELIABLE)
        self.pub_belt = self.create_publisher(Float64, topics.BELT_SPEED, RELIABLE)
        self.pub_station = self.create_publisher(String, topics.PLACE_STATION, RELIABLE)
        self.pub_arm_status = self.create_publisher(String, topics.ARM_STATUS, RELIABLE)
        self.pub_status = self.create_publisher(String, topics.SIM_STATUS, LATCHED)
        self.pub_gt = self.create_publisher(String, topics.SIM_GROUND_TRUTH, RELIABLE)
        self.pub_gt_labels = self.create_publisher(Image, topics.SIM_GROUND_TRUTH_LABELS, SENSOR)
        self.create_subscription(JointTrajectory, topics.ARM_TRAJECTORY, self._on_trajectory, RELIABLE)
        self.create_subscription(UInt8MultiArray, topics.CUP_COMMAND, self._on_cups, RELIABLE)
        self.create_subscription(Float64, topics.BELT_SPEED_COMMAND, self._on_belt, RELIABLE)
        self.create_service(Trigger, topics.SIM_RESET, self._on_reset)
        self.create_service(Trigger, topics.SIM_SPAWN_PILE, self._on_spawn)
        self.create_timer(1.0, self._publish_status)
        self.diagnostics = DiagnosticsPublisher(self, hardware_id='robin_sim')
        self.diagnostics.add('simulator', self._diagnostic)

        self._threads = [threading.Thread(target=self._physics_loop, name='physics', daemon=True),
                         threading.Thread(target=self._render_loop, name='render', daemon=True)]
        for t in self._threads:
            t.start()
        self.get_logger().info(
            f"simulating scenario '{cfg.scenario}' seed {cfg.seed}, {len(self.sim.packages)} packages, "
            f"camera {self.p['camera_hz']} Hz, real-time factor {self.p['real_time_factor'] or 'max'}")

    # ------------------------------------------------------------------ parameters
    def _declare_parameters(self) -> None:
        types = list(package_type_names())
        self.p: dict[str, Any] = {
            'seed': declare(self, 'seed', 0, 'scene seed (pile, appearance, noise)', low=0, high=2**31 - 1),
            'scenario': declare(self, 'scenario', 'pile', 'scene: random pile or a named test scene',
                                choices=SCENARIOS),
            'num_packages': declare(self, 'num_packages', 12, 'packages in the initial pile', low=0, high=200),
            'package_types': declare(self, 'package_types', types, 'package types the feeder draws from'),
            'spawn_count': declare(self, 'spawn_count', 10, 'packages per sim/spawn_pile call', low=1, high=100),
            'belt_speed': declare(self, 'belt_speed', 0.0, 'belt speed [m/s] along the flow direction',
                                  low=0.0, high=1.0),
            'camera_hz': declare(self, 'camera_hz', 30.0, 'camera frame rate [Hz] in sim time', low=1.0, high=60.0),
            'real_time_factor': declare(self, 'real_time_factor', 1.0,
                                        'target sim/wall speed ratio; 0 = as fast as possible', low=0.0, high=100.0),
            'state_hz': declare(self, 'state_hz', 100.0, 'joint state / gripper sensor rate [Hz]', low=1.0,
                                high=500.0),
            'ground_truth_hz': declare(self, 'ground_truth_hz', 2.0, 'ground truth JSON + label rate [Hz]; 0 = off',
                                       low=0.0, high=30.0),
            'feeder_pile': declare(self, 'feeder.pile_size', 0,
                                   'automatic feeder: when no package is left in or before the pick area, drop '
                                   'a pile of this many upstream (0 = off; sim/spawn_pile still works)',
                                   low=0, high=60),
            'feeder_stall': declare(self, 'feeder.stall_timeout', 20.0,
                                    'belt running time without the leading upcoming package advancing after '
                                    'which the feeder drops the next pile anyway (a jam) [s]', low=1.0, high=600.0),
            'feeder_upstream': declare(self, 'feeder.upstream_distance', 0.5,
                                       'how far before the pick area the feeder drops its piles [m]',
                                       low=0.0, high=0.9),
            'station_hz': declare(self, 'station_hz', 10.0, 'place_station/state rate [Hz] (sim time)',
                                  low=1.0, high=50.0),
            'depth_noise': declare(self, 'depth_noise', True, 'apply the depth noise and hole model'),
            'num_drive_robots': declare(self, 'num_drive_robots', 2, 'drive robots serving the place station',
                                        low=0, high=4),
        }
        for name, fault in FAULT_PARAMS.items():
            self.p[name] = declare(self, name, -1, f'cup index (0-7) with a {fault} fault; -1 = none',
                                   low=-1, high=7)
        self.p['fault.stuck_vacuum'] = declare(
            self, 'fault.stuck_vacuum', -1, "cup index (0-7) whose vacuum reading freezes at its current value; "
            '-1 = none', low=-1, high=7)
        self.p['fault.knock_off'] = declare(
            self, 'fault.knock_off', False, 'run time: each set to true pushes the top package off the belt side')
        self.p['fault.stuck_pair'] = declare(
            self, 'fault.stuck_pair', False, 'run time: true arms a stuck pair (the next package the gripper takes '
            'brings a touching neighbour along: a real double pick); false disarms')
        if not self.p['package_types']:
            raise ParameterError('package_types', 'must name at least one type')
        check_choices('package_types', self.p['package_types'], types)
        on_set(self, self._validate_parameter)
        self.add_post_set_parameters_callback(self._apply_parameters)

    def _validate_parameter(self, name: str, value: Any) -> str | None:
        if name == 'package_types':
            bad = [v for v in value if v not in package_type_names()]
            return f'unknown package type(s) {bad}' if bad or not value else None
        if name == 'scenario' and value not in SCENARIOS:
            return f"unknown scenario '{value}'; known: {', '.join(SCENARIOS)}"
        if name == 'fault.stuck_vacuum' and not -1 <= value < self.sim.gripper.num_cups:
            return f'cup index must be -1 (none) or 0..{self.sim.gripper.num_cups - 1}, got {value}'
        if name == 'fault.knock_off' and value:
            with self._lock:
                if self.sim.top_belt_package() is None:
                    return 'no package on the belt to knock off'
        return None

    def _apply_parameters(self, params: list) -> None:
        for prm in params:
            self.p[prm.name] = prm.value
        changed = {prm.name for prm in params}
        with self._lock:
            self.sim.config.package_types = tuple(self.p['package_types'])
            self.sim.set_belt_speed(self.p['belt_speed'])
            self._apply_faults()
            if 'fault.stuck_vacuum' in changed:  # freezes the reading of this moment
                cup = int(self.p['fault.stuck_vacuum'])
                self.sim.set_stuck_vacuum(cup if cup >= 0 else None)
            if 'fault.stuck_pair' in changed and self.p['fault.stuck_pair']:
                self.sim.adhesion.arm()
            elif 'fault.stuck_pair' in changed:
                self.sim.adhesion.disarm()
            knocked: int | str | None = None
            if 'fault.knock_off' in changed and self.p['fault.knock_off']:
                try:
                    knocked = self.sim.knock_off()
                except ValueError as exc:  # the belt emptied since the validation
                    knocked = str(exc)
        if isinstance(knocked, str):
            self.get_logger().error(f'fault.knock_off: {knocked}')
        elif knocked is not None:
            self.get_logger().warning(f'fault injected: knocked package {knocked} off the belt')

    def _apply_faults(self) -> None:
        for k in range(self.sim.gripper.num_cups):
            self.sim.set_cup_fault(k, CupFault.NONE)
        for name, fault in FAULT_PARAMS.items():
            if self.p[name] >= 0:
                self.sim.set_cup_fault(int(self.p[name]), fault)

    # ------------------------------------------------------------------ physics thread
    def _shutting_down(self) -> bool:
        """Whether the node is closing or its context is gone (publishing would fail)."""
        return self._stop.is_set() or not rclpy.ok(context=self.context)

    def _physics_loop(self) -> None:
        wall0, sim0, rtf0 = time.monotonic(), 0.0, None
        next_state = next_cam = next_gt = next_station = 0.0
        next_feed = 2.0  # let the first pile settle before judging the belt empty
        belt_run_s = 0.0  # belt running time since the last feeder check (jam watch)
        while not self._shutting_down():
            try:
                with self._lock:
                    self.sim.step(PHYSICS_CHUNK_S)
                    belt_run_s += PHYSICS_CHUNK_S if self.sim.belt_speed != 0.0 else 0.0
                    now = self._time_offset + self.sim.time
                    stamp = conv.ros_time(now)
                    self.pub_clock.publish(Clock(clock=stamp))
                    if now >= next_state:
                        next_state = now + 1.0 / self.p['state_hz']
                        self._publish_state(stamp)
                    if now >= next_cam:
                        next_cam = now + 1.0 / self.p['camera_hz']
                        self._queue_frame(now)
                    if now >= next_station:
                        next_station = now + 1.0 / self.p['station_hz']
                        self.pub_station.publish(String(data=json.dumps(self.sim.station_state())))
                    if self.p['ground_truth_hz'] > 0 and now >= next_gt:
                        next_gt = now + 1.0 / self.p['ground_truth_hz']
                        self.pub_gt.publish(String(data=json.dumps(self.sim.ground_truth().to_json())))
                    if self.p['feeder_pile'] > 0 and now >= next_feed:
                        next_feed = now + 1.0
                        jams = self._feeder.jams
                        due = self._feeder.due(self.sim.coming_positions(), belt_run_s)
                        belt_run_s = 0.0
                        if due:
                            ids = self.sim.spawn_pile(int(self.p['feeder_pile']),
                                                      upstream_m=float(self.p['feeder_upstream']))
                            self._packages_spawned += len(ids)
                            jammed = self._feeder.jams > jams
                            why = ' (what was coming did not move with the belt: jammed)' if jammed else ''
                            self.get_logger().info(f'feeder dropped packages {ids[0]}..{ids[-1]} upstream{why}')
                    self._report_trajectory_end()
            except SHUTDOWN_ERRORS:
                if self._shutting_down():
                    break  # the context went away under a publish: a normal Ctrl-C
                raise
            self._rtf_window.append((time.monotonic(), now))
            rtf = self.p['real_time_factor']
            if rtf != rtf0 or now < sim0:  # re-anchor on a new target or a reset
                wall0, sim0, rtf0 = time.monotonic(), now, rtf
            if rtf > 0:
                lag = wall0 + (now - sim0) / rtf - time.monotonic()
                if lag > 0:
                    self._stop.wait(lag)
                elif lag < -0.5:  # too slow to keep up: do not try to catch up later
                    wall0, sim0 = time.monotonic(), now

    def _publish_state(self, stamp: Any) -> None:
        header = Header(stamp=stamp, frame_id=self.cell.planning_frame)
        js = self.sim.joint_state()
        self.pub_joints.publish(conv.joint_state(js.names, js.position, js.velocity, js.effort, header))
        g = self.sim.gripper_reading()
        self.pub_vacuum.publish(conv.vacuum(g.vacuum_kpa))
        self.pub_sealed.publish(conv.flags(g.sealed))
        self.pub_wrench.publish(conv.wrench(g.wrench, Header(stamp=stamp, frame_id=self.cell.gripper.flange_frame)))
        self.pub_belt.publish(Float64(data=self.sim.belt_speed))

    def _queue_frame(self, now: float) -> None:
        snap = self.sim.snapshot()
        snap.time = now
        gt_every = max(1, round(self.p['camera_hz'] / self.p['ground_truth_hz'])) if self.p['ground_truth_hz'] else 0
        labels = bool(gt_every) and self._frame_count % gt_every == 0
        self._frame_count += 1
        with contextlib.suppress(queue.Empty):
            self._frames.get_nowait()  # drop a frame the renderer has not picked up: keep latency low
        self._frames.put_nowait((snap, labels))

    def _report_trajectory_end(self) -> None:
        active = self.sim.follower.active
        if self._follower_was_active and not active:
            self._arm_status('finished', True, '')
        self._follower_was_active = active

    # ------------------------------------------------------------------ render thread
    def _render_loop(self) -> None:
        renderer: CameraRenderer | None = None
        intr = self.cell.camera.intrinsics
        frame_id = self.cell.camera.frame_id
        while not self._shutting_down():
            try:
                snap, labels = self._frames.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                if renderer is None or renderer.generation != snap.generation:
                    with self._lock:
                        if self.sim.generation != snap.generation:
                            continue  # the scene changed since this snapshot
                        if renderer is not None:
                            renderer.close()
                        renderer = self.sim.make_renderer()
                rng = np.random.default_rng([self.p['seed'], int(snap.time * 1000)]) if self.p['depth_noise'] else None
                frame = renderer.render(snap, rng, labels=labels)
                header = Header(stamp=conv.ros_time(snap.time), frame_id=frame_id)
                self.pub_color.publish(numpy_to_image(frame.rgb, 'rgb8', header))
                self.pub_depth.publish(numpy_to_image(meters_to_depth16(frame.depth_m), '16UC1', header))
                info = conv.camera_info(intr, header)
                self.pub_color_info.publish(info)
                self.pub_depth_info.publish(info)
                if frame.labels is not None:
                    self.pub_gt_labels.publish(numpy_to_image(frame.labels, 'mono16', header))
                self._camera_times.append(time.monotonic())
            except SHUTDOWN_ERRORS:
                if self._shutting_down():
                    break  # the context went away under a publish: a normal Ctrl-C
                raise
            except Exception as exc:  # noqa: BLE001 - a bad frame must not kill the camera
                self.get_logger().error(f'camera render failed: {exc}', throttle_duration_sec=5.0)
        if renderer is not None:
            renderer.close()

    # ------------------------------------------------------------------ commands
    def _arm_status(self, event: str, accepted: bool, reason: str) -> None:
        status = {'schema': 'robin_sim/arm_status/1', 'event': event, 'accepted': accepted, 'reason': reason,
                  'time': round(self._time_offset + self.sim.time, 4)}
        self.pub_arm_status.publish(String(data=json.dumps(status)))

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        try:
            traj = conv.trajectory_from_msg(msg)
            with self._lock:
                self.sim.follow_trajectory(traj)
                self._follower_was_active = True
            self._arm_status('accepted', True, '')
        except TrajectoryRejected as exc:
            self.get_logger().error(f'rejected trajectory: {exc}; the arm holds')
            self._arm_status('rejected', False, str(exc))

    def _on_cups(self, msg: UInt8MultiArray) -> None:
        values = list(msg.data)
        if len(values) != self.sim.gripper.num_cups or any(v not in (0, 1) for v in values):
            self.get_logger().error(f'cup command needs {self.sim.gripper.num_cups} values of 0/1, got {values}')
            return
        with self._lock:
            self.sim.command_cups(values)

    def _on_belt(self, msg: Float64) -> None:
        try:
            with self._lock:
                self.sim.set_belt_speed(msg.data)
        except ValueError as exc:
            self.get_logger().error(f'belt speed command ignored: {exc}')

    def _on_reset(self, _req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
        try:
            with self._lock:
                self._time_offset += self.sim.time  # /clock never jumps back
                self.sim.reset(seed=self.p['seed'], scenario=self.p['scenario'], num_packages=self.p['num_packages'])
                self._apply_faults()
                self._packages_spawned += len(self.sim.packages)
            resp.success, resp.message = True, f'reset: {len(self.sim.packages)} packages'
        except ValueError as exc:
            resp.success, resp.message = False, str(exc)
        return resp

    def _on_spawn(self, _req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
        with self._lock:
            ids = self.sim.spawn_pile(int(self.p['spawn_count']))
            self._packages_spawned += len(ids)
        resp.success, resp.message = True, f'spawned packages {ids[0]}..{ids[-1]}' if ids else 'spawned nothing'
        return resp

    # ------------------------------------------------------------------ status
    def _measured(self) -> tuple[float, float]:
        """(real-time factor, camera Hz) over the recent window."""
        rtf = 0.0
        if len(self._rtf_window) > 1:
            (w0, s0), (w1, s1) = self._rtf_window[0], self._rtf_window[-1]
            rtf = (s1 - s0) / (w1 - w0) if w1 > w0 and s1 >= s0 else 0.0
        cam = 0.0
        if len(self._camera_times) > 1 and time.monotonic() - self._camera_times[-1] < 2.0:
            cam = (len(self._camera_times) - 1) / (self._camera_times[-1] - self._camera_times[0])
        return rtf, cam

    def _publish_status(self) -> None:
        rtf, cam = self._measured()
        with self._lock:
            gt = self.sim.ground_truth()
            faults = {str(k): str(f) for k, f in enumerate(self.sim.gripper.faults) if f != CupFault.NONE}
            for k in self.sim.stuck_vacuum:
                faults[str(k)] = f'{faults[str(k)]}+stuck_vacuum' if str(k) in faults else 'stuck_vacuum'
            status = {
                'schema': 'robin_sim/status/1', 'sim_time': round(self._time_offset + self.sim.time, 3),
                'real_time_factor': round(rtf, 3), 'camera_hz': round(cam, 2),
                'packages_spawned': self._packages_spawned, 'packages_present': len(gt.ids),
                'package_states': {s: gt.states.count(s) for s in sorted(set(gt.states))},
                'belt_speed': self.sim.belt_speed, 'faults': faults, 'scenario': self.sim.config.scenario,
                'seed': self.sim.config.seed,
            }
        try:
            self.pub_status.publish(String(data=json.dumps(status)))
        except SHUTDOWN_ERRORS:
            if not self._shutting_down():
                raise

    def _diagnostic(self) -> Status:
        rtf, cam = self._measured()
        faults = [f'{k}:{f}' for k, f in enumerate(self.sim.gripper.faults) if f != CupFault.NONE]
        faults += [f'{k}:stuck_vacuum' for k in self.sim.stuck_vacuum]
        target = self.p['real_time_factor']
        slow = target > 0 and rtf < 0.8 * target
        level = WARN if slow or faults else OK
        msg = 'slower than the target real-time factor' if slow else ('cup faults injected' if faults else 'ok')
        return Status(level, msg, {'real_time_factor': rtf, 'camera_hz': cam, 'faults': ' '.join(faults) or 'none'})

    def close(self) -> None:
        """Stop and join the physics and render threads (run_node calls this on shutdown). Idempotent."""
        self._stop.set()
        for t in self._threads:
            if t.is_alive() and t is not threading.current_thread():
                t.join(timeout=5.0)


def main(args: list[str] | None = None) -> int:
    """Console entry point ``sim_node``."""
    return run_node(SimNode, args, threads=2)


if __name__ == '__main__':
    raise SystemExit(main())
