"""Builds the MuJoCo world (MjSpec) from the cell URDF, a pile and the scene appearance.

The URDF is compiled by MuJoCo directly; this module adds what a URDF cannot say: actuators
(position + velocity feed-forward per joint; suction is a force pair, see gripper.py), gravity compensation,
contact parameters, the belt's surface velocity, lights, the overhead camera, drive robots (mocap)
and the packages with procedural textures. Geom groups separate what suction rays may hit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from robin_core.cell_description import CellDescription
from robin_sim.package_catalog import PackageSpec, SceneAppearance
from robin_sim.textures import package_texture

#: Geom groups: rays for the cup seal test see groups 0-2 only.
GROUP_PACKAGE = 0
GROUP_FIXTURE = 1
GROUP_ROBOT = 3
RAY_GEOMGROUP = np.array([1, 1, 1, 0, 0, 0], dtype=np.uint8)

CAMERA_NAME = 'overhead'
TIMESTEP = 0.002  #: [s]
ARM_KP = (2500.0, 2500.0, 1500.0, 400.0, 400.0, 300.0)  #: [N m/rad]
ARM_KV = (250.0, 250.0, 150.0, 30.0, 30.0, 20.0)  #: [N m s/rad]
ARM_ARMATURE = (0.4, 0.4, 0.3, 0.05, 0.05, 0.05)  #: [kg m²] reflected rotor inertia
DRIVE_ROBOT_SIZE = (0.50, 0.50)  #: [m] tray footprint
BELT_SURFACEVEL_MARKER = 1e-9  #: [m/s] see _setup_fixtures
PARKING_X = 20.0  #: [m] delivered packages are parked on the floor out here


@dataclass
class WorldIndex:
    """Names of the things the simulation addresses by id after compiling."""

    joint_names: tuple[str, ...]
    cup_bodies: tuple[str, ...]
    package_bodies: dict[int, str] = field(default_factory=dict)  # package id -> body name
    drive_robots: tuple[str, ...] = ()
    belt_geom: str = 'belt'


def _package_body_name(pid: int) -> str:
    return f'pkg_{pid}'


def build_world(
    cell: CellDescription,
    packages: list[PackageSpec],
    appearance: SceneAppearance,
    *,
    num_drive_robots: int = 2,
) -> tuple[mujoco.MjSpec, WorldIndex]:
    """Return the editable spec of the whole cell and the index of named parts.

    Args:
        cell: cell description (URDF path, joints, camera, gripper, place station).
        packages: packages to add as free bodies at their initial poses.
        appearance: lights and belt colour.
        num_drive_robots: mocap drive robots serving the place station.
    """
    spec = mujoco.MjSpec.from_file(str(cell.urdf_path))
    spec.compiler.fusestatic = False  # keep cup bodies: adhesion acts per body
    spec.compiler.discardvisual = False  # True would also drop our materials and textures
    spec.option.timestep = TIMESTEP
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0  # stable piles with the elliptic cone (piles creep at 1)
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.visual.global_.offwidth = cell.camera.intrinsics.width
    spec.visual.global_.offheight = cell.camera.intrinsics.height
    spec.visual.quality.shadowsize = 0  # shadows cost ~4x render time on llvmpipe
    spec.visual.quality.offsamples = 0  # no MSAA: halves the software-rendering time
    spec.visual.headlight.ambient = [appearance.ambient] * 3
    spec.visual.headlight.diffuse = [0.15, 0.15, 0.15]
    spec.visual.headlight.specular = [0.05, 0.05, 0.05]
    spec.visual.map.znear = 0.01  # relative to extent: keeps depth precise at ~1.3 m
    spec.stat.extent = 2.0

    index = WorldIndex(cell.joint_names, cell.gripper.cup_names)
    _setup_robot(spec, cell)
    _setup_fixtures(spec, appearance)
    _add_lights_and_camera(spec, cell, appearance)
    index.drive_robots = _add_drive_robots(spec, cell, num_drive_robots)
    for p in packages:
        index.package_bodies[p.id] = add_package(spec, p)
    return spec, index


def _setup_robot(spec: mujoco.MjSpec, cell: CellDescription) -> None:
    arm_bodies = {spec.joint(n).parent.name for n in cell.joint_names}
    tool = spec.body(cell.gripper.flange_frame)
    robot_bodies = set(arm_bodies) | {b.name for b in tool.find_all(mujoco.mjtObj.mjOBJ_BODY)} | {'tool0'}
    for body in spec.bodies:
        if body.name in robot_bodies:
            body.gravcomp = 1.0  # the real controller compensates gravity (payload excluded)
            for g in body.geoms:
                g.group = GROUP_ROBOT
                g.rgba = [0.25, 0.45, 0.75, 1] if body.name in ('upper_arm_link', 'forearm_link') else \
                    [0.72, 0.74, 0.77, 1]
    for g in spec.body('base_link').geoms:
        g.group = GROUP_ROBOT
        g.rgba = [0.72, 0.74, 0.77, 1]
    for k, cup in enumerate(cell.gripper.cup_names):
        body = spec.body(cup)
        for g in body.geoms:
            g.friction = [1.2, 0.01, 0.001]  # rubber lip
            g.rgba = [0.1, 0.1, 0.1, 1]
        # lip site for the seal rays (origin = lip centre, z out of the tool)
        body.add_site(name=f'lip_{k}', pos=[0, 0, 0], size=[0.003, 0, 0], group=GROUP_ROBOT)
    for g in spec.body('gripper_link').geoms:
        g.rgba = [0.15, 0.15, 0.16, 1]
    spec.body(cell.gripper.flange_frame).add_site(name='flange', pos=[0, 0, 0], group=GROUP_ROBOT)
    for i, name in enumerate(cell.joint_names):
        joint = spec.joint(name)
        joint.armature = ARM_ARMATURE[i]
        lim = cell.joints[i]
        pos = spec.add_actuator(name=f'{name}_pos', target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        pos.set_to_position(kp=ARM_KP[i], kv=0.0)
        pos.ctrlrange = [lim.lower, lim.upper]
        pos.forcerange = [-lim.effort, lim.effort]
        vel = spec.add_actuator(name=f'{name}_vel', target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        vel.set_to_velocity(kv=ARM_KV[i])  # velocity feed-forward + damping around the reference
        vel.ctrlrange = [-lim.velocity * 1.5, lim.velocity * 1.5]
        vel.forcerange = [-lim.effort, lim.effort]
    spec.add_exclude(bodyname1='base_link', bodyname2='shoulder_link')
    spec.add_exclude(bodyname1='pedestal', bodyname2='shoulder_link')


def _setup_fixtures(spec: mujoco.MjSpec, appearance: SceneAppearance) -> None:
    floor_z = float(spec.body('pedestal').pos[2])
    spec.add_texture(name='floor_tex', type=mujoco.mjtTexture.mjTEXTURE_2D,
                     builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, width=256, height=256,
                     rgb1=[0.42, 0.43, 0.45], rgb2=[0.38, 0.39, 0.41])
    floor_mat = spec.add_material(name='floor_mat', texrepeat=[8, 8], reflectance=0.0)
    floor_mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = 'floor_tex'
    spec.worldbody.add_geom(name='floor', type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05],
                            pos=[0, 0, floor_z], material='floor_mat', group=GROUP_FIXTURE)
    conveyor = spec.body('conveyor')
    geoms = list(conveyor.geoms)
    geoms[0].name = 'belt'
    geoms[0].rgba = [*appearance.belt_rgb, 1.0]
    geoms[0].friction = [0.9, 0.005, 0.0001]
    # MuJoCo only enables the surface-velocity code path when some geom has one at compile time;
    # a tiny component along the belt normal (projected away at contacts) keeps it runtime-settable
    geoms[0].surfacevel = [0.0, 0.0, BELT_SURFACEVEL_MARKER, 0.0, 0.0, 0.0]
    for g in geoms[1:]:
        g.rgba = [0.55, 0.57, 0.6, 1.0]
        g.friction = [0.3, 0.005, 0.0001]
    for body in ('conveyor', 'pedestal', 'place_station'):
        for g in spec.body(body).geoms:
            g.group = GROUP_FIXTURE
    for g in spec.body('pedestal').geoms:
        g.rgba = [0.3, 0.31, 0.33, 1]
    for g in spec.body('place_station').geoms:
        g.rgba = [0.9, 0.75, 0.1, 1]
        g.contype = g.conaffinity = 0  # floor paint
    for g in spec.body('camera_link').geoms:
        g.contype = g.conaffinity = 0  # the camera hangs on a gantry outside the workspace
        g.group = GROUP_ROBOT


def _add_lights_and_camera(spec: mujoco.MjSpec, cell: CellDescription, appearance: SceneAppearance) -> None:
    diffuse = np.array(appearance.light_tint) * appearance.light_diffuse
    target = np.array([np.mean(cell.pick_area.x_range), np.mean(cell.pick_area.y_range), cell.pick_area.belt_z])
    pos = np.array(appearance.light_pos)
    spec.worldbody.add_light(name='main', pos=pos, dir=(target - pos) / np.linalg.norm(target - pos),
                             diffuse=diffuse, specular=[0.3, 0.3, 0.3], castshadow=False)
    fill_pos = np.array([target[0], target[1] - 0.8, target[2] + 2.0])
    spec.worldbody.add_light(name='fill', pos=fill_pos, dir=(target - fill_pos) / np.linalg.norm(target - fill_pos),
                             diffuse=[appearance.fill_diffuse] * 3, specular=[0.0, 0.0, 0.0], castshadow=False)
    tf = cell.camera.T_base_optical
    # MuJoCo cameras look along -z with y up: optical frame rotated by π about x
    rot = tf[:3, :3] @ np.diag([1.0, -1.0, -1.0])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, rot.reshape(-1))
    spec.worldbody.add_camera(name=CAMERA_NAME, pos=tf[:3, 3], quat=quat, fovy=cell.camera.intrinsics.fovy_deg)


def _add_drive_robots(spec: mujoco.MjSpec, cell: CellDescription, count: int) -> tuple[str, ...]:
    tray = cell.place_station.T_base_tray
    height = float(tray[2, 3] - spec.body('pedestal').pos[2])
    sx, sy = DRIVE_ROBOT_SIZE
    names = []
    for k in range(count):
        name = f'drive_robot_{k}'
        body = spec.worldbody.add_body(name=name, mocap=True, pos=[tray[0, 3] + 3.0 + k, tray[1, 3], tray[2, 3]])
        rgba = [0.85, 0.45, 0.1, 1] if k % 2 == 0 else [0.2, 0.55, 0.85, 1]
        # chassis: visual only, so a robot drives over packages that fell to the floor
        chassis = body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[sx / 2, sy / 2, height / 2 - 0.02],
                                pos=[0, 0, -height / 2 - 0.01], rgba=rgba, group=GROUP_FIXTURE)
        chassis.contype = chassis.conaffinity = 0
        body.add_geom(name=f'{name}_tray', type=mujoco.mjtGeom.mjGEOM_BOX, size=[sx / 2, sy / 2, 0.01],
                      pos=[0, 0, -0.01], rgba=rgba, group=GROUP_FIXTURE)
        for dx, dy, hx, hy in ((sx / 2, 0, 0.01, sy / 2), (-sx / 2, 0, 0.01, sy / 2),
                               (0, sy / 2, sx / 2, 0.01), (0, -sy / 2, sx / 2, 0.01)):
            body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx, hy, 0.025], pos=[dx, dy, 0.025],
                          rgba=[0.2, 0.2, 0.2, 1], group=GROUP_FIXTURE)
        names.append(name)
    return tuple(names)


def add_package(spec: mujoco.MjSpec, p: PackageSpec) -> str:
    """Add package ``p`` as a textured free box; return its body name."""
    name = _package_body_name(p.id)
    tex = package_texture(p)
    texture = spec.add_texture(name=f'{name}_tex', type=mujoco.mjtTexture.mjTEXTURE_2D, width=tex.shape[1],
                               height=tex.shape[0], nchannel=3)
    texture.data = tex.tobytes()
    mat = spec.add_material(name=f'{name}_mat', specular=0.6 if p.glossy else 0.1,
                            shininess=0.8 if p.glossy else 0.1)
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = f'{name}_tex'
    body = spec.worldbody.add_body(name=name, pos=p.pos, quat=p.quat)
    body.add_freejoint(name=f'{name}_joint')
    half = np.array(p.size) / 2
    body.add_geom(name=f'{name}_geom', type=mujoco.mjtGeom.mjGEOM_BOX, size=half, mass=p.mass,
                  friction=[p.friction, 0.005, 0.0001], material=f'{name}_mat', group=GROUP_PACKAGE,
                  condim=3)
    return name
