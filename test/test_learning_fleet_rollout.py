"""Real-cell rollout pieces without starting cells: cell graphs, degraded models, pick-store
ingest, the pick-rate and small-sample rules of the policy, the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from robin_bringup.graph import load_graph
from robin_core.records import PickRecord
from robin_insight.pick_store import PickStore
from robin_learning.fleet_graph import LIGHT_CELL, merge_overrides, write_cell_graph
from robin_learning.fleet_ingest import FleetIngest, stamp_version
from robin_learning.fleet_rollout import group_windows
from robin_learning.fleet_runner import cell_command, plan_fleet
from robin_learning.learning_config import load_fleet_rollout_config
from robin_learning.model_degrade import degrade_onnx
from robin_learning.rollout_metrics import cell_windows
from robin_learning.rollout_policy import CellWindow, RolloutDecision, RolloutPolicy, decide_rollout
from robin_learning.rollout_report import rollout_markdown
from robin_learning.rollout_stage import finish_rollout  # noqa: F401 - the stage applies decisions with it

REPO = Path(__file__).resolve().parent.parent


def test_cell_graph_keeps_the_cell_and_adds_per_cell_overrides(tmp_path: Path) -> None:
    out = write_cell_graph(REPO / 'config' / 'cell.yaml', tmp_path / 'cell_1' / 'config' / 'cell.yaml',
                           merge_overrides(LIGHT_CELL, {'sim': {'seed': 7}}))
    graph = load_graph(out, ('sim',))
    base = load_graph(REPO / 'config' / 'cell.yaml', ('sim',))
    assert [n.name for n in graph.nodes] == [n.name for n in base.nodes]
    sim = next(n for n in graph.nodes if n.name == 'sim')
    assert sim.parameter_files == (REPO / 'config' / 'sim.yaml',) and sim.parameters['seed'] == 7
    assert sim.parameters['camera_hz'] == LIGHT_CELL['sim']['camera_hz']
    assert '-p' in sim.ros_args(True) and 'seed:=7' in sim.ros_args(True)
    with pytest.raises(ValueError, match='unknown node'):
        write_cell_graph(REPO / 'config' / 'cell.yaml', tmp_path / 'x.yaml', {'camera': {'hz': 1}})


def test_fleet_cells_get_their_own_domain_seed_registry_and_model_alias(tmp_path: Path) -> None:
    plan = plan_fleet(3, 0.33, tmp_path, base_domain_id=60, seed=10)
    assert [s.model_ref for s in plan] == ['canary', 'production', 'production']
    assert [s.seed for s in plan] == [10, 11, 12] and [s.domain_id for s in plan] == [60, 61, 62]
    argv, env = cell_command(plan[1], tmp_path / 'g.yaml', registry_root=tmp_path / 'reg')
    assert argv[argv.index('--graph') + 1] == str(tmp_path / 'g.yaml')
    assert env['ROBIN_MODEL_REGISTRY'] == str((tmp_path / 'reg').resolve()) and env['ROBIN_CELL_ID'] == 'cell_1'


def test_degraded_model_loads_and_predicts_differently(tmp_path: Path) -> None:
    import onnxruntime as ort

    src = REPO / 'models' / 'universal' / 'package_seg.onnx'
    same = degrade_onnx(src, tmp_path / 'same.onnx', noise=0.0)
    worse = degrade_onnx(src, tmp_path / 'worse.onnx', noise=0.05, seed=1)
    x = np.random.default_rng(0).uniform(0, 1, (1, 4, 240, 320)).astype(np.float32) * 100
    outs = {}
    for name, p in (('src', src), ('same', same), ('worse', worse)):
        s = ort.InferenceSession(str(p), providers=['CPUExecutionProvider'])
        outs[name] = s.run(None, {s.get_inputs()[0].name: x})[0]
        if name == 'worse':
            assert '+degraded0.05' in s.get_modelmeta().custom_metadata_map['robin.version']
    assert np.allclose(outs['src'], outs['same'])
    assert not np.allclose(outs['src'], outs['worse'], atol=1e-2)
    with pytest.raises(ValueError, match='noise'):
        degrade_onnx(src, tmp_path / 'x.onnx', noise=-1.0)


def _rec(cell: str, k: int, ok: bool, version: str | None = None) -> PickRecord:
    t = datetime(2026, 11, 22, tzinfo=UTC) + timedelta(seconds=k)
    return PickRecord(cell_id=cell, outcome='succeeded' if ok else 'failed', verdict='ok', model_version=version,
                      wall_time=t.isoformat(), timings_ms={'decision': 500.0 + k})


def test_ingest_appends_each_record_once_and_stamps_missing_versions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'picks.db'}"
    store = PickStore(url)
    store.upsert([_rec('cell_0', k, k % 2 == 0) for k in range(4)] + [_rec('cell_0', 9, True, 'pinned')])
    ingest = FleetIngest(tmp_path / 'fleet')
    assert ingest.ingest(url, 'v-canary') == 5
    store.upsert([_rec('cell_0', 20, True)])
    assert ingest.ingest(url, 'v-canary') == 1 and ingest.ingest(url, 'v-canary') == 0
    store.close()
    (w,) = cell_windows(tmp_path / 'fleet', 'v-canary')
    assert (w.cell_id, w.picks, w.successes) == ('cell_0', 5, 3)
    assert cell_windows(tmp_path / 'fleet', 'pinned')[0].picks == 1  # a version in the record is kept
    assert stamp_version([_rec('c', 0, True)], None)[0].model_version is None
    assert cell_windows(tmp_path / 'empty', 'v') == []


def test_group_windows_give_silent_cells_an_empty_window() -> None:
    ws = group_windows([CellWindow('cell_1', 4, 2, 0, [1.0] * 4)], ['cell_0', 'cell_1'], 120.0)
    assert [(w.cell_id, w.picks, w.exposure_s) for w in ws] == [('cell_0', 0, 120.0), ('cell_1', 4, 120.0)]


POLICY = RolloutPolicy(min_picks=10, z=2.326)


def _windows(cells: list[str], picks: int, successes: int, lat: float, exposure: float, *,
             rng=None) -> list[CellWindow]:
    rng = rng or np.random.default_rng(0)
    return [CellWindow(c, picks, successes, 0, list(rng.lognormal(np.log(lat), 0.3, picks)), exposure)
            for c in cells]


def test_a_stalled_canary_is_rolled_back_before_min_picks() -> None:
    base = _windows(['cell_1', 'cell_2'], 25, 2, 800, 240)
    stalled = decide_rollout(_windows(['cell_0'], 1, 0, 800, 240), base, POLICY)
    assert stalled.action == 'rollback' and 'pick rate' in stalled.reasons[0]
    # the same count with an unknown exposure, or a plausible spread between cells, does not trigger it
    assert decide_rollout(_windows(['cell_0'], 1, 0, 800, 0), base, POLICY).action == 'wait'
    assert decide_rollout(_windows(['cell_0'], 17, 2, 800, 240), base, POLICY).action == 'promote'


def test_small_windows_are_not_judged_on_noise() -> None:
    base = _windows(['cell_1', 'cell_2'], 25, 2, 800, 240)
    # 0 successes of 20 vs 4 of 50: the pooled z test sees no significant difference
    zero = decide_rollout(_windows(['cell_0'], 20, 0, 800, 240), base, POLICY)
    assert zero.action == 'wait' and 'not yet significant' in zero.reasons[0]
    # a median 20 % higher on 20 noisy samples is not significant; a large, consistent shift is
    rng = np.random.default_rng(3)
    assert decide_rollout(_windows(['cell_0'], 20, 2, 960, 240, rng=rng), base, POLICY).action != 'rollback'
    slow = decide_rollout(_windows(['cell_0'], 60, 5, 2000, 240, rng=rng),
                          _windows(['cell_1', 'cell_2'], 60, 5, 800, 240, rng=rng), POLICY)
    assert slow.action == 'rollback' and any('Mann-Whitney' in r for r in slow.reasons)


def test_fleet_rollout_config_and_report(tmp_path: Path) -> None:
    policy, stage = load_fleet_rollout_config(REPO / 'config' / 'learning.yaml')
    assert policy.min_picks < RolloutPolicy().min_picks and stage.n_cells >= 2
    assert len(plan_fleet(stage.n_cells, stage.canary_fraction, tmp_path)) == stage.n_cells
    assert sum(s.model_ref == 'canary' for s in plan_fleet(stage.n_cells, stage.canary_fraction, tmp_path)) == 1
    d = decide_rollout(_windows(['cell_0'], 1, 0, 800, 240), _windows(['cell_1', 'cell_2'], 25, 2, 800, 240), POLICY)
    assert isinstance(d, RolloutDecision)
    stage_doc = {'stage': 'worse', 'candidate': 'v-bad', 'action': d.action, 'reasons': d.reasons, 'wall_s': 240.0,
                 'canary': d.canary.__dict__, 'baseline': d.baseline.__dict__, 'canary_cells': ['cell_0'],
                 'cells_died': [], 'aliases_after': {'production': 'v-prod'}}
    md = rollout_markdown({'stages': [stage_doc], 'scale': {'n_cells': 3, 'domains': '60..62', 'camera_hz': 5.0,
                                                            'max_stage_s': 240.0, 'cpu_count': 2}})
    row = next(line for line in md.splitlines() if line.startswith('| worse'))
    assert '**rollback**' in row and '| 1 | 50 |' in row and 'v-prod' in row
