"""A fleet cell's graph file: the cell's own graph (config/cell.yaml) plus per-cell overrides.

Every fleet cell runs the same nodes and parameter files as a single cell; what changes is a
few inline parameters (the simulator's scene seed, a lower camera rate so that several cells
share a small machine, one onnxruntime thread). The generated file names the parameter files by
absolute path so it can live in the cell's run directory. No rclpy import.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

#: Settings that let a few cells share a 2-core machine (applied to every fleet cell).
LIGHT_CELL: dict[str, dict[str, Any]] = {
    'sim': {'camera_hz': 5.0, 'ground_truth_hz': 0.0},
    'segmentation': {'publish_overlay': False, 'cross_check': False, 'intra_op_threads': 1},
}


def cell_graph(base_graph: Path, overrides: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The base graph document with absolute parameter-file paths and ``overrides`` merged in
    (node name -> inline parameters, applied after the node's own inline parameters).

    Raises:
        ValueError: an override names a node the graph does not have.
    """
    base_graph = Path(base_graph)
    doc = yaml.safe_load(base_graph.read_text())
    base_dir = base_graph.resolve().parent.parent
    nodes = doc['graph']['nodes']
    names = {n['name'] for n in nodes}
    if unknown := sorted(set(overrides) - names):
        raise ValueError(f'overrides for unknown node(s) {", ".join(unknown)} (graph has {", ".join(sorted(names))})')
    for node in nodes:
        params: list[Any] = []
        inline: dict[str, Any] = {}
        for p in node.get('parameters', []) or []:
            if isinstance(p, str):
                params.append(str(p if Path(p).is_absolute() else base_dir / p))
            else:
                inline.update(p)
        inline.update(overrides.get(node['name'], {}))
        node['parameters'] = [*params, inline] if inline else params
    return doc


def write_cell_graph(base_graph: Path, out: Path, overrides: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write :func:`cell_graph` to ``out`` (a ``<dir>/config/cell.yaml`` path keeps the loader's
    base-directory rule meaningful); return ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(cell_graph(base_graph, overrides), sort_keys=False))
    return out


def merge_overrides(*layers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Node-wise merge of override layers, later layers win."""
    out: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for node, params in layer.items():
            out.setdefault(node, {}).update(params)
    return out
