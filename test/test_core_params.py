"""Parameter declaration: descriptors, ranges, choices, and clear errors naming the parameter."""

from __future__ import annotations

import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter

from robin_core.params import ParameterError, declare, on_set


def _node(ros, overrides: dict) -> Node:
    return ros.add(Node('params_probe', context=ros.context,
                        parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()]))


def test_declare_returns_override_and_publishes_descriptor(ros) -> None:
    node = _node(ros, {'belt_speed': 0.4})
    assert declare(node, 'belt_speed', 0.2, 'belt speed [m/s]', low=0.0, high=1.0) == pytest.approx(0.4)
    desc = node.describe_parameter('belt_speed')
    assert desc.description == 'belt speed [m/s]'
    assert desc.floating_point_range[0].to_value == pytest.approx(1.0)


def test_out_of_range_override_names_the_parameter(ros) -> None:
    node = _node(ros, {'belt_speed': -0.1})
    with pytest.raises(ParameterError, match="parameter 'belt_speed'"):
        declare(node, 'belt_speed', 0.2, 'belt speed [m/s]', low=0.0, high=1.0)


def test_choices_are_checked(ros) -> None:
    node = _node(ros, {'backend': 'warp'})
    with pytest.raises(ParameterError, match="'warp' is not one of builtin, moveit"):
        declare(node, 'backend', 'builtin', 'motion backend', choices=('builtin', 'moveit'))


def test_runtime_updates_are_validated(ros) -> None:
    node = _node(ros, {})
    declare(node, 'rate', 10, 'rate [Hz]', low=1, high=100)
    on_set(node, lambda name, value: 'must be even' if name == 'rate' and value % 2 else None)
    assert not node.set_parameters([Parameter('rate', value=7)])[0].successful
    assert not node.set_parameters([Parameter('rate', value=1000)])[0].successful  # outside the range
    assert node.set_parameters([Parameter('rate', value=20)])[0].successful
    assert node.get_parameter('rate').value == 20
