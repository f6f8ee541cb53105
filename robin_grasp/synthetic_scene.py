"""Synthetic package scenes for the grasp planner's tests and benchmark (no simulator needed).

Packages are boxes (yaw only) dropped onto a belt in order: each lies flat on the highest surface
under its footprint, and records what it rests on. Scenes are produced either as an orthographic
:class:`~robin_grasp.height_map.HeightMap` (unit tests of cup selection) or as what the pipeline
receives: a ray-cast aligned depth image, a label image and the perception instance table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robin_core.cell_description import CameraIntrinsics, PickArea
from robin_core.instance_table import INSTANCE_DTYPE, PACKAGE_TYPES
from robin_grasp.grasp_planner import Scene
from robin_grasp.height_map import HeightMap


@dataclass(frozen=True)
class Package:
    """A box-shaped package lying flat.

    Attributes:
        id: instance label (1..).
        x: base_link x of the footprint centre [m].
        y: base_link y of the footprint centre [m].
        length: size along its own x axis [m].
        width: size along its own y axis [m].
        thickness: height [m].
        yaw: heading of its x axis [rad].
        type_id: index into PACKAGE_TYPES.
        bottom: base_link z of its underside [m]; None drops it onto what lies below.
    """

    id: int
    x: float
    y: float
    length: float
    width: float
    thickness: float
    yaw: float = 0.0
    type_id: int = 0
    bottom: float | None = None

    @property
    def top(self) -> float:
        assert self.bottom is not None
        return self.bottom + self.thickness

    def contains(self, xy: np.ndarray, grow: float = 0.0) -> np.ndarray:
        """Mask of base_link points (..., 2) inside the footprint grown by ``grow`` [m]."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        dx, dy = xy[..., 0] - self.x, xy[..., 1] - self.y
        u, v = c * dx + s * dy, -s * dx + c * dy
        return (np.abs(u) <= self.length / 2 + grow) & (np.abs(v) <= self.width / 2 + grow)

    def corners(self) -> np.ndarray:
        """(8, 3) base_link corners [m]."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        uv = np.array([[sx * self.length / 2, sy * self.width / 2] for sx in (-1, 1) for sy in (-1, 1)])
        xy = uv @ np.array([[c, s], [-s, c]]) + [self.x, self.y]
        assert self.bottom is not None
        return np.vstack([np.column_stack([xy, np.full(4, z)]) for z in (self.bottom, self.top)])


@dataclass
class Pile:
    """Settled packages and who rests on whom."""

    packages: list[Package]
    belt_z: float
    rests_on: dict[int, set[int]] = field(default_factory=dict)  # id -> ids directly below it

    def resting_on(self, package_id: int) -> set[int]:
        """Ids of packages lying directly on ``package_id``."""
        return {k for k, below in self.rests_on.items() if package_id in below}


def settle(packages: list[Package], belt_z: float) -> Pile:
    """Drop packages in order; each lies flat on the highest surface under its footprint."""
    placed: list[Package] = []
    rests: dict[int, set[int]] = {}
    for given in packages:
        if given.bottom is not None:
            placed.append(given)
            rests[given.id] = {q.id for q in placed[:-1] if abs(q.top - given.bottom) < 1e-4 and _overlap(given, q)}
            continue
        under = [q for q in placed if _overlap(given, q)]
        bottom = max([belt_z, *(q.top for q in under)])
        placed.append(Package(**{**given.__dict__, 'bottom': bottom}))
        rests[given.id] = {q.id for q in under if abs(q.top - bottom) < 1e-6}
    return Pile(placed, belt_z, rests)


def _overlap(a: Package, b: Package) -> bool:
    gu, gv = np.meshgrid(np.linspace(-0.5, 0.5, 9) * a.length, np.linspace(-0.5, 0.5, 9) * a.width)
    c, s = np.cos(a.yaw), np.sin(a.yaw)
    xy = np.stack([a.x + c * gu - s * gv, a.y + s * gu + c * gv], axis=-1)
    return bool(b.contains(xy, grow=-1e-6).any())  # touching sides do not support each other


def height_map(pile: Pile, x_range: tuple[float, float], y_range: tuple[float, float], res: float) -> HeightMap:
    """Orthographic height map of the pile: top of the highest package over each cell, else the belt."""
    w = int(np.floor((x_range[1] - x_range[0]) / res)) + 1
    h = int(np.floor((y_range[1] - y_range[0]) / res)) + 1
    xs = x_range[0] + np.arange(w) * res
    ys = y_range[0] + np.arange(h) * res
    xy = np.stack(np.meshgrid(xs, ys), axis=-1)
    height = np.full((h, w), pile.belt_z, np.float32)
    labels = np.zeros((h, w), np.uint16)
    for p in sorted(pile.packages, key=lambda q: q.top):
        inside = p.contains(xy)
        height[inside] = p.top
        labels[inside] = p.id
    return HeightMap(height, labels, (float(x_range[0]), float(y_range[0])), float(res))


def render(
    pile: Pile, intrinsics: CameraIntrinsics, t_base_optical: np.ndarray, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Ray-cast the pile into an aligned depth image and a label image.

    Args:
        pile: settled packages.
        intrinsics: camera model.
        t_base_optical: (4, 4) camera optical frame in base_link.
        noise: Gaussian depth noise standard deviation [m].
        seed: noise seed.

    Returns:
        depth (H, W) float32 [m] (NaN where nothing is hit) and labels (H, W) uint16.
    """
    h, w = intrinsics.height, intrinsics.width
    v, u = np.mgrid[0:h, 0:w]
    d_cam = np.stack([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, np.ones((h, w))], -1)
    rot, origin = t_base_optical[:3, :3], t_base_optical[:3, 3]
    d = d_cam @ rot.T  # ray direction in base_link, scaled so that t is the optical depth
    with np.errstate(divide='ignore', invalid='ignore'):
        t_best = np.where(d[..., 2] < 0, (pile.belt_z - origin[2]) / d[..., 2], np.inf)
    labels = np.zeros((h, w), np.uint16)
    inv_rot = np.linalg.inv(t_base_optical)
    for p in pile.packages:
        cam = (inv_rot[:3, :3] @ p.corners().T).T + inv_rot[:3, 3]
        if (cam[:, 2] <= 0).any():
            continue
        pu = cam[:, 0] / cam[:, 2] * intrinsics.fx + intrinsics.cx
        pv = cam[:, 1] / cam[:, 2] * intrinsics.fy + intrinsics.cy
        u0, u1 = max(int(np.floor(pu.min())), 0), min(int(np.ceil(pu.max())) + 1, w)
        v0, v1 = max(int(np.floor(pv.min())), 0), min(int(np.ceil(pv.max())) + 1, h)
        if u0 >= u1 or v0 >= v1:
            continue
        t = _ray_box(origin, d[v0:v1, u0:u1], p)
        win = t_best[v0:v1, u0:u1]
        closer = t < win
        win[closer] = t[closer]
        labels[v0:v1, u0:u1][closer] = p.id
    depth = t_best.astype(np.float32)
    depth[~np.isfinite(depth)] = np.nan
    if noise > 0:
        depth += np.random.default_rng(seed).normal(0.0, noise, depth.shape).astype(np.float32)
    return depth, labels


