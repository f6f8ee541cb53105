"""Writes ``urdf/robin_cell.urdf``: a UR5e-class arm, an 8-cup suction tool, camera and cell fixtures.

The URDF is generated (``python -m robin_sim.cell_urdf``) so that the DH parameters, the cup grid
and the cell layout are written once, here, as numbers with units; the generated file is checked in
and a test keeps the two in sync. Frames follow REP-103 (x forward, y left, z up; metres, radians);
the planning frame ``base_link`` is the UR DH base frame (z up along the shoulder-pan axis; note that
the official ur_description ``base_link`` is this frame rotated by π about z).

Primitive shapes only (no meshes), so the file loads in yourdfpy, RViz, MoveIt and MuJoCo alike.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

PI = math.pi

#: Public UR5e DH parameters [m, rad].
UR5E_D = (0.1625, 0.0, 0.0, 0.1333, 0.0997, 0.0996)
UR5E_A = (0.0, -0.425, -0.3922, 0.0, 0.0, 0.0)
UR5E_ALPHA = (PI / 2, 0.0, 0.0, PI / 2, -PI / 2, 0.0)
JOINT_NAMES = (
    'shoulder_pan_joint',
    'shoulder_lift_joint',
    'elbow_joint',
    'wrist_1_joint',
    'wrist_2_joint',
    'wrist_3_joint',
)
LINK_NAMES = ('shoulder_link', 'upper_arm_link', 'forearm_link', 'wrist_1_link', 'wrist_2_link', 'wrist_3_link')
#: Link masses [kg] (public UR5e values).
LINK_MASSES = (3.761, 8.058, 2.846, 1.37, 1.3, 0.365)
#: Joint limits: position [rad], velocity [rad/s], effort [N m].
JOINT_POSITION_LIMIT = (2 * PI, 2 * PI, PI, 2 * PI, 2 * PI, 2 * PI)
JOINT_VELOCITY_LIMIT = PI
JOINT_EFFORT = (150.0, 150.0, 150.0, 28.0, 28.0, 28.0)

#: Cell layout in base_link [m].
FLOOR_Z = -0.80
BELT_Z = -0.05  # belt surface
BELT_CENTER_X = 0.50
BELT_WIDTH = 0.50  # across the belt (base x)
BELT_LENGTH = 2.00  # along the belt (base y, flow towards +y)
RAIL_HEIGHT = 0.08  # above the belt surface
CAMERA_HEIGHT = 1.35  # above the belt surface
PLACE_XY = (-0.50, 0.0)  # drive-robot tray centre at the place station
PLACE_TOP_Z = -0.40  # drive-robot tray top

#: Suction tool [m], along the tool z axis from the flange.
ADAPTER_LENGTH = 0.05
PLATE_THICKNESS = 0.02
CUP_LENGTH = 0.04
TCP_Z = ADAPTER_LENGTH + PLATE_THICKNESS + CUP_LENGTH  # cup lips
CUP_RADIUS = 0.02
CUP_PITCH = 0.055
CUP_XY = tuple((CUP_PITCH * (i - 1.5), CUP_PITCH * (j - 0.5)) for j in range(2) for i in range(4))


@dataclass(frozen=True)
class _Shape:
    kind: str  # box | cylinder | sphere
    dims: tuple[float, ...]  # box: size xyz; cylinder: radius, length; sphere: radius
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _f(values: tuple[float, ...]) -> str:
    return ' '.join(f'{v:.10g}' for v in values)


def _geometry(s: _Shape) -> str:
    if s.kind == 'box':
        return f'<box size="{_f(s.dims)}"/>'
    if s.kind == 'cylinder':
        return f'<cylinder radius="{s.dims[0]:.6g}" length="{s.dims[1]:.6g}"/>'
    return f'<sphere radius="{s.dims[0]:.6g}"/>'


def _inertia(s: _Shape, m: float) -> tuple[float, float, float]:
    """Principal inertia [kg m²] of a solid primitive in its own frame."""
    if s.kind == 'box':
        x, y, z = s.dims
        return (m * (y * y + z * z) / 12, m * (x * x + z * z) / 12, m * (x * x + y * y) / 12)
    if s.kind == 'cylinder':
        r, h = s.dims
        side = m * (3 * r * r + h * h) / 12
        return (side, side, m * r * r / 2)
    i = 2 * m * s.dims[0] ** 2 / 5
    return (i, i, i)


def _link(name: str, shapes: list[_Shape], mass: float | None, material: str) -> str:
    out = [f'  <link name="{name}">']
    if mass is not None and shapes:
        s = shapes[0]  # inertia of the main shape; good enough for dynamics and MoveIt
        ixx, iyy, izz = _inertia(s, mass)
        out.append(
            f'    <inertial><origin xyz="{_f(s.xyz)}" rpy="{_f(s.rpy)}"/><mass value="{mass:.6g}"/>'
            f'<inertia ixx="{ixx:.6g}" ixy="0" ixz="0" iyy="{iyy:.6g}" iyz="0" izz="{izz:.6g}"/></inertial>'
        )
    for s in shapes:
        origin = f'<origin xyz="{_f(s.xyz)}" rpy="{_f(s.rpy)}"/>'
        out.append(f'    <visual>{origin}<geometry>{_geometry(s)}</geometry><material name="{material}"/></visual>')
        out.append(f'    <collision>{origin}<geometry>{_geometry(s)}</geometry></collision>')
    out.append('  </link>')
    return '\n'.join(out)


def _fixed(name: str, parent: str, child: str, xyz: tuple[float, ...], rpy: tuple[float, ...] = (0, 0, 0)) -> str:
    return (
        f'  <joint name="{name}" type="fixed"><parent link="{parent}"/><child link="{child}"/>'
        f'<origin xyz="{_f(xyz)}" rpy="{_f(rpy)}"/></joint>'
    )


def _dh_origin(i: int) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Fixed origin of joint ``i``: Tx(a[i-1]) Rx(alpha[i-1]) Tz(d[i]) (DH chain as URDF joints)."""
    a = UR5E_A[i - 1] if i else 0.0
    alpha = UR5E_ALPHA[i - 1] if i else 0.0
    d = UR5E_D[i]
    # Rx(alpha) applied to (0, 0, d)
    return (a, -math.sin(alpha) * d, math.cos(alpha) * d), (alpha, 0.0, 0.0)


