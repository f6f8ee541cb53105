"""Confusion matrix of QA verdicts vs ground truth, and the benchmark's headline numbers.

The fault-injected simulation benchmark (issue 5) labels every pick with what really happened and
records the QA node's final verdict; :func:`score` turns those pairs into the numbers written to
``bench/results/qa.json``. Plain Python, no ROS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Rows (truth) and columns (verdict) of the matrix, in this order.
TRUTHS: tuple[str, ...] = ('ok', 'double_pick', 'drop', 'misplace', 'missed')
VERDICTS: tuple[str, ...] = ('ok', 'double_pick', 'drop', 'misplace', 'missed', 'suspect', 'not_run')
_UNFLAGGED = ('ok', 'not_run')


@dataclass(frozen=True)
class LabeledPick:
    """One pick of the benchmark.

    Attributes:
        verdict: the QA node's final verdict for the attempt.
        truth: what really happened (simulator ground truth), one of :data:`TRUTHS`.
        missorted: a package left the cell on a drive robot wrongly (default: truth is a double
            pick or a misplacement).
        alerted: QA raised an alert for the attempt (default: the verdict is a fault or ``suspect``,
            which the controller must act on before the robot leaves).
    """

    verdict: str
    truth: str
    missorted: bool | None = None
    alerted: bool | None = None

    def is_missorted(self) -> bool:
        return self.truth in ('double_pick', 'misplace') if self.missorted is None else self.missorted

    def is_alerted(self) -> bool:
        return self.verdict not in _UNFLAGGED if self.alerted is None else self.alerted


@dataclass(frozen=True)
class QaScore:
    """Matrix and metrics. Recall/precision are None when undefined (no such truth / verdict)."""

    matrix: dict[str, dict[str, int]]
    double_pick_recall: float | None
    double_pick_precision: float | None
    drop_recall: float | None
    drop_precision: float | None
    missorted_unalerted: int
    picks: int

    def as_dict(self) -> dict[str, object]:
        return {
            'picks': self.picks,
            'double_pick_recall': self.double_pick_recall,
            'double_pick_precision': self.double_pick_precision,
            'drop_recall': self.drop_recall,
            'drop_precision': self.drop_precision,
            'missorted_unalerted': self.missorted_unalerted,
            'confusion': self.matrix,
        }


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def score(picks: Iterable[LabeledPick | tuple[str, str]]) -> QaScore:
    """Build the confusion matrix (truth rows × verdict columns) and the headline metrics.

    Raises:
        ValueError: a verdict or truth label outside the known vocabulary.
    """
    matrix = {t: dict.fromkeys(VERDICTS, 0) for t in TRUTHS}
    missorted_unalerted = 0
    n = 0
    for item in picks:
        pick = item if isinstance(item, LabeledPick) else LabeledPick(*item)
        if pick.truth not in TRUTHS:
            raise ValueError(f"unknown truth label '{pick.truth}'; expected one of {', '.join(TRUTHS)}")
        if pick.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict '{pick.verdict}'; expected one of {', '.join(VERDICTS)}")
        matrix[pick.truth][pick.verdict] += 1
        missorted_unalerted += pick.is_missorted() and not pick.is_alerted()
        n += 1

    def recall(label: str) -> float | None:
        return _ratio(matrix[label][label], sum(matrix[label].values()))

    def precision(label: str) -> float | None:
        return _ratio(matrix[label][label], sum(row[label] for row in matrix.values()))

    return QaScore(matrix, recall('double_pick'), precision('double_pick'), recall('drop'), precision('drop'),
                   int(missorted_unalerted), n)


def format_matrix(result: QaScore) -> str:
    """The matrix as a fixed-width text table (truth rows, verdict columns)."""
    width = max(len(v) for v in VERDICTS) + 1
    lines = ['truth \\ verdict'.ljust(16) + ''.join(v.rjust(width) for v in VERDICTS)]
    lines += [t.ljust(16) + ''.join(str(result.matrix[t][v]).rjust(width) for v in VERDICTS) for t in TRUTHS]
    return '\n'.join(lines)
