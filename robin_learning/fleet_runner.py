"""A fleet of simulated cells as separate processes, one ROS domain each.

Each cell is ``robin-cell up --domain-id <id>`` with environment ``ROBIN_CELL_ID`` and
``ROBIN_MODEL_REF`` (the registry alias it runs: ``canary`` or ``production``). Separate
domains keep the cells' DDS traffic apart on one machine; every cell's pick store writes its own
database, and ``robin-learn fleet-aggregate`` merges them into Parquet.

Needs from the cell (lead): the segmentation node resolves its model with
``robin_learning.registry.resolve_model(ROBIN_MODEL_REF or model_ref param)`` and the cell
controller stamps ``cell_id`` from ``ROBIN_CELL_ID`` into its pick records.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from robin_learning.rollout_policy import canary_cells


@dataclass(frozen=True)
class CellSpec:
    cell_id: str
    domain_id: int
    model_ref: str
    run_dir: Path


def plan_fleet(n_cells: int, canary_fraction: float, run_root: Path, base_domain_id: int = 40) -> list[CellSpec]:
    """Cells ``cell_0..`` with consecutive domain ids; the first ceil(f*N) run the canary."""
    if base_domain_id < 0 or base_domain_id + n_cells > 101:
        raise ValueError('ROS_DOMAIN_ID must stay within 0..101 for the whole fleet')
    ids = [f'cell_{k}' for k in range(n_cells)]
    canary = set(canary_cells(ids, canary_fraction))
    return [CellSpec(c, base_domain_id + k, 'canary' if c in canary else 'production', Path(run_root) / c)
            for k, c in enumerate(ids)]


def cell_command(spec: CellSpec, graph: Path | None = None, profiles: Sequence[str] = ('sim',)) -> tuple[
        list[str], dict[str, str]]:
    """argv and extra environment of one cell process."""
    argv = ['robin-cell', 'up', '--domain-id', str(spec.domain_id), '--log-dir', str(spec.run_dir / 'logs')]
    for p in profiles:
        argv += ['--profile', p]
    if graph is not None:
        argv += ['--graph', str(graph)]
    env = {'ROBIN_CELL_ID': spec.cell_id, 'ROBIN_MODEL_REF': spec.model_ref, 'ROS_DOMAIN_ID': str(spec.domain_id),
           'ROBIN_RUN_DIR': str(spec.run_dir)}
    return argv, env


@dataclass
class FleetRunner:
    """Start, watch and stop the cell processes (each in its own process group)."""

    specs: list[CellSpec]
    graph: Path | None = None
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self) -> None:
        for spec in self.specs:
            argv, env = cell_command(spec, self.graph)
            spec.run_dir.mkdir(parents=True, exist_ok=True)
            log = (spec.run_dir / 'cell.log').open('ab')
            self.procs[spec.cell_id] = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log,
                                                        stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> dict[str, bool]:
        return {c: p.poll() is None for c, p in self.procs.items()}

    def restart(self, cell_id: str) -> None:
        """Restart one cell (after its alias changed: it loads the model at start-up)."""
        self._stop_one(cell_id)
        spec = next(s for s in self.specs if s.cell_id == cell_id)
        argv, env = cell_command(spec, self.graph)
        log = (spec.run_dir / 'cell.log').open('ab')
        self.procs[cell_id] = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True)

    def _stop_one(self, cell_id: str, timeout_s: float = 15.0) -> None:
        p = self.procs.get(cell_id)
        if p is None or p.poll() is not None:
            return
        os.killpg(p.pid, signal.SIGINT)  # our own process group only: clean shutdown of that cell's nodes
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def stop(self) -> None:
        for c in list(self.procs):
            self._stop_one(c)
