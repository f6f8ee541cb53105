"""The cell's node graph, read from one YAML file (config/cell.yaml).

Both ``launch/cell.launch.py`` (real ROS 2 installs) and ``robin-cell up`` (this project's process
runner) build the graph from :func:`load_graph`, so nodes, parameter files and remappings are
written down once. No rclpy import: this module is plain data handling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')
_ALLOWED_NODE_KEYS = {
    'name', 'executable', 'namespace', 'parameters', 'remappings', 'profiles', 'respawn',
    'respawn_delay', 'required',
}  # fmt: skip


class GraphError(ValueError):
    """The graph file is malformed; the message names the node and key."""


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph."""

    name: str
    executable: str  # console_scripts entry of the robin_workcell package (== `ros2 run` name)
    namespace: str = ''
    parameter_files: tuple[Path, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)  # inline overrides, applied last
    remappings: tuple[tuple[str, str], ...] = ()
    profiles: tuple[str, ...] = ()  # empty: always started
    respawn: bool = False
    respawn_delay_s: float = 1.0
    required: bool = True  # when it dies (and is not respawned) the whole cell stops

    def ros_args(self, use_sim_time: bool) -> list[str]:
        """The ``--ros-args`` a process needs to become this node (what launch_ros passes too)."""
        args = ['--ros-args', '-r', f'__node:={self.name}']
        if self.namespace:
            args += ['-r', f'__ns:={self.namespace}']
        for f in self.parameter_files:
            args += ['--params-file', str(f)]
        args += ['-p', f'use_sim_time:={"true" if use_sim_time else "false"}']
        for k, v in self.parameters.items():
            args += ['-p', f'{k}:={_param_literal(v)}']
        for src, dst in self.remappings:
            args += ['-r', f'{src}:={dst}']
        return args


@dataclass(frozen=True)
class Graph:
    name: str
    use_sim_time: bool
    nodes: tuple[NodeSpec, ...]


def load_graph(path: Path | str, profiles: tuple[str, ...] = ('sim',), base_dir: Path | None = None) -> Graph:
    """Read and validate the graph file.

    Args:
        path: the YAML graph file.
        profiles: profiles to start; nodes with a ``profiles`` list are kept only when one of them
            is requested (e.g. the simulator belongs to ``sim``; a real cell runs drivers instead).
        base_dir: where relative parameter-file paths resolve (default: the graph file's parent's
            parent, i.e. the package share directory or the repository root).
    """
    path = Path(path)
    if not path.is_file():
        raise GraphError(f'graph file not found: {path}')
    base = base_dir or path.resolve().parent.parent
    doc = yaml.safe_load(path.read_text()) or {}
    g = doc.get('graph')
    if not isinstance(g, dict):
        raise GraphError(f"{path}: top-level key 'graph' missing")
    raw_nodes = g.get('nodes')
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise GraphError(f"{path}: 'graph.nodes' must be a non-empty list")
    nodes: list[NodeSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_nodes):
        spec = _node_spec(raw, f'{path}: graph.nodes[{i}]', base)
        if spec.name in seen:
            raise GraphError(f"{path}: node name '{spec.name}' used twice")
        seen.add(spec.name)
        if not spec.profiles or set(spec.profiles) & set(profiles):
            nodes.append(spec)
    use_sim_time = bool(g.get('use_sim_time', False))
    return Graph(name=str(g.get('name', 'robin_cell')), use_sim_time=use_sim_time, nodes=tuple(nodes))


def _node_spec(raw: Any, where: str, base: Path) -> NodeSpec:
    if not isinstance(raw, dict):
        raise GraphError(f'{where}: must be a mapping')
    if unknown := sorted(set(raw) - _ALLOWED_NODE_KEYS):
        raise GraphError(f'{where}: unknown key(s) {", ".join(unknown)}')
    name, exe = raw.get('name'), raw.get('executable')
    if not isinstance(name, str) or not _NAME.match(name):
        raise GraphError(f"{where}: 'name' must be a ROS node name, got {name!r}")
    if not isinstance(exe, str) or not exe:
        raise GraphError(f"{where} ({name}): 'executable' missing")
    files, inline = [], {}
    for p in raw.get('parameters', []) or []:
        if isinstance(p, str):
            f = (base / p) if not Path(p).is_absolute() else Path(p)
            if not f.is_file():
                raise GraphError(f'{where} ({name}): parameter file not found: {f}')
            files.append(f)
        elif isinstance(p, dict):
            inline.update(p)
        else:
            raise GraphError(f"{where} ({name}): 'parameters' entries are file paths or mappings")
    remaps = raw.get('remappings', {}) or {}
    if not isinstance(remaps, dict):
        raise GraphError(f"{where} ({name}): 'remappings' must be a mapping from -> to")
    return NodeSpec(
        name=name,
        executable=exe,
        namespace=str(raw.get('namespace', '') or ''),
        parameter_files=tuple(files),
        parameters=inline,
        remappings=tuple((str(k), str(v)) for k, v in remaps.items()),
        profiles=tuple(raw.get('profiles', []) or []),
        respawn=bool(raw.get('respawn', False)),
        respawn_delay_s=float(raw.get('respawn_delay', 1.0)),
        required=bool(raw.get('required', True)),
    )


def _param_literal(v: Any) -> str:
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, list | dict):
        return yaml.safe_dump(v, default_flow_style=True).strip()
    return str(v)
