"""When the simulator's feeder drops the next pile (plain Python).

The feeder drops a pile when nothing is left in or before the pick area. A package can lie there
and never come, though: wedged against the rail by one knocked half off the belt, it counts as
"coming" while the belt runs under it, and the cell advances an empty belt forever (a 300-pick
fault run stalled so after 166 attempts). So the feeder also drops when the leading package of
what is coming has not advanced while the belt ran for ``stall_belt_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class FeederWatch:
    """Decides, once per feeder check, whether to drop the next pile.

    Attributes:
        stall_belt_s: belt running time without the lead package advancing that counts as a jam [s].
        min_advance_m: lead movement that counts as coming [m].
    """

    stall_belt_s: float = 20.0
    min_advance_m: float = 0.02
    _lead: float | None = None
    _belt_s: float = 0.0
    jams: int = 0

    def due(self, coming_flow_m: Sequence[float], belt_run_s: float) -> bool:
        """Whether to drop a pile now.

        Args:
            coming_flow_m: positions along the belt flow of the packages still to come [m].
            belt_run_s: how long the belt ran since the last check [s].
        """
        if not coming_flow_m:
            self._lead, self._belt_s = None, 0.0
            return True
        lead = max(coming_flow_m)
        if self._lead is None or abs(lead - self._lead) > self.min_advance_m:
            self._lead, self._belt_s = lead, 0.0  # it moves (or was picked and another leads)
            return False
        self._belt_s += belt_run_s
        if self._belt_s < self.stall_belt_s:
            return False
        self.jams += 1
        self._lead, self._belt_s = None, 0.0
        return True
