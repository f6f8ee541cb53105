"""Test isolation for ROS 2: loopback discovery, a unique domain per xdist worker, temp ROS_HOME.

Must run before anything imports rclpy's context, hence module level.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from robin_core.ros_env import apply_ros_environment  # noqa: E402


def _domain_id() -> int:
    """A ROS domain per test process: workers of one run differ, and so do concurrent runs.

    The base comes from the xdist run id (shared by a run's workers) or the pid, so two test runs
    on one machine (or a developer's running cell on domain 0) do not hear each other.
    """
    worker = os.environ.get('PYTEST_XDIST_WORKER', '')
    run = os.environ.get('PYTEST_XDIST_TESTRUNUID') or str(os.getpid())
    base = int(os.environ.get('ROBIN_TEST_DOMAIN_BASE', str(10 + int(run, 16) % 80)))
    return base + (int(worker[2:]) + 1 if worker.startswith('gw') else 0)


os.environ['ROS_HOME'] = tempfile.mkdtemp(prefix='robin_test_ros_home_')
os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('OMP_NUM_THREADS', '1')
apply_ros_environment(_domain_id())

import pytest  # noqa: E402
from ros_helpers import RosTestContext  # noqa: E402


@pytest.fixture
def ros():
    """A fresh rclpy context for one test, shut down afterwards."""
    ctx = RosTestContext()
    try:
        yield ctx
    finally:
        ctx.close()
