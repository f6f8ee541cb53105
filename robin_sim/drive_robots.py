"""Drive robots serving the place station: dock, collect what lands on the tray, dwell, leave, come back.

A plain state machine over positions; the :class:`~robin_sim.simulation.Simulation` moves the
mocap bodies, senses the tray (which packages rest on it, the load cell) and carries the loaded
packages kinematically while a robot drives away (a teleported mocap tray does not carry loads
by friction in MuJoCo).

While a robot is docked (``waiting`` with an empty tray, ``loaded`` once something rests on it)
every package that comes to rest on its tray is counted — a double pick released at once counts
two. The robot leaves ``dwell_s`` after the last package settled, and the next one docks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Phase(StrEnum):
    QUEUED = 'queued'  #: parked out of the cell, next in line
    ARRIVING = 'arriving'
    WAITING = 'waiting'  #: docked at the station, tray empty
    LOADED = 'loaded'  #: docked, package(s) on the tray, dwelling before leaving
    LEAVING = 'leaving'


DOCKED = (Phase.WAITING, Phase.LOADED)


@dataclass
class DriveRobot:
    """One robot's state. Positions are the tray top centre [m] in base_link."""

    name: str
    phase: Phase
    pos: np.ndarray
    carried: list[int] = field(default_factory=list)  #: package ids on the tray, in landing order
    timer: float = 0.0  #: [s] time in the current phase (LOADED: since the last package settled)
    loaded_s: float = 0.0  #: [s] time since it became LOADED
    trips: int = 0
    load_kg: float = 0.0  #: [kg] load cell; frozen at departure while leaving, 0 when out of the cell

    @property
    def at_station(self) -> bool:
        """Docked at the place station (empty or loaded)."""
        return self.phase in DOCKED


@dataclass(frozen=True)
class Delivery:
    """One finished trip: what a robot carried out of the cell."""

    robot: str
    trip: int  #: 1-based trip number of this robot
    package_ids: tuple[int, ...]
    departed_s: float  #: [s] sim time it left the station
    delivered_s: float  #: [s] sim time it left the cell
    load_kg: float  #: [kg] load cell reading at departure

    def to_json(self) -> dict[str, object]:
        return {'robot': self.robot, 'trip': self.trip, 'package_ids': list(self.package_ids),
                'departed_time': round(self.departed_s, 4), 'delivered_time': round(self.delivered_s, 4),
                'load_kg': round(self.load_kg, 4)}


@dataclass(frozen=True)
class StationGeometry:
    """Where robots stop and how they move."""

    tray_top: np.ndarray  #: (3,) [m] tray centre at the station
    tray_size: tuple[float, float]  #: [m]
    approach: float = 3.0  #: [m] distance robots come from / go to (along +y)
    speed: float = 1.0  #: [m/s]
    dwell_s: float = 1.0  #: [s] wait after the last package settled before leaving
    tray_height: float = 0.6  #: [m] packages with their centre up to this high above the tray count as on it
    max_settle_s: float = 5.0  #: [s] after this long loaded, a still-moving package no longer holds the robot


