"""A node's start-up parameter values read from the graph file, and command-line overrides (no ROS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robin_bringup.graph import GraphError, load_graph
from robin_bringup.graph_params import graph_parameter, node_parameters, with_overrides


def _graph(tmp_path: Path):
    (tmp_path / 'config').mkdir()
    (tmp_path / 'config' / 'ctrl.yaml').write_text(
        '/**:\n  ros__parameters:\n    journal_dir: runs/journal\n    timeouts:\n      plan: 3.0\n'
        'ctrl:\n  ros__parameters:\n    timeouts:\n      plan: 4.0\n')
    (tmp_path / 'config' / 'cell.yaml').write_text(
        'graph:\n  nodes:\n    - name: ctrl\n      executable: cell_controller_node\n'
        '      parameters: [config/ctrl.yaml, {tick_rate: 20.0}]\n'
        '    - name: other\n      executable: qa_node\n')
    return load_graph(tmp_path / 'config' / 'cell.yaml')


def test_files_then_node_section_then_inline(tmp_path: Path) -> None:
    g = _graph(tmp_path)
    assert node_parameters(g.nodes[0]) == {'journal_dir': 'runs/journal', 'timeouts.plan': 4.0, 'tick_rate': 20.0}
    assert graph_parameter(g, 'ctrl', 'timeouts.plan') == 4.0
    assert graph_parameter(g, 'other', 'journal_dir', 'x') == 'x' and graph_parameter(g, 'nope', 'a') is None


def test_overrides_are_typed_and_checked(tmp_path: Path) -> None:
    g = with_overrides(_graph(tmp_path), ['ctrl:timeouts.plan=1.5', 'other:flag=true', 'ctrl:journal_dir=/tmp/j'])
    assert graph_parameter(g, 'ctrl', 'timeouts.plan') == 1.5 and graph_parameter(g, 'other', 'flag') is True
    assert '-p' in g.nodes[0].ros_args(False) and 'journal_dir:=/tmp/j' in g.nodes[0].ros_args(False)
    for bad in ('ctrl.plan=1', 'ctrl:plan', 'ghost:plan=1'):
        with pytest.raises(GraphError):
            with_overrides(g, [bad])
