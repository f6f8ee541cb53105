"""Retraining gate and staged-rollout policy on synthetic numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robin_learning.fleet_runner import cell_command, plan_fleet
from robin_learning.retraining_gate import GateConfig, decide, write_report
from robin_learning.rollout_policy import CellWindow, RolloutPolicy, canary_cells, decide_rollout

CUR = {'recall_pickable': 0.97, 'type_accuracy': 0.95, 'ap50_all': 0.86}
HARD = {'recall_all': 0.6, 'type_accuracy': 0.8}


@pytest.mark.parametrize(('cand', 'hard', 'ok', 'why'), [
    ({**CUR, 'ap50_all': 0.855}, {'recall_all': 0.7, 'type_accuracy': 0.82}, True, 'not worse'),
    ({**CUR, 'recall_pickable': 0.95}, {'recall_all': 0.7, 'type_accuracy': 0.82}, False, 'recall_pickable dropped'),
    (CUR, HARD, False, 'no improvement on the hard cases'),
    ({**CUR, 'type_accuracy': math.nan}, {'recall_all': 0.7, 'type_accuracy': 0.82}, False, 'not measured'),
    (CUR, {'recall_all': 0.9, 'type_accuracy': 0.7}, False, 'type_accuracy dropped'),
])
def test_gate(cand, hard, ok, why, tmp_path):
    d = decide(CUR, cand, HARD, hard, GateConfig())
    assert d.register is ok
    assert any(why in r for r in d.reasons)
    js, md = write_report(d, tmp_path, {'run_id': 'r1'})
    assert ('REGISTER' if ok else 'REFUSE') in md.read_text() and js.is_file()


def stream(rng, cells, picks, *, success, qa, lat_ms):
    out = []
    for c in cells:
        s = rng.random(picks) < success
        out.append(CellWindow(c, picks, int(s.sum()), int((rng.random(picks) < qa).sum()),
                              list(rng.lognormal(np.log(lat_ms), 0.2, picks))))
    return out


def test_rollout_rolls_back_worse_promotes_better_waits_for_samples():
    rng = np.random.default_rng(7)
    pol = RolloutPolicy(min_picks=150)
    base = stream(rng, ['cell_1', 'cell_2', 'cell_3'], 300, success=0.92, qa=0.04, lat_ms=40)
    worse = decide_rollout(stream(rng, ['cell_0'], 400, success=0.82, qa=0.10, lat_ms=40), base, pol)
    better = decide_rollout(stream(rng, ['cell_0'], 400, success=0.95, qa=0.03, lat_ms=39), base, pol)
    few = decide_rollout(stream(rng, ['cell_0'], 60, success=0.5, qa=0.5, lat_ms=40), base, pol)
    slow = decide_rollout(stream(rng, ['cell_0'], 400, success=0.93, qa=0.04, lat_ms=60), base, pol)
    assert worse.action == 'rollback' and any('pick success' in r for r in worse.reasons)
    assert better.action == 'promote'
    assert few.action == 'wait' and 'too few picks' in few.reasons[0]
    assert slow.action == 'rollback' and any('latency p50' in r for r in slow.reasons)


def test_rollout_borderline_waits_then_turns_conservative():
    base = [CellWindow('b', 400, 368, 16, [40.0] * 400)]  # 0.92
    borderline = [CellWindow('c', 400, 360, 16, [40.0] * 400)]  # 0.90: beyond 1 % but not significant
    assert decide_rollout(borderline, base).action == 'wait'
    many = [CellWindow('c', 3000, 2700, 120, [40.0] * 3000)]
    assert decide_rollout(many, [CellWindow('b', 3000, 2760, 120, [40.0] * 3000)]).action == 'rollback'


def test_canary_assignment_and_fleet_plan(tmp_path):
    cells = [f'cell_{k}' for k in range(8)]
    assert canary_cells(cells, 0.25) == ['cell_0', 'cell_1']
    assert canary_cells(cells, 0.0) == ['cell_0'] and len(canary_cells(cells, 1.0)) == 7
    plan = plan_fleet(4, 0.25, tmp_path)
    assert [s.model_ref for s in plan] == ['canary', 'production', 'production', 'production']
    assert len({s.domain_id for s in plan}) == 4
    argv, env = cell_command(plan[0])
    assert argv[:4] == ['robin-cell', 'up', '--domain-id', str(plan[0].domain_id)]
    assert env['ROBIN_MODEL_REF'] == 'canary' and env['ROBIN_CELL_ID'] == 'cell_0'
    with pytest.raises(ValueError, match='ROS_DOMAIN_ID'):
        plan_fleet(5, 0.2, tmp_path, base_domain_id=99)
