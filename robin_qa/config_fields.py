"""Config dataclass fields that carry a description and a valid range, shared by code and ROS params.

Each detector declares its thresholds as ``setting(...)`` fields; the node turns every field into a
ROS parameter ``<section>.<field>`` with the same description and range, so the numbers live in one
place (the dataclass defaults, overridden by ``config/qa.yaml``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

C = TypeVar('C')


class ConfigError(ValueError):
    """A config value outside its documented range."""


@dataclass(frozen=True)
class SettingInfo:
    """Description and range of one config field."""

    name: str
    default: Any
    description: str
    low: float | None
    high: float | None
    choices: tuple[str, ...] | None = None


def setting(
    default: Any,
    description: str,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with a description (units in brackets), an inclusive range or allowed choices."""
    meta = {'description': description, 'low': low, 'high': high, 'choices': choices}
    return dataclasses.field(default=default, metadata=meta)


def settings_of(cls: type) -> list[SettingInfo]:
    """The documented fields of a config dataclass, in declaration order."""
    return [
        SettingInfo(f.name, f.default, f.metadata.get('description', ''), f.metadata.get('low'),
                    f.metadata.get('high'), f.metadata.get('choices'))
        for f in dataclasses.fields(cls)
    ]


def build_config(cls: type[C], values: Mapping[str, Any]) -> C:
    """Build ``cls`` from ``values`` (missing keys keep defaults), checking ranges.

    Raises:
        ConfigError: an unknown key or a value outside its range.
    """
    known = {s.name: s for s in settings_of(cls)}
    if unknown := sorted(set(values) - set(known)):
        raise ConfigError(f'{cls.__name__}: unknown setting(s) {", ".join(unknown)}')
    for name, value in values.items():
        if problem := check_value(known[name], value):
            raise ConfigError(f'{cls.__name__}.{name}: {problem}')
    return cls(**values)


def check_value(info: SettingInfo, value: Any) -> str | None:
    """Why ``value`` is not acceptable for ``info``, or None."""
    if isinstance(info.default, bool) != isinstance(value, bool) or isinstance(info.default, str) != isinstance(
        value, str
    ):
        return f'expected {type(info.default).__name__}, got {value!r}'
    if info.choices and value not in info.choices:
        return f"'{value}' is not one of {', '.join(info.choices)}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if info.low is not None and value < info.low:
            return f'{value} is below {info.low}'
        if info.high is not None and value > info.high:
            return f'{value} is above {info.high}'
    return None
