"""SYNTHETIC rollout (``robin-learn rollout-synthetic``): the fast test path, no cells.

The mechanics are the real ones (registry aliases, Parquet fleet table, DuckDB windows, the
rollout policy); the picks are drawn from per-model success/QA/latency profiles instead of
simulated cells, and the registered models are tiny stand-in ONNX graphs. The demo on real
simulated cells is ``robin-learn rollout-demo`` (:mod:`robin_learning.fleet_rollout_demo`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from robin_core.records import PickRecord
from robin_learning.fleet_table import write_records
from robin_learning.registry import ModelRegistry
from robin_learning.rollout_metrics import cell_windows
from robin_learning.rollout_policy import RolloutDecision, RolloutPolicy, canary_cells, decide_rollout
from robin_learning.rollout_stage import finish_rollout, start_canary

#: model -> (pick success, QA-flag rate, decision p50 [ms])
PROFILES = {'production': (0.92, 0.04, 40.0), 'worse': (0.80, 0.10, 46.0), 'better': (0.95, 0.03, 39.0)}


def stand_in_onnx(path: Path, tag: float) -> Path:
    """A valid one-node ONNX graph (the demo needs loadable files, not real perception)."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper  # noqa: PLC0415

    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [1])
    c = helper.make_tensor('c', TensorProto.FLOAT, [1], [tag])
    m = helper.make_model(helper.make_graph([helper.make_node('Mul', ['x', 'c'], ['y'])], 'stand_in', [x], [y], [c]),
                          opset_imports=[helper.make_opsetid('', 17)])
    m.ir_version = 9
    onnx.save(m, path)
    return path


def _simulate_picks(rng: np.random.Generator, cells: dict[str, tuple[str, str]], picks_per_cell: int,
                    t0: datetime) -> list[PickRecord]:
    """``cells``: cell -> (model version, profile name)."""
    out = []
    for cell, (version, profile) in cells.items():
        success, qa, p50 = PROFILES[profile]
        for k in range(picks_per_cell):
            ok = rng.random() < success
            flagged = rng.random() < qa
            out.append(PickRecord(cell_id=cell, model_version=version, outcome='succeeded' if ok else 'failed',
                                  verdict='suspect' if flagged else 'ok',
                                  wall_time=(t0 + timedelta(seconds=5 * k)).isoformat(),
                                  timings_ms={'decision': float(rng.lognormal(np.log(p50), 0.2))}))
    return out


def run_stage(registry: ModelRegistry, fleet: Path, cells: list[str], canary: list[str], *, profile: str,
              policy: RolloutPolicy, rng: np.random.Generator, t0: datetime, batch: int = 60) -> RolloutDecision:
    """Canary stage for the model on alias ``candidate``: feed windows until the policy decides."""
    canary_version = start_canary(registry)
    prod_version = registry.get('production').version
    since = int(t0.timestamp() * 1e9)
    decision = None
    for step in range(200):
        assign = {c: (canary_version, profile) if c in canary else (prod_version, 'production') for c in cells}
        write_records(_simulate_picks(rng, assign, batch, t0 + timedelta(minutes=10 * step)), fleet)
        decision = decide_rollout(cell_windows(fleet, canary_version, since), cell_windows(fleet, prod_version, since),
                                  policy)
        if decision.action != 'wait':
            break
    assert decision is not None
    finish_rollout(registry, decision)
    return decision


def rollout_demo(out: Path, n_cells: int = 4, policy: RolloutPolicy | None = None, seed: int = 0) -> dict:
    """Run two canary stages (worse, then better); write ``rollout_report.{json,md}``; return the report."""
    policy = policy or RolloutPolicy()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reg = ModelRegistry(out / 'registry')
    models = out / 'stand_in_models'
    models.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    cells = [f'cell_{k}' for k in range(n_cells)]
    canary = canary_cells(cells, policy.canary_fraction)
    t0 = datetime.now(UTC).replace(microsecond=0)
    reg.register(stand_in_onnx(models / 'prod.onnx', 1.0), version='demo-prod', alias='production')
    stages = []
    for k, profile in enumerate(('worse', 'better')):
        v = reg.register(stand_in_onnx(models / f'{profile}.onnx', 2.0 + k), version=f'demo-{profile}',
                         parent='production', alias='candidate')
        d = run_stage(reg, out / 'fleet', cells, canary, profile=profile, policy=policy, rng=rng,
                      t0=t0 + timedelta(days=k))
        stages.append({'candidate': v.version, 'profile': dict(zip(('success', 'qa_rate', 'decision_p50_ms'),
                                                                   PROFILES[profile], strict=True)),
                       'action': d.action, 'reasons': d.reasons, 'canary': asdict(d.canary),
                       'baseline': asdict(d.baseline), 'aliases_after': reg.aliases()})
    report = {'cells': cells, 'canary_cells': canary, 'policy': asdict(policy), 'stages': stages}
    (out / 'rollout_report.json').write_text(json.dumps(report, indent=2) + '\n')
    lines = ['# Rollout demo', '', f'{n_cells} cells, canary: {", ".join(canary)}', '',
             '| candidate | action | canary picks | canary success | baseline success | canary p50 ms | '
             'baseline p50 ms | production after |', '|---|---|---:|---:|---:|---:|---:|---|']
    for s in stages:
        c, b = s['canary'], s['baseline']
        lines.append(f"| {s['candidate']} | **{s['action']}** | {c['picks']} | {c['success_rate']:.3f} | "
                     f"{b['success_rate']:.3f} | {c['latency_p50_ms']:.1f} | {b['latency_p50_ms']:.1f} | "
                     f"{s['aliases_after']['production']} |")
    lines += ['', *[f"- {s['candidate']}: " + '; '.join(s['reasons']) for s in stages]]
    (out / 'rollout_report.md').write_text('\n'.join(lines) + '\n')
    return report
