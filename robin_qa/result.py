"""The one result type every detector returns, and the verdict vocabulary they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from robin_core.records import Verdict

#: Verdicts that mean "something went wrong with this pick" (recovery needed).
FAULTS: tuple[Verdict, ...] = ('misplace', 'drop', 'double_pick', 'missed')

SignalValue = float | int | bool | str | None


@dataclass(frozen=True)
class DetectorResult:
    """What one detector concluded, why, and from which numbers.

    Attributes:
        detector: short name of the detector (``double_pick``, ``drop``, ...).
        verdict: ``ok``, a fault, ``suspect`` (treat as suspect and verify) or ``not_run``.
        reasons: human-readable reasons, one per finding (empty for a plain ``ok``).
        signals: the numbers the decision used, keyed by name with units in the key (``payload_kg``).
    """

    detector: str
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    signals: Mapping[str, SignalValue] = field(default_factory=dict)

    @property
    def is_fault(self) -> bool:
        return self.verdict in FAULTS


def suspect(detector: str, reason: str, **signals: SignalValue) -> DetectorResult:
    """A conservative ``suspect`` result with one reason."""
    return DetectorResult(detector, 'suspect', (reason,), signals)


def not_run(detector: str, reason: str) -> DetectorResult:
    """The detector had nothing to check in this phase."""
    return DetectorResult(detector, 'not_run', (reason,))
