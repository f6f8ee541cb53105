"""8-cup suction gripper physics: per-cup seal test, vacuum model, faults and wrist wrench.

The seal is decided geometrically: 8 rays from the cup rim must hit the *same* geom, close to the
lip and nearly parallel to it. The vacuum then follows a first-order model towards "sealed",
"open" or a partial-leak level, and only a cup whose (true) vacuum reaches the seal threshold
pulls, with a force scaled by the vacuum. So a cup over an edge does not seal and gives no force,
one cup cannot hold a heavy package, and cups straddling two packages lift both.

The pull is an equal and opposite force pair (``xfrc_applied``) on the cup body and the sealed
package at the lip centre, along the cup axis. MuJoCo's ``adhesion`` actuator was tried first
(design note): with 8 cups at ~45 N its force, spread over the margin contacts of a cylinder
lip on a box face, threw the arm off its trajectory (wrist torque saturation), so it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import mujoco
import numpy as np

from robin_sim.world_builder import RAY_GEOMGROUP

RIM_RAYS = 8  #: rays per cup
RIM_FRACTION = 0.85  #: rays start at this fraction of the lip radius
RAY_BACKOFF = 0.01  #: [m] rays start this far inside the cup (behind the lip plane)
SEAL_REACH = 0.012  #: [m] a rim ray must hit within this distance beyond the lip
SEAL_FLATNESS = 0.008  #: [m] max spread of rim hit distances (tilt/wrinkle the bellows absorbs)


class CupFault(StrEnum):
    """Injectable per-cup faults."""

    NONE = 'none'
    BLOCKED = 'blocked'  #: line blocked: sensor reads high vacuum, cup holds nothing
    TORN = 'torn'  #: lip torn: never seals
    WEAKENED = 'weakened'  #: worn lip: seals with a leak, reduced force


@dataclass(frozen=True)
class VacuumModel:
    """Vacuum levels [kPa below ambient] and dynamics of one cup."""

    sealed_kpa: float = 65.0
    open_kpa: float = 6.0  #: free flow through an open cup
    blocked_kpa: float = 72.0
    seal_threshold_kpa: float = 35.0  #: the "sealed" switch point, and the force threshold
    weakened_vacuum_factor: float = 0.7
    weakened_force_factor: float = 0.35
    tau_rise_s: float = 0.06
    tau_fall_s: float = 0.04
    noise_kpa: float = 0.4

    def target(self, commanded: np.ndarray, coverage: np.ndarray, faults: list[CupFault]) -> np.ndarray:
        """Steady-state true vacuum per cup [kPa] from command, rim coverage (0..1) and faults."""
        partial = self.open_kpa + (self.sealed_kpa - self.open_kpa) * 0.5 * coverage**4
        vac = np.where(coverage >= 1.0, self.sealed_kpa, partial)
        for k, fault in enumerate(faults):
            if fault == CupFault.TORN:
                vac[k] = self.open_kpa * 0.8
            elif fault == CupFault.WEAKENED:
                vac[k] *= self.weakened_vacuum_factor if coverage[k] >= 1.0 else 1.0
            elif fault == CupFault.BLOCKED:
                vac[k] = 0.0  # nothing flows: no suction at the lip (the sensor is fooled, see reading())
        return np.where(commanded, vac, 0.0)

    def step(self, vac: np.ndarray, target: np.ndarray, dt: float) -> np.ndarray:
        """First-order response towards ``target`` over ``dt`` [s]."""
        tau = np.where(target > vac, self.tau_rise_s, self.tau_fall_s)
        return target + (vac - target) * np.exp(-dt / tau)

    def reading(self, vac: np.ndarray, commanded: np.ndarray, faults: list[CupFault],
                rng: np.random.Generator) -> np.ndarray:
        """What the cup's vacuum sensor reports [kPa], with noise and the blocked-line fault."""
        out = vac.copy()
        for k, fault in enumerate(faults):
            if fault == CupFault.BLOCKED and commanded[k]:
                out[k] = self.blocked_kpa
        return np.clip(out + rng.normal(0.0, self.noise_kpa, out.shape), 0.0, None)

    def force_fraction(self, vac: np.ndarray, faults: list[CupFault]) -> np.ndarray:
        """Adhesion control 0..1 per cup: zero below the seal threshold, scaled by vacuum above."""
        frac = np.where(vac >= self.seal_threshold_kpa, np.clip(vac / self.sealed_kpa, 0.0, 1.0), 0.0)
        weak = np.array([f == CupFault.WEAKENED for f in faults])
        return np.where(weak, frac * self.weakened_force_factor / self.weakened_vacuum_factor, frac)


