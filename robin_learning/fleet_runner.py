"""A fleet of simulated cells as separate processes, one ROS domain each.

Each cell is ``robin-cell up --domain-id <id> --graph <run_dir>/config/cell.yaml`` started in its
own run directory (working directory: the pick store ``runs/picks.db`` and the pick journal land
there) with environment ``ROBIN_CELL_ID`` (stamped by the cell controller), ``ROBIN_MODEL_REF``
(the registry alias the segmentation node loads: ``canary`` or ``production``) and
``ROBIN_MODEL_REGISTRY``. Separate domains keep the cells' DDS traffic apart on one machine;
``robin-learn fleet-aggregate`` merges the pick stores into Parquet.

Each cell's graph is the cell's own graph plus per-cell inline overrides (``fleet_graph``): a scene
seed per cell and, by default, settings light enough for a few cells on a small machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robin_learning.fleet_graph import LIGHT_CELL, merge_overrides, write_cell_graph
from robin_learning.rollout_policy import canary_cells


@dataclass(frozen=True)
class CellSpec:
    cell_id: str
    domain_id: int
    model_ref: str
    run_dir: Path
    seed: int = 0


def plan_fleet(n_cells: int, canary_fraction: float, run_root: Path, base_domain_id: int = 40,
               seed: int = 0) -> list[CellSpec]:
    """Cells ``cell_0..`` with consecutive domain ids; the first ceil(f*N) run the canary."""
    if base_domain_id < 0 or base_domain_id + n_cells > 101:
        raise ValueError('ROS_DOMAIN_ID must stay within 0..101 for the whole fleet')
    ids = [f'cell_{k}' for k in range(n_cells)]
    canary = set(canary_cells(ids, canary_fraction))
    run_root = Path(run_root).resolve()  # each cell runs in its own directory: paths must not be relative
    return [CellSpec(c, base_domain_id + k, 'canary' if c in canary else 'production', run_root / c,
                     seed=seed + k) for k, c in enumerate(ids)]


def cell_command(spec: CellSpec, graph: Path | None = None, profiles: Sequence[str] = ('sim',),
                 registry_root: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """argv and extra environment of one cell process."""
    argv = ['robin-cell', 'up', '--domain-id', str(spec.domain_id), '--log-dir', str(spec.run_dir / 'logs')]
    for p in profiles:
        argv += ['--profile', p]
    if graph is not None:
        argv += ['--graph', str(graph)]
    env = {'ROBIN_CELL_ID': spec.cell_id, 'ROBIN_MODEL_REF': spec.model_ref, 'ROS_DOMAIN_ID': str(spec.domain_id),
           'ROBIN_RUN_DIR': str(spec.run_dir)}
    if registry_root is not None:
        env['ROBIN_MODEL_REGISTRY'] = str(Path(registry_root).resolve())
    return argv, env


def _tool(name: str) -> str:
    """The console script next to this interpreter (the venv), else on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.is_file() else (shutil.which(name) or name)


@dataclass
class FleetRunner:
    """Start, watch and stop the cell processes (each in its own process group).

    ``base_graph``: the cell graph every fleet cell starts from; ``overrides``: inline parameters
    per node for every cell (default :data:`LIGHT_CELL`); the simulator's ``seed`` is per cell.
    """

    specs: list[CellSpec]
    base_graph: Path | None = None
    registry_root: Path | None = None
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: LIGHT_CELL)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    started_at: dict[str, float] = field(default_factory=dict)

    def _graph_for(self, spec: CellSpec) -> Path | None:
        if self.base_graph is None:
            return None
        layers = merge_overrides(self.overrides, {'sim': {'seed': spec.seed}})
        return write_cell_graph(self.base_graph, spec.run_dir / 'config' / 'cell.yaml', layers)

    def _spawn(self, spec: CellSpec) -> None:
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        argv, env = cell_command(spec, self._graph_for(spec), registry_root=self.registry_root)
        argv[0] = _tool(argv[0])
        with (spec.run_dir / 'cell.log').open('ab') as log:
            self.procs[spec.cell_id] = subprocess.Popen(argv, env={**os.environ, **env}, cwd=spec.run_dir,
                                                        stdout=log, stderr=subprocess.STDOUT,
                                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self.started_at[spec.cell_id] = time.time()

    def start(self) -> None:
        for spec in self.specs:
            self._spawn(spec)

    def alive(self) -> dict[str, bool]:
        return {c: p.poll() is None for c, p in self.procs.items()}

    def restart(self, cell_id: str) -> None:
        """Restart one cell (after its alias changed: it loads the model at start-up)."""
        self.stop([cell_id])
        self._spawn(next(s for s in self.specs if s.cell_id == cell_id))

    def stop(self, cell_ids: Sequence[str] | None = None, timeout_s: float = 40.0) -> dict[str, int | None]:
        """SIGINT to each cell's own process group (``robin-cell`` then stops its nodes in order:
        SIGINT, SIGTERM, SIGKILL within ~15 s); SIGKILL only if it is still there after ``timeout_s``."""
        ids = list(self.procs) if cell_ids is None else list(cell_ids)
        live = [c for c in ids if c in self.procs and self.procs[c].poll() is None]
        for c in live:
            _signal_group(self.procs[c], signal.SIGINT)
        end = time.monotonic() + timeout_s
        for c in live:
            try:
                self.procs[c].wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(self.procs[c], signal.SIGKILL)
                self.procs[c].wait()
        return {c: self.procs[c].returncode for c in ids if c in self.procs}


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # the cell's own group only (start_new_session)
