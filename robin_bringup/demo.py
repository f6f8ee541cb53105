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
from robin_bringup.graph_params import graph_parameter
from robin_bringup.process_graph import RECORD_SINKS, ProcessGraph
from robin_bringup.record_audit import account, bag_record_ids, read_journal
from robin_bringup.run_dirs import new_run_dir
from robin_bringup.run_monitor_node import RunMonitorNode
from robin_bringup.run_report import RunReport
from robin_core.ros_env import apply_ros_environment

MEMORY_PERIOD_S = 5.0  # [s] wall time between RSS samples of the node processes


def run_demo(graph: Graph, out: Path, duration_s: float, domain_id: int | None, log_dir: Path | None, *,
             picks: int = 0, memory_warmup_s: float = 60.0) -> int:
    """Start the graph, watch it until ``picks`` attempts are reported (0: no limit) or ``duration_s``
    wall seconds pass, stop it, write the report (with memory per node and the record accounting)."""
    run_dir = new_run_dir(out)
    started_epoch = time.time()
    journal_dir = Path(str(graph_parameter(graph, 'cell_controller', 'journal_dir', 'runs/journal')))
    journal_before = set(read_journal(journal_dir).final) if journal_dir.is_dir() else set()
    apply_ros_environment(domain_id)  # the monitor joins the same domain as the nodes
    runner = ProcessGraph(graph, log_dir or run_dir / 'logs', domain_id=domain_id)
    report = RunReport()
    report.memory.warmup_s = memory_warmup_s
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
    next_sample = time.monotonic()

    def done() -> bool:
        nonlocal next_sample
        if time.monotonic() >= next_sample:
            next_sample += MEMORY_PERIOD_S
            report.memory.sample(runner.pids(), time.monotonic())
        return (stop.is_set() or time.monotonic() >= deadline
                or (picks > 0 and len(report.attempts()) >= picks))

    try:
        result = runner.wait(until=done)
        report.wall_end = time.monotonic()
    finally:
        # the nodes run in sessions of their own: whatever ends this loop (an exception included),
        # stop them, or they outlive the demo (a crash here once left a whole cell running for an hour)
        runner.stop(last=RECORD_SINKS)
        executor.shutdown()
        monitor.destroy_node()
        rclpy.shutdown(context=context)

    report.record_accounting = _record_accounting(graph, report, journal_dir, journal_before, started_epoch)
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


def _record_accounting(graph: Graph, report: RunReport, journal_dir: Path, before: set[str],
                       started_epoch: float) -> dict:
    """Journal (records new in this run) vs topic vs pick store vs bag: see robin_bringup.record_audit."""
    journal = read_journal(journal_dir) if journal_dir.is_dir() else None
    reference = {r: t for r, t in (journal.final if journal else {}).items() if r not in before}
    for rid, rec in report.records.items():
        reference.setdefault(rid, max((t for _s, t in rec.states), default=0.0))
    in_store = None
    url = graph_parameter(graph, 'pick_store', 'database_url')
    if isinstance(url, str) and url.startswith('sqlite:///') and Path(url.removeprefix('sqlite:///')).is_file():
        from robin_insight.pick_store import PickStore  # noqa: PLC0415 - SQLAlchemy only when a store ran

        store = PickStore(url)
        held = {r for r in reference if store.get(r) is not None}
        store.close()
        in_store = held.__contains__
    bag = None
    bag_dir = graph_parameter(graph, 'recorder', 'output_dir')
    if isinstance(bag_dir, str):
        bag = bag_record_ids([Path(bag_dir)], newer_than=started_epoch)
    return account(reference, set(report.records), journal.open if journal else set(), in_store, bag)
