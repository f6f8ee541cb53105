"""The graph file: parsing, validation and the ros-args both launchers pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from robin_bringup.graph import GraphError, load_graph
from robin_core.ros_env import share_dir


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / 'config').mkdir(exist_ok=True)
    (tmp_path / 'config' / 'a.yaml').write_text('/**:\n  ros__parameters: {}\n')
    f = tmp_path / 'config' / 'g.yaml'
    f.write_text(text)
    return f


def test_shipped_graph_loads_and_every_parameter_file_exists() -> None:
    graph = load_graph(share_dir() / 'config' / 'cell.yaml')
    assert graph.nodes, 'the shipped graph starts no node'
    for spec in graph.nodes:
        assert all(f.is_file() for f in spec.parameter_files)


def test_profiles_select_nodes(tmp_path: Path) -> None:
    f = _write(tmp_path, """
graph:
  use_sim_time: true
  nodes:
    - {name: sim, executable: sim_node, profiles: [sim], parameters: [config/a.yaml]}
    - {name: seg, executable: segmentation_node, remappings: {in: out}, parameters: [{k: 1.5}]}
""")
    assert [n.name for n in load_graph(f, ('sim',)).nodes] == ['sim', 'seg']
    assert [n.name for n in load_graph(f, ('real',)).nodes] == ['seg']
    seg = load_graph(f).nodes[1]
    args = seg.ros_args(use_sim_time=True)
    assert args[:3] == ['--ros-args', '-r', '__node:=seg']
    assert 'use_sim_time:=true' in args and 'k:=1.5' in args and 'in:=out' in args


@pytest.mark.parametrize(
    ('body', 'match'),
    [
        ('graph: {nodes: []}', 'non-empty'),
        ('nothing: 1', "'graph' missing"),
        ('graph: {nodes: [{name: "9x", executable: e}]}', 'ROS node name'),
        ('graph: {nodes: [{name: a}]}', "'executable' missing"),
        ('graph: {nodes: [{name: a, executable: e, colour: red}]}', 'unknown key'),
        ('graph: {nodes: [{name: a, executable: e, parameters: [config/missing.yaml]}]}', 'not found'),
        ('graph: {nodes: [{name: a, executable: e}, {name: a, executable: f}]}', 'used twice'),
    ],
)
def test_malformed_graphs_name_the_problem(tmp_path: Path, body: str, match: str) -> None:
    with pytest.raises(GraphError, match=match):
        load_graph(_write(tmp_path, body))
