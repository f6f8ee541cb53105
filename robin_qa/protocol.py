"""JSON messages of the QA node's own interfaces (``std_msgs/String``), validated on both ends.

- ``cell/pick_phase`` (:class:`PickPhase`, cell controller → QA): where a pick attempt is.
- ``qa/alert`` (:class:`QaAlert`, QA → anyone, latched): whether a human is needed.

Use :func:`robin_core.records.to_msg` / :func:`robin_core.records.from_msg` to convert.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PhaseName = Literal['approach', 'free_air', 'grasped', 'lifted', 'transferring', 'released', 'lost', 'aborted']


class _Message(BaseModel):
    model_config = ConfigDict(extra='forbid', populate_by_name=True)


class PickPhase(_Message):
    """One step of a pick attempt, sent by the cell controller when it happens.

    Phases: ``approach`` (empty gripper above the pile, suction off: wrench tare),
    ``free_air`` (cups on with nothing under them: blocked-cup check), ``grasped`` (cups on, in
    contact), ``lifted`` (held still after the lift: the main verify step), ``transferring`` (arm
    left the pile), ``released`` (release command sent over the drive robot), ``lost`` (the package
    left the cell: unrecoverable), ``aborted`` (attempt ended without a release; after a failed lift
    it comes as the cups go off, and QA judges what they had then: ``robin_qa/failed_lift.py``).
    """

    schema_: Literal['robin.pick_phase/1'] = Field('robin.pick_phase/1', alias='schema')
    record_id: str
    phase: PhaseName
    package_id: str | None = None  # the controller's stable id of the physical package (default: target id)
    attempt: int = 1
    target_instance_id: int | None = None  # row id in the instance table the target was chosen from
    instances_stamp_s: float | None = None  # header stamp of that instance table [s]
    expected_mass_kg: float | None = Field(None, gt=0.0)
    cup_mask: int = Field(0, ge=0, le=255)  # cups switched on (bit i = cup i)
    target_cup_mask: int | None = Field(None, ge=0, le=255)  # cups whose footprint lies on the target
    drive_robot_id: str | None = None  # robot placed on (released); default: the one at the station
    stamp_s: float | None = None  # ROS time of the phase [s]; default: receipt time
    # the grasped package's (length, width, thickness) [m] and its top centre x, y [m] and heading
    # [rad] in the tcp frame: the grasp planner masks that footprint under a carrying arm (QA does not use them)
    package_size_m: list[float] | None = Field(None, min_length=3, max_length=3)
    package_in_tool: list[float] | None = Field(None, min_length=3, max_length=3)

    def package_key(self) -> str:
        """The package id, falling back to the target instance id, then the record id."""
        if self.package_id:
            return self.package_id
        if self.target_instance_id is not None:
            return f'instance_{self.target_instance_id}'
        return self.record_id


class AlertEntry(_Message):
    reason: str
    package_id: str | None = None
    record_id: str
    pause_cell: bool = False


class QaAlert(_Message):
    """State of the human call (latched: the latest message is the current state)."""

    schema_: Literal['robin.qa_alert/1'] = Field('robin.qa_alert/1', alias='schema')
    active: bool
    reason: str = ''  # the most recent alert's reason
    package_id: str | None = None
    record_id: str | None = None
    pause_cell: bool = False  # stop picking until acknowledged
    alerts: list[AlertEntry] = Field(default_factory=list)
    skipped_packages: list[str] = Field(default_factory=list)  # leave these alone until acknowledged
    stamp_s: float | None = None
