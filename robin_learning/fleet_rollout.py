"""Staged rollout on a fleet of real simulated cells (separate processes, separate ROS domains).

One stage = one candidate on alias ``candidate``:

1. ``canary`` := candidate in the registry; the fleet starts (``fleet_runner``): the canary cells
   with ``ROBIN_MODEL_REF=canary``, the others with ``production``; every cell resolves its alias
   at start-up through the registry and runs the whole graph (sim, segmentation, grasp planner,
   motion executor, QA, cell controller, pick store);
2. every ``poll_s`` the cells' pick stores are appended to the fleet Parquet dataset
   (``fleet_ingest``), the windows of both groups since the stage start are read back with
   DuckDB (``rollout_metrics.cell_windows``) and the rollout policy decides;
3. on promote or rollback (or at ``max_stage_s``, where "still waiting" counts as a rollback:
   an inconclusive canary does not reach the fleet) the cells stop and the aliases move
   (``rollout_stage.finish_rollout``).

Each stage has its own cell run directories (``<out>/<stage>/cells/<cell>``: graph, logs, pick
store, journal) and all cells start together, so every cell's exposure is the stage's wall time.
No rclpy import: cells are child processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from robin_learning.fleet_ingest import FleetIngest
from robin_learning.fleet_runner import CellSpec, FleetRunner, plan_fleet
from robin_learning.registry import ModelRegistry
from robin_learning.rollout_metrics import cell_windows
from robin_learning.rollout_policy import CellWindow, RolloutDecision, RolloutPolicy, decide_rollout
from robin_learning.rollout_stage import finish_rollout, start_canary


@dataclass(frozen=True)
class FleetStageConfig:
    """Scale of one stage on this machine (see docs/learning.md for what ran)."""

    n_cells: int = 3
    canary_fraction: float = 0.33
    max_stage_s: float = 240.0
    poll_s: float = 30.0
    base_domain_id: int = 60
    seed: int = 0


def group_windows(windows: list[CellWindow], cells: list[str], exposure_s: float) -> list[CellWindow]:
    """One window per cell of the group (a cell without picks gets an empty one), with exposure."""
    by_cell = {w.cell_id: w for w in windows}
    out = []
    for c in cells:
        w = by_cell.get(c, CellWindow(c))
        out.append(CellWindow(w.cell_id, w.picks, w.successes, w.qa_flags, w.decision_ms, exposure_s))
    return out


def _decide(fleet: Path, since_ns: int, *, canary: tuple[str, list[str]], baseline: tuple[str, list[str]],
            exposure_s: float, policy: RolloutPolicy) -> RolloutDecision:
    (cv, cc), (bv, bc) = canary, baseline
    cw = group_windows([w for w in cell_windows(fleet, cv, since_ns) if w.cell_id in cc], cc, exposure_s)
    bw = group_windows([w for w in cell_windows(fleet, bv, since_ns) if w.cell_id in bc], bc, exposure_s)
    return decide_rollout(cw, bw, policy)


def run_fleet_stage(registry: ModelRegistry, stage_dir: Path, fleet: Path, ingest: FleetIngest, *,
                    cfg: FleetStageConfig, policy: RolloutPolicy, base_graph: Path,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Canary stage for the model on alias ``candidate``; returns the stage's report entry."""
    canary_version = start_canary(registry)
    prod_version = registry.get('production').version
    specs = plan_fleet(cfg.n_cells, cfg.canary_fraction, stage_dir / 'cells', cfg.base_domain_id, cfg.seed)
    version_of = {s.cell_id: canary_version if s.model_ref == 'canary' else prod_version for s in specs}
    canary_cells = [s.cell_id for s in specs if s.model_ref == 'canary']
    base_cells = [s.cell_id for s in specs if s.model_ref != 'canary']
    runner = FleetRunner(specs, base_graph=base_graph, registry_root=registry.root)
    t0 = time.time()
    since_ns = int(t0 * 1e9)
    log(f'stage {stage_dir.name}: canary {canary_cells} on {canary_version}, {base_cells} on {prod_version}')
    runner.start()
    decision: RolloutDecision | None = None
    deaths: list[str] = []
    try:
        while True:
            time.sleep(cfg.poll_s)
            _ingest_all(ingest, specs, version_of)
            elapsed = time.time() - t0
            decision = _decide(fleet, since_ns, canary=(canary_version, canary_cells),
                               baseline=(prod_version, base_cells), exposure_s=elapsed, policy=policy)
            dead = [c for c, ok in runner.alive().items() if not ok]
            deaths += [c for c in dead if c not in deaths]
            log(f'  {elapsed:5.0f} s: canary {decision.canary.picks} picks, baseline {decision.baseline.picks} '
                f'-> {decision.action}' + (f' (cells down: {dead})' if dead else ''))
            if decision.action != 'wait' or elapsed >= cfg.max_stage_s or len(dead) == len(specs):
                break
    finally:
        runner.stop()
    elapsed = time.time() - t0
    _ingest_all(ingest, specs, version_of)  # records finished while the cells stopped
    assert decision is not None
    if decision.action == 'wait':
        decision = RolloutDecision('rollback', [*decision.reasons, f'inconclusive after {elapsed:.0f} s: the '
                                                'canary does not reach the fleet'], decision.canary,
                                   decision.baseline)
    finish_rollout(registry, decision)
    return {'stage': stage_dir.name, 'candidate': canary_version, 'production_before': prod_version,
            'action': decision.action, 'reasons': decision.reasons, 'canary': asdict(decision.canary),
            'baseline': asdict(decision.baseline), 'canary_cells': canary_cells, 'baseline_cells': base_cells,
            'cells': [_spec_entry(s, version_of[s.cell_id]) for s in specs], 'wall_s': round(elapsed, 1),
            'cells_died': deaths, 'aliases_after': registry.aliases()}


def _ingest_all(ingest: FleetIngest, specs: list[CellSpec], version_of: dict[str, str]) -> None:
    for s in specs:
        db = s.run_dir / 'runs' / 'picks.db'
        if db.is_file():
            ingest.ingest(f'sqlite:///{db}', version_of[s.cell_id])


def _spec_entry(s: CellSpec, version: str) -> dict[str, Any]:
    return {'cell_id': s.cell_id, 'domain_id': s.domain_id, 'model_ref': s.model_ref, 'model_version': version,
            'sim_seed': s.seed, 'run_dir': str(s.run_dir)}
