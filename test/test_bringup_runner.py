"""`robin-cell up` runs the shipped graph as processes: clean Ctrl-C, non-zero when a node dies."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robin_core.ros_env import REPO_ROOT

pytestmark = [pytest.mark.ros, pytest.mark.sim]


def _start_cell(tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, '-m', 'robin_bringup.cli', 'up', '--log-dir', str(tmp_path / 'logs')],
        cwd=REPO_ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _read_until(proc: subprocess.Popen, pattern: str, timeout_s: float, seen: list[str]) -> re.Match | None:
    """Read the runner's output line by line until ``pattern`` matches (os.set_blocking off)."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    end = time.monotonic() + timeout_s
    buf = ''
    while time.monotonic() < end:
        chunk = proc.stdout.read()
        if chunk:
            buf += chunk
            *lines, buf = buf.split('\n')
            for line in lines:
                seen.append(line)
                if m := re.search(pattern, line):
                    return m
        elif proc.poll() is not None:
            return None
        else:
            time.sleep(0.05)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_stops_every_node_cleanly(tmp_path: Path) -> None:
    proc = _start_cell(tmp_path)
    seen: list[str] = []
    try:
        started = _read_until(proc, r'\[sim\] started pid (\d+)', 30, seen)
        assert started, '\n'.join(seen[-20:])
        # wait until the simulator is really up (it logs once its physics loop runs)
        assert _read_until(proc, r'\[sim\] .*(ready|running|publishing)', 60, seen), '\n'.join(seen[-20:])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, '\n'.join(seen[-20:])
        assert not _alive(int(started.group(1)))
        assert (tmp_path / 'logs' / 'sim.log').stat().st_size > 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_dying_node_stops_the_cell_with_an_error(tmp_path: Path) -> None:
    proc = _start_cell(tmp_path)
    seen: list[str] = []
    try:
        started = _read_until(proc, r'\[sim\] started pid (\d+)', 30, seen)
        assert started
        time.sleep(2.0)
        os.kill(int(started.group(1)), signal.SIGKILL)
        code = proc.wait(timeout=30)
        rest = proc.stdout.read() if proc.stdout else ''
        assert code != 0
        assert 'sim exited' in '\n'.join(seen) + rest
    finally:
        if proc.poll() is None:
            proc.kill()


def test_unknown_executable_is_refused(tmp_path: Path) -> None:
    graph = tmp_path / 'config' / 'g.yaml'
    graph.parent.mkdir()
    graph.write_text('graph:\n  nodes:\n    - {name: ghost, executable: no_such_node}\n')
    out = subprocess.run([sys.executable, '-m', 'robin_bringup.cli', 'up', '--graph', str(graph)],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 2
    assert "no executable 'no_such_node'" in out.stderr


def test_nodes_lists_the_ros2_run_equivalents() -> None:
    out = subprocess.run([sys.executable, '-m', 'robin_bringup.cli', 'nodes'], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    assert 'ros2 run robin_workcell sim_node --ros-args -r __node:=sim' in out.stdout
