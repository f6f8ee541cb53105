"""A scripted pick for QA tests: feeds vacuum/seal/wrench/joint/station samples and phase messages."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from robin_qa.misplace import DriveRobotLoad
from robin_qa.protocol import PickPhase

SEALED_KPA, OPEN_KPA = 65.0, 6.0
G = 9.80665
DT = 0.02  # [s] sensor period


class ScriptedPick:
    """Calls ``sink(kind, t, value)`` for every sample; ``phase`` builds PickPhase messages."""

    def __init__(self, sink: Callable[[str, float, object], None], t0: float = 100.0) -> None:
        self.sink = sink
        self.t = t0
        self.joint_states = True
        self.vacuum = True
        self.station_count = 0
        self.station_robot = 'drive_0'  #: the robot docked at the place station

    def hold(self, duration: float, holding: np.ndarray, payload_kg: float, cup_mask: np.ndarray) -> None:
        """Stream samples for ``duration`` [s] with the given holding pattern and payload."""
        for _ in range(round(duration / DT)):
            self.t += DT
            vac = np.where(holding, SEALED_KPA, np.where(cup_mask, OPEN_KPA, 0.0))
            if self.vacuum:
                self.sink('vacuum', self.t, vac.astype(float))
                self.sink('sealed', self.t, vac >= 35.0)
            self.sink('force', self.t, np.array([0.0, 0.0, payload_kg * G]))
            if self.joint_states:
                self.sink('joint_states', self.t, None)
            self.sink('station', self.t, [DriveRobotLoad(self.station_robot, True, None, self.station_count)])

    def phase(self, record_id: str, phase: str, cup_mask: int = 0b1111, **kw: object) -> PickPhase:
        return PickPhase(record_id=record_id, phase=phase, cup_mask=cup_mask, stamp_s=self.t,
                         expected_mass_kg=kw.pop('expected_mass_kg', 0.3), target_instance_id=kw.pop('target', 7),
                         **kw)  # type: ignore[arg-type]
