"""Low-rate records exchanged as JSON in ``std_msgs/String``: pick records and QA events.

Each record carries a ``schema`` string (``name/version``) and is validated by a pydantic model
on both ends: the publisher cannot send a malformed record, and a subscriber gets a clear
:class:`RecordError` instead of a KeyError deep in its logic. Add fields with defaults; bump the
version only for incompatible changes.
"""

from __future__ import annotations

import json
import uuid
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from std_msgs.msg import String

Verdict = Literal['ok', 'double_pick', 'drop', 'misplace', 'missed', 'suspect', 'not_run']
Outcome = Literal['in_progress', 'succeeded', 'failed', 'aborted', 'interrupted']
RecoveryAction = Literal[
    'none', 'repick', 'put_back_and_repick', 'rework_spot', 'reperceive', 'advance_belt', 'call_human',
    'verify',  # QA: suspect verdict; check again (re-perceive / re-weigh) before placing
]


class RecordError(ValueError):
    """A record message that is not valid JSON or does not match its schema."""


class _Record(BaseModel):
    model_config = ConfigDict(extra='forbid', frozen=False)


class Pose(_Record):
    frame_id: str = 'base_link'
    position: tuple[float, float, float]  # [m]
    orientation: tuple[float, float, float, float]  # quaternion x, y, z, w


class Candidate(_Record):
    instance_id: int
    score: float
    cup_mask: int = Field(ge=0, le=255)  # bit i = cup i on
    reason: str = ''  # why it was ranked as it was / rejected


class TargetInfo(_Record):
    instance_id: int
    package_type: str
    score: float  # instance confidence
    type_score: float
    height_top_m: float | None = None
    expected_mass_kg: float | None = None


class QaSignals(_Record):
    """What the QA detectors looked at (all optional: missing data is itself a signal)."""

    cup_vacuum_kpa: list[float] | None = None
    cup_sealed: list[bool] | None = None
    payload_kg: float | None = None
    expected_mass_kg: float | None = None
    vision_removed_instances: int | None = None
    joint_state_age_s: float | None = None
    notes: list[str] = Field(default_factory=list)
    detector_signals: dict[str, float | int | bool | str | None] = Field(default_factory=dict)  # '<detector>.<name>'


class PickRecord(_Record):
    """Everything needed to audit one pick attempt later."""

    schema_: Literal['robin.pick_record/1'] = Field('robin.pick_record/1', alias='schema')
    record_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    cell_id: str = 'cell_0'
    attempt: int = 1  # attempts on the same physical package (re-picks increase it)
    package_id: str | None = None  # the controller's stable id of the physical package
    sim_time_s: float | None = None  # when the pick started (ROS time of the cell) [s]
    wall_time: str | None = None  # ISO 8601 UTC
    color_stamp_ns: int | None = None
    depth_stamp_ns: int | None = None
    model_version: str | None = None
    model_sha256: str | None = None
    segmenter: Literal['model', 'geometric', 'none'] = 'none'
    target: TargetInfo | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    cup_mask: int = Field(0, ge=0, le=255)
    unhealthy_cups: list[int] = Field(default_factory=list)  # cups the planner excluded for this decision
    option_rank: int | None = Field(None, ge=0)  # which grasp of the decision: 0 = chosen, k = k-th alternative
    suction_pose: Pose | None = None
    plan: dict[str, float | str | int | None] = Field(default_factory=dict)  # backend, planning_ms, segment durations
    timings_ms: dict[str, float] = Field(default_factory=dict)  # decision, perception, grasp, motion_plan, cycle
    qa_signals: QaSignals | None = None
    verdict: Verdict = 'not_run'
    verdict_reasons: list[str] = Field(default_factory=list)
    recovery: RecoveryAction = 'none'
    outcome: Outcome = 'in_progress'
    failure_reason: str = ''
    states: list[tuple[str, float]] = Field(default_factory=list)  # (state name, entered at sim time [s])
    scene: dict[str, float | int | str] = Field(default_factory=dict)  # clutter etc. for fleet metrics

    model_config = ConfigDict(extra='forbid', populate_by_name=True)


class QaEvent(_Record):
    """A QA verdict or alert, published as soon as it is known."""

    schema_: Literal['robin.qa_event/1'] = Field('robin.qa_event/1', alias='schema')
    record_id: str
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    recovery: RecoveryAction = 'none'
    alert: bool = False
    sim_time_s: float | None = None
    phase: str | None = None  # pick phase the verdict is for (see docs/qa.md)
    package_id: str | None = None  # the controller's id of the physical package
    final: bool = False  # last event of this record
    signals: QaSignals | None = None
    detectors: dict[str, Verdict] = Field(default_factory=dict)  # each detector's own verdict

    model_config = ConfigDict(extra='forbid', populate_by_name=True)


R = TypeVar('R', bound=BaseModel)


class ModelInfo(_Record):
    """Which segmenter the perception node runs (``perception/model_info``, latched)."""

    schema_: Literal['robin.model_info/1'] = Field('robin.model_info/1', alias='schema')
    segmenter: Literal['model', 'geometric']
    model_version: str | None = None
    model_sha256: str | None = None
    model_ref: str = ''  #: registry alias or version it was resolved from ('' when none)
    registry_version: str | None = None

    model_config = ConfigDict(extra='forbid', populate_by_name=True)


def to_json(record: BaseModel) -> str:
    return record.model_dump_json(by_alias=True)


def from_json(text: str | bytes, model: type[R]) -> R:
    """Parse and validate; raises RecordError naming the schema and the first problems."""
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        problems = '; '.join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise RecordError(f'invalid {model.__name__}: {problems}') from exc


def to_msg(record: BaseModel) -> String:
    return String(data=to_json(record))


def from_msg(msg: String, model: type[R]) -> R:
    return from_json(msg.data, model)


def schema_of(text: str) -> str | None:
    """The ``schema`` field of a JSON record, or None when absent/unreadable (for routing)."""
    try:
        value = json.loads(text).get('schema')
    except (json.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None
