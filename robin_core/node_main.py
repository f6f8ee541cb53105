"""The one ``main()`` shape every node uses: init, build, spin, clean exit codes.

Exit codes: 0 clean shutdown (Ctrl-C / SIGTERM / context shutdown), 2 bad parameters at start-up
(one clear line naming the parameter), 1 anything else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node

from robin_core.params import ParameterError


def run_node(
    factory: Callable[[], Node],
    args: Sequence[str] | None = None,
    *,
    threads: int = 1,
) -> int:
    """Create the node with ``factory`` and spin it until shutdown; return a process exit code."""
    with rclpy.init(args=args):
        try:
            node = factory()
        except ParameterError as exc:
            print(f'[FATAL] {exc}', file=sys.stderr, flush=True)
            return 2
        executor = MultiThreadedExecutor(num_threads=threads) if threads > 1 else SingleThreadedExecutor()
        executor.add_node(node)
        try:
            executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            close = getattr(node, 'close', None)
            if callable(close):
                close()
            executor.shutdown()
            node.destroy_node()
    return 0
