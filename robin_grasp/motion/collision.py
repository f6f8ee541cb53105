"""Collision checks on the planning model: single states and straight joint-space segments."""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from robin_grasp.motion.carry_constraint import tool_tilt
from robin_grasp.motion.interface import FloatArray, HeightMap, Scene
from robin_grasp.motion.planning_model import PlanningModel


@dataclass(frozen=True)
class Contact:
    """One offending contact: the two geom names and the signed distance [m] (< 0 = penetration)."""

    geom1: str
    geom2: str
    distance: float


class CollisionChecker:
    """Answers "is this joint state / segment collision-free?" against the cell and the scene.

    Args:
        model: The planning model (owned: checks mutate its MjData).
        segment_step: Largest joint step between checked states on a segment [rad].
    """

    def __init__(self, model: PlanningModel, segment_step: float = 0.03) -> None:
        self.model = model
        self.segment_step = float(segment_step)
        self.checks = 0  # state checks since construction (benchmarks, diagnostics)
        m = model.model
        first = int(model.joint_bodies[0])
        # the first moving body always overlaps its mount (base housing); that is not a collision
        self._ignored_pairs = {frozenset((first, int(m.body_parentid[first])))}
        self._grid: FloatArray | None = None  # the pile grid last loaded (for the self filter)
        #: [rad] largest tool tilt a valid state may have (None: any); set while carrying a package
        self.max_tilt: float | None = None

    def apply_scene(self, scene: Scene) -> None:
        """Load a scene's pile, boxes and carried package into the model."""
        pm = self.model
        pm.set_boxes(scene.boxes)
        pm.set_payload(scene.attached)
        if pm.pile is None:
            return
        hm = scene.height_map
        grid = np.full(pm.pile.shape, np.nan) if hm is None else resample_height_map(hm, pm)
        if scene.pile_clear_xy is not None:
            cx, cy, radius, _ = scene.pile_clear_xy
            xs, ys = pile_cell_centres(pm)
            inside = (xs - cx) ** 2 + (ys - cy) ** 2 <= radius**2
            floor = scene.cleared_height(xs, ys)
            grid = np.where(inside, np.minimum(np.nan_to_num(grid, nan=-np.inf), floor), grid)
        self._grid = grid
        pm.set_pile(grid)

    def filter_self(self, q: FloatArray, margin: float = 0.03) -> bool:
        """Remove the arm's own image from the loaded pile map (a robot self filter).

        The pile map comes from a camera frame; when the arm was in view (it got stuck over the
        pile), its links are in the map as "pile", and every plan from there starts in collision
        with itself. Cells under each arm geom at ``q`` (within its bounding radius + ``margin``)
        are lowered to below that geom. Returns whether anything was lowered.
        """
        pm = self.model
        if pm.pile is None or self._grid is None:
            return False
        m, d = pm.model, pm.data
        pm.set_joints(q)
        xs, ys = pile_cell_centres(pm)
        grid = np.nan_to_num(self._grid, nan=-np.inf)
        before = grid.copy()
        for g in pm.robot_geoms:
            cx, cy, cz = d.geom_xpos[g]
            r = float(m.geom_rbound[g]) + margin
            under = (xs - cx) ** 2 + (ys - cy) ** 2 <= r * r
            grid = np.where(under, np.minimum(grid, cz - r), grid)
        changed = bool(np.any(grid < before))
        self._grid = np.where(np.isneginf(grid), np.nan, grid)
        pm.set_pile(self._grid)
        return changed

    def contacts(self, q: FloatArray) -> list[Contact]:
        """All contacts closer than the clearance at joint positions ``q`` [rad]."""
        pm = self.model
        m, d = pm.model, pm.data
        pm.set_joints(q)
        mujoco.mj_collision(m, d)
        self.checks += 1
        out = []
        for i in range(d.ncon):
            c = d.contact[i]
            b1, b2 = int(m.geom_bodyid[c.geom1]), int(m.geom_bodyid[c.geom2])
            if frozenset((b1, b2)) in self._ignored_pairs or pm.same_rigid_group(b1, b2):
                continue
            if c.dist >= 0.0 and (c.geom1 in pm.contact_geoms or c.geom2 in pm.contact_geoms):
                continue  # a cup within the clearance but not into anything: touching is its job
            out.append(Contact(_geom_name(m, c.geom1), _geom_name(m, c.geom2), float(c.dist)))
        return out

    def is_valid(self, q: FloatArray) -> bool:
        """True when ``q`` is within joint limits, collision-free and (with :attr:`max_tilt` set)
        tilts the tool no more than that from straight down."""
        lim = self.model.limits
        if np.any(q < lim.lower) or np.any(q > lim.upper):
            return False
        if self.contacts(q):
            return False
        return self.max_tilt is None or tool_tilt(self.model.tcp_pose()) <= self.max_tilt

    def describe(self, q: FloatArray) -> str:
        """Why ``q`` [rad] is invalid, for failure details: the joint limits, the first contacts (the
        carried package is ``motion_payload``, the unmapped belt ``motion_static_*``), or the tilt."""
        lim = self.model.limits
        if np.any(q < lim.lower) or np.any(q > lim.upper):
            return 'outside the joint limits'
        contacts = self.contacts(q)
        if contacts:
            return 'contact ' + ', '.join(f'{c.geom1}/{c.geom2}' for c in contacts[:3])
        if self.max_tilt is not None and tool_tilt(self.model.tcp_pose()) > self.max_tilt:
            return f'carried package tilted beyond {np.degrees(self.max_tilt):.0f} deg'
        return 'invalid'

    def segment_valid(self, q0: FloatArray, q1: FloatArray) -> bool:
        """True when the straight joint-space segment q0 → q1 is valid at :attr:`segment_step`."""
        steps = max(1, int(np.ceil(np.max(np.abs(q1 - q0)) / self.segment_step)))
        return all(self.is_valid(q0 + (q1 - q0) * (k / steps)) for k in range(1, steps + 1))

    def path_valid(self, path: FloatArray) -> bool:
        """True when every state and segment of the (N, dof) ``path`` is valid."""
        if not self.is_valid(path[0]):
            return False
        return all(self.segment_valid(path[k], path[k + 1]) for k in range(len(path) - 1))


