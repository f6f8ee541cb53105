"""Label each pick attempt of a simulated run with what really happened (plain Python, no ROS).

The simulator publishes ``sim/ground_truth`` (every package's state: ``belt``, ``held``,
``on_robot``, ``delivered``, ``fell_off``, ``in_air``, and its pose) at a few Hz. The simulator's
``held`` means "a cup pulls on it", which is also true of a package pinned under a neighbour that
never comes up, or of a neighbour a leaky cup touches while the cups seal. :class:`GraderStates`
therefore splits it: ``held`` when the package is at least ``LIFTED_M`` above where it last lay on
the belt, else ``held_down``. :class:`TruthTrack` keeps these states over sim time (only when they
change) and :func:`label_attempt` reads one final pick record against it ("held" below is the
raised kind):

- ``double_pick``: two or more packages held at the same time once the lift had ended (the first
  state after ``lift``), or two or more packages newly arrived on a drive robot by ``settle_s``
  after the record's end. In the fault run of session 7 (before both rules) 22 attempts were
  labelled double pick from such touches, each with its drive robot counting one package;
- ``ok``: exactly one package newly arrived on a drive robot; also a single package that was lifted,
  still up when the lift ended, and put back on the belt before any transfer (a deliberate
  put-back is not a fault). One that came up during the lift but was back down by its end is
  ``missed`` (session 13: pinned mailers whose corner rose 2 cm were graded ``ok`` and QA's correct
  ``missed`` counted as a false alarm, 6 times in a 77-attempt run);
- ``drop``: a held package did not reach a robot and was no longer held when the release began;
- ``misplace``: a held package did not reach a robot and was still held after the release began;
- ``missed``: nothing was held (raised) and nothing arrived: a pinned package the cups pulled on
  but could not raise is a miss, as QA calls it.

Only attempts whose cups were switched on (state ``suction``) are graded: an attempt that ended in
the approach never gave QA anything to judge. Attempts whose end is not yet ``settle_s`` old in the
track are left unlabelled (the run stopped too soon to know).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from robin_core.cell_description import CellDescription
from robin_core.records import PickRecord
from robin_qa.confusion import TRUTHS, VERDICTS, LabeledPick, score

PLACED = ('on_robot', 'delivered')
LIFTED_M = 0.02  #: [m] a held package this far above where it last lay on the belt is raised


def camera_view(cell: CellDescription) -> tuple[tuple[float, float], tuple[float, float]]:
    """The belt region the camera sees (the pick area with the pile map's margin), x and y [m]."""
    return cell.pick_area.pile_map_x_range, cell.pick_area.pile_map_y_range


@dataclass
class GraderStates:
    """Per-package grader states from ``sim/ground_truth`` messages (see the module docstring).

    With ``view`` (x and y range [m] in base_link: what the camera sees), a package that falls off
    without ever having been in it is ``fell_unseen``, not ``fell_off``: the feeder's new piles
    can tumble off the belt upstream, which no cell can see or prevent (20 of the 38 unalerted
    losses of the session-8 fault run fell within 4 s of being dropped).
    """

    lifted_m: float = LIFTED_M
    view: tuple[tuple[float, float], tuple[float, float]] | None = None
    rest_z: dict[int, float] = field(default_factory=dict)  # centre height when last seen on the belt
    seen: set[int] = field(default_factory=set)  # packages that were in the view at some snapshot

    def __call__(self, packages: Iterable[Mapping[str, Any]]) -> dict[int, str]:
        """``{id: state}`` of one message's ``packages`` (each with ``id``, ``state``, ``pose``)."""
        out: dict[int, str] = {}
        for p in packages:
            pid, state, pose = int(p['id']), str(p['state']), p['pose']
            z = float(pose[2])
            if self.view is not None and self.view[0][0] <= float(pose[0]) <= self.view[0][1] \
                    and self.view[1][0] <= float(pose[1]) <= self.view[1][1]:
                self.seen.add(pid)
            if state == 'belt':
                self.rest_z[pid] = z
            elif state == 'held' and z < self.rest_z.get(pid, float('-inf')) + self.lifted_m:
                state = 'held_down'
            elif state == 'fell_off' and self.view is not None and pid not in self.seen:
                state = 'fell_unseen'
            out[pid] = state
        return out


@dataclass
class TruthTrack:
    """Package states (id → state) over sim time, stored only when they change (with every snapshot's
    time, so "the first look after t" is known)."""

    times: list[float] = field(default_factory=list)
    states: list[dict[int, str]] = field(default_factory=list)
    last_time: float = float('-inf')  # latest snapshot time, changed or not
    sample_times: list[float] = field(default_factory=list)  # every snapshot's time, changed or not

    def add(self, t: float, states: Mapping[int, str]) -> None:
        """Add a snapshot; snapshots must come in time order (older ones are ignored)."""
        if t < self.last_time:
            return
        self.last_time = t
        self.sample_times.append(t)
        snap = dict(states)
        if not self.states or snap != self.states[-1]:
            self.times.append(t)
            self.states.append(snap)

    def at(self, t: float) -> dict[int, str]:
        """The states in force at ``t`` (empty before the first snapshot)."""
        k = bisect.bisect_right(self.times, t) - 1
        return self.states[k] if k >= 0 else {}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: a run's track kept beside its results so they can be graded again."""
        return {'times': self.times, 'states': [{str(k): v for k, v in s.items()} for s in self.states],
                'sample_times': self.sample_times, 'last_time': self.last_time}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TruthTrack:
        """The inverse of :meth:`as_dict`."""
        return cls([float(t) for t in data['times']], [{int(k): str(v) for k, v in s.items()} for s in data['states']],
                   float(data['last_time']), [float(t) for t in data['sample_times']])

    def first_sample_from(self, t: float) -> float | None:
        """The time of the first snapshot at or after ``t`` (None: none yet)."""
        k = bisect.bisect_left(self.sample_times, t)
        return self.sample_times[k] if k < len(self.sample_times) else None

    def between(self, t0: float, t1: float) -> list[tuple[float, dict[int, str]]]:
        """Snapshots in force at some time in [t0, t1], oldest first."""
        k0 = max(0, bisect.bisect_right(self.times, t0) - 1)
        k1 = bisect.bisect_right(self.times, t1)
        return list(zip(self.times[k0:k1], self.states[k0:k1], strict=True))


def _state_time(record: PickRecord, name: str, first: bool = True) -> float | None:
    times = [t for s, t in record.states if s == name]
    if not times:
        return None
    return times[0] if first else times[-1]


def lift_end(record: PickRecord) -> float | None:
    """When the lift was over: the start of the first state after the first ``lift`` (None: no lift,
    or the record ends in it)."""
    states = list(record.states)
    for k, (name, _t) in enumerate(states):
        if name == 'lift':
            return states[k + 1][1] if k + 1 < len(states) else None
    return None


def graded(record: PickRecord) -> bool:
    """QA had something to judge: the cups were switched on."""
    return _state_time(record, 'suction') is not None


def newly_placed(record: PickRecord, track: TruthTrack, settle_s: float = 2.0) -> set[int]:
    """Packages on a drive robot ``settle_s`` after the record's end that were not on one at the first
    snapshot taken once the cups went on: a snapshot from before that (2 Hz) can still show the
    previous attempt's package in the air above the tray."""
    on = _state_time(record, 'suction')
    end = max(t for _s, t in record.states)
    first = track.first_sample_from(on) if on is not None else None
    before, after = track.at(first if first is not None else end + settle_s), track.at(end + settle_s)
    return {i for i, s in after.items() if s in PLACED and before.get(i) not in PLACED}


def _held(snap: Mapping[int, str]) -> set[int]:
    return {i for i, s in snap.items() if s == 'held'}


def label_attempt(record: PickRecord, track: TruthTrack, settle_s: float = 2.0) -> str | None:
    """The ground-truth label of one final, graded attempt (see the module docstring), or None.

    What the cups held is read from the first snapshot once they went on to the record's end: the
    settle time after it is for the placement only (the next attempt's cups may be on by then).
    """
    start, on = _state_time(record, 'approach'), _state_time(record, 'suction')
    if start is None or on is None or not record.states:
        return None
    end = max(t for _s, t in record.states)
    first_on = track.first_sample_from(on)
    if track.last_time < end + settle_s or first_on is None:
        return None
    after = track.at(end + settle_s)
    own = track.between(min(first_on, end), end)
    held_sets = [_held(snap) for _t, snap in own]
    placed = newly_placed(record, track, settle_s)
    lifted = lift_end(record)
    # from the first snapshot taken once the lift was over: one taken during the lift says nothing
    # about whether the touch outlasted it
    first_look = track.first_sample_from(lifted) if lifted is not None else None
    carried = [_held(snap) for _t, snap in track.between(first_look, end)] if first_look is not None else []
    if len(placed) >= 2 or max((len(h) for h in carried), default=0) >= 2:
        return 'double_pick'
    if len(placed) == 1:
        return 'ok'
    held = set().union(*held_sets) if held_sets else set()
    if not held:
        return 'missed'
    if _state_time(record, 'transfer') is None and all(after.get(i) == 'belt' for i in held):
        # put back deliberately (after QA looked) only if it was still up when the lift ended; a package
        # the lift lost again (a pinned one whose corner came up, then tore free) was never carried
        still_up = _held(track.at(lifted)) if lifted is not None else set()
        return 'ok' if still_up or any(carried) else 'missed'
    release = _state_time(record, 'release')
    last_held = max(t for (t, _snap), h in zip(own, held_sets, strict=True) if h)
    # the first change after which none of them is held any more
    held_until = next((t for t, snap in track.between(last_held, track.last_time)[1:] if not held & _held(snap)),
                      track.last_time)
    return 'misplace' if release is not None and held_until > release else 'drop'


def label_evidence(record: PickRecord, track: TruthTrack, settle_s: float = 2.0) -> dict[str, object]:
    """What the label of one attempt rests on, in sim seconds after the approach began: per package a
    cup pulled on, the first and last snapshot that showed it so, whether it ever came up
    (``raised``) and its state ``settle_s`` after the record's end; which packages newly arrived on
    a drive robot; the state times. For auditing the cells where QA and the truth disagree."""
    start = _state_time(record, 'approach')
    if start is None or not record.states:
        return {}
    end = max(t for _s, t in record.states)
    window = track.between(start, end + settle_s)
    after = track.at(end + settle_s)
    held: dict[int, list[float]] = {}
    raised: set[int] = set()
    for k, (t, snap) in enumerate(window):
        changed = window[k + 1][0] if k + 1 < len(window) else end + settle_s
        lo, hi = bisect.bisect_left(track.sample_times, t), bisect.bisect_right(track.sample_times, changed)
        seen = track.sample_times[lo:hi] if k + 1 == len(window) else track.sample_times[lo:hi - 1]
        seen = seen or [t]
        for i, state in snap.items():
            if state in ('held', 'held_down'):
                span = held.setdefault(i, [max(t, start) - start, 0.0])
                span[1] = seen[-1] - start  # the last look that still showed a cup on it
                if state == 'held':
                    raised.add(i)
    rel = lift_end(record)
    return {
        'held': {str(i): {'first_s': round(a, 2), 'last_s': round(b, 2), 'raised': i in raised, 'then': after.get(i)}
                 for i, (a, b) in sorted(held.items())},
        'placed': sorted(newly_placed(record, track, settle_s)),
        'lift_end_s': None if rel is None else round(rel - start, 2),
        'states': [[name, round(t - start, 2)] for name, t in record.states],
    }


def qa_confusion(records: Iterable[PickRecord], track: TruthTrack, settle_s: float = 2.0) -> dict[str, object]:
    """QA's final verdicts against the ground truth: :meth:`robin_qa.confusion.QaScore.as_dict` plus
    how many attempts were graded, left unlabelled, or never switched the cups on, and each graded
    attempt's ``[record_id, truth, verdict]`` (``labels``: which pick a matrix cell counts) and, for
    each attempt where they disagree, :func:`label_evidence` (``evidence``, by record id)."""
    pairs: list[LabeledPick] = []
    labels: list[list[str]] = []
    evidence: dict[str, dict[str, object]] = {}
    unlabelled = not_graded = 0
    for rec in records:
        if not graded(rec):
            not_graded += 1
            continue
        truth = label_attempt(rec, track, settle_s)
        if truth is None or truth not in TRUTHS or rec.verdict not in VERDICTS:
            unlabelled += 1
            continue
        # mis-sorted: a drive robot got two packages from this attempt (or a misplacement). A pair
        # that came apart in the transfer left one package on the robot, correctly sorted; where
        # the other went is the loss accounting's (qa_bench.losses_vs_alerts)
        missorted = len(newly_placed(rec, track, settle_s)) >= 2 or truth == 'misplace'
        pairs.append(LabeledPick(verdict=rec.verdict, truth=truth, missorted=missorted))
        labels.append([rec.record_id, truth, rec.verdict])
        if truth != rec.verdict:
            evidence[rec.record_id] = label_evidence(rec, track, settle_s)
    out = score(pairs).as_dict()
    out['unlabelled'] = unlabelled
    out['not_graded'] = not_graded
    out['truth_ok'] = sum(p.truth == 'ok' for p in pairs)
    out['labels'] = labels
    out['evidence'] = evidence
    return out