def _ray_box(origin: np.ndarray, d: np.ndarray, p: Package) -> np.ndarray:
    """Slab test: ray parameter of the first hit with the box (inf where missed)."""
    c, s = np.cos(p.yaw), np.sin(p.yaw)
    to_box = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    o = to_box @ (origin - np.array([p.x, p.y, 0.0]))
    db = d @ to_box.T
    lo = np.array([-p.length / 2, -p.width / 2, p.bottom])
    hi = np.array([p.length / 2, p.width / 2, p.top])
    with np.errstate(divide='ignore', invalid='ignore'):
        t1 = (lo - o) / db
        t2 = (hi - o) / db
    t1 = np.where(np.isnan(t1), -np.inf, t1)
    t2 = np.where(np.isnan(t2), np.inf, t2)
    t_near = np.minimum(t1, t2).max(axis=-1)
    t_far = np.maximum(t1, t2).min(axis=-1)
    hit = (t_near <= t_far) & (t_far > 0)
    return np.where(hit, np.maximum(t_near, 0.0), np.inf)


def instance_table(
    pile: Pile,
    depth: np.ndarray,
    labels: np.ndarray,
    intrinsics: CameraIntrinsics,
    t_base_optical: np.ndarray,
    *,
    score: float = 0.95,
) -> np.ndarray:
    """What a perfect perception node would publish for this rendering (INSTANCE_DTYPE rows)."""
    rows = []
    by_id = {p.id: p for p in pile.packages}
    h, w = labels.shape
    for iid in np.unique(labels[labels > 0]).tolist():
        v, u = np.nonzero(labels == iid)
        z = depth[v, u].astype(np.float64)
        cam = np.column_stack([(u - intrinsics.cx) / intrinsics.fx * z, (v - intrinsics.cy) / intrinsics.fy * z, z])
        base_z = cam @ t_base_optical[2, :3] + t_base_optical[2, 3]
        r = np.zeros(1, INSTANCE_DTYPE)[0]
        r['id'], r['type_id'] = iid, by_id[iid].type_id
        r['score'], r['type_score'] = score, score
        r['x'], r['y'], r['z'] = np.nanmean(cam, axis=0)
        r['u0'], r['v0'], r['u1'], r['v1'] = u.min(), v.min(), u.max() + 1, v.max() + 1
        r['area_px'] = u.size
        r['area_m2'] = float(np.nansum((z / intrinsics.fx) * (z / intrinsics.fy)))
        r['height_top'] = float(np.nanpercentile(base_z, 95) - pile.belt_z)
        r['height_mean'] = float(np.nanmean(base_z) - pile.belt_z)
        r['occluded_by'] = len(pile.resting_on(iid))
        r['touches_border'] = int(u.min() == 0 or v.min() == 0 or u.max() == w - 1 or v.max() == h - 1)
        r['geometric_iou'] = np.nan
        rows.append(r)
    return np.array(rows, INSTANCE_DTYPE) if rows else np.zeros(0, INSTANCE_DTYPE)


