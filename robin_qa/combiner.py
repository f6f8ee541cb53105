"""Turn the detectors' results for one pick into one verdict.

Priority, most urgent first: ``misplace`` (a package may leave the cell mis-sorted) > ``drop`` >
``double_pick`` > ``missed`` > ``suspect`` > ``ok`` > ``not_run``. Two rules keep it conservative:

- ``double_pick`` together with ``missed`` is contradictory (more than one package and nothing)
  and becomes ``suspect`` — unless the miss is a pinned package: its weight on the wrist is the
  cups' pull, not a second package, so ``missed`` stands (release it, do not put it back);
- missing/stale inputs (the ``inputs`` detector) turn ``ok``, ``missed`` and ``double_pick`` into
  ``suspect`` — those could be artefacts of bad data — but never hide a ``drop`` or ``misplace``,
  whose recovery is the safe side anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from robin_core.records import Verdict
from robin_qa.input_check import NAME as INPUTS
from robin_qa.missed_pick import NAME as MISSED
from robin_qa.result import DetectorResult, SignalValue

_PRIORITY: tuple[Verdict, ...] = ('misplace', 'drop', 'double_pick', 'missed', 'suspect', 'ok', 'not_run')


@dataclass(frozen=True)
class CombinedVerdict:
    """One verdict for a pick with every contributing reason (prefixed by its detector)."""

    verdict: Verdict
    reasons: tuple[str, ...]
    signals: dict[str, SignalValue] = field(default_factory=dict)
    detectors: dict[str, Verdict] = field(default_factory=dict)


def combine(results: Sequence[DetectorResult]) -> CombinedVerdict:
    """Combine detector results (later results of the same detector replace earlier ones)."""
    latest: dict[str, DetectorResult] = {}
    for r in results:
        latest[r.detector] = r
    verdicts = {r.verdict for r in latest.values()}
    reasons: list[str] = []
    signals: dict[str, SignalValue] = {}
    for r in latest.values():
        if r.verdict != 'not_run':
            reasons.extend(f'{r.detector}: {why}' for why in r.reasons)
        signals.update({f'{r.detector}.{k}': v for k, v in r.signals.items()})
    verdict: Verdict = next((v for v in _PRIORITY if v in verdicts), 'not_run')
    if verdict == 'double_pick' and 'missed' in verdicts:
        if latest[MISSED].verdict == 'missed' and latest[MISSED].signals.get('pinned'):
            verdict = 'missed'
            reasons.append('combiner: the weight is the cups pulling on a pinned package, not a second package')
        else:
            verdict = 'suspect'
            reasons.append('combiner: contradictory double pick and missed pick')
    inputs_bad = INPUTS in latest and latest[INPUTS].verdict == 'suspect'
    if inputs_bad and verdict in ('ok', 'missed', 'double_pick'):
        if verdict != 'ok':
            reasons.append(f'combiner: {verdict} not trusted with bad inputs')
        verdict = 'suspect'
    return CombinedVerdict(verdict, tuple(reasons), signals, {k: r.verdict for k, r in latest.items()})
