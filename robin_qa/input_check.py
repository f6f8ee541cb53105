"""Data-quality gate: missing or stale inputs make the verdict ``suspect`` with the reason recorded.

A verdict computed from a vacuum reading that is seconds old, or while joint states have stopped
(the arm may not be where the controller thinks), cannot be trusted either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from robin_qa.config_fields import setting
from robin_qa.result import DetectorResult, SignalValue

NAME = 'inputs'


@dataclass(frozen=True)
class InputCheckConfig:
    """Freshness limits of the QA inputs."""

    max_vacuum_age_s: float = setting(0.5, 'vacuum/seal readings older than this are stale [s]', 0.01, 60.0)
    max_joint_state_age_s: float = setting(0.5, 'joint states older than this are stale [s]', 0.01, 60.0)
    max_wrench_age_s: float = setting(0.5, 'wrist wrench older than this is stale [s]', 0.01, 60.0)


#: Signal name -> config attribute of its age limit.
_LIMITS = {
    'vacuum': 'max_vacuum_age_s',
    'sealed': 'max_vacuum_age_s',
    'joint_states': 'max_joint_state_age_s',
    'wrench': 'max_wrench_age_s',
}


def check_inputs(ages_s: Mapping[str, float | None], config: InputCheckConfig) -> DetectorResult:
    """Check that every required signal exists and is fresh.

    Args:
        ages_s: required signal name (``vacuum``, ``sealed``, ``joint_states``, ``wrench``) -> age of
            its latest sample at evaluation time [s], None when never received.
        config: age limits.

    Returns:
        ``ok`` or ``suspect`` listing every missing/stale signal.
    """
    reasons: list[str] = []
    signals: dict[str, SignalValue] = {}
    for name, age in ages_s.items():
        limit = float(getattr(config, _LIMITS[name]))
        signals[f'{name}_age_s'] = None if age is None else round(age, 3)
        if age is None:
            reasons.append(f'missing {name} data')
        elif age > limit:
            reasons.append(f'stale {name}: {age:.2f} s old (limit {limit:.2f} s)')
    return DetectorResult(NAME, 'suspect' if reasons else 'ok', tuple(reasons), signals)