def _arm_shapes() -> list[list[_Shape]]:
    """Collision/visual primitives per arm link, in the link (joint) frame; radii ~ UR5e housings."""
    half = PI / 2
    return [
        [_Shape('cylinder', (0.06, 0.15), (0, 0, 0))],  # shoulder: pan housing
        [  # upper arm along -x, offset along the joint axis like the real arm
            _Shape('cylinder', (0.054, 0.425), (-0.2125, 0, 0.138), (0, half, 0)),
            _Shape('cylinder', (0.06, 0.14), (0, 0, 0.07)),
        ],
        [  # forearm
            _Shape('cylinder', (0.04, 0.392), (-0.196, 0, 0.007), (0, half, 0)),
            _Shape('cylinder', (0.055, 0.12), (0, 0, 0.06)),
        ],
        [_Shape('cylinder', (0.04, 0.11), (0, 0, 0.0))],  # wrist 1
        [_Shape('cylinder', (0.04, 0.11), (0, 0, 0.0))],  # wrist 2
        [_Shape('cylinder', (0.038, 0.04), (0, 0, -0.02))],  # wrist 3 / flange housing
    ]


def build_urdf() -> str:
    """Return the robin_cell URDF as a string."""
    parts = [
        '<?xml version="1.0"?>',
        '<!-- GENERATED by `python -m robin_sim.cell_urdf` - edit robin_sim/cell_urdf.py instead. -->',
        '<robot name="robin_cell">',
        '  <material name="ur_grey"><color rgba="0.7 0.72 0.75 1"/></material>',
        '  <material name="ur_blue"><color rgba="0.25 0.45 0.75 1"/></material>',
        '  <material name="dark"><color rgba="0.12 0.12 0.13 1"/></material>',
        '  <material name="belt"><color rgba="0.15 0.16 0.17 1"/></material>',
        '  <material name="frame"><color rgba="0.55 0.57 0.6 1"/></material>',
        '  <material name="station"><color rgba="0.9 0.75 0.1 1"/></material>',
        _link('base_link', [_Shape('cylinder', (0.075, 0.09), (0, 0, 0.045))], 4.0, 'ur_grey'),
    ]
    parent = 'base_link'
    for i, (joint, link) in enumerate(zip(JOINT_NAMES, LINK_NAMES, strict=True)):
        xyz, rpy = _dh_origin(i)
        lim = JOINT_POSITION_LIMIT[i]
        parts.append(
            f'  <joint name="{joint}" type="revolute"><parent link="{parent}"/><child link="{link}"/>'
            f'<origin xyz="{_f(xyz)}" rpy="{_f(rpy)}"/><axis xyz="0 0 1"/>'
            f'<limit lower="{-lim:.10g}" upper="{lim:.10g}" velocity="{JOINT_VELOCITY_LIMIT:.10g}" '
            f'effort="{JOINT_EFFORT[i]:.6g}"/><dynamics damping="0.5" friction="0.0"/></joint>'
        )
        parts.append(_link(link, _arm_shapes()[i], LINK_MASSES[i], 'ur_blue' if i in (1, 2) else 'ur_grey'))
        parent = link
    # suction tool: flange (tool0) -> adapter + plate (gripper_link) -> cups -> tcp
    parts.append(_fixed('wrist_3-tool0', 'wrist_3_link', 'tool0', (0, 0, 0)))
    parts.append('  <link name="tool0"/>')
    parts.append(_fixed('tool0-gripper', 'tool0', 'gripper_link', (0, 0, 0)))
    plate = _Shape('box', (4 * CUP_PITCH + 0.01, 2 * CUP_PITCH + 0.01, PLATE_THICKNESS),
                   (0, 0, ADAPTER_LENGTH + PLATE_THICKNESS / 2))
    adapter = _Shape('cylinder', (0.04, ADAPTER_LENGTH), (0, 0, ADAPTER_LENGTH / 2))
    parts.append(_link('gripper_link', [plate, adapter], 0.9, 'dark'))
    parts.append(_fixed('gripper-tcp', 'gripper_link', 'tcp', (0, 0, TCP_Z)))
    parts.append('  <link name="tcp"/>')
    for k, (x, y) in enumerate(CUP_XY):
        # cup frame at the lip centre, z out of the tool like tcp; bellows above the lip
        parts.append(_fixed(f'tcp-cup_{k}', 'tcp', f'cup_{k}', (x, y, 0.0)))
        cup = _Shape('cylinder', (CUP_RADIUS, CUP_LENGTH), (0, 0, -CUP_LENGTH / 2))
        parts.append(_link(f'cup_{k}', [cup], 0.03, 'dark'))
    # camera: camera_link is REP-103 body (x forward = down), optical z forward, x right, y down
    cam_xyz = (BELT_CENTER_X, 0.0, BELT_Z + CAMERA_HEIGHT)
    parts.append(_fixed('base-camera', 'base_link', 'camera_link', cam_xyz, (0, PI / 2, 0)))
    parts.append(_link('camera_link', [_Shape('box', (0.03, 0.09, 0.025))], 0.07, 'dark'))
    optical_rpy = (-PI / 2, 0, -PI / 2)
    parts.append(_fixed('camera-optical', 'camera_link', 'camera_color_optical_frame', (0, 0, 0), optical_rpy))
    parts.append('  <link name="camera_color_optical_frame"/>')
    # fixtures (static): pedestal, conveyor (origin on the belt surface centre), place station
    ped_h = -FLOOR_Z
    parts.append(_fixed('base-pedestal', 'base_link', 'pedestal', (0, 0, FLOOR_Z)))
    parts.append(_link('pedestal', [_Shape('box', (0.22, 0.22, ped_h - 0.01), (0, 0, (ped_h - 0.01) / 2))],
                       None, 'frame'))
    parts.append(_fixed('base-conveyor', 'base_link', 'conveyor', (BELT_CENTER_X, 0, BELT_Z)))
    rail_y = BELT_WIDTH / 2 + 0.02
    belt_body_h = BELT_Z - FLOOR_Z - 0.02
    conveyor = [
        _Shape('box', (BELT_WIDTH, BELT_LENGTH, 0.04), (0, 0, -0.02)),  # belt (surface at z = 0)
        _Shape('box', (0.04, BELT_LENGTH, RAIL_HEIGHT + 0.04), (-rail_y, 0, RAIL_HEIGHT / 2 - 0.02)),
        _Shape('box', (0.04, BELT_LENGTH, RAIL_HEIGHT + 0.04), (rail_y, 0, RAIL_HEIGHT / 2 - 0.02)),
        _Shape('box', (BELT_WIDTH - 0.1, BELT_LENGTH - 0.2, belt_body_h), (0, 0, -0.04 - belt_body_h / 2 + 0.0)),
    ]
    parts.append(_link('conveyor', conveyor, None, 'belt'))
    parts.append(_fixed('base-place_station', 'base_link', 'place_station', (*PLACE_XY, FLOOR_Z)))
    marker = _Shape('box', (0.6, 0.6, 0.004), (0, 0, 0.002))
    parts.append(_link('place_station', [marker], None, 'station'))
    parts.append('</robot>')
    return '\n'.join(parts) + '\n'


def default_urdf_path() -> Path:
    """Path of the checked-in URDF in the source tree."""
    return Path(__file__).resolve().parent.parent / 'urdf' / 'robin_cell.urdf'


def main() -> None:
    """Write the URDF (to the path given as the first argument, default the checked-in file)."""
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default_urdf_path()
    path.write_text(build_urdf())
    print(f'wrote {path}')



if __name__ == '__main__':
    main()