class DriveRobotFleet:
    """Robots take turns at the station; at most one is arriving or docked at a time."""

    def __init__(self, names: tuple[str, ...], geometry: StationGeometry) -> None:
        self.geometry = geometry
        g = geometry
        self.robots = [DriveRobot(n, Phase.QUEUED, self._queue_pos(k)) for k, n in enumerate(names)]
        if self.robots:
            self.robots[0].phase = Phase.WAITING
            self.robots[0].pos = g.tray_top.copy()
        self.delivered: dict[int, str] = {}  #: package id -> robot that carried it away
        self.deliveries: list[Delivery] = []
        self._departed_s: dict[str, float] = {}
        self.time = 0.0  #: [s] advanced by :meth:`update`

    def _queue_pos(self, k: int) -> np.ndarray:
        return self.geometry.tray_top + np.array([0.0, -self.geometry.approach - 0.7 * k, 0.0])

    def at_station(self) -> DriveRobot | None:
        """The robot docked at the station (waiting or loaded), if any."""
        return next((r for r in self.robots if r.phase in DOCKED), None)

    def on_tray(self, pos: np.ndarray, margin: float = 0.0) -> np.ndarray | bool:
        """Whether package centres ``pos`` [m] ((3,) or (N, 3)) lie in the station tray volume.

        ``margin`` [m] widens the footprint (hysteresis for packages already counted).
        """
        g = self.geometry
        p = np.asarray(pos, dtype=float)
        d = np.abs(p[..., :2] - g.tray_top[:2])
        inside = ((d[..., 0] < g.tray_size[0] / 2 + margin) & (d[..., 1] < g.tray_size[1] / 2 + margin)
                  & (p[..., 2] > g.tray_top[2] - 0.02) & (p[..., 2] < g.tray_top[2] + g.tray_height))
        return bool(inside) if p.ndim == 1 else inside

    def sense_tray(self, resting: Sequence[int], load_kg: float, settling: bool = False) -> None:
        """Update the docked robot from the station's sensing.

        Args:
            resting: ids of the packages resting on its tray now (any order; earlier ones keep
                their place in ``carried``).
            load_kg: [kg] its load cell reading.
            settling: something on the tray is still moving (the robot does not leave yet).
        """
        robot = self.at_station()
        if robot is None:
            return
        now = {int(i) for i in resting}
        kept = [i for i in robot.carried if i in now]
        added = sorted(now - set(kept))
        robot.carried = kept + added
        robot.load_kg = float(load_kg)
        if added or (settling and robot.loaded_s < self.geometry.max_settle_s):
            robot.timer = 0.0  # dwell counts from the last package that settled
        if robot.carried and robot.phase == Phase.WAITING:
            robot.phase, robot.timer, robot.loaded_s = Phase.LOADED, 0.0, 0.0
        elif not robot.carried and robot.phase == Phase.LOADED:
            robot.phase, robot.timer = Phase.WAITING, 0.0  # taken back off the tray

    def load(self, package_id: int) -> None:
        """The docked robot takes ``package_id`` (without tray sensing; used by scripts and tests)."""
        robot = self.at_station()
        if robot is not None and package_id not in robot.carried:
            robot.carried.append(int(package_id))
            if robot.phase == Phase.WAITING:
                robot.phase, robot.loaded_s = Phase.LOADED, 0.0
            robot.timer = 0.0

    def update(self, dt: float) -> tuple[list[DriveRobot], list[Delivery]]:
        """Advance ``dt`` [s].

        Returns:
            (robots that just left the station, deliveries of robots that just left the cell).
        """
        g = self.geometry
        self.time += dt
        departed: list[DriveRobot] = []
        done: list[Delivery] = []
        for robot in self.robots:
            robot.timer += dt
            robot.loaded_s += dt
            if robot.phase == Phase.LOADED and robot.timer >= g.dwell_s:
                robot.phase, robot.timer = Phase.LEAVING, 0.0
                self._departed_s[robot.name] = self.time
                departed.append(robot)
                self._call_next(robot)
            elif robot.phase == Phase.LEAVING:
                robot.pos = robot.pos + np.array([0.0, g.speed * dt, 0.0])
                if robot.pos[1] >= g.tray_top[1] + g.approach:
                    robot.trips += 1
                    delivery = Delivery(robot.name, robot.trips, tuple(robot.carried),
                                        self._departed_s.pop(robot.name, self.time), self.time, robot.load_kg)
                    done.append(delivery)
                    self.deliveries.append(delivery)
                    for pid in robot.carried:
                        self.delivered[pid] = robot.name
                    robot.carried = []
                    robot.load_kg = 0.0
                    robot.phase, robot.timer = Phase.QUEUED, 0.0
                    robot.pos = self._queue_pos(len(self.robots))
            elif robot.phase == Phase.ARRIVING:
                robot.pos = robot.pos + np.array([0.0, g.speed * dt, 0.0])
                if robot.pos[1] >= g.tray_top[1]:
                    robot.pos = g.tray_top.copy()
                    robot.phase, robot.timer = Phase.WAITING, 0.0
        if self.robots and all(r.phase == Phase.QUEUED for r in self.robots):
            self._call_next(None)  # a single robot comes back by itself
        return departed, done

    def _call_next(self, leaving: DriveRobot | None) -> None:
        queued = [r for r in self.robots if r.phase == Phase.QUEUED and r is not leaving]
        if queued:
            nxt = min(queued, key=lambda r: -r.pos[1])
            nxt.phase, nxt.timer = Phase.ARRIVING, 0.0
            nxt.pos = self._queue_pos(0)
        # the leaving robot re-queues when it is out of the cell (see update)

    def robot_of(self, package_id: int) -> DriveRobot | None:
        """The robot whose tray holds ``package_id`` now (docked or leaving), if any."""
        return next((r for r in self.robots if package_id in r.carried), None)

    def state(self) -> list[dict[str, object]]:
        """JSON-friendly state of every robot (the ``place_station/state`` robots list)."""
        return [{'name': r.name, 'phase': str(r.phase), 'at_station': r.at_station,
                 'position': [round(float(v), 4) for v in r.pos], 'carrying': list(r.carried),
                 'package_count': len(r.carried), 'load_kg': round(r.load_kg, 4), 'trips': r.trips}
                for r in self.robots]
