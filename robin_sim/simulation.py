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
from dataclasses import dataclass, field, replace

import mujoco
import numpy as np

from robin_core.cell_description import CellDescription, default_cell
from robin_sim.adhesion import Adhesion
from robin_sim.arm import ArmLimits, JointTrajectoryData, TrajectoryFollower, validate_trajectory
from robin_sim.arm_ik import HOME
from robin_sim.camera import CameraFrame, CameraRenderer, StateSnapshot
from robin_sim.cell_urdf import BELT_CENTER_X, BELT_WIDTH
from robin_sim.depth_noise import DepthNoiseModel
from robin_sim.drive_robots import DOCKED, Delivery, DriveRobot, DriveRobotFleet, Phase, StationGeometry
from robin_sim.gripper import CupFault, GripperReading, SuctionGripper, VacuumModel
from robin_sim.package_catalog import DropRegion, PackageSpec, SceneAppearance, generate_pile, random_appearance
from robin_sim.retire import RETIRE_FELL_OFF_AFTER_S, RetiredPackage, delete_package_body
from robin_sim.scenarios import scenario_packages
from robin_sim.world_builder import BELT_SURFACEVEL_MARKER, PARKING_X, TIMESTEP, add_package, build_world

GRIPPER_PERIOD = 5  #: physics steps between seal tests / vacuum updates (100 Hz)
STATION_PERIOD = 10  #: physics steps between drive-robot updates (50 Hz)
FELL_OFF_DROP = 0.15  #: [m] below the belt surface and not on a robot → fell off the cell ...
FELL_OFF_BELOW_TRAY = 0.05  #: [m] ... and below the station tray top (a release over an empty station)
RESTING_SPEED = 0.1  #: [m/s] a package on the tray slower than this has settled (is counted)
TRAY_MARGIN = 0.15  #: [m] a counted package stays counted while its centre is this close to the tray
LOAD_CELL_TAU = 0.1  #: [s] load cell low-pass time constant
LOAD_CELL_NOISE_KG = 0.002  #: [kg] load cell noise σ
GRAVITY = 9.81  #: [m/s²]
KNOCK_OFF_VELOCITY = (2.2, 0.0, 1.6)  #: [m/s] push given to a knocked-off package (x: away from the arm)
PACKAGE_STATES = ('belt', 'held', 'on_robot', 'delivered', 'fell_off', 'in_air')


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
    states: list[str]  #: one of PACKAGE_STATES per package
    robots: list[str | None]  #: drive robot of an on_robot / delivered package, else None
    delivered_by: dict[int, str]  #: package id -> drive robot
    deliveries: list[Delivery] = field(default_factory=list)  #: finished trips, oldest first
    fell_off_time: dict[int, float] = field(default_factory=dict)  #: package id -> [s] when it first fell off
    drive_robots: list[dict[str, object]] = field(default_factory=list)  #: place_station robots now

    def to_json(self) -> dict[str, object]:
        """The ``robin_sim/ground_truth/1`` JSON (documented in docs/simulator.md)."""
        return {
            'schema': 'robin_sim/ground_truth/1',
            'time': round(self.time, 4),
            'packages': [
                {'id': int(i), 'type': t, 'size': [round(float(v), 4) for v in s], 'mass': round(float(m), 3),
                 'pose': [round(float(v), 5) for v in p], 'state': st, 'robot': r,
                 'fell_off_time': (round(self.fell_off_time[int(i)], 4) if int(i) in self.fell_off_time
                                   else None)}
                for i, t, s, m, p, st, r in zip(self.ids, self.types, self.sizes, self.masses, self.poses,
                                                self.states, self.robots, strict=True)
            ],
            'delivered_by': {str(k): v for k, v in self.delivered_by.items()},
            'deliveries': [d.to_json() for d in self.deliveries],
            'fell_off': [int(i) for i, st in zip(self.ids, self.states, strict=True) if st == 'fell_off'],
            'drive_robots': self.drive_robots,
        }

    def by_state(self, state: str) -> list[int]:
        """Ids of the packages in ``state``."""
        return [int(i) for i, st in zip(self.ids, self.states, strict=True) if st == state]


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
        if faults is None:
            self.stuck_vacuum: dict[int, float] = {}  #: cup -> frozen sensor reading [kPa] (sensor fault)
            self._last_vacuum_reading: np.ndarray | None = None
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
        self._park_slots = 0  # parking places handed out so far
        self._retired: dict[int, RetiredPackage] = {}  #: out of the model for good (robin_sim/retire.py)
        self._fell_off_at: dict[int, float] = {}  #: package id -> sim time [s] it first fell off the cell
        self._load_filt = np.zeros(len(self.fleet.robots))  #: [kg] load cell filter state per robot
        self._station_rng = np.random.default_rng([cfg.seed, 0x57A7])  # load cell noise
        self._steps = 0
        self.adhesion = Adhesion()  #: the stuck-pair fault (robin_sim/adhesion.py)
        self.set_belt_speed(cfg.belt_speed)
        self._apply_fleet()
        mujoco.mj_forward(self.model, self.data)
        self.generation += 1

    def drop_region(self, count: int) -> DropRegion:
        """Feeder drop region for ``count`` packages: between the rails, centred on the pick area,
        lengthened along the belt for big piles (packages may overhang the pick area, not the belt)."""
        pa = self.cell.pick_area
        half_len = float(np.clip(0.03 * count, 0.3, 0.8))
        cy = float(np.mean(pa.y_range))
        inner = BELT_WIDTH / 2 - 0.01  # [m] stay clear of the rails
        return DropRegion((BELT_CENTER_X - inner, BELT_CENTER_X + inner), (cy - half_len, cy + half_len), pa.belt_z)

    def _bind(self) -> None:
        """(Re)compute ids after a compile; gripper state carries over when present."""
        m = self.model
        self._qadr = np.array([m.joint(n).qposadr[0] for n in self.cell.joint_names])
        self._dadr = np.array([m.joint(n).dofadr[0] for n in self.cell.joint_names])
        self._effort = np.array([j.effort for j in self.cell.joints])
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
        self._robot_of_geom = np.full(m.ngeom, -1, dtype=np.int64)  #: geom -> drive robot index
        for k, n in enumerate(self.index.drive_robots):
            b = m.body(n).id
            self._robot_of_geom[m.body_geomadr[b]: m.body_geomadr[b] + m.body_geomnum[b]] = k
        self._belt_half = m.geom_size[self._belt, :2].copy()  #: [m] belt half extents (x, y)
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

    def set_stuck_vacuum(self, cup: int | None) -> None:
        """Freeze cup ``cup``'s vacuum *sensor* at its last reading (None: un-freeze all).

        A sensor fault: the cup's physics (seal, pull) goes on; only the reported kPa — and the
        sealed flag derived from it — stop changing. Survives a reset, like the cup faults.

        Raises:
            ValueError: cup index out of range.
        """
        if cup is None:
            self.stuck_vacuum = {}
            return
        if not 0 <= cup < self.gripper.num_cups:
            raise ValueError(f'cup index {cup} out of range 0..{self.gripper.num_cups - 1}')
        last = self._last_vacuum_reading
        value = float(last[cup]) if last is not None else float(self.gripper.vacuum[cup])
        self.stuck_vacuum = {cup: value}

    def packages_coming(self) -> int:
        """Packages on the belt in the pick area or upstream of it: what the cell can still pick."""
        return len(self.coming_positions())

    def coming_positions(self) -> list[float]:
        """Positions along the belt flow [m] of the packages :meth:`packages_coming` counts."""
        gt = self.ground_truth()
        pa = self.cell.pick_area
        flow = pa.flow_direction[:2]
        corners = np.array([[x, y] for x in pa.x_range for y in pa.y_range])
        end = float((corners @ flow).max())  # packages further along the flow have passed the arm
        along = [float(gt.poses[k, :2] @ flow) for k, st in enumerate(gt.states) if st == 'belt']
        return [a for a in along if a <= end]

    def top_belt_package(self) -> int | None:
        """Id of the highest package lying on the belt (not held), or None when the belt is empty."""
        gt = self.ground_truth()
        on_belt = [k for k, st in enumerate(gt.states) if st == 'belt']
        if not on_belt:
            return None
        return int(gt.ids[max(on_belt, key=lambda k: gt.poses[k, 2])])

    def knock_off(self, package_id: int | None = None) -> int:
        """Fault: push a package (default: the top of the pile) off the far side of the belt.

        It gets a sideways-and-up velocity (``KNOCK_OFF_VELOCITY``) that carries it over the rail;
        it lands on the floor and the ground truth reports it ``fell_off``.

        Returns:
            The knocked-off package id.

        Raises:
            ValueError: no package on the belt (or ``package_id`` is not on it).
        """
        pid = self.top_belt_package() if package_id is None else int(package_id)
        if pid is None:
            raise ValueError('no package on the belt to knock off')
        k = self._pkg_index(pid)
        if k >= len(self._pkg_ids) or self._pkg_ids[k] != pid or self.ground_truth().states[k] != 'belt':
            raise ValueError(f'package {pid} is not on the belt')
        da = self._pkg_dadr[k]
        self.data.qvel[da: da + 3] = KNOCK_OFF_VELOCITY
        self.data.qvel[da + 3: da + 6] = 0.0
        return pid

    def spawn_pile(self, count: int, seed: int | None = None, upstream_m: float = 0.0) -> list[int]:
        """Feeder: drop ``count`` new packages above the pick area, or ``upstream_m`` [m] before it
        along the belt (the belt then brings them in); recompiles, keeps the state."""
        first = int(max(self.packages, default=0)) + 1
        seed = int(self._rng.integers(2**31)) if seed is None else seed
        region = self.drop_region(count)
        if upstream_m:
            shift = float(upstream_m)
            region = DropRegion(region.x_range, (region.y_range[0] - shift, region.y_range[1] - shift),
                                region.surface_z)
        pile = generate_pile(seed, count, region, self.config.package_types or None, first_id=first)
        self._retire_departed()  # this recompile takes them out: the model does not grow without bound
        for p in pile.packages:
            self.packages[p.id] = p
            self.index.package_bodies[p.id] = add_package(self.spec, p)
        armed = self.adhesion.armed
        self.adhesion.clear(self.data)  # body ids change with the recompile
        self.model, self.data = self.spec.recompile(self.model, self.data)
        self._bind()
        # body ids may have moved: rebuild the applied forces from scratch (the suction pulls now,
        # the bond would re-form only when armed)
        self.data.xfrc_applied[:] = 0.0
        self.gripper.apply(self.model, self.data)
        if armed:
            self.adhesion.arm()
        self.set_belt_speed(self.belt_speed)
        mujoco.mj_forward(self.model, self.data)  # poses of the new data are zero until computed
        self.generation += 1
        return [p.id for p in pile.packages]

    def set_package_pose(self, package_id: int, pos: Sequence[float],
                         quat: Sequence[float] = (1.0, 0.0, 0.0, 0.0)) -> None:
        """Teleport a package to ``pos`` [m] / ``quat`` (w x y z) in base_link, at rest (scripts, tests).

        Raises:
            KeyError: unknown package id.
        """
        if package_id not in self.packages:
            raise KeyError(f'no package {package_id}')
        k = self._pkg_index(package_id)
        qa, da = self._pkg_qadr[k], self._pkg_dadr[k]
        self.data.qpos[qa: qa + 7] = [*pos, *quat]
        self.data.qvel[da: da + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def set_package_mass(self, package_id: int, mass: float) -> None:
        """Give a package another mass [kg], its inertia scaled alike (payload studies, tests).

        Raises:
            KeyError: unknown package id.
            ValueError: a mass that is not positive.
        """
        if package_id not in self.packages:
            raise KeyError(f'no package {package_id}')
        if not mass > 0.0:
            raise ValueError(f'mass must be positive, got {mass}')
        body = self._pkg_body[self._pkg_index(package_id)]
        self.model.body_inertia[body] *= mass / self.model.body_mass[body]
        self.model.body_mass[body] = mass
        mujoco.mj_setConst(self.model, self.data)  # derived constants (subtree masses, ...) follow
        self.packages[package_id] = replace(self.packages[package_id], mass=float(mass))

    # ------------------------------------------------------------------ stepping
    def step(self, duration: float) -> None:
        """Advance the simulation by ``duration`` [s] (whole physics steps)."""
        m, d = self.model, self.data
        for _ in range(max(1, round(duration / TIMESTEP))):
            q_ref, v_ref, a_ref = self.follower.reference_with_acceleration(d.time)
            d.ctrl[self._act_pos] = q_ref
            d.ctrl[self._act_vel] = v_ref
            self._feedforward(a_ref)
            if self._steps % GRIPPER_PERIOD == 0:
                self.gripper.update(m, d, GRIPPER_PERIOD * TIMESTEP)
            if self._steps % STATION_PERIOD == 0:
                self._update_station(STATION_PERIOD * TIMESTEP)
            if self.adhesion.armed or self.adhesion.bond is not None:
                self.adhesion.step(m, d, self.geom_to_package, self._gripper_held())
            mujoco.mj_step(m, d)
            self._steps += 1

    def _feedforward(self, a_ref: np.ndarray) -> None:
        """Inertial torque feed-forward (arm inertia × reference acceleration, clipped to the
        joint efforts), as an industrial arm controller does; gravity is already compensated
        (``gravcomp`` in the world builder). The servos then only correct the residual instead
        of lagging by inertia·a/kp, which is what capped the cell's accelerations before.
        """
        m, d = self.model, self.data
        acc = np.zeros(m.nv)
        acc[self._dadr] = a_ref
        inertial = np.zeros(m.nv)
        mujoco.mj_mulM(m, d, inertial, acc)
        d.qfrc_applied[self._dadr] = np.clip(inertial[self._dadr], -self._effort, self._effort)

    def _package_positions(self) -> np.ndarray:
        """(N, 3) package centres [m]."""
        return self.data.qpos[self._pkg_qadr[:, None] + np.arange(3)]

    def _package_speeds(self) -> np.ndarray:
        """(N,) package centre speeds [m/s]."""
        return np.linalg.norm(self.data.qvel[self._pkg_dadr[:, None] + np.arange(3)], axis=1)

    def _update_station(self, dt: float) -> None:
        robot = self.fleet.at_station()
        for k, r in enumerate(self.fleet.robots):
            if r is robot:
                measured = self._tray_load_kg(k)
                self._load_filt[k] += (measured - self._load_filt[k]) * dt / (LOAD_CELL_TAU + dt)
            elif r.phase not in DOCKED:
                self._load_filt[k] = 0.0
        if robot is not None:
            k = self.fleet.robots.index(robot)
            resting, settling = self._tray_packages(k, robot)
            reading = self._load_filt[k] + self._station_rng.normal(0.0, LOAD_CELL_NOISE_KG)
            self.fleet.sense_tray(resting, reading, settling)
        self._record_fell_off(robot)
        departed, deliveries = self.fleet.update(dt)
        if departed:
            pos = self._package_positions()
            for r in departed:  # carried kinematically from here on, as they lie now
                for pid in r.carried:
                    self._carried_offset[pid] = pos[self._pkg_index(pid)] - r.pos
        for delivery in deliveries:
            for pid in delivery.package_ids:
                self._park(pid)
        self._apply_fleet()

    def _fell_off_z(self) -> float:
        """[m] a package centre below this, outside a robot and the gripper, has fallen off the cell."""
        tray_z = float(self.fleet.geometry.tray_top[2])
        return min(self.cell.pick_area.belt_z - FELL_OFF_DROP, tray_z - FELL_OFF_BELOW_TRAY)

    def _record_fell_off(self, docked: DriveRobot | None) -> None:
        """Remember when each package first dropped below the fell-off height outside any robot or gripper."""
        pos = self._package_positions()
        low = pos[:, 2] < self._fell_off_z()
        if docked is not None:
            low &= ~self.fleet.on_tray(pos)
        if not low.any():
            return
        held = self._held_packages()
        for pid in (int(i) for i in self._pkg_ids[low]):
            if (pid not in self._fell_off_at and pid not in held and pid not in self.fleet.delivered
                    and self.fleet.robot_of(pid) is None):
                self._fell_off_at[pid] = self.time

    def _pkg_index(self, pid: int) -> int:
        return int(np.searchsorted(self._pkg_ids, pid))

    def _contact_pairs(self) -> np.ndarray:
        """(ncon, 2) geom ids of the active contacts."""
        return np.asarray(self.data.contact.geom[: self.data.ncon], dtype=np.int64).reshape(-1, 2)

    def _tray_load_kg(self, k: int) -> float:
        """Load cell of robot ``k``: downward contact force on its tray and rims / g [kg] (unfiltered)."""
        m, d = self.model, self.data
        pairs = self._contact_pairs()
        if not len(pairs):
            return 0.0
        owner = self._robot_of_geom[pairs]
        on1, on2 = owner[:, 0] == k, owner[:, 1] == k
        f6 = np.zeros(6)
        load_n = 0.0
        for i in np.flatnonzero(on1 ^ on2):
            mujoco.mj_contactForce(m, d, int(i), f6)
            fz_on_geom2 = float(d.contact.frame[i, [2, 5, 8]] @ f6[:3])  # world z of frame.T @ f
            load_n += fz_on_geom2 if on1[i] else -fz_on_geom2  # downward push on the robot
        return load_n / GRAVITY

    def _tray_packages(self, k: int, robot: DriveRobot) -> tuple[list[int], bool]:
        """Packages resting on robot ``k``'s tray (directly or on each other) and whether any still moves.

        Support comes from the contacts: packages touching the tray, then packages touching those
        (held packages neither count nor carry support). A package counts once it has settled
        (< RESTING_SPEED) in the tray volume and stays counted while it remains near the tray.
        """
        pos, speed = self._package_positions(), self._package_speeds()
        held = self._held_packages()
        pairs = self._contact_pairs()
        pkg = self.geom_to_package[pairs] if len(pairs) else np.zeros((0, 2), np.int64)
        owner = self._robot_of_geom[pairs] if len(pairs) else np.zeros((0, 2), np.int64)
        supported = {int(p) for p in np.concatenate([pkg[owner[:, 1] == k, 0], pkg[owner[:, 0] == k, 1]])
                     if p > 0 and p not in held}
        links = pkg[(pkg[:, 0] > 0) & (pkg[:, 1] > 0)]
        frontier = set(supported)
        while frontier:
            a = links[np.isin(links[:, 0], list(frontier)), 1]
            b = links[np.isin(links[:, 1], list(frontier)), 0]
            frontier = {int(p) for p in np.concatenate([a, b])} - supported - held
            supported |= frontier
        near = self.fleet.on_tray(pos, margin=TRAY_MARGIN)
        inside = self.fleet.on_tray(pos)
        resting = [pid for pid in robot.carried if near[self._pkg_index(pid)] and pid not in held]
        resting += [pid for pid in sorted(supported - set(resting))
                    if speed[self._pkg_index(pid)] < RESTING_SPEED and near[self._pkg_index(pid)]]
        free = np.array([int(p) not in held for p in self._pkg_ids], dtype=bool)
        settling = bool(np.any(inside & free & (speed >= RESTING_SPEED)))
        return resting, settling

    def _apply_fleet(self) -> None:
        d = self.data
        for r, mocap in zip(self.fleet.robots, self._mocap, strict=True):
            d.mocap_pos[mocap] = r.pos
            if r.phase != Phase.LEAVING:
                continue
            for pid in r.carried:  # carried kinematically (see drive_robots)
                k = self._pkg_index(pid)
                qa, da = self._pkg_qadr[k], self._pkg_dadr[k]
                d.qpos[qa: qa + 3] = r.pos + self._carried_offset[pid]
                d.qvel[da: da + 6] = 0.0

    def _retire_departed(self) -> list[int]:
        """Delete delivered (parked) packages and ones that lie on the floor since
        ``RETIRE_FELL_OFF_AFTER_S`` from the spec, keeping their final state for the ground truth
        (robin_sim/retire.py). The caller recompiles. Returns the retired ids."""
        truth = self.ground_truth()

        def departed(pid: int, state: str) -> bool:
            if pid not in self.index.package_bodies:
                return False
            if state == 'delivered':
                return pid in self._parked  # driven away and parked (not on its robot any more)
            fell = self._fell_off_at.get(pid)
            return state == 'fell_off' and fell is not None and self.time - fell >= RETIRE_FELL_OFF_AFTER_S

        gone = [int(pid) for pid, state in zip(truth.ids, truth.states, strict=True) if departed(int(pid), state)]
        for pid in gone:
            k = int(np.flatnonzero(truth.ids == pid)[0])
            self._retired[pid] = RetiredPackage(truth.states[k], truth.robots[k], truth.poses[k].copy())
            delete_package_body(self.spec, self.index.package_bodies.pop(pid))
            self._parked.discard(pid)
        return gone

    def _park(self, pid: int) -> None:
        k = self._pkg_index(pid)
        qa, da = self._pkg_qadr[k], self._pkg_dadr[k]
        n = self._park_slots % 100  # retired at the next feeder pile: a hundred places are plenty
        self._park_slots += 1
        floor = float(self.spec.body('pedestal').pos[2])
        self.data.qpos[qa: qa + 7] = [PARKING_X + 0.6 * (n % 10), 0.6 * (n // 10), floor + 0.2, 1, 0, 0, 0]
        self.data.qvel[da: da + 6] = 0.0
        self._parked.add(pid)
        self._carried_offset.pop(pid, None)

    def _gripper_held(self) -> set[int]:
        """Packages a cup pulls on now."""
        return {int(self.geom_to_package[g]) for g in self.gripper.held_geoms() if self.geom_to_package[g] > 0}

    def _held_packages(self) -> set[int]:
        """Packages the gripper carries: pulled by a cup, or stuck to one that is (the stuck-pair fault)."""
        held = self._gripper_held()
        if (stuck := self.adhesion.stuck_package) is not None:
            held.add(stuck)
        return held

    # ------------------------------------------------------------------ observations
    def joint_state(self) -> JointStateData:
        d = self.data
        effort = d.actuator_force[self._act_pos] + d.actuator_force[self._act_vel]
        return JointStateData(self.cell.joint_names, d.qpos[self._qadr].copy(), d.qvel[self._dadr].copy(), effort)

    def gripper_reading(self) -> GripperReading:
        """Vacuum [kPa] and sealed flags as the sensors report them, wrist wrench, and truth."""
        g = self.gripper
        vac = g.vacuum_model.reading(g.vacuum, g.commanded, g.faults, self._rng)
        self._last_vacuum_reading = vac.copy()
        for cup, frozen in self.stuck_vacuum.items():
            vac[cup] = frozen
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
        """Where every package is (see :data:`PACKAGE_STATES` and docs/simulator.md), and the deliveries.

        Precedence: delivered (left the cell on a robot) > on_robot (counted on a tray, or inside
        the docked robot's tray volume) > held (a cup pulls on it) > fell_off (centre more than
        ``FELL_OFF_DROP`` below the belt surface and ``FELL_OFF_BELOW_TRAY`` below the station tray
        top: the floor, under the station) > belt (over the belt
        footprint, on it or on the pile) > in_air (anything else: falling, on a rail, …).
        """
        held = self._held_packages()
        pos = self._package_positions()
        quat = self.data.qpos[self._pkg_qadr[:, None] + np.arange(3, 7)]
        belt_z, fell_z = self.cell.pick_area.belt_z, self._fell_off_z()
        docked = self.fleet.at_station()
        on_docked_tray = self.fleet.on_tray(pos) if docked is not None else np.zeros(len(pos), bool)
        belt_xy = self.data.geom_xpos[self._belt, :2]
        over_belt = (np.all(np.abs(pos[:, :2] - belt_xy) < self._belt_half + 0.05, axis=1)
                     & (pos[:, 2] > belt_z - 0.02))
        states: list[str] = []
        robots: list[str | None] = []
        for k, pid in enumerate(int(i) for i in self._pkg_ids):
            carrier = self.fleet.robot_of(pid)
            robot: str | None = None
            if pid in self.fleet.delivered:
                state, robot = 'delivered', self.fleet.delivered[pid]
            elif carrier is not None:
                state, robot = 'on_robot', carrier.name
            elif docked is not None and on_docked_tray[k] and pid not in held:
                state, robot = 'on_robot', docked.name  # landed, not settled yet
            elif pid in held:
                state = 'held'
            elif pos[k, 2] < fell_z:
                state = 'fell_off'
            elif over_belt[k]:
                state = 'belt'
            else:
                state = 'in_air'
            states.append(state)
            robots.append(robot)
        retired = sorted(self._retired)  # no longer simulated: reported as they left
        ids = np.concatenate([self._pkg_ids, np.array(retired, dtype=self._pkg_ids.dtype)])
        states += [self._retired[i].state for i in retired]
        robots += [self._retired[i].robot for i in retired]
        poses = np.concatenate([np.concatenate([pos, quat], axis=1).reshape(-1, 7),
                                np.array([self._retired[i].pose for i in retired]).reshape(-1, 7)])
        specs = [self.packages[int(i)] for i in ids]
        return GroundTruth(self.time, ids, [p.type for p in specs],
                           np.array([p.size for p in specs]).reshape(-1, 3), np.array([p.mass for p in specs]),
                           poses, states, robots,
                           dict(self.fleet.delivered), list(self.fleet.deliveries),
                           dict(self._fell_off_at), self.fleet.state())

    def station_state(self) -> dict[str, object]:
        """The ``place_station/state`` JSON: per robot name, phase, at_station, carrying, package_count, load_kg."""
        docked = self.fleet.at_station()
        return {'schema': 'robin_sim/place_station/1', 'time': round(self.time, 4),
                'docked': docked.name if docked is not None else None, 'robots': self.fleet.state()}
