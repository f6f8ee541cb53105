"""``bench/results/qa.json`` of the fault-injected QA benchmark, from a run's data (plain Python).

The headline numbers (confusion matrix, recall/precision, ``missorted_unalerted``) are the run
report's ``qa_confusion`` (robin_bringup/pick_truth.py grades every attempt against the
simulator's ground truth). The per-phase and torn-cup tables label each attempt with the same
grader (:func:`robin_bringup.pick_truth.label_attempt`) and place it in the fault schedule by its
start order (see robin_bringup/fault_schedule.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from robin_bringup.fault_schedule import PHASES, FaultSchedule
from robin_bringup.pick_truth import TruthTrack, graded, label_attempt, qa_confusion
from robin_core.records import PickRecord
from robin_qa.confusion import TRUTHS, QaScore, format_matrix

HEADLINE = ('double_pick_recall', 'double_pick_precision', 'drop_recall', 'drop_precision', 'missorted_unalerted')
DETECT_WITHIN = 10  # picks: issue 5's bound for flagging a torn cup


@dataclass(frozen=True)
class Attempt:
    """One pick attempt as the benchmark tables need it."""

    record_id: str
    start_s: float  # sim time of the approach
    succeeded: bool  # the controller's outcome
    verdict: str
    truth: str | None  # ground-truth label; None: not graded or unlabelled
    forced_all_cups: bool  # the controller's fault injection switched every cup on


@dataclass(frozen=True)
class TornCup:
    """One injected torn cup: when it was torn and when QA flagged it (None: not flagged)."""

    block: int
    cup: int
    fault_s: float
    flagged_s: float | None


def attempts_from(records: Iterable[PickRecord], track: TruthTrack) -> list[Attempt]:
    """Attempts (records whose arm went for the package) in start order, labelled with the truth."""
    out = []
    for rec in records:
        starts = [t for s, t in rec.states if s == 'approach']
        if not starts:
            continue
        truth = label_attempt(rec, track) if graded(rec) else None
        out.append(Attempt(rec.record_id, starts[0], rec.outcome == 'succeeded', rec.verdict, truth,
                           rec.scene.get('fault_injection') == 'all_cups'))
    return sorted(out, key=lambda a: a.start_s)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def _row(attempts: Sequence[Attempt]) -> dict[str, Any]:
    ok = sum(a.succeeded for a in attempts)
    return {'attempts': len(attempts), 'succeeded': ok, 'success': _rate(ok, len(attempts)),
            'forced_all_cups': sum(a.forced_all_cups for a in attempts),
            'truth': {t: sum(a.truth == t for a in attempts) for t in TRUTHS}}


def phase_table(attempts: Sequence[Attempt], schedule: FaultSchedule) -> dict[str, dict[str, Any]]:
    """Pick success and truth labels per schedule phase (all blocks together)."""
    return {p: _row([a for k, a in enumerate(attempts) if schedule.phase(k) == p]) for p in PHASES}


def torn_cup_table(attempts: Sequence[Attempt], schedule: FaultSchedule,
                   events: Sequence[TornCup]) -> list[dict[str, Any]]:
    """Per torn cup: picks until flagged, and success before the fault / before / after the flag."""
    rows = []
    for ev in events:
        block = [a for k, a in enumerate(attempts) if k // schedule.block == ev.block]
        phases = [schedule.phase(ev.block * schedule.block + k) for k in range(len(block))]
        clean = [a for a, p in zip(block, phases, strict=True) if p == 'clean']
        torn = [a for a, p in zip(block, phases, strict=True) if p == 'torn_cup' and a.start_s >= ev.fault_s]
        flag = ev.flagged_s
        before = [a for a in torn if flag is None or a.start_s < flag]
        after = [a for a in torn if flag is not None and a.start_s >= flag]
        rows.append({'block': ev.block, 'cup': ev.cup, 'fault_s': round(ev.fault_s, 2),
                     'flagged_s': None if flag is None else round(flag, 2),
                     'detect_picks': len(before) if flag is not None else None,
                     'picks_after_fault': len(torn),
                     'pre_fault': _row(clean), 'torn_unflagged': _row(before), 'torn_flagged': _row(after)})
    return rows


def losses_vs_alerts(track: TruthTrack, alerts: Sequence[tuple[float, str]], before_s: float = 15.0,
                     after_s: float = 60.0) -> dict[str, Any]:
    """Packages that left the cell (ground truth ``fell_off``) against QA's active alerts (sim s, reason).

    A loss counts as alerted when an alert became active from ``before_s`` before the simulator
    saw it on the floor (vision may see it leave the belt first) to ``after_s`` after. An alert
    with no loss in that window around it is a false alarm (for any reason: read ``reason``).
    """
    losses: list[dict[str, Any]] = []
    unseen: list[dict[str, Any]] = []  # fell off before the camera ever saw them (pick_truth.GraderStates)
    seen: set[int] = set()
    for t, states in zip(track.times, track.states, strict=True):
        for pid, state in sorted(states.items()):
            if state == 'fell_unseen' and pid not in seen:
                seen.add(pid)
                unseen.append({'package': pid, 'sim_s': round(t, 2)})
            if state == 'fell_off' and pid not in seen:
                seen.add(pid)
                hit = next(((s, r) for s, r in alerts if t - before_s <= s <= t + after_s), None)
                losses.append({'package': pid, 'sim_s': round(t, 2),
                               'alert_s': None if hit is None else round(hit[0], 2),
                               'alert_reason': None if hit is None else hit[1]})
    false = [{'sim_s': round(s, 2), 'reason': r} for s, r in alerts
             if not any(loss['sim_s'] - before_s <= s <= loss['sim_s'] + after_s for loss in losses)]
    return {'left_cell': losses, 'left_cell_unalerted': sum(loss['alert_s'] is None for loss in losses),
            'alerts_without_loss': false, 'lost_before_view': unseen}


def assemble(*, confusion: Mapping[str, Any] | None, confusion_source: str, attempts: Sequence[Attempt],
             schedule: FaultSchedule, torn: Sequence[TornCup], fault_log: Sequence[Mapping[str, Any]],
             knock_offs: Sequence[Mapping[str, Any]], picks_requested: int, run: Mapping[str, Any],
             losses: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The qa.json payload. ``confusion`` is a ``qa_confusion`` dict of a run report (None: no report)."""
    conf = dict(confusion or {})
    torn_rows = torn_cup_table(attempts, schedule, torn)
    detected = [r['detect_picks'] for r in torn_rows if r['detect_picks'] is not None]
    undetected = [r for r in torn_rows if r['detect_picks'] is None and r['picks_after_fault'] >= DETECT_WITHIN]
    done = int(run.get('picks_done', len(attempts)))
    return {
        'benchmark': 'qa_faults',
        'picks_requested': picks_requested,
        'picks_done': done,
        'complete': done >= picks_requested,
        **{k: conf.get(k) for k in HEADLINE},
        'picks_graded': conf.get('picks'),
        'unlabelled': conf.get('unlabelled'),
        'not_graded': conf.get('not_graded'),
        'confusion': conf.get('confusion'),
        'labels': conf.get('labels'),  # [record_id, truth, verdict] per graded attempt
        'evidence': conf.get('evidence'),  # what each disagreeing label rests on (pick_truth.label_evidence)
        'confusion_source': confusion_source,
        'cup_fault_detect_picks': max(detected) if detected else None,
        'cup_faults': {'injected': len(torn_rows), 'detected': len(detected), 'undetected': len(undetected),
                       'detect_within': DETECT_WITHIN},
        'torn_cup_table': torn_rows,
        'phase_table': phase_table(attempts, schedule),
        'knock_offs': list(knock_offs),
        **(dict(losses) if losses is not None else {}),
        'schedule': schedule.as_dict(),
        'fault_log': list(fault_log),
        'run': dict(run),
    }


