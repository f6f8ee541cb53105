"""The simulator facade: one object to reset, step, command and observe the whole cell (no ROS).

Typical use::

    sim = Simulation(SimConfig(seed=7, num_packages=20))
    sim.step(2.0)                          # let the pile settle
    frame = sim.render(labels=True)        # rgb8, depth [m] with holes, instance labels
    sim.follow_trajectory(traj)            # raises TrajectoryRejected with a reason
    sim.command_cups([1] * 8); sim.step(0.5)
    reading = sim.gripper_reading()        # vacuum [kPa], sealed, wrench [N, N m]

Not thread-safe: the ROS node serialises access with a lock. Deterministic for a seed: the
physics is single-threaded MuJoCo and every random draw comes from generators seeded by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import mujoco
import numpy as np

from robin_core.cell_description import CellDescription, default_cell
from robin_sim.arm import ArmLimits, JointTrajectoryData, TrajectoryFollower, validate_trajectory
from robin_sim.arm_ik import HOME
from robin_sim.camera import CameraFrame, CameraRenderer, StateSnapshot
from robin_sim.depth_noise import DepthNoiseModel
from robin_sim.drive_robots import DriveRobotFleet, Phase, StationGeometry
from robin_sim.gripper import CupFault, GripperReading, SuctionGripper, VacuumModel
from robin_sim.package_catalog import DropRegion, PackageSpec, SceneAppearance, generate_pile, random_appearance
from robin_sim.scenarios import scenario_packages
from robin_sim.world_builder import BELT_SURFACEVEL_MARKER, PARKING_X, TIMESTEP, add_package, build_world

GRIPPER_PERIOD = 5  #: physics steps between seal tests / vacuum updates (100 Hz)
STATION_PERIOD = 10  #: physics steps between drive-robot updates (50 Hz)
FELL_OFF_DROP = 0.15  #: [m] below the belt surface and not on a robot → fell off the cell


@dataclass
class SimConfig:
    """Simulation settings (the ROS parameters map onto these)."""

    seed: int = 0
    num_packages: int = 12  #: initial pile size (scenario 'pile')
    package_types: tuple[str, ...] = ()  #: allowed types; empty → all registered
    scenario: str = 'pile'
    belt_speed: float = 0.0  #: [m/s] along the belt flow direction
    cup_force: float | None = None  #: [N] per cup at full vacuum; None → 1.3 × rated
    num_drive_robots: int = 2
    depth_noise: DepthNoiseModel = field(default_factory=DepthNoiseModel)
    vacuum: VacuumModel = field(default_factory=VacuumModel)


@dataclass
class JointStateData:
    names: tuple[str, ...]
    position: np.ndarray  #: [rad]
    velocity: np.ndarray  #: [rad/s]
    effort: np.ndarray  #: [N m] actuator torque


@dataclass
class GroundTruth:
    """Evaluation-only truth about every package (never for the pipeline)."""

    time: float
    ids: np.ndarray  #: (N,) package ids
    types: list[str]
    sizes: np.ndarray  #: (N, 3) [m]
    masses: np.ndarray  #: (N,) [kg]
    poses: np.ndarray  #: (N, 7) [m, quaternion w x y z] in base_link
    states: list[str]  #: belt | held | on_robot | delivered | fell_off
    delivered_by: dict[int, str]  #: package id -> drive robot

    def to_json(self) -> dict[str, object]:
        return {
            'schema': 'robin_sim/ground_truth/1',
            'time': round(self.time, 4),
            'packages': [
                {'id': int(i), 'type': t, 'size': [round(float(v), 4) for v in s], 'mass': round(float(m), 3),
                 'pose': [round(float(v), 5) for v in p], 'state': st}
                for i, t, s, m, p, st in zip(self.ids, self.types, self.sizes, self.masses, self.poses, self.states,
                                             strict=True)
            ],
            'delivered_by': {str(k): v for k, v in self.delivered_by.items()},
        }


class Simulation:
    """The simulated cell. See the module docstring."""

    def __init__(self, config: SimConfig | None = None, cell: CellDescription | None = None) -> None:
        self.config = config or SimConfig()
        self.cell = cell or default_cell()
        self.limits = ArmLimits(self.cell.joint_names, self.cell.lower, self.cell.upper, self.cell.max_velocity)
        self.generation = 0
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    def reset(self, seed: int | None = None, scenario: str | None = None, num_packages: int | None = None) -> None:
        """Rebuild the world: new pile (or scenario), arm at home, cups off, time 0.

        Raises:
            ValueError: unknown scenario or package type.
        """
        cfg = self.config
        if seed is not None:
            cfg.seed = int(seed)
        if scenario is not None:
            cfg.scenario = scenario
        if num_packages is not None:
            cfg.num_packages = int(num_packages)
        self._rng = np.random.default_rng(cfg.seed)
        fixed = scenario_packages(cfg.scenario, self.cell)
        if fixed is None:
            pile = generate_pile(cfg.seed, cfg.num_packages, self.drop_region(cfg.num_packages),
                                 cfg.package_types or None)
            packages, appearance = pile.packages, pile.appearance
        else:
            packages, appearance = fixed, random_appearance(np.random.default_rng(cfg.seed))
        self.appearance: SceneAppearance = appearance
        self.packages: dict[int, PackageSpec] = {p.id: p for p in packages}
        rated = self.cell.gripper.rated_force_per_cup
        self.cup_force = cfg.cup_force if cfg.cup_force is not None else 1.3 * rated
        self.spec, self.index = build_world(self.cell, packages, appearance, num_drive_robots=cfg.num_drive_robots)
        self.model = self.spec.compile()
        self.data = mujoco.MjData(self.model)
        faults = getattr(self, 'gripper', None)
        self._bind()
        if faults is not None:
            self.gripper.faults = list(faults.faults)  # faults are hardware state: they survive a reset
        self.data.qpos[self._qadr] = HOME
        self.follower = TrajectoryFollower(HOME)
        tray = self.cell.place_station.T_base_tray[:3, 3].copy()
        self.fleet = DriveRobotFleet(self.index.drive_robots,
                                     StationGeometry(tray, self.cell.place_station.tray_size))
        self._carried_offset: dict[int, np.ndarray] = {}
        self._parked: set[int] = set()
        self._steps = 0
        self.set_belt_speed(cfg.belt_speed)
        self._apply_fleet()
        mujoco.mj_forward(self.model, self.data)
        self.generation += 1

    def drop_region(self, count: int) -> DropRegion:
        """Feeder drop region for ``count`` packages: the pick area, lengthened along the belt for big piles."""
        pa = self.cell.pick_area
        half_len = float(np.clip(0.03 * count, 0.3, 0.8))
        cy = float(np.mean(pa.y_range))
        return DropRegion(pa.x_range, (cy - half_len, cy + half_len), pa.belt_z)

    def _bind(self) -> None:
        """(Re)compute ids after a compile; gripper state carries over when present."""
        m = self.model
        self._qadr = np.array([m.joint(n).qposadr[0] for n in self.cell.joint_names])
        self._dadr = np.array([m.joint(n).dofadr[0] for n in self.cell.joint_names])
        self._act_pos = np.array([m.actuator(f'{n}_pos').id for n in self.cell.joint_names])
        self._act_vel = np.array([m.actuator(f'{n}_vel').id for n in self.cell.joint_names])
        self._belt = m.geom(self.index.belt_geom).id
        old = getattr(self, 'gripper', None)
        self.gripper = SuctionGripper(m, self.cell.gripper.cup_names, self.cell.gripper.flange_frame,
                                      self.cell.gripper.lip_radius, cup_force=self.cup_force,
                                      vacuum=self.config.vacuum)
        if old is not None and old.num_cups == self.gripper.num_cups:
            self.gripper.commanded, self.gripper.faults, self.gripper.vacuum = old.commanded, old.faults, old.vacuum
        self._mocap = np.array([m.body_mocapid[m.body(n).id] for n in self.index.drive_robots], dtype=int)
        self._pkg_ids = np.array(sorted(self.index.package_bodies), dtype=int)
        self._pkg_body = np.array([m.body(self.index.package_bodies[i]).id for i in self._pkg_ids], dtype=int)
        self._pkg_qadr = np.array([m.jnt_qposadr[m.body_jntadr[b]] for b in self._pkg_body], dtype=int)
        self._pkg_dadr = np.array([m.jnt_dofadr[m.body_jntadr[b]] for b in self._pkg_body], dtype=int)
        self.geom_to_package = np.zeros(m.ngeom, dtype=np.int64)
        for pid, body in zip(self._pkg_ids, self._pkg_body, strict=True):
            self.geom_to_package[m.body_geomadr[body]: m.body_geomadr[body] + m.body_geomnum[body]] = pid

    # ------------------------------------------------------------------ commands
    @property
    def time(self) -> float:
        """Sim time [s]."""
        return float(self.data.time)

    def set_belt_speed(self, speed: float) -> None:
        """Belt surface speed [m/s] along the flow direction (≥ 0)."""
        if not np.isfinite(speed) or speed < 0:
            raise ValueError(f'belt speed must be a finite value >= 0 m/s, got {speed}')
        self.belt_speed = float(speed)
        # surfacevel is in the belt geom frame; the conveyor frame is aligned with base_link
        vel = self.cell.pick_area.flow_direction * self.belt_speed
        self.model.geom_surfacevel[self._belt, :3] = vel + np.array([0.0, 0.0, BELT_SURFACEVEL_MARKER])

    def follow_trajectory(self, traj: JointTrajectoryData) -> None:
        """Validate and start ``traj`` now.

        Raises:
            TrajectoryRejected: malformed or infeasible; the arm keeps doing what it did.
        """
        q = self.data.qpos[self._qadr].copy()
        ok = validate_trajectory(traj, self.limits, q)
        self.follower.start(ok, self.time, q)

    def command_cups(self, on: Sequence[int | bool]) -> None:
        """Switch each cup's vacuum on (1) or off (0).

        Raises:
            ValueError: wrong number of values.
        """
        if len(on) != self.gripper.num_cups:
            raise ValueError(f'expected {self.gripper.num_cups} cup commands, got {len(on)}')
        self.gripper.commanded = np.array([bool(v) for v in on])

    def set_cup_fault(self, cup: int, fault: CupFault | str) -> None:
        """Inject (or clear with 'none') a fault on cup ``cup``."""
        if not 0 <= cup < self.gripper.num_cups:
            raise ValueError(f'cup index {cup} out of range 0..{self.gripper.num_cups - 1}')
        self.gripper.faults[cup] = CupFault(fault)

    def spawn_pile(self, count: int, seed: int | None = None) -> list[int]:
        """Feeder: drop ``count`` new packages above the pick area (recompiles, keeps the state)."""
        first = int(max(self.packages, default=0)) + 1
        seed = int(self._rng.integers(2**31)) if seed is None else seed
        pile = generate_pile(seed, count, self.drop_region(count), self.config.package_types or None, first_id=first)
        for p in pile.packages:
            self.packages[p.id] = p
            self.index.package_bodies[p.id] = add_package(self.spec, p)
        self.model, self.data = self.spec.recompile(self.model, self.data)
        self._bind()
        self.set_belt_speed(self.belt_speed)
        self.generation += 1
        return [p.id for p in pile.packages]

    # ------------------------------------------------------------------ stepping
    def step(self, duration: float) -> None:
        """Advance the simulation by ``duration`` [s] (whole physics steps)."""
        m, d = self.model, self.data
        for _ in range(max(1, round(duration / TIMESTEP))):
            q_ref, v_ref = self.follower.reference(d.time)
            d.ctrl[self._act_pos] = q_ref
            d.ctrl[self._act_vel] = v_ref
            if self._steps % GRIPPER_PERIOD == 0:
                self.gripper.update(m, d, GRIPPER_PERIOD * TIMESTEP)
            if self._steps % STATION_PERIOD == 0:
                self._update_station(STATION_PERIOD * TIMESTEP)
            mujoco.mj_step(m, d)
            self._steps += 1

    def _update_station(self, dt: float) -> None:
        d = self.data
        robot = self.fleet.at_station()
        if robot is not None:
            held = self._held_packages()
            for k, pid in enumerate(self._pkg_ids):
                pos = d.qpos[self._pkg_qadr[k]: self._pkg_qadr[k] + 3]
                speed = np.linalg.norm(d.qvel[self._pkg_dadr[k]: self._pkg_dadr[k] + 3])
                if pid not in held and pid not in self._carried_offset and speed < 0.05 and self.fleet.on_tray(pos):
                    self.fleet.load(int(pid))
                    self._carried_offset[int(pid)] = pos - robot.pos
                    break
        for _robot, left in self.fleet.update(dt):
            for pid in left:
                self._park(pid)
        self._apply_fleet()

    def _apply_fleet(self) -> None:
        d = self.data
        for r, mocap in zip(self.fleet.robots, self._mocap, strict=True):
            d.mocap_pos[mocap] = r.pos
            for pid in r.carried:
                k = int(np.searchsorted(self._pkg_ids, pid))
                qa, da = self._pkg_qadr[k], self._pkg_dadr[k]
                if r.phase == Phase.LEAVING:  # carried kinematically (see drive_robots)
                    d.qpos[qa: qa + 3] = r.pos + self._carried_offset[pid]
                    d.qvel[da: da + 6] = 0.0

    def _park(self, pid: int) -> None:
        k = int(np.searchsorted(self._pkg_ids, pid))
        qa, da = self._pkg_qadr[k], self._pkg_dadr[k]
        n = len(self._parked)
        floor = float(self.spec.body('pedestal').pos[2])
        self.data.qpos[qa: qa + 7] = [PARKING_X + 0.6 * (n % 10), 0.6 * (n // 10), floor + 0.2, 1, 0, 0, 0]
        self.data.qvel[da: da + 6] = 0.0
        self._parked.add(pid)
        self._carried_offset.pop(pid, None)

    def _held_packages(self) -> set[int]:
        return {int(self.geom_to_package[g]) for g in self.gripper.held_geoms() if self.geom_to_package[g] > 0}

    # ------------------------------------------------------------------ observations
    def joint_state(self) -> JointStateData:
        d = self.data
        effort = d.actuator_force[self._act_pos] + d.actuator_force[self._act_vel]
        return JointStateData(self.cell.joint_names, d.qpos[self._qadr].copy(), d.qvel[self._dadr].copy(), effort)

    def gripper_reading(self) -> GripperReading:
        """Vacuum [kPa] and sealed flags as the sensors report them, wrist wrench, and truth."""
        g = self.gripper
        vac = g.vacuum_model.reading(g.vacuum, g.commanded, g.faults, self._rng)
        wrench = g.wrench(self.model, self.data) + self._rng.normal(0.0, [0.2, 0.2, 0.2, 0.01, 0.01, 0.01])
        return GripperReading(vac, vac >= g.vacuum_model.seal_threshold_kpa, wrench, g.coverage.copy(),
                              g.contact_geoms.copy())

    def snapshot(self) -> StateSnapshot:
        d = self.data
        return StateSnapshot(self.time, d.qpos.copy(), d.mocap_pos.copy(), d.mocap_quat.copy(), self.generation)

    def make_renderer(self) -> CameraRenderer:
        """A camera renderer for the current model (use it from one thread)."""
        intr = self.cell.camera.intrinsics
        noise = self.config.depth_noise
        return CameraRenderer(self.model, intr.width, intr.height, self.geom_to_package, noise=noise,
                              generation=self.generation)

    def render(self, labels: bool = False, noise: bool = True) -> CameraFrame:
        """Render the camera now (convenience for single-threaded use)."""
        r = getattr(self, '_renderer', None)
        if r is None or r.generation != self.generation:
            if r is not None:
                r.close()
            r = self._renderer = self.make_renderer()
        rng = np.random.default_rng([self.config.seed, self._steps]) if noise else None
        return r.render(self.snapshot(), rng, labels=labels)

    def ground_truth(self) -> GroundTruth:
        d = self.data
        held = self._held_packages()
        carried = {pid for r in self.fleet.robots for pid in r.carried}
        belt_z = self.cell.pick_area.belt_z
        states, poses = [], []
        for k, pid in enumerate(self._pkg_ids):
            qa = self._pkg_qadr[k]
            pose = d.qpos[qa: qa + 7].copy()
            poses.append(pose)
            if pid in self.fleet.delivered:
                states.append('delivered')
            elif pid in carried or self.fleet.on_tray(pose[:3]):
                states.append('on_robot')
            elif pid in held:
                states.append('held')
            elif pose[2] < belt_z - FELL_OFF_DROP:
                states.append('fell_off')
            else:
                states.append('belt')
        specs = [self.packages[int(i)] for i in self._pkg_ids]
        return GroundTruth(self.time, self._pkg_ids.copy(), [p.type for p in specs],
                           np.array([p.size for p in specs]).reshape(-1, 3), np.array([p.mass for p in specs]),
                           np.array(poses).reshape(-1, 7), states, dict(self.fleet.delivered))

    def station_state(self) -> dict[str, object]:
        return {'schema': 'robin_sim/place_station/1', 'time': round(self.time, 4), 'robots': self.fleet.state()}
