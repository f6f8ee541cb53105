"""``robin-diff``: which recorded pick decisions would change with another model or planner config.

Example::

    robin-diff runs/bags                                   # same model + config: every decision identical?
    robin-diff runs/bags --model /work/ckpt/new/package_seg.onnx --out runs/diff/new
    robin-diff runs/bags --model geometric                 # the depth-only segmenter
    robin-diff runs/bags --config my_grasp.yaml --position-tol 0.01

Reads the recording offline (no DDS), re-runs perception and the grasp planner on the frame of
every pick record, writes ``report.json``, ``report.txt`` and a side-by-side PNG per changed
decision to ``--out``, and prints the table. Exit code 0 when at least one pick was compared,
1 when none could be, 2 for a bad path/argument/model, 3 with ``--fail-on-change`` when a
decision changed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from robin_bringup.graph import GraphError, NodeSpec, load_graph
from robin_bringup.graph_params import node_parameters
from robin_core.cell_description import default_cell
from robin_core.ros_env import share_dir
from robin_insight.decision_diff import DiffTolerance
from robin_insight.diff_runner import GEOMETRIC, DiffOptions, run_diff
from robin_perception.onnx_model import ModelLoadError

SEGMENTATION_EXECUTABLE = 'segmentation_node'
PLANNER_EXECUTABLE = 'grasp_planner_node'


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog='robin-diff', description=__doc__.split('\n\n')[0])
    p.add_argument('bag', help='a rosbag2 folder, or a recorder output folder with splits')
    p.add_argument('--model', default=None,
                   help="ONNX file to segment with, or 'geometric' (depth-only); default: the recorded model")
    p.add_argument('--config', type=Path, default=None,
                   help='grasp planner parameter file; default: the planner node\'s files in --graph')
    p.add_argument('--perception-config', type=Path, default=None,
                   help='segmentation node parameter file; default: its files in --graph')
    p.add_argument('--graph', type=Path, default=share_dir() / 'config' / 'cell.yaml',
                   help='the cell graph the recording was made with (default config/cell.yaml)')
    p.add_argument('--out', type=Path, default=None, help='report folder (default runs/diff/<bag name>)')
    p.add_argument('--images', choices=('changed', 'all', 'none'), default='changed',
                   help='side-by-side PNGs for changed decisions (default), every compared pick, or none')
    p.add_argument('--position-tol', type=float, default=DiffTolerance.position_tol,
                   help='suction point moved more than this is a change [m]')
    p.add_argument('--min-iou', type=float, default=DiffTolerance.min_target_iou,
                   help='target masks overlapping less are different packages [0..1]')
    p.add_argument('--fail-on-change', action='store_true', help='exit 3 when any decision changed')
    args = p.parse_args(argv)
    if args.position_tol < 0 or not 0 <= args.min_iou <= 1:
        p.error('--position-tol must be >= 0 and --min-iou in [0, 1]')
    if args.model is not None and args.model != GEOMETRIC and not Path(args.model).is_file():
        p.error(f'--model {args.model}: no such file')
    return args


def node_values(graph: Path, executable: str, override: Path | None) -> tuple[dict[str, Any], str]:
    """Parameter values of the graph's node running ``executable`` (``override``: that file instead).

    Raises:
        GraphError: unreadable graph or no such node.
        FileNotFoundError: ``override`` does not exist.
    """
    if override is not None:
        if not override.is_file():
            raise FileNotFoundError(f'no such parameter file: {override}')
        spec = NodeSpec(name=executable, executable=executable, parameter_files=(override,))
        return node_parameters(spec), str(override)
    nodes = [n for n in load_graph(graph, profiles=()).nodes if n.executable == executable]
    if not nodes:
        raise GraphError(f'{graph}: no node runs {executable}')
    spec = nodes[0]
    files = ', '.join(str(f) for f in spec.parameter_files) or 'defaults'
    return node_parameters(replace(spec)), f'{files} (node {spec.name} of {graph})'


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        perception, perception_src = node_values(args.graph, SEGMENTATION_EXECUTABLE, args.perception_config)
        planner, planner_src = node_values(args.graph, PLANNER_EXECUTABLE, args.config)
    except (GraphError, FileNotFoundError, OSError) as exc:
        print(f'robin-diff: {exc}', file=sys.stderr)
        return 2
    options = DiffOptions(args.model, perception, planner, DiffTolerance(args.position_tol, args.min_iou),
                          args.images)
    out = args.out or Path('runs') / 'diff' / Path(args.bag).resolve().name
    try:
        report = run_diff(args.bag, options, default_cell(), out if args.images != 'none' else None,
                          progress=lambda rid: print(f'robin-diff: pick {rid}', file=sys.stderr, flush=True))
    except (FileNotFoundError, ModelLoadError, ValueError) as exc:  # no bag, bad model, bad planner parameters
        print(f'robin-diff: {exc}', file=sys.stderr)
        return 2
    report.perception_params, report.planner_params = perception_src, planner_src
    out.mkdir(parents=True, exist_ok=True)
    (out / 'report.json').write_text(report.to_json())
    text = report.text()
    (out / 'report.txt').write_text(text + '\n')
    print(text)
    print(f'report: {out / "report.json"}')
    if not report.entries:
        return 1
    return 3 if args.fail_on_change and report.changed else 0


if __name__ == '__main__':
    raise SystemExit(main())
