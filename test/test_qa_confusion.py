"""Confusion matrix and benchmark metrics of QA verdicts vs ground truth."""

from __future__ import annotations

import pytest

from robin_qa.confusion import LabeledPick, format_matrix, score


def test_perfect_detector() -> None:
    pairs = [('ok', 'ok')] * 10 + [('double_pick', 'double_pick')] * 3 + [('drop', 'drop')] * 2
    s = score(pairs)
    assert s.picks == 15
    assert s.double_pick_recall == 1.0 and s.double_pick_precision == 1.0
    assert s.drop_recall == 1.0 and s.drop_precision == 1.0
    assert s.missorted_unalerted == 0


def test_misses_and_false_alarms() -> None:
    pairs = ([('double_pick', 'double_pick')] * 3 + [('ok', 'double_pick')]  # one missed double pick
             + [('double_pick', 'ok')] * 2  # two false alarms
             + [('suspect', 'drop'), ('drop', 'drop')] + [('ok', 'ok')] * 4)
    s = score(pairs)
    assert s.double_pick_recall == pytest.approx(3 / 4)
    assert s.double_pick_precision == pytest.approx(3 / 5)
    assert s.drop_recall == pytest.approx(1 / 2) and s.drop_precision == 1.0
    assert s.missorted_unalerted == 1  # the unnoticed double pick left the cell
    assert s.matrix['drop']['suspect'] == 1
    assert 'double_pick' in format_matrix(s)


def test_explicit_missort_and_alert_flags() -> None:
    s = score([LabeledPick('ok', 'drop', missorted=True, alerted=False),
               LabeledPick('ok', 'misplace', alerted=True),
               LabeledPick('misplace', 'misplace')])
    assert s.missorted_unalerted == 1


def test_undefined_ratios_are_none_and_labels_checked() -> None:
    s = score([('ok', 'ok')])
    assert s.double_pick_recall is None and s.drop_precision is None
    assert set(s.as_dict()) >= {'double_pick_recall', 'double_pick_precision', 'drop_recall', 'drop_precision',
                                'missorted_unalerted'}
    with pytest.raises(ValueError, match='unknown verdict'):
        score([('fine', 'ok')])
    with pytest.raises(ValueError, match='unknown truth'):
        score([('ok', 'great')])
