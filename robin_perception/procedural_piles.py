"""Fast numpy pile renderer: a dataset backend that needs no physics engine or GPU.

Packages are dropped one by one onto a belt-frame height raster (boxes rest rigidly on the
highest point beneath them, mailers and envelopes drape over what is below), painted with
randomised textures, then ray-cast into an overhead pinhole camera. It is not physics; it is a
cheap, diverse source of exact labels used for pretraining, for CI, and when the MuJoCo backend
(robin_sim) is unavailable. Every output is a pure function of (seed, domain).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from robin_perception.camera_intrinsics import Intrinsics
from robin_perception.pile_scene import PackageTruth, PileFrame

CELL_M = 0.0025  # belt raster resolution [m]
BOX, POLY, PADDED, FLAT = 0, 1, 2, 3

# (length, width, height) ranges [m] per type
_SIZES = {
    BOX: ((0.15, 0.45), (0.12, 0.35), (0.05, 0.28)),
    POLY: ((0.25, 0.50), (0.18, 0.38), (0.015, 0.06)),
    PADDED: ((0.22, 0.40), (0.16, 0.30), (0.012, 0.035)),
    FLAT: ((0.22, 0.35), (0.11, 0.25), (0.003, 0.008)),
}


@dataclass(frozen=True)
class DomainProfile:
    """Domain-randomisation ranges of one site look.

    Attributes:
        name: profile name stored with every frame.
        type_mix: sampling weights of box, poly, padded, flat.
        camera_height_m: (low, high) camera height above the belt [m].
        belt_colors: candidate belt RGB colours (0..255).
        light_warmth: (low, high) multiplicative red/blue balance of the light.
        packages: (low, high) packages per pile.
        black_p: probability that a package is black.
        white_scene_p: probability of an all-white scene (white-on-white).
        artwork_p: probability of printed artwork on a package.
    """

    name: str
    type_mix: tuple[float, float, float, float]
    camera_height_m: tuple[float, float]
    belt_colors: tuple[tuple[int, int, int], ...]
    light_warmth: tuple[float, float]
    packages: tuple[int, int]
    black_p: float = 0.1
    white_scene_p: float = 0.12
    artwork_p: float = 0.25


DOMAINS: dict[str, DomainProfile] = {
    'universal': DomainProfile(
        'universal',
        (0.35, 0.3, 0.2, 0.15),
        (0.95, 1.35),
        ((40, 40, 42), (25, 25, 25), (70, 72, 75), (30, 60, 40), (35, 50, 90), (200, 200, 195), (120, 120, 115)),
        (0.85, 1.15),
        (4, 28),
    ),
    # A "site B" that the universal profile does not cover: blue-green belt, warm light, higher
    # camera, mailer-heavy mix with much more artwork.
    'site_b': DomainProfile(
        'site_b',
        (0.15, 0.5, 0.25, 0.1),
        (1.4, 1.6),
        ((20, 95, 110), (25, 110, 95)),
        (1.15, 1.35),
        (10, 30),
        black_p=0.15,
        white_scene_p=0.05,
        artwork_p=0.6,
    ),
}


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    px = np.uint8([[[int(h) % 180, int(s * 255), int(v * 255)]]])
    return cv2.cvtColor(px, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _base_color(rng: np.random.Generator, kind: int, black: bool, white: bool) -> np.ndarray:
    if black:
        return _hsv(rng.uniform(0, 180), rng.uniform(0, 0.3), rng.uniform(0.05, 0.14))
    if white:
        return _hsv(rng.uniform(0, 180), rng.uniform(0, 0.06), rng.uniform(0.85, 0.98))
    if kind == BOX:
        if rng.random() < 0.8:
            return _hsv(rng.uniform(10, 18), rng.uniform(0.35, 0.6), rng.uniform(0.5, 0.8))
        return _hsv(rng.uniform(0, 180), rng.uniform(0.1, 0.8), rng.uniform(0.3, 0.95))
    if kind == PADDED:
        opts = [(22, 0.55, 0.9), (14, 0.45, 0.75), (0, 0.0, 0.92), (100, 0.05, 0.75)]
        h, s, v = opts[rng.integers(len(opts))]
        return _hsv(h + rng.uniform(-3, 3), s * rng.uniform(0.8, 1.1), v * rng.uniform(0.9, 1.0))
    if kind == FLAT:
        opts = [(0, 0.0, 0.95), (20, 0.35, 0.85), (14, 0.5, 0.7)]
        h, s, v = opts[rng.integers(len(opts))]
        return _hsv(h, s * rng.uniform(0.7, 1.1), v * rng.uniform(0.85, 1.0))
    return _hsv(rng.uniform(0, 180), rng.uniform(0.0, 0.9), rng.uniform(0.35, 0.95))  # poly mailer


def _texture(rng: np.random.Generator, kind: int, s: np.ndarray, t: np.ndarray, *, dims: tuple[float, float],
             base: np.ndarray, artwork: bool) -> np.ndarray:
    """Per-cell RGB of a package from its local coordinates ``s``, ``t`` [m]."""
    length, width = dims
    n = s.shape[0]
    col = np.broadcast_to(base, (n, 3)).copy()
    col *= (1.0 + rng.normal(0, 0.02, (n, 1))).astype(np.float32)
    if kind == BOX and rng.random() < 0.8:  # tape along the long axis
        tape_w = rng.uniform(0.04, 0.07)
        on = np.abs(t) < tape_w / 2
        col[on] = col[on] * rng.uniform(0.9, 1.2) + rng.uniform(-10, 25)
    if kind == PADDED:  # bubble lining shows through
        p = rng.uniform(0.008, 0.014)
        col *= (1 + 0.05 * np.sin(s * 2 * np.pi / p) * np.sin(t * 2 * np.pi / p))[:, None]
    if kind == POLY:  # wrinkles: low-frequency brightness ripples
        f1, f2, ph = rng.uniform(8, 30), rng.uniform(8, 30), rng.uniform(0, 6.28)
        col *= (1 + 0.12 * np.sin(f1 * s + ph) * np.cos(f2 * t + ph))[:, None]
    if artwork:
        for _ in range(rng.integers(2, 7)):
            c = rng.uniform(0, 255, 3)
            cs, ct = rng.uniform(-length / 2, length / 2), rng.uniform(-width / 2, width / 2)
            rs, rt = rng.uniform(0.02, length / 2), rng.uniform(0.02, width / 2)
            if rng.random() < 0.5:
                on = ((s - cs) / rs) ** 2 + ((t - ct) / rt) ** 2 < 1
            else:
                on = (np.abs(s - cs) < rs) & (np.abs(t - ct) < rt / 3)
            col[on] = c
        if rng.random() < 0.4:  # logo text-like stripes
            on = (np.abs(t - rng.uniform(-width / 3, width / 3)) < 0.015) & (np.sin(s * rng.uniform(150, 300)) > 0.3)
            col[on] = rng.uniform(0, 255, 3)
    if rng.random() < 0.6:  # shipping label with barcode-ish bars
        lw, lh = rng.uniform(0.06, 0.1), rng.uniform(0.08, 0.15)
        ls, lt = rng.uniform(-length / 4, length / 4), rng.uniform(-width / 4, width / 4)
        on = (np.abs(s - ls) < lh / 2) & (np.abs(t - lt) < lw / 2)
        col[on] = 240.0
        bars = on & (np.sin((s - ls) * rng.uniform(300, 900)) > 0.2) & (np.abs(t - lt) < lw / 4)
        col[bars] = 20.0
    return np.clip(col, 0, 255)


def _place(rng: np.random.Generator, kind: int, height: np.ndarray, ids: np.ndarray, color: np.ndarray, *,
           pid: int, center: tuple[float, float], base: np.ndarray, artwork: bool) -> tuple[set[int], int] | None:
    """Drop one package on the raster in place; return (ids it rests on, footprint cells)."""
    (l0, l1), (w0, w1), (h0, h1) = _SIZES[kind]
    length, width = rng.uniform(l0, l1), rng.uniform(w0, w1)
    length, width = max(length, width), min(length, width)
    hgt = rng.uniform(h0, h1)
    yaw = rng.uniform(0, np.pi)
    c, s_ = np.cos(yaw), np.sin(yaw)
    r = 0.5 * np.hypot(length, width) / CELL_M
    gy, gx = center[1] / CELL_M + height.shape[0] / 2, center[0] / CELL_M + height.shape[1] / 2
    y0, y1 = max(int(gy - r), 0), min(int(gy + r) + 1, height.shape[0])
    x0, x1 = max(int(gx - r), 0), min(int(gx + r) + 1, height.shape[1])
    if y1 - y0 < 4 or x1 - x0 < 4:
        return None
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = (xx - gx) * CELL_M, (yy - gy) * CELL_M
    s, t = c * dx + s_ * dy, -s_ * dx + c * dy
    ns, nt = np.abs(2 * s / length), np.abs(2 * t / width)
    inside = (ns <= 1) & (nt <= 1) if kind == BOX else (ns**8 + nt**8 <= 1)
    if inside.sum() < 20:
        return None
    under = height[y0:y1, x0:x1]
    if kind == BOX:
        top = np.percentile(under[inside], 97)
        # settle with a slight tilt following what is beneath
        a, b = (np.clip(rng.normal(0, 0.08, 2), -0.2, 0.2) if top > 0.01 else (0.0, 0.0))
        z = top + hgt + a * s + b * t
        z = np.maximum(z, under + 0.002)
    else:
        sigma = max(1.0, 0.025 / CELL_M)
        drape = cv2.GaussianBlur(under, (0, 0), sigma)
        dome = np.ones_like(s) if kind == FLAT else (np.clip(1 - ns**6, 0, 1) * np.clip(1 - nt**6, 0, 1)) ** 0.35
        z = np.maximum(drape, under) + hgt * np.maximum(dome, 0.15)
    below = set(np.unique(ids[y0:y1, x0:x1][inside]).tolist()) - {0}
    sub_h, sub_i, sub_c = height[y0:y1, x0:x1], ids[y0:y1, x0:x1], color[y0:y1, x0:x1]
    sub_h[inside] = z[inside]
    sub_i[inside] = pid
    sub_c[inside] = _texture(rng, kind, s[inside], t[inside], dims=(length, width), base=base, artwork=artwork)
    return below, int(inside.sum())


def render_pile(seed: int, domain: str = 'universal', width: int = 640, height: int = 480) -> PileFrame:
    """Render one randomised pile; deterministic in (seed, domain, width, height)."""
    prof = DOMAINS[domain]
    rng = np.random.default_rng(seed)
    intr = Intrinsics.default(width, height)
    intr = Intrinsics(intr.fx * rng.uniform(0.97, 1.03), intr.fy, intr.cx, intr.cy, width, height)
    cam_h = rng.uniform(*prof.camera_height_m)
    half_x = (width / 2 / intr.fx) * cam_h + 0.1
    half_y = (height / 2 / intr.fy) * cam_h + 0.1
    gh, gw = int(2 * half_y / CELL_M), int(2 * half_x / CELL_M)
    hmap = np.zeros((gh, gw), np.float32)
    ids = np.zeros((gh, gw), np.uint16)
    belt = np.asarray(prof.belt_colors[rng.integers(len(prof.belt_colors))], np.float32) * rng.uniform(0.8, 1.2)
    white_scene = rng.random() < prof.white_scene_p
    if white_scene:
        belt = np.full(3, rng.uniform(170, 235), np.float32)
    color = np.broadcast_to(np.clip(belt, 0, 255), (gh, gw, 3)).astype(np.float32).copy()
    color *= (1 + rng.normal(0, 0.03, (gh, gw, 1))).astype(np.float32)

    n = int(rng.integers(prof.packages[0], prof.packages[1] + 1))
    pile_c = rng.normal(0, 0.1, 2)
    spread = rng.uniform(0.12, 0.3)
    kinds, tags, footprint, rests = {}, {}, {}, {}
    mix = np.asarray(prof.type_mix) / np.sum(prof.type_mix)
    pid = 0
    for _ in range(n):
        kind = int(rng.choice(4, p=mix))
        black = (not white_scene) and rng.random() < prof.black_p
        white = white_scene or rng.random() < 0.12
        artwork = (not black) and (not white_scene) and rng.random() < prof.artwork_p
        center = (pile_c[0] + rng.normal(0, spread * 1.3), pile_c[1] + rng.normal(0, spread))
        base = _base_color(rng, kind, black, white)
        placed = _place(rng, kind, hmap, ids, color, pid=pid + 1, center=center, base=base, artwork=artwork)
        if placed is None:
            continue
        pid += 1
        kinds[pid], rests[pid], footprint[pid] = kind, placed[0], placed[1]
        tags[pid] = {t for t, on in (('black', black), ('printed_artwork', artwork), ('white', white)) if on}

    # --- ray-cast the raster into the camera (fixed-point on the height field) ---
    rx, ry = intr.pixel_rays()
    tilt = rng.normal(0, 0.04, 2)  # belt not perpendicular to the optical axis
    z = np.zeros((height, width), np.float32)
    for _ in range(3):
        gx = np.clip((rx * (cam_h - z) / CELL_M + gw / 2).astype(np.int32), 0, gw - 1)
        gy = np.clip((ry * (cam_h - z) / CELL_M + gh / 2).astype(np.int32), 0, gh - 1)
        z = hmap[gy, gx]
    labels = ids[gy, gx]
    img = color[gy, gx]
    xm, ym = rx * (cam_h - z), ry * (cam_h - z)
    depth = (cam_h - z + tilt[0] * xm + tilt[1] * ym).astype(np.float32)

    # --- shading: lambert + soft occlusion darkening + specular on glossy mailers ---
    pix_m = cam_h / intr.fx
    gzx = cv2.Sobel(z, cv2.CV_32F, 1, 0, ksize=3) / (8 * pix_m)
    gzy = cv2.Sobel(z, cv2.CV_32F, 0, 1, ksize=3) / (8 * pix_m)
    nrm = np.stack((-gzx, -gzy, np.ones_like(z)), -1)
    nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
    el, az = rng.uniform(0.6, 1.45), rng.uniform(0, 2 * np.pi)
    light = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], np.float32)
    ambient = rng.uniform(0.25, 0.55)
    lam = ambient + (1 - ambient) * np.clip(nrm @ light, 0, 1)
    occl = np.clip((cv2.dilate(z, np.ones((25, 25), np.uint8)) - z) / 0.15, 0, 1) * rng.uniform(0.2, 0.5)
    shade = lam * (1 - occl)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sx, sy = rng.uniform(0, width), rng.uniform(0, height)
    spot = 1 - rng.uniform(0, 0.35) * (((xx - sx) / width) ** 2 + ((yy - sy) / height) ** 2)
    img = img * (shade * spot)[..., None]
    glossy = np.isin(labels, [k for k, v in kinds.items() if v == POLY]) if kinds else np.zeros_like(labels, bool)
    half = light + np.array([0, 0, 1], np.float32)
    spec = np.clip(nrm @ (half / np.linalg.norm(half)), 0, 1) ** 30 * rng.uniform(0, 160)
    img += (spec * glossy)[..., None]
    warm = rng.uniform(*prof.light_warmth)
    img *= np.array([warm, 1.0, 2.0 - warm], np.float32) * rng.uniform(0.75, 1.25)
    img += rng.normal(0, rng.uniform(1.5, 5), img.shape).astype(np.float32)
    rgb = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.4, 1.0))

    # --- depth noise and holes (RealSense-like) ---
    depth += rng.normal(0, 1, depth.shape).astype(np.float32) * (0.0008 * depth**2)
    holes = np.zeros(depth.shape, np.uint8)
    for _ in range(rng.integers(0, 6)):
        cv2.ellipse(holes, (int(rng.uniform(0, width)), int(rng.uniform(0, height))),
                    (int(rng.uniform(3, 25)), int(rng.uniform(3, 15))), rng.uniform(0, 180), 0, 360, 1, -1)
    edge = (np.hypot(gzx, gzy) > 0.5).astype(np.uint8)  # IR shadow next to height steps
    holes |= cv2.dilate(edge, np.ones((3, int(rng.integers(1, 6))), np.uint8)) & (rng.random(depth.shape) < 0.7)
    black_ids = [k for k, v in tags.items() if 'black' in v]
    if black_ids and rng.random() < 0.5:  # dark surfaces return little IR
        blotch = cv2.GaussianBlur(rng.random((height // 8, width // 8)).astype(np.float32), (0, 0), 1.5)
        blotch = cv2.resize(blotch, (width, height)) > np.quantile(blotch, 0.5)
        holes |= (np.isin(labels, black_ids) & blotch).astype(np.uint8)
    depth_mm = np.clip(np.rint(depth * 1000), 1, 65535).astype(np.uint16)
    depth_mm[holes.astype(bool)] = 0

    # --- truth ---
    ids_vis, counts = np.unique(labels, return_counts=True)
    vis_cells = dict(zip(*np.unique(ids, return_counts=True), strict=True))
    on_top_of = dict.fromkeys(kinds, 0)
    for below in rests.values():
        for lower in below:
            on_top_of[lower] += 1
    white_ids = {k for k, v in tags.items() if 'white' in v}
    packages = []
    remap = np.zeros(pid + 1, np.uint16)
    visible = [int(k) for k, c in zip(ids_vis, counts, strict=True) if k and c >= 30]
    for new_id, k in enumerate(visible, 1):
        remap[k] = new_id
        frac = float(vis_cells.get(k, 0)) / footprint[k]
        tg = set(tags[k]) - {'white'}
        neighbours = rests[k] | {j for j, b in rests.items() if k in b}
        if k in white_ids and (white_scene or neighbours & white_ids):
            tg.add('white_on_white')
        if frac < 0.5:
            tg.add('heavily_occluded')
        if on_top_of[k] == 0:
            tg.add('pickable')
        packages.append(PackageTruth(new_id, kinds[k], tuple(sorted(tg)), frac, on_top_of[k]))
    labels = remap[labels]
    return PileFrame(rgb, depth_mm, labels, packages, intr, seed, domain,
                     {'camera_height_m': float(cam_h), 'backend': 'procedural'})
