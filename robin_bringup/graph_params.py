"""The value a graph node will start with for one parameter, read from its parameter files (no rclpy).

Used by tools that must find a node's files after a run (journal directory, pick store URL, bag
folder). Same precedence as ROS: files in order (``/**`` and the node's own name), inline last.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import yaml

from robin_bringup.graph import Graph, GraphError, NodeSpec


def _flatten(tree: dict[str, Any], prefix: str = '') -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in tree.items():
        key = f'{prefix}{k}'
        if isinstance(v, dict):
            out.update(_flatten(v, f'{key}.'))
        else:
            out[key] = v
    return out


def node_parameters(spec: NodeSpec) -> dict[str, Any]:
    """Every parameter ``spec`` sets (dotted names), files first, inline overrides last."""
    values: dict[str, Any] = {}
    for path in spec.parameter_files:
        doc = yaml.safe_load(path.read_text()) or {}
        for key in ('/**', spec.name, f'/{spec.name}'):
            section = (doc.get(key) or {}).get('ros__parameters') or {}
            values.update(_flatten(section))
    values.update(spec.parameters)
    return values


def graph_parameter(graph: Graph, node: str, name: str, default: Any = None) -> Any:
    """``name`` of node ``node`` in ``graph``; ``default`` when the node or parameter is absent."""
    spec = next((n for n in graph.nodes if n.name == node), None)
    if spec is None:
        return default
    return node_parameters(spec).get(name, default)


def with_overrides(graph: Graph, items: list[str]) -> Graph:
    """``graph`` with inline parameters ``node:name=value`` added (value read as YAML).

    Raises:
        GraphError: malformed item or unknown node.
    """
    updates: dict[str, dict[str, Any]] = {}
    for item in items:
        head, sep, raw = item.partition('=')
        node, colon, name = head.partition(':')
        if not sep or not colon or not node or not name:
            raise GraphError(f"parameter override '{item}': expected node:name=value")
        if all(n.name != node for n in graph.nodes):
            raise GraphError(f"parameter override '{item}': no node '{node}' in the graph")
        updates.setdefault(node, {})[name] = yaml.safe_load(raw) if raw else ''
    nodes = tuple(replace(n, parameters={**n.parameters, **updates[n.name]}) if n.name in updates else n
                  for n in graph.nodes)
    return replace(graph, nodes=nodes)
