"""Environment a process needs to run rclpy from the PyPI wheels on this machine."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FASTDDS_PROFILE = 'config/fastdds_shm.xml'


def share_dir() -> Path:
    """Where config/, launch/ and urdf/ live: the checkout when running from one (edits apply at
    once), else the installed package's share directory (colcon/ament install)."""
    if (REPO_ROOT / 'package.xml').is_file() and (REPO_ROOT / 'config').is_dir():
        return REPO_ROOT
    try:
        from ament_index_python.packages import get_package_share_directory  # noqa: PLC0415 - optional

        return Path(get_package_share_directory('robin_workcell'))
    except Exception:  # noqa: BLE001 - not installed as an ament package either
        return REPO_ROOT


def ros_environment(domain_id: int | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default os.environ) with what rclpy-from-PyPI needs filled in.

    Existing values win, except ``ROS_DOMAIN_ID`` when ``domain_id`` is given. Discovery is kept on
    loopback unless the caller set a range explicitly.
    """
    env = dict(os.environ if base is None else base)
    prefix = str(Path(sys.prefix))
    env.setdefault('AMENT_PREFIX_PATH', prefix)
    env.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    profile = share_dir() / FASTDDS_PROFILE
    if profile.is_file():
        env.setdefault('FASTDDS_DEFAULT_PROFILES_FILE', str(profile))
    if 'HOME' not in env and 'ROS_HOME' not in env:
        env['ROS_HOME'] = tempfile.mkdtemp(prefix='robin_ros_home_')
    env.setdefault('PYTHONUNBUFFERED', '1')
    env.setdefault('MUJOCO_GL', 'egl')  # headless rendering (Mesa EGL); a desktop may set glfw
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # ONNX Runtime/torch threads must not spin on 2 cores
    if domain_id is not None:
        env['ROS_DOMAIN_ID'] = str(domain_id)
    return env


def apply_ros_environment(domain_id: int | None = None) -> None:
    """Apply :func:`ros_environment` to this process (before ``rclpy.init``)."""
    os.environ.update(ros_environment(domain_id))