def score_of(conf: Mapping[str, Any]) -> QaScore:
    """A ``qa_confusion`` dict back as a :class:`QaScore` (for :func:`format_matrix`)."""
    return QaScore(matrix=conf['confusion'], double_pick_recall=conf.get('double_pick_recall'),
                   double_pick_precision=conf.get('double_pick_precision'), drop_recall=conf.get('drop_recall'),
                   drop_precision=conf.get('drop_precision'), missorted_unalerted=int(conf['missorted_unalerted']),
                   picks=int(conf['picks']))


def _pct(v: float | None) -> str:
    return '-' if v is None else f'{100 * v:.0f}%'


def format_tables(qa: Mapping[str, Any]) -> str:
    """The confusion matrix, the headline numbers, the phase table and the torn-cup table."""
    lines = [f"QA verdict vs ground truth: {qa['picks_graded']} graded of {qa['picks_done']} attempts "
             f"({qa['picks_requested']} requested{'' if qa['complete'] else ', INCOMPLETE'}); "
             f"source {qa['confusion_source']}"]
    if qa.get('confusion'):
        lines.append(format_matrix(score_of({**qa, 'picks': qa['picks_graded']})))
    lines.append('  '.join(f'{k} {qa[k] if k == "missorted_unalerted" else _pct(qa[k])}' for k in HEADLINE))
    lines.append(f"\n{'phase':<14}{'attempts':>9}{'ok':>5}{'success':>9}{'forced':>8}  truth")
    for name, r in qa['phase_table'].items():
        truth = ' '.join(f'{t}={n}' for t, n in r['truth'].items() if n)
        lines.append(f"{name:<14}{r['attempts']:>9}{r['succeeded']:>5}{_pct(r['success']):>9}"
                     f"{r['forced_all_cups']:>8}  {truth}")
    lines.append(f"\ntorn cup: cup_fault_detect_picks {qa['cup_fault_detect_picks']}")
    lines.append(f"{'block':<6}{'cup':>4}{'detect':>8}{'pre-fault':>14}{'torn, unflagged':>18}{'torn, flagged':>16}")
    for r in qa['torn_cup_table']:
        cells = [f"{_pct(r[k]['success'])} ({r[k]['succeeded']}/{r[k]['attempts']})"
                 for k in ('pre_fault', 'torn_unflagged', 'torn_flagged')]
        lines.append(f"{r['block']:<6}{r['cup']:>4}{r['detect_picks']!s:>8}{cells[0]:>14}{cells[1]:>18}{cells[2]:>16}")
    alerted = sum(k.get('alert_s') is not None for k in qa['knock_offs'])
    lines.append(f"\nknock-offs: {len(qa['knock_offs'])} injected, {alerted} alerted")
    if 'left_cell' in qa:
        lines.append(f"packages that left the cell (ground truth): {len(qa['left_cell'])}, "
                     f"{qa['left_cell_unalerted']} without an alert; alerts with no package lost: "
                     f"{len(qa['alerts_without_loss'])}")
        lines += [f"  false alarm at {f['sim_s']} s: {f['reason']}" for f in qa['alerts_without_loss']]
        if qa.get('lost_before_view'):
            lines.append(f"fell off before the camera saw them (the feeder's piles, not counted above): "
                         f"{len(qa['lost_before_view'])}")
    return '\n'.join(lines)


def grade_raw(raw: dict[str, Any], run_confusion: dict[str, Any] | None = None) -> dict[str, Any]:
    """The qa.json payload from a run's ``bench_raw.json`` content. The confusion matrix is the run
    report's own (``run_confusion``) when given, else this grader's on the kept truth track."""
    records = [PickRecord.model_validate(r) for r in raw['records']]
    track = TruthTrack.from_dict(raw['truth_track'])
    own = qa_confusion(records, track) if track.times else None
    confusion, source = run_confusion, 'run report (robin_bringup/pick_truth.py)'
    if confusion is None:
        confusion, source = own, 'bench monitor (robin_bringup/pick_truth.py on the kept truth track)'
    return assemble(confusion=confusion, confusion_source=source, attempts=attempts_from(records, track),
                    schedule=FaultSchedule(), torn=[TornCup(**t) for t in raw['torn']], fault_log=raw['fault_log'],
                    knock_offs=raw['knock_offs'], picks_requested=int(raw['picks_requested']),
                    run={**raw['run'], 'bench_monitor_confusion': own},
                    losses=losses_vs_alerts(track, [(float(s), str(r)) for s, r in raw['alerts']]))
