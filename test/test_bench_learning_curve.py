"""The learning-curve benchmark's table: error counts from the per-round evaluation files (no training)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / 'bench' / 'learning_curve.py'


def _module():
    spec = importlib.util.spec_from_file_location('learning_curve', BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules['learning_curve'] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def _eval(missed_box: int, acc_box: float, missed_pickable: int, acc_pickable: float) -> dict:
    return {'per_case': {
        'type:box': {'count': 100, 'missed': missed_box, 'type_accuracy': acc_box},
        'type:flat_envelope': {'count': 0, 'missed': 0, 'type_accuracy': float('nan')},
        'pickable': {'count': 50, 'missed': missed_pickable, 'type_accuracy': acc_pickable},
        'black': {'count': 10, 'missed': 5, 'type_accuracy': 0.0},  # a hard case: not counted twice
    }}


def test_tabulate_counts_missed_and_wrong_types_per_round(tmp_path: Path) -> None:
    lc = _module()
    rounds = {'active': [(20, 0.5, 10, 0.5), (10, 0.75, 4, 0.75), (5, 0.9, 2, 0.9)],
              'random': [(20, 0.5, 10, 0.5), (18, 0.5, 9, 0.6), (15, 0.6, 8, 0.6)]}
    for arm, evals in rounds.items():
        (tmp_path / arm).mkdir()
        for r, e in enumerate(evals):
            (tmp_path / arm / f'eval_{r}.json').write_text(json.dumps(_eval(*e)))
    out = tmp_path / 'learning.json'
    argv = ['--tabulate', '--work', str(tmp_path), '--out', str(out), '--rounds', '2']
    assert lc.main(argv) == 0
    res = json.loads(out.read_text())
    assert res['rounds'] == [0, 1, 2] and res['complete']
    assert res['active_errors'] == [60, 32, 14]  # 20 missed + 80 found x (1 - 0.5) = 60, ...
    assert res['random_errors'] == [60, 59, 49]
    assert res['active_pickable_errors'] == [30, 16, 7] and res['random_pickable_errors'] == [30, 25, 25]
    assert res['rounds_to_half'] == {'active': 2, 'random': None}  # 32 > 60 / 2: not yet at round 1
    assert res['pickable_rounds_to_half'] == {'active': 2, 'random': None}


def test_a_run_cut_short_is_tabulated_as_incomplete(tmp_path: Path) -> None:
    lc = _module()
    for arm in ('active', 'random'):
        (tmp_path / arm).mkdir()
        (tmp_path / arm / 'eval_0.json').write_text(json.dumps(_eval(20, 0.5, 10, 0.5)))
    (tmp_path / 'active' / 'eval_1.json').write_text(json.dumps(_eval(10, 0.5, 5, 0.5)))
    out = tmp_path / 'learning.json'
    assert lc.main(['--tabulate', '--work', str(tmp_path), '--out', str(out), '--rounds', '3']) == 0
    res = json.loads(out.read_text())
    assert res['rounds'] == [0] and not res['complete']  # both arms must have the round
