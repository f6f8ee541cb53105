"""The pick list's filters and paging, validated once for the store, the web app and the bench."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from robin_core.records import Outcome, Verdict

OUTCOMES: tuple[str, ...] = get_args(Outcome)
VERDICTS: tuple[str, ...] = get_args(Verdict)


class PickQuery(BaseModel):
    """Filters (all optional, combined with AND; lists are OR within themselves) and paging."""

    model_config = ConfigDict(extra='forbid')

    outcome: list[Outcome] = Field(default_factory=list)
    verdict: list[Verdict] = Field(default_factory=list)
    conf_min: float | None = Field(None, ge=0.0, le=1.0)
    conf_max: float | None = Field(None, ge=0.0, le=1.0)
    model_version: str | None = Field(None, max_length=128)
    cell: str | None = Field(None, max_length=128)
    time_from: datetime | None = None
    time_to: datetime | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=500)
    order: Literal['newest', 'oldest'] = 'newest'

    @model_validator(mode='after')
    def _ranges(self) -> PickQuery:
        if self.conf_min is not None and self.conf_max is not None and self.conf_min > self.conf_max:
            raise ValueError(f'conf_min {self.conf_min} is greater than conf_max {self.conf_max}')
        if self.time_from and self.time_to and to_ns(self.time_from) > to_ns(self.time_to):
            raise ValueError('time_from is after time_to')
        return self

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def to_ns(t: datetime) -> int:
    """Datetime -> integer ns since the epoch; naive datetimes are taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1e9)
