"""Message conversion for the simulator node (the one place that knows the message layouts)."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import WrenchStamped
from sensor_msgs.msg import CameraInfo, JointState
from std_msgs.msg import Float32MultiArray, Header, UInt8MultiArray
from trajectory_msgs.msg import JointTrajectory

from robin_core.cell_description import CameraIntrinsics
from robin_sim.arm import JointTrajectoryData, TrajectoryRejected, trajectory_from_lists


def ros_time(seconds: float) -> Time:
    ns = round(seconds * 1e9)
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def camera_info(intr: CameraIntrinsics, header: Header) -> CameraInfo:
    """Pinhole CameraInfo (no distortion) for the color stream and the aligned depth."""
    msg = CameraInfo(header=header, width=intr.width, height=intr.height, distortion_model='plumb_bob')
    msg.d = [0.0] * 5
    msg.k = [intr.fx, 0.0, intr.cx, 0.0, intr.fy, intr.cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [intr.fx, 0.0, intr.cx, 0.0, 0.0, intr.fy, intr.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def trajectory_from_msg(msg: JointTrajectory) -> JointTrajectoryData:
    """JointTrajectory → plain arrays. Raises TrajectoryRejected on inconsistent points."""
    if not msg.points:
        raise TrajectoryRejected('trajectory has no points')
    times = [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in msg.points]
    n = len(msg.joint_names)
    if any(len(p.positions) != n for p in msg.points):
        raise TrajectoryRejected(f'every point needs {n} positions (one per joint name)')
    with_vel = all(len(p.velocities) == n for p in msg.points)
    if not with_vel and any(len(p.velocities) for p in msg.points):
        raise TrajectoryRejected('velocities must be given for all points or none')
    vel = [list(p.velocities) for p in msg.points] if with_vel else None
    return trajectory_from_lists(list(msg.joint_names), times, [list(p.positions) for p in msg.points], vel)


def joint_state(names: tuple[str, ...], q: np.ndarray, v: np.ndarray, effort: np.ndarray, header: Header) -> JointState:
    return JointState(header=header, name=list(names), position=q.tolist(), velocity=v.tolist(),
                      effort=effort.tolist())


def vacuum(values: np.ndarray) -> Float32MultiArray:
    return Float32MultiArray(data=[float(v) for v in values])


def flags(values: np.ndarray) -> UInt8MultiArray:
    msg = UInt8MultiArray()
    msg.data = bytes(int(bool(v)) for v in values)
    return msg


def wrench(values: np.ndarray, header: Header) -> WrenchStamped:
    msg = WrenchStamped(header=header)
    f, t = msg.wrench.force, msg.wrench.torque
    f.x, f.y, f.z = (float(v) for v in values[:3])
    t.x, t.y, t.z = (float(v) for v in values[3:])
    return msg
