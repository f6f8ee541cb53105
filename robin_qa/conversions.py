"""ROS messages -> the plain values the QA algorithms take (the one place that knows the wire formats)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import WrenchStamped
from std_msgs.msg import Float32MultiArray, String, UInt8MultiArray

from robin_qa.cup_signals import NUM_CUPS
from robin_qa.misplace import DriveRobotLoad

#: Drive robot phases that mean "at the place station" (robin_sim.drive_robots.Phase values).
_AT_STATION_PHASES = {'waiting', 'loaded'}


def stamp_to_s(stamp: Time) -> float:
    """builtin_interfaces/Time -> seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def vacuum_from_msg(msg: Float32MultiArray) -> np.ndarray | None:
    """(8,) vacuum [kPa], or None when the message has the wrong length or non-finite values."""
    arr = np.asarray(msg.data, dtype=float)
    return arr if arr.shape == (NUM_CUPS,) and np.all(np.isfinite(arr)) else None


def sealed_from_msg(msg: UInt8MultiArray) -> np.ndarray | None:
    """(8,) bool seal flags, or None on a wrong length."""
    arr = np.frombuffer(bytes(msg.data), dtype=np.uint8) if not isinstance(msg.data, list) \
        else np.asarray(msg.data, dtype=np.uint8)
    return arr.astype(bool) if arr.shape == (NUM_CUPS,) else None


def flags_to_msg(flags: list[int]) -> UInt8MultiArray:
    """0/1 list -> std_msgs/UInt8MultiArray."""
    return UInt8MultiArray(data=[int(bool(f)) for f in flags])


def force_from_msg(msg: WrenchStamped) -> np.ndarray | None:
    """(3,) force [N] of the wrench, or None when not finite."""
    f = msg.wrench.force
    arr = np.array([f.x, f.y, f.z], dtype=float)
    return arr if np.all(np.isfinite(arr)) else None


def finite_or_none(value: float) -> float | None:
    """A scalar reading, or None when it is NaN/inf (a broken sensor, counted as a bad message)."""
    return float(value) if math.isfinite(value) else None


def place_station_from_msg(msg: String) -> list[DriveRobotLoad] | None:
    """Parse the place-station JSON (robots with name, phase, carried package ids, optional load).

    Accepts a list of robots or an object with a ``robots``/``drive_robots`` list; per robot the
    keys ``name``/``id``, ``phase`` or ``at_station``, ``carrying`` (ids) or ``package_count``, and
    ``load_kg``. Returns None when the text is not readable.
    """
    try:
        data: Any = json.loads(msg.data)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict):
        data = data.get('robots', data.get('drive_robots'))
    if not isinstance(data, list):
        return None
    robots = []
    for r in data:
        if not isinstance(r, dict):
            return None
        name = str(r.get('name', r.get('id', r.get('robot_id', ''))))
        at = r.get('at_station')
        if at is None:
            at = str(r.get('phase', '')).lower() in _AT_STATION_PHASES
        count = r.get('package_count')
        if count is None and isinstance(r.get('carrying'), list):
            count = len(r['carrying'])
        load = r.get('load_kg')
        load = float(load) if isinstance(load, int | float) and math.isfinite(load) else None
        robots.append(DriveRobotLoad(name, bool(at), load, None if count is None else int(count)))
    return robots
