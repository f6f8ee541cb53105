"""Run a :class:`~robin_bringup.graph.Graph` as one OS process per node (what ``ros2 launch`` does).

Each node runs its console entry point under this interpreter with the same ``--ros-args`` that
launch_ros would pass. Output is prefixed with the node name and teed to a per-node log file.
Stopping sends SIGINT (rclpy shuts down cleanly), then SIGTERM, then SIGKILL, each after a grace
period. A required node that exits (and is not respawned) stops the whole graph with a failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TextIO

from robin_bringup.graph import Graph, NodeSpec
from robin_core.ros_env import ros_environment

#: Nodes that keep what the others publish (the bag, the pick store): stopped after all others.
RECORD_SINKS = ('recorder', 'pick_store')


class ExecutableNotFoundError(LookupError):
    """A graph names an executable that is not a console entry point of robin_workcell."""


def resolve_entry_point(executable: str) -> str:
    """``module:function`` of a console_scripts entry (the name `ros2 run` uses)."""
    for ep in entry_points(group='console_scripts', name=executable):
        if ep.dist is None or ep.dist.name.replace('-', '_') == 'robin_workcell':
            return ep.value
    raise ExecutableNotFoundError(f"no executable '{executable}' in package robin_workcell (is it installed?)")


def node_command(spec: NodeSpec, use_sim_time: bool) -> list[str]:
    module, func = resolve_entry_point(spec.executable).split(':')
    boot = f'import sys; from {module} import {func} as main; sys.exit(main())'
    return [sys.executable, '-c', boot, *spec.ros_args(use_sim_time)]


@dataclass
class _Running:
    spec: NodeSpec
    proc: subprocess.Popen
    started: float
    restarts: int = 0
    pump: threading.Thread | None = None
    done: bool = False


@dataclass
class GraphResult:
    exit_code: int
    failed_node: str | None = None
    reason: str = ''
    restarts: dict[str, int] = field(default_factory=dict)


class ProcessGraph:
    """Start, supervise and stop the processes of a graph."""

    def __init__(
        self,
        graph: Graph,
        log_dir: Path,
        domain_id: int | None = None,
        echo: TextIO | None = sys.stdout,
        env_overrides: dict[str, str] | None = None,
    ) -> None:
        self.graph = graph
        self.log_dir = Path(log_dir)
        self.env = ros_environment(domain_id)
        self.env.update(env_overrides or {})
        self._echo = echo
        self._echo_lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.graph.nodes:
            self._spawn(spec)

    def _spawn(self, spec: NodeSpec, restarts: int = 0) -> None:
        cmd = node_command(spec, self.graph.use_sim_time)
        log = (self.log_dir / f'{spec.name}.log').open('a', encoding='utf-8')
        proc = subprocess.Popen(
            cmd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # our Ctrl-C reaches nodes only through stop(), in order
            text=True,
            bufsize=1,
        )
        run = _Running(spec=spec, proc=proc, started=time.monotonic(), restarts=restarts)
        run.pump = threading.Thread(target=self._pump, args=(spec.name, proc, log), daemon=True)
        run.pump.start()
        self._running[spec.name] = run
        self._say(spec.name, f'started pid {proc.pid}' + (f' (restart {restarts})' if restarts else ''))

    def _pump(self, name: str, proc: subprocess.Popen, log: TextIO) -> None:
        with log:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                self._say(name, line.rstrip('\n'))

    def _say(self, name: str, text: str) -> None:
        if self._echo is None:
            return
        with self._echo_lock:
            self._echo.write(f'[{name}] {text}\n')
            self._echo.flush()

    def pids(self) -> dict[str, int]:
        return {n: r.proc.pid for n, r in self._running.items() if r.proc.poll() is None}

    def poll(self) -> GraphResult | None:
        """Check the processes once: respawn what may be respawned; a result when the graph must stop."""
        for name, run in list(self._running.items()):
            code = run.proc.poll()
            if code is None or run.done or self._stopping.is_set():
                continue
            run.done = True
            if run.pump is not None:
                run.pump.join(timeout=2.0)
            self._say(name, f'exited with code {code}')
            if run.spec.respawn:
                time.sleep(run.spec.respawn_delay_s)
                self._spawn(run.spec, restarts=run.restarts + 1)
                continue
            if run.spec.required:
                return GraphResult(exit_code=code or 1, failed_node=name, reason=f'{name} exited with code {code}',
                                   restarts=self.restart_counts())
        return None

    def restart_counts(self) -> dict[str, int]:
        return {n: r.restarts for n, r in self._running.items()}

    def wait(self, until: Callable[[], bool] | None = None, period_s: float = 0.2) -> GraphResult:
        """Supervise until a required node fails or ``until()`` becomes true (then exit code 0)."""
        while True:
            result = self.poll()
            if result is not None:
                return result
            if until is not None and until():
                return GraphResult(exit_code=0, restarts=self.restart_counts())
            time.sleep(period_s)

    def stop(self, grace_s: float = 10.0, *, last: Collection[str] = (), drain_s: float = 1.0) -> dict[str, int]:
        """Stop every node: SIGINT, then SIGTERM, then SIGKILL. Returns exit codes by node.

        Nodes named in ``last`` (the record sinks: recorder, pick store) are stopped ``drain_s``
        after all others have exited, so what the others published last still reaches them (a
        demo's final pick record was in the store but missing from the bag when all stopped at once).
        """
        self._stopping.set()
        first = [r for n, r in self._running.items() if n not in last]
        self._stop_group(first, grace_s)
        sinks = [r for n, r in self._running.items() if n in last]
        if sinks:
            time.sleep(drain_s)
            self._stop_group(sinks, grace_s)
        for r in self._running.values():
            if r.pump is not None:
                r.pump.join(timeout=2.0)
        return {n: r.proc.returncode for n, r in self._running.items()}

    @staticmethod
    def _stop_group(group: list[_Running], grace_s: float) -> None:
        live = [r for r in group if r.proc.poll() is None]
        for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
            for r in live:
                if r.proc.poll() is None:
                    _signal_group(r.proc, sig)
            end = time.monotonic() + wait_s
            while time.monotonic() < end and any(r.proc.poll() is None for r in live):
                time.sleep(0.05)
            live = [r for r in live if r.proc.poll() is None]
            if not live:
                break


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, sig)