@dataclass
class GripperReading:
    """One sample of the gripper's sensors."""

    vacuum_kpa: np.ndarray  #: (8,) [kPa] below ambient
    sealed: np.ndarray  #: (8,) bool, vacuum above the seal threshold
    wrench: np.ndarray  #: (6,) [N, N m] payload force/torque on the tool, in the flange frame
    coverage: np.ndarray  #: (8,) ground truth rim coverage (0..1), for tests/evaluation
    contact_geoms: np.ndarray  #: (8,) ground truth geom id under each cup (-1 none)


class SuctionGripper:
    """Cup state, seal tests and the adhesion controls of one simulated gripper."""

    def __init__(self, model: mujoco.MjModel, cup_bodies: tuple[str, ...], flange_body: str, lip_radius: float, *,
                 cup_force: float, vacuum: VacuumModel | None = None) -> None:
        n = len(cup_bodies)
        self.vacuum_model = vacuum or VacuumModel()
        self.cup_body_ids = np.array([model.body(c).id for c in cup_bodies])
        self.lip_site_ids = np.array([model.site(f'lip_{k}').id for k in range(n)])
        self.flange_site_id = model.site('flange').id
        self.flange_body = model.body(flange_body).id
        angles = np.linspace(0.0, 2 * np.pi, RIM_RAYS, endpoint=False)
        r = RIM_FRACTION * lip_radius
        self._rim = np.stack([r * np.cos(angles), r * np.sin(angles), np.full(RIM_RAYS, -RAY_BACKOFF)], axis=1)
        # bodies of the tool subtree: their contacts with the world make up the wrist wrench
        tool_bodies = [b for b in range(model.nbody) if _is_descendant(model, b, self.flange_body)]
        self._tool_body = np.zeros(model.nbody, dtype=bool)
        self._tool_body[tool_bodies] = True
        self.commanded = np.zeros(n, dtype=bool)
        self.faults = [CupFault.NONE] * n
        self.vacuum = np.zeros(n)
        self.coverage = np.zeros(n)
        self.contact_geoms = np.full(n, -1)
        self._geomid = np.zeros(1, dtype=np.int32)
        self.cup_force = cup_force  #: [N] pull of one cup at full vacuum
        self.pull = np.zeros(n)  #: [N] present pull per cup
        # wrenches this gripper wrote into xfrc_applied, per body: taken out again at the next
        # update rather than zeroing the body, so other writers (robin_sim/adhesion.py) are kept
        self._applied: dict[int, np.ndarray] = {}

    @property
    def num_cups(self) -> int:
        return len(self.cup_body_ids)

    def seal_test(self, model: mujoco.MjModel, data: mujoco.MjData, cup: int) -> tuple[float, int]:
        """Rim coverage (0..1) of ``cup`` and the geom it would seal on (-1 none)."""
        site = self.lip_site_ids[cup]
        rot = data.site_xmat[site].reshape(3, 3)
        origins = data.site_xpos[site] + self._rim @ rot.T
        direction = rot[:, 2].copy()
        if not (np.isfinite(direction).all() and np.isfinite(origins).all()) or np.linalg.norm(direction) < 0.5:
            # a diverged physics state (NaN pose): mj_ray would abort the process; no seal instead
            return 0.0, -1
        geoms = np.full(RIM_RAYS, -1)
        dists = np.full(RIM_RAYS, np.inf)
        for i in range(RIM_RAYS):
            d = mujoco.mj_ray(model, data, origins[i], direction, RAY_GEOMGROUP, 1, -1, self._geomid)
            if d >= 0:
                geoms[i], dists[i] = self._geomid[0], d - RAY_BACKOFF
        near = (dists <= SEAL_REACH) & (dists >= -SEAL_REACH) & (geoms >= 0)
        if not near.any():
            return 0.0, -1
        values, counts = np.unique(geoms[near], return_counts=True)
        geom = int(values[np.argmax(counts)])
        on = near & (geoms == geom)
        coverage = on.sum() / RIM_RAYS
        if np.ptp(dists[on]) > SEAL_FLATNESS:  # tilted or wrinkled under the lip: leaks
            coverage = min(coverage, 0.75)
        return float(coverage), geom

    def update(self, model: mujoco.MjModel, data: mujoco.MjData, dt: float) -> None:
        """Seal tests for commanded cups, vacuum dynamics over ``dt`` [s], adhesion controls."""
        for k in range(self.num_cups):
            if self.commanded[k]:
                self.coverage[k], self.contact_geoms[k] = self.seal_test(model, data, k)
            else:
                self.coverage[k], self.contact_geoms[k] = 0.0, -1
        target = self.vacuum_model.target(self.commanded, self.coverage, self.faults)
        self.vacuum = self.vacuum_model.step(self.vacuum, target, dt)
        self.pull = self.cup_force * self.vacuum_model.force_fraction(self.vacuum, self.faults)
        self.pull[self.contact_geoms < 0] = 0.0
        self.apply(model, data)

    def apply(self, model: mujoco.MjModel, data: mujoco.MjData) -> None:
        """Write the suction force pairs into ``data.xfrc_applied`` (cup ↔ sealed body)."""
        for b, wrench in self._applied.items():
            data.xfrc_applied[b] -= wrench
        self._applied = {}
        for k in np.flatnonzero(self.pull > 0):
            site = self.lip_site_ids[k]
            point = data.site_xpos[site]
            force = self.pull[k] * data.site_xmat[site].reshape(3, 3)[:, 2]  # cup pulled out along its axis
            cup = int(self.cup_body_ids[k])
            other = int(model.geom_bodyid[self.contact_geoms[k]])
            for body, f in ((cup, force), (other, -force)):
                if body == 0:
                    continue  # sealed on a static surface: the world takes the reaction
                wrench = np.concatenate([f, np.cross(point - data.xipos[body], f)])
                data.xfrc_applied[body] += wrench
                self._applied[body] = self._applied.get(body, 0.0) + wrench

    def held_geoms(self) -> set[int]:
        """Geoms that some cup is pulling on now."""
        return {int(g) for g, p in zip(self.contact_geoms, self.pull, strict=True) if p > 0 and g >= 0}

    def wrench(self, model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
        """Payload force [N] and torque [N m] on the tool from everything it touches, in the flange frame.

        Sums contact forces between tool geoms and the rest of the world, plus the suction pulls
        on the cups. A payload of mass m
        hanging from a tool pointing down reads force_z ≈ +m·g (an F/T sensor tared without load).
        """
        force, torque = np.zeros(3), np.zeros(3)
        origin = data.site_xpos[self.flange_site_id]
        f6 = np.zeros(6)
        geom_body = model.geom_bodyid
        for i in range(data.ncon):
            con = data.contact[i]
            b1, b2 = geom_body[con.geom1], geom_body[con.geom2]
            t1, t2 = self._tool_body[b1], self._tool_body[b2]
            if t1 == t2:
                continue
            frame = con.frame.reshape(3, 3)
            sign = -1.0 if t1 else 1.0  # normal points geom1 -> geom2
            if con.efc_address >= 0 and not con.exclude:
                mujoco.mj_contactForce(model, data, i, f6)
                f = sign * (frame.T @ f6[:3])
                force += f
                torque += np.cross(con.pos - origin, f)
        for k in np.flatnonzero(self.pull > 0):
            site = self.lip_site_ids[k]
            f = self.pull[k] * data.site_xmat[site].reshape(3, 3)[:, 2]
            force += f
            torque += np.cross(data.site_xpos[site] - origin, f)
        rot = data.site_xmat[self.flange_site_id].reshape(3, 3)
        return np.concatenate([rot.T @ force, rot.T @ torque])


def _is_descendant(model: mujoco.MjModel, body: int, ancestor: int) -> bool:
    while body > 0:
        if body == ancestor:
            return True
        body = model.body_parentid[body]
    return False


