"""What to do after a QA verdict: recover on its own, or call a human and keep working where safe.

A pure state machine. Per verdict:

==============  ==========================================================================
ok              nothing (the package's failure count is cleared)
double_pick     put the packages back and re-pick one (``put_back_and_repick``); found after
                the arm left the pile → ``rework_spot`` (set ``double_pick_action`` to always
                use the rework spot)
drop            ``reperceive``: look again and re-pick if the package is still reachable
missed          ``reperceive`` and retry another target
suspect         ``verify`` (look/weigh again before placing); ``max_consecutive_suspect`` in a
                row → alert (the sensors are not trustworthy), cell paused
misplace        ``call_human``: the drive robot must not leave with a wrong load
lost            (package fell off the cell, reported by the controller) ``call_human``
==============  ==========================================================================

After ``max_failures_per_package`` failed attempts on the same package the policy calls a human,
marks the package to be skipped and lets the cell continue with other packages. ``acknowledge``
clears every alert, forgets the failures of the alerted packages and resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

from robin_core.records import RecoveryAction, Verdict
from robin_qa.config_fields import setting
from robin_qa.result import FAULTS


@dataclass(frozen=True)
class RecoveryConfig:
    """Limits of the recovery policy."""

    max_failures_per_package: int = setting(3, 'failed attempts on one package before a human is called', 1, 100)
    max_consecutive_suspect: int = setting(5, 'suspect verdicts in a row before a human is called', 1, 1000)
    double_pick_action: str = setting('put_back_and_repick', 'recovery of a double pick found at the lift',
                                      choices=('put_back_and_repick', 'rework_spot'))
    pause_on_lost: bool = setting(False, 'pause the cell (not only alert) when a package fell off the cell')


@dataclass(frozen=True)
class Alert:
    """Why a human is needed.

    Attributes:
        reason: one line for the operator.
        package_id: the package concerned, or None (cell-level problem).
        record_id: the pick record that raised it.
        pause_cell: whether the cell must stop picking until acknowledged.
    """

    reason: str
    package_id: str | None
    record_id: str
    pause_cell: bool


@dataclass(frozen=True)
class RecoveryDecision:
    """The policy's answer to one verdict.

    Attributes:
        action: what the controller should do next.
        alert: an alert was raised by this decision.
        reason: why this action.
        failures: failed attempts on this package so far (this one included).
        skip_package: leave this package alone until the alert is acknowledged.
        pause_cell: stop picking until acknowledged.
        hold_drive_robot: do not dispatch the drive robot at the station.
        retry_other_target: prefer another target for the next pick.
    """

    action: RecoveryAction
    alert: bool = False
    reason: str = ''
    failures: int = 0
    skip_package: bool = False
    pause_cell: bool = False
    hold_drive_robot: bool = False
    retry_other_target: bool = False


class RecoveryPolicy:
    """Tracks failures per package and active alerts; :meth:`decide` is called once per verdict."""

    def __init__(self, config: RecoveryConfig | None = None) -> None:
        self.config = config or RecoveryConfig()
        self._failures: dict[str, set[str]] = {}  # package id -> failed record ids
        self._alerts: list[Alert] = []
        self._skipped: set[str] = set()
        self._consecutive_suspect = 0
        self._suspect_records: set[str] = set()

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return tuple(self._alerts)

    @property
    def alert_active(self) -> bool:
        return bool(self._alerts)

    @property
    def paused(self) -> bool:
        return any(a.pause_cell for a in self._alerts)

    @property
    def skipped_packages(self) -> frozenset[str]:
        return frozenset(self._skipped)

    def failures(self, package_id: str) -> int:
        return len(self._failures.get(package_id, ()))

    def decide(
        self, record_id: str, package_id: str, verdict: Verdict, *, after_transfer: bool = False, final: bool = True,
        placed: bool = False,
    ) -> RecoveryDecision:
        """Choose the recovery for ``verdict`` on ``record_id`` (an attempt on ``package_id``).

        Args:
            record_id: the pick record; several verdicts of one record count as one failure.
            package_id: the physical package (stable across re-picks).
            verdict: the combined QA verdict so far.
            after_transfer: the verdict came after the arm left the pile (double pick → rework spot).
            final: the attempt is over; only a final ``ok`` clears the package's failure count (an ``ok``
                at the grasp can still end in a drop).
            placed: the verdict came from the placement check: the packages are on the drive robot.
        """
        if verdict in FAULTS:
            self._failures.setdefault(package_id, set()).add(record_id)
        n = self.failures(package_id)
        if verdict == 'suspect':
            if record_id not in self._suspect_records:
                self._suspect_records.add(record_id)
                self._consecutive_suspect += 1
        elif verdict != 'not_run':
            self._consecutive_suspect = 0
            self._suspect_records.clear()

        if verdict == 'misplace' or (verdict == 'double_pick' and placed):
            what = 'misplaced on' if verdict == 'misplace' else 'placed together with another package on'
            why = f'package {package_id} {what} the drive robot'
            return self._raise(Alert(why, package_id, record_id, False), n, hold_drive_robot=True)
        if verdict in FAULTS and n >= self.config.max_failures_per_package:
            self._skipped.add(package_id)
            why = f'package {package_id} failed {n} times (last: {verdict})'
            return self._raise(Alert(why, package_id, record_id, False), n, skip_package=True)
        if verdict == 'suspect' and self._consecutive_suspect >= self.config.max_consecutive_suspect:
            why = f'{self._consecutive_suspect} suspect verdicts in a row: QA signals unreliable'
            return self._raise(Alert(why, None, record_id, True), n, pause_cell=True)
        if verdict == 'double_pick':
            action: RecoveryAction = 'rework_spot' if after_transfer else self.config.double_pick_action  # type: ignore[assignment]
            return RecoveryDecision(action, reason='double pick', failures=n)
        if verdict == 'drop':
            return RecoveryDecision('reperceive', reason='dropped in transfer: re-perceive, re-pick if reachable',
                                    failures=n)
        if verdict == 'missed':
            return RecoveryDecision('reperceive', reason='nothing lifted: retry another target', failures=n,
                                    retry_other_target=True)
        if verdict == 'suspect':
            return RecoveryDecision('verify', reason='suspect signals: verify before placing', failures=n)
        if verdict == 'ok' and final:
            self._failures.pop(package_id, None)
        return RecoveryDecision('none', failures=n)

    def package_lost(self, record_id: str, package_id: str, reason: str = 'fell off the cell') -> RecoveryDecision:
        """The controller reports an unrecoverable state: the package left the cell."""
        self._failures.setdefault(package_id, set()).add(record_id)
        pause = bool(self.config.pause_on_lost)
        alert = Alert(f'package {package_id} {reason}', package_id, record_id, pause)
        return self._raise(alert, self.failures(package_id), pause_cell=pause)

    def unaccounted(self, record_id: str, reason: str) -> RecoveryDecision:
        """Vision accounting found a package gone from the cell (knocked off, fell after a drop)."""
        pause = bool(self.config.pause_on_lost)
        return self._raise(Alert(reason, None, record_id, pause), 0, pause_cell=pause)

    def acknowledge(self) -> tuple[Alert, ...]:
        """A human handled the alerts: clear them, forget the alerted packages' failures, resume."""
        cleared = tuple(self._alerts)
        for a in cleared:
            if a.package_id is not None:
                self._failures.pop(a.package_id, None)
                self._skipped.discard(a.package_id)
        self._alerts.clear()
        self._consecutive_suspect = 0
        self._suspect_records.clear()
        return cleared

    def _raise(self, alert: Alert, failures: int, **flags: bool) -> RecoveryDecision:
        if alert not in self._alerts:  # a later event of the same record repeats, not re-raises
            self._alerts.append(alert)
        return RecoveryDecision('call_human', alert=True, reason=alert.reason, failures=failures, **flags)
