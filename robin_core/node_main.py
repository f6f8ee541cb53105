"""The one ``main()`` shape every node uses: init, build, spin, ordered shutdown, clear exit codes.

Exit codes: 0 clean shutdown (Ctrl-C / SIGTERM / context shutdown), 2 bad parameters at start-up
(one clear line naming the parameter), 1 anything else.

Shutdown order matters: rclpy's default SIGINT handler invalidates the context at once, while a
node's worker threads (physics, inference, recording) may still be publishing — they then die
with "publisher's context is invalid". So the signal only sets a flag; the loop stops spinning,
``node.close()`` (when the node has one) stops and joins its threads and flushes what it holds,
and only then are the node and the context destroyed.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from robin_core.params import ParameterError


def run_node(
    factory: Callable[[], Node],
    args: Sequence[str] | None = None,
    *,
    threads: int = 1,
) -> int:
    """Create the node with ``factory`` and spin it until shutdown; return a process exit code."""
    stop = threading.Event()
    with rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO) as init:
        context = init.context
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            node = factory()
        except ParameterError as exc:
            print(f'[FATAL] {exc}', file=sys.stderr, flush=True)
            return 2
        executor = MultiThreadedExecutor(num_threads=threads) if threads > 1 else SingleThreadedExecutor()
        executor.add_node(node)
        try:
            while not stop.is_set() and context.ok():
                executor.spin_once(timeout_sec=0.1)
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            close = getattr(node, 'close', None)
            if callable(close):
                close()  # the context is still valid: threads can finish and flush
            executor.shutdown()
            node.destroy_node()
    return 0
