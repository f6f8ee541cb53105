"""Fault: bad parameter updates at run time, for every node of config/cell.yaml (in-process nodes).

Every numeric parameter of every node carries a description and a range; a run-time update outside
the range (or NaN) is rejected with a reason and the node keeps its old value, which is what
``ros2 param set`` against a running cell gets. A new node or parameter without a range fails here.
"""

from __future__ import annotations

import importlib
import inspect
import math
from pathlib import Path

import pytest
from rcl_interfaces.msg import ParameterType
from rclpy.node import Node
from rclpy.parameter import Parameter

from robin_bringup.graph import load_graph
from robin_bringup.process_graph import resolve_entry_point
from robin_core.ros_env import REPO_ROOT

pytestmark = [pytest.mark.ros, pytest.mark.sim]

GRAPH = load_graph(REPO_ROOT / 'config' / 'cell.yaml', ('sim', 'record', 'learn'))
NUMERIC = (ParameterType.PARAMETER_INTEGER, ParameterType.PARAMETER_DOUBLE)


def _node_class(executable: str) -> type[Node]:
    module = importlib.import_module(resolve_entry_point(executable).split(':')[0])
    classes = [c for _n, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, Node) and c.__module__ == module.__name__]
    assert len(classes) == 1, f'{executable}: expected one Node class in {module.__name__}, got {classes}'
    return classes[0]


def _overrides(tmp: Path) -> list[Parameter]:
    """Keep the nodes' files in the test's directory and the simulator light."""
    return [Parameter('journal_dir', value=str(tmp / 'journal')), Parameter('output_dir', value=str(tmp / 'bags')),
            Parameter('database_url', value=f'sqlite:///{tmp}/picks.db'), Parameter('camera_hz', value=1.0),
            Parameter('ground_truth_hz', value=0.0)]


@pytest.mark.parametrize('spec', GRAPH.nodes, ids=[n.name for n in GRAPH.nodes])
def test_every_numeric_parameter_has_a_range_and_rejects_bad_updates(ros, tmp_path: Path, monkeypatch,
                                                                      spec) -> None:
    monkeypatch.chdir(tmp_path)  # relative default paths (stores, queues) land in the test's directory
    node = ros.add(_node_class(spec.executable)(context=ros.context, parameter_overrides=_overrides(tmp_path)))
    checked = 0
    for name in sorted(node._parameters):
        if name == 'use_sim_time':
            continue
        d = node.describe_parameters([name])[0]
        assert d.description, f'{spec.name}: parameter {name} has no description'
        if d.type not in NUMERIC:
            continue
        rng = d.integer_range or d.floating_point_range
        assert rng, f'{spec.name}: numeric parameter {name} has no range'
        old = node.get_parameter(name).value
        lo, hi = rng[0].from_value, rng[0].to_value  # clearly outside: rclpy allows a relative tolerance
        bad_values = [hi + max(1, abs(hi)), lo - max(1, abs(lo))]
        if d.type == ParameterType.PARAMETER_DOUBLE:
            bad_values.append(math.nan)
        for bad in bad_values:
            (res,) = node.set_parameters([Parameter(name, value=bad if math.isnan(bad) else type(old)(bad))])
            assert not res.successful, f'{spec.name}: {name}={bad} accepted'
            assert node.get_parameter(name).value == old
        checked += 1
    assert checked > 0 or spec.name == 'pick_store', f'{spec.name}: no numeric parameter checked'
