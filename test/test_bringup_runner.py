"""`robin-cell up` runs the shipped graph as processes: clean Ctrl-C, non-zero when a node dies."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from robin_bringup.demo import run_demo
from robin_bringup.graph import load_graph
from robin_bringup.process_graph import ProcessGraph
from robin_bringup.run_report import RunReport
from robin_core.ros_env import REPO_ROOT

pytestmark = [pytest.mark.ros, pytest.mark.sim]


def _sim_only_graph(tmp_path: Path) -> Path:
    """The shipped simulator node alone: enough to exercise the runner, light enough for CI."""
    graph = tmp_path / 'config' / 'graph.yaml'
    graph.parent.mkdir(exist_ok=True)
    sim_params = REPO_ROOT / 'config' / 'sim.yaml'
    graph.write_text(f'graph:\n  use_sim_time: true\n  nodes:\n    - name: sim\n      executable: sim_node\n'
                     f'      parameters: [{sim_params}, {{num_packages: 6, camera_hz: 10.0}}]\n')
    return graph


def _start_cell(tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, '-m', 'robin_bringup.cli', 'up', '--graph', str(_sim_only_graph(tmp_path)),
         '--log-dir', str(tmp_path / 'logs')],
        cwd=REPO_ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


class _Lines:
    """The runner's output, read by a thread so the test can wait for a line with a timeout."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.seen: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._q.put(line.rstrip('\n'))
        self._q.put(None)

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match | None:
        end = time.monotonic() + timeout_s
        while (left := end - time.monotonic()) > 0:
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.seen.append(line)
            if m := re.search(pattern, line):
                return m
        return None

    def tail(self) -> str:
        return '\n'.join(self.seen[-20:])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_stops_every_node_cleanly(tmp_path: Path) -> None:
    proc = _start_cell(tmp_path)
    out = _Lines(proc)
    try:
        started = out.wait_for(r'\[sim\] started pid (\d+)', 30)
        assert started, out.tail()
        # wait until the simulator is really up (it logs once its physics loop runs)
        assert out.wait_for(r'\[sim\] .*simulating scenario', 60), out.tail()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, out.tail()
        assert not _alive(int(started.group(1)))
        assert (tmp_path / 'logs' / 'sim.log').stat().st_size > 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_dying_node_stops_the_cell_with_an_error(tmp_path: Path) -> None:
    proc = _start_cell(tmp_path)
    out = _Lines(proc)
    try:
        started = out.wait_for(r'\[sim\] started pid (\d+)', 30)
        assert started, out.tail()
        time.sleep(2.0)
        os.kill(int(started.group(1)), signal.SIGKILL)
        assert proc.wait(timeout=30) != 0
        assert out.wait_for(r'sim exited with code -9', 10), out.tail()
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


def test_the_record_sinks_stop_after_everything_that_feeds_them(tmp_path: Path) -> None:
    from robin_bringup.graph import Graph
    from robin_bringup.process_graph import RECORD_SINKS, ProcessGraph, _Running

    # each stand-in node writes when SIGINT reached it, then exits
    script = ('import signal, sys, time\n'
              'def bye(*_):\n'
              '    open(sys.argv[1], "w").write(repr(time.monotonic())); sys.exit(0)\n'
              'signal.signal(signal.SIGINT, bye)\n'
              'print("up", flush=True)\n'
              'while True: time.sleep(0.05)\n')
    runner = ProcessGraph(Graph('t', False, ()), tmp_path)
    for name in ('controller', *RECORD_SINKS):
        proc = subprocess.Popen([sys.executable, '-c', script, str(tmp_path / name)], stdout=subprocess.PIPE,
                                start_new_session=True, text=True)
        assert proc.stdout.readline().strip() == 'up'
        runner._running[name] = _Running(spec=None, proc=proc, started=time.monotonic())  # type: ignore[arg-type]
    codes = runner.stop(last=RECORD_SINKS, drain_s=0.3)
    assert set(codes.values()) == {0}
    stopped = {n: float((tmp_path / n).read_text()) for n in ('controller', *RECORD_SINKS)}
    assert all(stopped[s] >= stopped['controller'] + 0.3 for s in RECORD_SINKS), stopped


def test_the_demo_stops_its_nodes_when_its_own_loop_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception in the demo's watch loop (session 10: a race in the run report) must not leave
    the cell's processes running after the demo is gone."""
    started: list[ProcessGraph] = []
    real_start = ProcessGraph.start

    def start(self: ProcessGraph) -> None:
        started.append(self)
        real_start(self)

    def attempts(self: RunReport) -> list:
        raise RuntimeError('the watch loop failed')

    monkeypatch.setattr(ProcessGraph, 'start', start)
    monkeypatch.setattr(RunReport, 'attempts', attempts)
    graph = load_graph(_sim_only_graph(tmp_path))
    with pytest.raises(RuntimeError, match='the watch loop failed'):
        run_demo(graph, tmp_path / 'runs', 60.0, None, tmp_path / 'logs', picks=5)
    assert started and started[0].pids() == {}  # every node process has exited
