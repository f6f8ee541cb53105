"""``robin-learn rollout-demo``: two canary stages on real simulated cells, then the fleet report.

1. a scratch registry under ``<out>/registry`` gets the shipped universal model on
   ``production`` (same entry as the repository's registry, files copied);
2. stage ``worse``: a degraded copy of it (``model_degrade``: Gaussian noise on every weight
   tensor) goes to the canary cell(s); the policy must roll it back;
3. stage ``better``: a model at least as good (default: the production weights re-registered as
   a new version, i.e. an *equal* candidate; ``--better FILE`` for a retrained one) must be
   promoted;
4. ``rollout_report.{json,md}`` and, from the same run's Parquet dataset, the correlation report
   (``fleet_report/``: report.md, report.json, one PNG per factor).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robin_core.ros_env import share_dir
from robin_learning.fleet_graph import LIGHT_CELL
from robin_learning.fleet_ingest import FleetIngest
from robin_learning.fleet_report import ReportConfig, write_report
from robin_learning.fleet_rollout import FleetStageConfig, run_fleet_stage
from robin_learning.model_degrade import degrade_onnx
from robin_learning.registry import ModelRegistry
from robin_learning.registry_seed import seed_shipped_model
from robin_learning.rollout_policy import RolloutPolicy
from robin_learning.rollout_report import write_rollout_report

WORSE_NOISE = 0.05  # offline, 12 sim test frames: recall_pickable 0.03 vs 0.97, AP50 0.003 vs 0.79


def fleet_rollout_demo(out: Path, *, cfg: FleetStageConfig, policy: RolloutPolicy, report_cfg: ReportConfig,
                       worse_noise: float = WORSE_NOISE, better: Path | None = None,
                       log: Callable[[str], None] = print) -> dict[str, Any]:
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    share = share_dir()
    universal = share / 'models' / 'universal'
    reg = ModelRegistry(out / 'registry')
    metrics, card = share / 'eval' / 'results' / 'latest.json', share / 'docs' / 'model_card.md'
    prod = seed_shipped_model(reg, universal, metrics if metrics.is_file() else None, card if card.is_file() else None,
                              in_place=False)
    fleet, ingest = out / 'fleet', FleetIngest(out / 'fleet')
    worse = degrade_onnx(universal / 'package_seg.onnx', out / 'candidates' / 'degraded.onnx', noise=worse_noise)
    notes_worse = f'deliberately worse: Gaussian noise {worse_noise:g} x std on every weight tensor of {prod.version}'
    better_file = Path(better) if better else universal / 'package_seg.onnx'
    notes_better = (f'candidate {better_file}' if better else
                    f'equal: the weights of {prod.version} re-registered as a new version')
    stages = []
    for name, onnx, version, notes in (('worse', worse, f'{prod.version}-degraded', notes_worse),
                                       ('better', better_file, f'{prod.version}-rebuild', notes_better)):
        reg.register(onnx, version=version, parent='production', alias='candidate', notes=notes,
                     training_data=prod.training_data)
        stage = run_fleet_stage(reg, out / name, fleet, ingest, cfg=cfg, policy=policy,
                                base_graph=share / 'config' / 'cell.yaml', log=log)
        stage['candidate_notes'] = notes
        stages.append(stage)
    fleet_doc = (write_report(fleet, out / 'fleet_report', report_cfg) if any(fleet.rglob('*.parquet'))
                 else {'picks': 0, 'findings': []})
    report = {'stages': stages, 'policy': policy.__dict__, 'registry': str(reg.root),
              'registry_log': _registry_log(reg), 'fleet': str(fleet),
              'fleet_report': str(out / 'fleet_report' / 'report.md'), 'fleet_picks': fleet_doc['picks'],
              'fleet_findings': fleet_doc['findings'],
              'scale': {'n_cells': cfg.n_cells,
                        'domains': f'{cfg.base_domain_id}..{cfg.base_domain_id + cfg.n_cells - 1}',
                        'camera_hz': LIGHT_CELL['sim']['camera_hz'], 'max_stage_s': cfg.max_stage_s,
                        'poll_s': cfg.poll_s, 'cpu_count': os.cpu_count(),
                        'wall_s': round(sum(s['wall_s'] for s in stages), 1)}}
    write_rollout_report(report, out)
    return report


def _registry_log(reg: ModelRegistry) -> list[dict[str, Any]]:
    return json.loads(reg.file.read_text())['log']
