"""``make demo``: run the simulated cell end to end and write ``runs/latest/report.json``."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor

from robin_bringup.graph import Graph
from robin_bringup.process_graph import ProcessGraph
from robin_bringup.run_dirs import new_run_dir
from robin_bringup.run_monitor_node import RunMonitorNode
from robin_bringup.run_report import RunReport
from robin_core.ros_env import apply_ros_environment


def run_demo(graph: Graph, out: Path, duration_s: float, domain_id: int | None, log_dir: Path | None, *,
             picks: int = 0) -> int:
    """Start the graph, watch it until ``picks`` attempts are reported (0: no limit) or ``duration_s``
    wall seconds pass, stop it, write the report."""
    run_dir = new_run_dir(out)
    apply_ros_environment(domain_id)  # the monitor joins the same domain as the nodes
    runner = ProcessGraph(graph, log_dir or run_dir / 'logs', domain_id=domain_id)
    report = RunReport()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    context = rclpy.Context()
    rclpy.init(context=context, args=[])
    monitor = RunMonitorNode(report, context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(monitor)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()

    domain = os.environ.get('ROS_DOMAIN_ID', '0')
    print(f'robin-cell demo: {len(graph.nodes)} nodes, {duration_s:.0f} s, ROS domain {domain}')
    runner.start()
    deadline = time.monotonic() + duration_s
    def done() -> bool:
        return (stop.is_set() or time.monotonic() >= deadline
                or (picks > 0 and len(report.attempts()) >= picks))

    result = runner.wait(until=done)
    runner.stop()
    executor.shutdown()
    monitor.destroy_node()
    rclpy.shutdown(context=context)

    report.extra['graph_nodes'] = [n.name for n in graph.nodes]
    reached = picks > 0 and len(report.attempts()) >= picks
    report.extra['exit_reason'] = result.reason or ('interrupted' if stop.is_set() else
                                                    f'{picks} picks reached' if reached else 'duration reached')
    data = report.write(run_dir / 'report.json')
    width = max(len(k) for k in data)
    for key in sorted(data):
        print(f'  {key:<{width}}  {data[key]}')
    print(f'robin-cell demo: report in {run_dir / "report.json"} (also {out / "latest" / "report.json"})')
    if result.failed_node:
        print(f'robin-cell demo: {result.reason}', file=sys.stderr)
        return result.exit_code
    return 0
