"""Drive robots serving the place station: arrive, wait for one package, leave, come back.

Plain state machine over positions; the simulation moves the mocap bodies and carries the taken
package kinematically (a teleported mocap tray does not carry loads by friction in MuJoCo).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Phase(StrEnum):
    QUEUED = 'queued'  #: parked out of the cell, next in line
    ARRIVING = 'arriving'
    WAITING = 'waiting'  #: at the station, tray empty
    LOADED = 'loaded'  #: package on the tray, dwelling before leaving
    LEAVING = 'leaving'


@dataclass
class DriveRobot:
    """One robot's state. Positions are the tray top centre [m] in base_link."""

    name: str
    phase: Phase
    pos: np.ndarray
    carried: list[int] = field(default_factory=list)
    timer: float = 0.0  #: [s] time in the current phase
    trips: int = 0


@dataclass(frozen=True)
class StationGeometry:
    """Where robots stop and how they move."""

    tray_top: np.ndarray  #: (3,) [m] tray centre at the station
    tray_size: tuple[float, float]  #: [m]
    approach: float = 3.0  #: [m] distance robots come from / go to (along +y)
    speed: float = 1.0  #: [m/s]
    dwell_s: float = 1.0  #: [s] wait after a package lands before leaving


class DriveRobotFleet:
    """Robots take turns at the station; exactly one is arriving or at the station at a time."""

    def __init__(self, names: tuple[str, ...], geometry: StationGeometry) -> None:
        self.geometry = geometry
        g = geometry
        self.robots = [DriveRobot(n, Phase.QUEUED, self._queue_pos(k)) for k, n in enumerate(names)]
        if self.robots:
            self.robots[0].phase = Phase.WAITING
            self.robots[0].pos = g.tray_top.copy()
        self.delivered: dict[int, str] = {}  #: package id -> robot that carried it away

    def _queue_pos(self, k: int) -> np.ndarray:
        return self.geometry.tray_top + np.array([0.0, -self.geometry.approach - 0.7 * k, 0.0])

    def at_station(self) -> DriveRobot | None:
        """The robot currently waiting for a package, if any."""
        return next((r for r in self.robots if r.phase == Phase.WAITING), None)

    def on_tray(self, pos: np.ndarray) -> bool:
        """Whether a package centre ``pos`` [m] rests within the station tray volume."""
        g = self.geometry
        d = np.abs(pos[:2] - g.tray_top[:2])
        return bool(d[0] < g.tray_size[0] / 2 and d[1] < g.tray_size[1] / 2
                    and g.tray_top[2] - 0.02 < pos[2] < g.tray_top[2] + 0.6)

    def load(self, package_id: int) -> None:
        """The waiting robot takes ``package_id`` (it leaves after the dwell time)."""
        robot = self.at_station()
        if robot is not None:
            robot.carried.append(package_id)
            robot.phase, robot.timer = Phase.LOADED, 0.0

    def update(self, dt: float) -> list[tuple[DriveRobot, list[int]]]:
        """Advance ``dt`` [s]; return (robot, packages) for every robot that just left the cell."""
        g = self.geometry
        left = []
        for robot in self.robots:
            robot.timer += dt
            if robot.phase == Phase.LOADED and robot.timer >= g.dwell_s:
                robot.phase, robot.timer = Phase.LEAVING, 0.0
                self._call_next(robot)
            elif robot.phase == Phase.LEAVING:
                robot.pos = robot.pos + np.array([0.0, g.speed * dt, 0.0])
                if robot.pos[1] >= g.tray_top[1] + g.approach:
                    left.append((robot, list(robot.carried)))
                    for pid in robot.carried:
                        self.delivered[pid] = robot.name
                    robot.carried.clear()
                    robot.trips += 1
                    robot.phase, robot.timer = Phase.QUEUED, 0.0
                    robot.pos = self._queue_pos(len(self.robots))
            elif robot.phase == Phase.ARRIVING:
                robot.pos = robot.pos + np.array([0.0, g.speed * dt, 0.0])
                if robot.pos[1] >= g.tray_top[1]:
                    robot.pos = g.tray_top.copy()
                    robot.phase, robot.timer = Phase.WAITING, 0.0
        if self.robots and all(r.phase == Phase.QUEUED for r in self.robots):
            self._call_next(None)  # a single robot comes back by itself
        return left

    def _call_next(self, leaving: DriveRobot | None) -> None:
        queued = [r for r in self.robots if r.phase == Phase.QUEUED and r is not leaving]
        if queued:
            nxt = min(queued, key=lambda r: -r.pos[1])
            nxt.phase, nxt.timer = Phase.ARRIVING, 0.0
            nxt.pos = self._queue_pos(0)
        # the leaving robot re-queues when it is out of the cell (see update)

    def state(self) -> list[dict[str, object]]:
        """JSON-friendly state of every robot."""
        return [{'name': r.name, 'phase': str(r.phase), 'position': [round(float(v), 4) for v in r.pos],
                 'carrying': list(r.carried), 'trips': r.trips} for r in self.robots]
