"""Every parameter file a graph node loads must parse with rcl's own YAML parser.

A file with a top-level section that is not a node (e.g. tool settings beside ``/**``) makes
rcl refuse it at start-up, and the node dies before it can log anything useful.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rclpy

from robin_bringup.graph import load_graph
from robin_core.ros_env import share_dir

GRAPH = share_dir() / 'config' / 'cell.yaml'
PARAM_FILES = sorted({f for n in load_graph(GRAPH, ('sim', 'record', 'learn')).nodes for f in n.parameter_files})


@pytest.mark.parametrize('path', PARAM_FILES, ids=lambda p: p.name)
def test_rcl_parses_the_parameter_file(path: Path) -> None:
    context = rclpy.Context()
    rclpy.init(args=['--ros-args', '--params-file', str(path)], context=context)
    rclpy.shutdown(context=context)


def test_a_broken_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / 'bad.yaml'
    bad.write_text('/**:\n  ros__parameters: {a: 1}\ntools:\n  b: 2\n')
    with pytest.raises(Exception, match='params file'):
        rclpy.init(args=['--ros-args', '--params-file', str(bad)], context=rclpy.Context())