def pile_instances(pile: Pile, score: float = 0.95, visible: set[int] | None = None) -> np.ndarray:
    """Instance rows for an orthographic test (no image): ids, types, scores and true occlusion counts.

    Args:
        pile: settled packages.
        score: instance and type confidence [0..1].
        visible: ids to include (default: all).
    """
    ids = [p for p in pile.packages if visible is None or p.id in visible]
    t = np.zeros(len(ids), INSTANCE_DTYPE)
    t['id'] = [p.id for p in ids]
    t['type_id'] = [p.type_id for p in ids]
    t['score'] = score
    t['type_score'] = score
    t['occluded_by'] = [len(pile.resting_on(p.id)) for p in ids]
    t['geometric_iou'] = np.nan
    return t


def make_scene(
    pile: Pile, intrinsics: CameraIntrinsics, t_base_optical: np.ndarray, noise: float = 0.0, seed: int = 0
) -> Scene:
    """Render the pile and wrap it as the planner's :class:`Scene`."""
    depth, labels = render(pile, intrinsics, t_base_optical, noise, seed)
    table = instance_table(pile, depth, labels, intrinsics, t_base_optical)
    return Scene(table, labels, depth, intrinsics, t_base_optical)


def random_pile(
    rng: np.random.Generator, n: int, area: PickArea, spread: float = 0.8, max_height: float | None = None
) -> Pile:
    """A random jumble of ``n`` packages of mixed types inside ``area`` (shrunk by ``spread``).

    Args:
        rng: random generator.
        n: packages dropped.
        area: pick area (belt height and extent).
        spread: share of the area's extent used for package centres.
        max_height: a package whose top would end higher above the belt than this [m] is dropped
            elsewhere (up to 20 tries, then left out), like a pile that spreads instead of
            towering; None: no limit.
    """
    cx, cy = np.mean(area.x_range), np.mean(area.y_range)
    hx = 0.5 * spread * (area.x_range[1] - area.x_range[0])
    hy = 0.5 * spread * (area.y_range[1] - area.y_range[0])
    sizes = {  # type -> (length range, width/length range, thickness range) [m]
        'box': ((0.15, 0.40), (0.5, 0.9), (0.05, 0.25)),
        'poly_mailer': ((0.20, 0.40), (0.6, 0.8), (0.02, 0.06)),
        'padded_mailer': ((0.18, 0.30), (0.6, 0.8), (0.01, 0.03)),
        'flat_envelope': ((0.20, 0.32), (0.65, 0.75), (0.004, 0.008)),
    }
    pile = settle([], area.belt_z)
    for i in range(n):
        tid = int(rng.integers(len(PACKAGE_TYPES)))
        (l0, l1), (r0, r1), (t0, t1) = sizes[PACKAGE_TYPES[tid]]
        length = rng.uniform(l0, l1)
        width, thick, yaw = length * rng.uniform(r0, r1), rng.uniform(t0, t1), rng.uniform(-np.pi, np.pi)
        for _ in range(20 if max_height is not None else 1):
            p = Package(i + 1, cx + rng.uniform(-hx, hx), cy + rng.uniform(-hy, hy), length, width, thick, yaw, tid)
            trial = settle([*pile.packages, p], area.belt_z)
            if max_height is None or trial.packages[-1].top - area.belt_z <= max_height:
                pile = trial
                break
    return pile
