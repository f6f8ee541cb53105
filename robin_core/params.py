"""Declare ROS parameters with descriptions and ranges in one line each, and fail clearly.

rclpy enforces ``FloatingPointRange``/``IntegerRange`` on every later ``set``; at declaration an
override outside the range raises, and :func:`run_node` turns that into a one-line error naming
the parameter and a non-zero exit instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.node import Node


class ParameterError(ValueError):
    """A parameter value that the node cannot start or continue with."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"parameter '{name}': {problem}")
        self.name = name


def declare(
    node: Node,
    name: str,
    default: Any,
    description: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: Sequence[str] | None = None,
    read_only: bool = False,
) -> Any:
    """Declare ``name`` with a descriptor and return its (possibly overridden) value.

    ``low``/``high`` become a ROS range (both needed, ROS has no half-open ranges; use a large
    bound). ``choices`` are checked here and listed in the description.
    """
    desc = ParameterDescriptor(name=name, description=description, read_only=read_only)
    if choices:
        desc.additional_constraints = f'one of: {", ".join(choices)}'
    if low is not None and high is not None:
        if isinstance(default, bool) or not isinstance(default, int | float):
            raise TypeError(f'range given for non-numeric parameter {name}')
        if isinstance(default, int):
            desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=0)]
        else:
            desc.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)]
    try:
        value = node.declare_parameter(name, default, desc).value
    except Exception as exc:  # rclpy raises several exception types for bad overrides
        raise ParameterError(name, _short(exc)) from exc
    if choices and value not in choices:
        raise ParameterError(name, f"'{value}' is not one of {', '.join(choices)}")
    return value


def check_choices(name: str, values: Sequence[str], allowed: Sequence[str]) -> None:
    """Raise ParameterError when any of ``values`` is not in ``allowed``."""
    if bad := [v for v in values if v not in allowed]:
        raise ParameterError(name, f"unknown value(s) {', '.join(map(repr, bad))}; allowed: {', '.join(allowed)}")


def on_set(node: Node, validate: Callable[[str, Any], str | None]) -> None:
    """Validate run-time parameter updates: ``validate`` returns an error text or None.

    A rejected update leaves the old value in place and returns the reason to the caller
    (``ros2 param set`` prints it), and is logged.
    """

    def callback(params: list) -> SetParametersResult:
        for p in params:
            problem = validate(p.name, p.value)
            if problem:
                node.get_logger().error(f"rejected parameter update {p.name}={p.value!r}: {problem}")
                return SetParametersResult(successful=False, reason=problem)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(callback)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
