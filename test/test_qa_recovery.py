"""Recovery policy: actions per verdict, N failures on one package -> human, acknowledge resumes."""

from __future__ import annotations

import pytest

from robin_qa.recovery_policy import RecoveryConfig, RecoveryPolicy


@pytest.mark.parametrize(
    ('verdict', 'action'),
    [('ok', 'none'), ('double_pick', 'put_back_and_repick'), ('drop', 'reperceive'), ('missed', 'reperceive'),
     ('suspect', 'verify'), ('misplace', 'call_human')],
)
def test_action_per_verdict(verdict: str, action: str) -> None:
    decision = RecoveryPolicy().decide('r1', 'pkg', verdict)  # type: ignore[arg-type]
    assert decision.action == action
    assert decision.alert == (verdict == 'misplace')


def test_double_pick_found_after_transfer_goes_to_rework_spot() -> None:
    assert RecoveryPolicy().decide('r1', 'p', 'double_pick', after_transfer=True).action == 'rework_spot'


def test_missed_retries_another_target() -> None:
    assert RecoveryPolicy().decide('r1', 'p', 'missed').retry_other_target


@pytest.mark.parametrize('n', [1, 2, 3, 5])
def test_same_package_failing_n_times_calls_a_human(n: int) -> None:
    policy = RecoveryPolicy(RecoveryConfig(max_failures_per_package=n))
    for k in range(1, n):
        d = policy.decide(f'r{k}', 'pkg_a', 'drop')
        d2 = policy.decide(f'r{k}', 'pkg_a', 'drop')  # a second event of the same attempt is not a new failure
        assert not d.alert and not d2.alert and d2.failures == k
    if n > 1:  # another package fails too (below its limit) without affecting pkg_a's count
        assert not policy.decide('x1', 'pkg_b', 'missed').alert
    last = policy.decide(f'r{n}', 'pkg_a', 'double_pick')
    assert last.alert and last.action == 'call_human' and last.skip_package
    assert not last.pause_cell  # keep working on other packages
    assert policy.alert_active and 'pkg_a' in policy.skipped_packages
    assert 'failed' in policy.alerts[0].reason
    # the cell keeps going with other packages while waiting
    assert policy.decide('y1', 'pkg_c', 'ok').action == 'none'
    assert policy.alert_active
    cleared = policy.acknowledge()
    assert len(cleared) == 1 and not policy.alert_active and policy.failures('pkg_a') == 0
    assert not policy.skipped_packages


def test_failures_on_different_packages_do_not_alert() -> None:
    policy = RecoveryPolicy(RecoveryConfig(max_failures_per_package=2))
    for k in range(10):
        assert not policy.decide(f'r{k}', f'pkg_{k}', 'drop').alert


def test_success_clears_the_package_count() -> None:
    policy = RecoveryPolicy(RecoveryConfig(max_failures_per_package=2))
    policy.decide('r1', 'p', 'missed')
    policy.decide('r2', 'p', 'ok')
    assert not policy.decide('r3', 'p', 'missed').alert


def test_package_fell_off_the_cell_is_unrecoverable() -> None:
    policy = RecoveryPolicy()
    d = policy.package_lost('r1', 'p')
    assert d.alert and d.action == 'call_human' and not d.pause_cell
    assert RecoveryPolicy(RecoveryConfig(pause_on_lost=True)).package_lost('r1', 'p').pause_cell


def test_misplace_holds_the_drive_robot() -> None:
    d = RecoveryPolicy().decide('r1', 'p', 'misplace')
    assert d.hold_drive_robot and d.alert


def test_consecutive_suspects_pause_the_cell() -> None:
    policy = RecoveryPolicy(RecoveryConfig(max_consecutive_suspect=3))
    assert not policy.decide('r1', 'a', 'suspect').alert
    assert not policy.decide('r1', 'a', 'suspect').alert  # same record counts once
    assert not policy.decide('r2', 'b', 'suspect').alert
    d = policy.decide('r3', 'c', 'suspect')
    assert d.alert and d.pause_cell and policy.paused
    policy.acknowledge()
    assert not policy.paused
    policy.decide('r4', 'd', 'ok')
    assert not policy.decide('r5', 'e', 'suspect').alert
