"""Keep the suction tool's body clear of the conveyor's side rails.

The grasp planner checks the cups and the tool body against the height map, but only *below* the
body, cell by cell: a tool tilted with a package that leans against a rail swings its plate
sideways into the rail without any map cell under the plate being high. The motion planner then
finds the grasp pose in collision (`goal_in_collision (descend: straight line collides)`), and the
cell re-planned the same package on every frame as the belt carried it along the rail: 12 aborts
in 20 s of a fault-injected run (session 7). The rails are fixed geometry, so the check here is
exact for the tool's parts modelled as boxes (plate, hub, and one box around the cups): a box
reaches into the slab beside the belt below the rail top iff a corner or an edge crossing does,
with the motion planner's clearance (the cups may touch, as there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[tuple[float, float, float], tuple[float, float, float]]  #: (centre, half size) [m]

#: Tool parts as boxes in the tcp frame (z points into the package, so the tool is at -z), from
#: urdf/robin_cell.urdf: the cup plate and the hub under the flange — kept ``clearance`` away ...
TOOL_BOXES: tuple[Box, ...] = (((0.0, 0.0, -0.05), (0.115, 0.06, 0.01)), ((0.0, 0.0, -0.085), (0.04, 0.04, 0.025)))
#: ... and the cups (8 of 2 cm radius, 4 cm tall, within ±0.1025 × ±0.0475): they may touch, as
#: in the motion planner, which lets contact geoms come closer than its clearance.
CUP_BLOCK: Box = ((0.0, 0.0, -0.02), (0.1025, 0.0475, 0.02))


@dataclass(frozen=True)
class RailGeometry:
    """The belt between its rails, in base_link [m].

    Attributes:
        belt_x_range: x of the rails' inner faces.
        belt_z: belt surface height.
        rail_height: rail top above the belt surface.
        clearance: the tool must stay this far from the rails (the motion planner's clearance).
    """

    belt_x_range: tuple[float, float]
    belt_z: float
    rail_height: float
    clearance: float = 0.01


def box_corners(rotations: np.ndarray, positions: np.ndarray, box: Box) -> np.ndarray:
    """(P, 8, 3) corners in base_link of ``box`` (tcp frame) for P tcp poses; corner k has the
    signs of bits 0..2 of k along x, y, z, so corners differing in one bit share an edge."""
    rot = np.asarray(rotations, np.float64).reshape(-1, 3, 3)
    pos = np.asarray(positions, np.float64).reshape(-1, 3)
    signs = np.array([[1.0 if k >> b & 1 else -1.0 for b in range(3)] for k in range(8)])
    local = np.asarray(box[0]) + signs * np.asarray(box[1])  # (8, 3)
    return pos[:, None, :] + np.einsum('pij,nj->pni', rot, local)


#: The 12 edges of a box as corner index pairs (corners that differ in one sign bit).
_EDGES = np.array([(k, k | 1 << b) for k in range(8) for b in range(3) if not k >> b & 1])


def box_enters_slab(corners: np.ndarray, x_limit: float, side: float, z_top: float) -> np.ndarray:
    """(P,) whether boxes given by (P, 8, 3) ``corners`` reach into the slab beyond ``x_limit``
    (``side`` +1: x > x_limit, -1: x < x_limit) below ``z_top``. Exact for a box: the lowest point of
    a box cut by the plane x = x_limit is a corner beyond it or where an edge crosses the plane."""
    beyond = side * (corners[..., 0] - x_limit) > 0.0
    hit = np.any(beyond & (corners[..., 2] < z_top), axis=1)
    a, b = corners[:, _EDGES[:, 0]], corners[:, _EDGES[:, 1]]  # (P, 12, 3)
    da, db = a[..., 0] - x_limit, b[..., 0] - x_limit
    cross = da * db < 0.0
    t = np.where(cross, da / np.where(cross, da - db, 1.0), 0.0)
    z = a[..., 2] + t * (b[..., 2] - a[..., 2])
    return hit | np.any(cross & (z < z_top), axis=1)


def hits_rails(rotations: np.ndarray, positions: np.ndarray, rails: RailGeometry) -> np.ndarray:
    """(P,) True where the tool body at the tcp pose comes within ``rails.clearance`` of a rail
    (the cups: into one)."""
    rot = np.asarray(rotations, np.float64).reshape(-1, 3, 3)
    out = np.zeros(rot.shape[0], bool)
    for box, c in [*((b, rails.clearance) for b in TOOL_BOXES), (CUP_BLOCK, 0.0)]:
        corners = box_corners(rot, positions, box)
        top = rails.belt_z + rails.rail_height + c
        out |= box_enters_slab(corners, rails.belt_x_range[0] + c, -1.0, top)
        out |= box_enters_slab(corners, rails.belt_x_range[1] - c, 1.0, top)
    return out
