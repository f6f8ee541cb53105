"""``robin-cell``: run the cell's node graph here, without ``ros2 launch``.

    robin-cell up [--graph config/cell.yaml] [--profile sim] [--domain-id N]
    robin-cell demo [--duration 60] [--out runs]
    robin-cell nodes

``up`` starts the same graph that ``ros2 launch robin_workcell cell.launch.py`` starts, stops every
node cleanly on Ctrl-C (exit 0), and exits non-zero as soon as a required node dies.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from robin_bringup.graph import GraphError, load_graph
from robin_bringup.graph_params import with_overrides
from robin_bringup.process_graph import RECORD_SINKS, ExecutableNotFoundError, ProcessGraph, resolve_entry_point
from robin_bringup.run_dirs import new_run_dir
from robin_core.ros_env import share_dir


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='robin-cell', description=__doc__.split('\n\n')[0])
    sub = p.add_subparsers(dest='command', required=True)
    commands = (
        ('up', 'start the node graph until Ctrl-C'),
        ('demo', 'run the simulated cell and write a report'),
        ('nodes', "list the graph's nodes and their command lines"),
    )
    for name, text in commands:
        s = sub.add_parser(name, help=text)
        s.add_argument('--graph', type=Path, default=share_dir() / 'config' / 'cell.yaml', help='graph file')
        s.add_argument('--profile', action='append', default=None,
                       help="profile(s) to start (default: sim); nodes without profiles always start")
        s.add_argument('--domain-id', type=int, default=None, help='ROS_DOMAIN_ID for all nodes (default: inherited)')
        s.add_argument('--log-dir', type=Path, default=None, help='per-node logs (default: runs/<stamp>/logs)')
    demo = sub.choices['demo']
    demo.add_argument('--duration', type=float, default=60.0, help='wall seconds to run [s]')
    demo.add_argument('--out', type=Path, default=Path('runs'), help='runs directory; writes <out>/latest/report.json')
    demo.add_argument('--picks', type=int, default=0, help='stop after this many pick attempts (0: run for --duration)')
    demo.add_argument('--memory-warmup', type=float, default=60.0,
                      help='memory growth is measured from this many wall seconds after a node started [s]')
    for s in (sub.choices['up'], demo):
        s.add_argument('--param', action='append', default=[], metavar='NODE:NAME=VALUE',
                       help='override one node parameter (YAML value), e.g. segmentation:cross_check=false')
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    profiles = tuple(args.profile or ['sim'])
    try:
        graph = load_graph(args.graph, profiles)
        if getattr(args, 'param', None):
            graph = with_overrides(graph, args.param)
    except GraphError as exc:
        print(f'robin-cell: {exc}', file=sys.stderr)
        return 2
    if args.command == 'nodes':
        return _list_nodes(graph)
    try:
        for spec in graph.nodes:
            resolve_entry_point(spec.executable)
    except ExecutableNotFoundError as exc:
        print(f'robin-cell: {exc}', file=sys.stderr)
        return 2
    if args.command == 'demo':
        from robin_bringup.demo import run_demo  # noqa: PLC0415 - imports rclpy: only when needed

        return run_demo(graph, args.out, args.duration, args.domain_id, args.log_dir, picks=args.picks,
                        memory_warmup_s=args.memory_warmup)
    return _up(graph, args)


def _list_nodes(graph) -> int:
    for spec in graph.nodes:
        print(f'{spec.name}: ros2 run robin_workcell {spec.executable} {" ".join(spec.ros_args(graph.use_sim_time))}')
    return 0


def _up(graph, args) -> int:
    log_dir = args.log_dir or new_run_dir(Path('runs')) / 'logs'
    runner = ProcessGraph(graph, log_dir, domain_id=args.domain_id)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner.start()
    result = runner.wait(until=stop.is_set)
    codes = runner.stop(last=RECORD_SINKS)
    if result.failed_node:
        print(f'robin-cell: {result.reason}; stopped the graph', file=sys.stderr)
        return result.exit_code
    bad = {n: c for n, c in codes.items() if c not in (0, -signal.SIGINT)}
    if bad:
        print(f'robin-cell: nodes did not stop cleanly: {bad}', file=sys.stderr)
        return 1
    print(f'robin-cell: stopped {len(codes)} nodes cleanly; logs in {log_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
