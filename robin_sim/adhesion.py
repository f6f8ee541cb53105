"""Fault: two packages stuck together (tape, a label, static on poly mailers) — a real double pick.

Forcing every cup on (the naive baseline) rarely lifts two packages in this simulator: a lip over a
neighbour at another height does not seal. The common real cause is adhesion between packages, so
this fault models it: once armed, the next time the gripper starts holding a package A, a package B
touching A at that moment sticks to it. B is held at its pose relative to A by a stiff, damped
spring whose force acts on B and, equal and opposite, on A — so the gripper carries B's weight
(the wrist feels it), B comes up and swings with A, and leaves the pile with it. The bond holds
while a cup pulls on A and breaks when the cups let go, or when it is stretched beyond
``BREAK_STRETCH_M`` (B falls: a partial double pick).

The spring is scaled by B's mass (natural frequency ``FREQUENCY_HZ``), so light envelopes and
heavy boxes behave alike and the explicit force stays stable at the physics time step.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

FREQUENCY_HZ = 6.0  #: natural frequency of B on its bond [Hz]
DAMPING_RATIO = 0.8  #: of the translational spring [-]
ANGULAR_DAMPING_PER_S = 8.0  #: relative spin damping, × B's rotational inertia [1/s]
BREAK_STRETCH_M = 0.05  #: the bond breaks when stretched this far [m]


@dataclass
class Bond:
    """An active bond: package ids, their bodies, and B's centre in A's body frame."""

    a: int
    b: int
    body_a: int
    body_b: int
    offset: np.ndarray  #: (3,) B's centre of mass in A's frame [m]


class Adhesion:
    """Arms, forms, applies and breaks one bond at a time."""

    def __init__(self) -> None:
        self.armed = False
        self.bond: Bond | None = None
        self.formed: list[tuple[float, int, int]] = []  #: (sim time, a, b) of every bond formed
        self._applied: list[tuple[int, np.ndarray]] = []

    def arm(self) -> None:
        """The next package the gripper takes brings a touching neighbour with it."""
        self.armed = True

    def disarm(self) -> None:
        self.armed = False

    @property
    def stuck_package(self) -> int | None:
        """Id of the package hanging on the held one (None without a bond)."""
        return None if self.bond is None else self.bond.b

    def step(self, model: mujoco.MjModel, data: mujoco.MjData, geom_to_package: np.ndarray,
             gripper_held: set[int]) -> None:
        """Once per physics step, before ``mj_step``: update the bond and write its force pair.

        ``gripper_held``: ids of the packages a cup pulls on now. The previous step's force pair is
        taken out of ``data.xfrc_applied`` first, so other writers (the suction pulls) are kept.
        """
        for body, wrench in self._applied:
            data.xfrc_applied[body] -= wrench
        self._applied = []
        if self.bond is None and self.armed and gripper_held:
            self.bond = self._form(model, data, geom_to_package, gripper_held)
            if self.bond is not None:
                self.armed = False
                self.formed.append((float(data.time), self.bond.a, self.bond.b))
        bond = self.bond
        if bond is None:
            return
        if bond.a not in gripper_held:  # the cups let go of A: the bond goes with it
            self.bond = None
            return
        rot_a = data.xmat[bond.body_a].reshape(3, 3)
        target = data.xipos[bond.body_a] + rot_a @ bond.offset
        stretch = target - data.xipos[bond.body_b]
        if np.linalg.norm(stretch) > BREAK_STRETCH_M:
            self.bond = None
            return
        vel_a, vel_b = np.zeros(6), np.zeros(6)  # [angular; linear] at the centre of mass, world frame
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, bond.body_a, vel_a, 0)
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, bond.body_b, vel_b, 0)
        m_b = float(model.body_mass[bond.body_b])
        omega = 2.0 * np.pi * FREQUENCY_HZ
        # target-point velocity of A's frame (rigid motion) against B's centre velocity
        v_target = vel_a[3:] + np.cross(vel_a[:3], target - data.xipos[bond.body_a])
        force = m_b * (omega * omega * stretch + 2.0 * DAMPING_RATIO * omega * (v_target - vel_b[3:]))
        inertia = float(np.mean(model.body_inertia[bond.body_b]))
        torque = ANGULAR_DAMPING_PER_S * inertia * (vel_a[:3] - vel_b[:3])
        lever = data.xipos[bond.body_b] - data.xipos[bond.body_a]
        on_b = np.concatenate([force, torque])
        on_a = np.concatenate([-force, -torque - np.cross(lever, force)])  # equal and opposite, about A's centre
        for body, wrench in ((bond.body_b, on_b), (bond.body_a, on_a)):
            data.xfrc_applied[body] += wrench
            self._applied.append((body, wrench))

    def clear(self, data: mujoco.MjData | None = None) -> None:
        """Drop the bond and the arming (e.g. before a recompile); takes its force out of ``data``."""
        if data is not None:
            for body, wrench in self._applied:
                data.xfrc_applied[body] -= wrench
        self._applied = []
        self.bond = None
        self.armed = False

    @staticmethod
    def _form(model: mujoco.MjModel, data: mujoco.MjData, geom_to_package: np.ndarray,
              gripper_held: set[int]) -> Bond | None:
        """A bond between a held package and a package touching it (the first contact found)."""
        for i in range(data.ncon):
            con = data.contact[i]
            p1, p2 = int(geom_to_package[con.geom1]), int(geom_to_package[con.geom2])
            if p1 <= 0 or p2 <= 0 or p1 == p2:
                continue
            for a, ga, b, gb in ((p1, con.geom1, p2, con.geom2), (p2, con.geom2, p1, con.geom1)):
                if a in gripper_held and b not in gripper_held:
                    body_a, body_b = int(model.geom_bodyid[ga]), int(model.geom_bodyid[gb])
                    rot_a = data.xmat[body_a].reshape(3, 3)
                    offset = rot_a.T @ (data.xipos[body_b] - data.xipos[body_a])
                    return Bond(a, b, body_a, body_b, offset)
        return None
