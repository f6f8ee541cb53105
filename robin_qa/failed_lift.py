"""A lift that failed before QA's verify step: what did the cups have when the controller gave up?

When a lift segment fails (it timed out short of its end, or could not start because the arm was not
where the plan began) the controller switches the cups off, tells QA ``aborted`` at that moment and
retreats. Before this check such an attempt got no verdict at all (``not_run``): 7 of the 282 graded
attempts of the session-9 fault run (3 true drops, 2 misses, 2 good picks).

Read from the grasp to the abort:

- no commanded cup held at the grasp → ``missed``;
- every cup that held at the grasp lost its vacuum, sustained, before the abort → ``drop`` (the
  package fell during the lift);
- cups still hold at the abort and the wrist feels no payload → ``missed``: the package is still down
  (the lift never started, or it is pinned and stayed);
- cups hold and the wrist feels more than they can raise → ``missed`` (pinned);
- cups hold and the payload is there → ``ok`` for the pick itself: the package was on the cups when
  the controller let go of it. Where it lands is the pile watch's to follow;
- no vacuum data → ``suspect``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robin_qa.cup_signals import holding
from robin_qa.drop import DropConfig, vacuum_loss_onset
from robin_qa.missed_pick import MissedPickConfig, pinned_limit_kg
from robin_qa.result import DetectorResult, SignalValue, suspect

NAME = 'failed_lift'


@dataclass(frozen=True)
class LiftWindow:
    """The signals of one attempt from the grasp to the failed lift.

    Attributes:
        cup_mask: (8,) bool, cups switched on.
        held_at_grasp: (8,) bool, commanded cups that held at the grasp, or None (no cup data then).
        t_vacuum: (n,) sample times from the grasp to the abort [s].
        vacuum_kpa: (n, 8) vacuum [kPa].
        sealed_at_abort: (8,) seal flags at the abort, or None.
        vacuum_at_abort: (8,) vacuum at the abort [kPa], or None.
        payload_at_abort_kg: payload on the wrist at the abort [kg], or None.
        grasp_s: when the grasp was reported [s].
        abort_s: when the controller gave up [s].
    """

    cup_mask: np.ndarray
    held_at_grasp: np.ndarray | None
    t_vacuum: np.ndarray
    vacuum_kpa: np.ndarray
    sealed_at_abort: np.ndarray | None
    vacuum_at_abort: np.ndarray | None
    payload_at_abort_kg: float | None
    grasp_s: float
    abort_s: float


def check_failed_lift(w: LiftWindow, *, drop: DropConfig, missed: MissedPickConfig) -> DetectorResult:
    """QA's verdict on an attempt whose lift failed (see the module docstring)."""
    cups = np.asarray(w.cup_mask, bool)
    signals: dict[str, SignalValue] = {'lift_s': round(w.abort_s - w.grasp_s, 3), 'payload_kg': w.payload_at_abort_kg}
    if w.held_at_grasp is None:
        return suspect(NAME, 'no cup data at the grasp', **signals)
    held = np.asarray(w.held_at_grasp, bool) & cups
    signals['cups_held_at_grasp'] = int(held.sum())
    if not held.any():
        return DetectorResult(NAME, 'missed', ('no commanded cup held at the grasp',), signals)
    if len(w.t_vacuum):
        onset = vacuum_loss_onset(w.t_vacuum, w.vacuum_kpa, held, drop)
        signals['vacuum_loss_at_s'] = onset
        if onset is not None:
            return DetectorResult(NAME, 'drop', (f'every held cup lost vacuum at t={onset:.2f} s, before the lift '
                                                 'was given up',), signals)
    hold = holding(w.sealed_at_abort, w.vacuum_at_abort, missed.seal_vacuum_kpa)
    if hold is None:
        return suspect(NAME, 'no vacuum or seal data at the failed lift', **signals)
    n_hold = int((hold & cups).sum())
    signals['cups_holding'] = n_hold
    if n_hold == 0:
        return DetectorResult(NAME, 'drop', ('no cup held any more when the lift was given up',), signals)
    payload = w.payload_at_abort_kg
    if payload is None:
        return suspect(NAME, 'no payload data at the failed lift', **signals)
    if payload < missed.min_payload_kg:
        return DetectorResult(NAME, 'missed', (f'{n_hold} cups hold but the wrist feels {payload:.3f} kg: the package '
                                               'had not come up when the lift was given up',), signals)
    limit = pinned_limit_kg(n_hold, missed)
    if payload >= limit:
        return DetectorResult(NAME, 'missed', (f'pinned: the wrist feels {payload:.2f} kg, the {n_hold} holding cups\' '
                                               f'pull limit is {limit:.2f} kg',), {**signals, 'pinned': True})
    return DetectorResult(NAME, 'ok', ('the package was on the cups when the controller let go of it after the '
                                       'failed lift',), signals)
