"""Periodic /diagnostics publishing for every node (diagnostic_msgs/DiagnosticArray).

A node registers one or more status providers; each returns (level, message, key/values).
Publishing runs on a timer so a node whose main work is stuck still reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

OK = DiagnosticStatus.OK
WARN = DiagnosticStatus.WARN
ERROR = DiagnosticStatus.ERROR
STALE = DiagnosticStatus.STALE


@dataclass
class Status:
    level: int = OK
    message: str = 'ok'
    values: Mapping[str, object] = field(default_factory=dict)


class DiagnosticsPublisher:
    """Publishes one DiagnosticStatus per registered provider at ``period_s``."""

    def __init__(self, node: Node, period_s: float = 1.0, hardware_id: str = 'robin_workcell') -> None:
        self._node = node
        self._hardware_id = hardware_id
        self._providers: list[tuple[str, Callable[[], Status]]] = []
        self._pub = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._timer = node.create_timer(period_s, self.publish)

    def add(self, name: str, provider: Callable[[], Status]) -> None:
        self._providers.append((f'{self._node.get_name()}: {name}', provider))

    def publish(self) -> None:
        msg = DiagnosticArray()
        msg.header.stamp = self._node.get_clock().now().to_msg()
        for name, provider in self._providers:
            try:
                st = provider()
            except Exception as exc:  # noqa: BLE001 - a broken provider must not take the node down
                st = Status(ERROR, f'diagnostic provider failed: {exc}')
            msg.status.append(
                DiagnosticStatus(
                    level=bytes([st.level]) if isinstance(st.level, int) else st.level,
                    name=name,
                    message=st.message,
                    hardware_id=self._hardware_id,
                    values=[KeyValue(key=str(k), value=_fmt(v)) for k, v in st.values.items()],
                )
            )
        self._pub.publish(msg)


def _fmt(v: object) -> str:
    return f'{v:.4g}' if isinstance(v, float) else str(v)