def pile_cell_centres(model: PlanningModel) -> tuple[FloatArray, FloatArray]:
    """x and y [m] of every height-field cell, each shaped like the grid."""
    assert model.pile is not None
    p = model.pile
    rows, cols = p.shape
    xs = np.linspace(p.center_xy[0] - p.half_size_xy[0], p.center_xy[0] + p.half_size_xy[0], cols)
    ys = np.linspace(p.center_xy[1] - p.half_size_xy[1], p.center_xy[1] + p.half_size_xy[1], rows)
    return np.meshgrid(xs, ys)


def resample_height_map(hm: HeightMap, model: PlanningModel) -> FloatArray:
    """Resample a height map onto the model's pile grid, conservatively (max over a 3×3 window).

    Cells outside ``hm`` are NaN (empty).
    """
    from scipy.ndimage import maximum_filter  # noqa: PLC0415 - scipy import is slow; only when used

    xs, ys = pile_cell_centres(model)
    col = np.rint((xs - hm.origin_xy[0]) / hm.resolution).astype(int)
    row = np.rint((ys - hm.origin_xy[1]) / hm.resolution).astype(int)
    rows, cols = hm.heights.shape
    inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    src = maximum_filter(np.nan_to_num(hm.heights, nan=-np.inf), size=3, mode='nearest')
    out = np.full(xs.shape, np.nan)
    out[inside] = src[row[inside], col[inside]]
    out[~np.isfinite(out)] = np.nan
    return out


def _geom_name(m: mujoco.MjModel, g: int) -> str:
    name = mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g)
    return name or f'{mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, int(m.geom_bodyid[g]))}/geom{g}'
