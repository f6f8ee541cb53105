"""Helpers for tests that talk to nodes over real DDS (loopback, per-worker domain)."""

from __future__ import annotations

import time
from collections.abc import Callable

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node


def spin_until(executor: SingleThreadedExecutor, predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Spin ``executor`` until ``predicate()`` is true or ``timeout_s`` of wall time passes."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        executor.spin_once(timeout_sec=0.05)
    return predicate()


class RosTestContext:
    """An rclpy context + executor for one test; nodes added with :meth:`add` are spun together."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.nodes: list[Node] = []

    def node(self, name: str, **kwargs) -> Node:
        n = Node(name, context=self.context, **kwargs)
        self.add(n)
        return n

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def spin_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        return spin_until(self.executor, predicate, timeout_s)

    def spin_for(self, seconds: float) -> None:
        spin_until(self.executor, lambda: False, seconds)

    def close(self) -> None:
        for n in self.nodes:
            close = getattr(n, 'close', None)
            if callable(close):
                close()
            n.destroy_node()
        self.executor.shutdown()
        rclpy.shutdown(context=self.context)
