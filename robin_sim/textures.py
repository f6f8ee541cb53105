"""Procedural package textures (numpy → uint8 RGB), vectorised: cardboard, mailers, tape, labels, art.

The texture covers a package's top face; MuJoCo stretches it over each face of the box. Drawing is
done with boolean masks on a coordinate grid, never per pixel in Python.
"""

from __future__ import annotations

import numpy as np

from robin_sim.package_catalog import PackageSpec

TEXTURE_SIZE = 128  #: [px] square textures keep GPU memory and upload time small


def package_texture(spec: PackageSpec, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Texture (size, size, 3) uint8 for ``spec``, deterministic from its decoration seed."""
    rng = np.random.default_rng(spec.decoration.texture_seed)
    family = _family(spec.type)
    v, u = np.mgrid[0:size, 0:size].astype(np.float32) / size  # v rows (width), u columns (length)
    img = np.broadcast_to(np.array(spec.color, dtype=np.float32), (size, size, 3)).copy()
    img *= _surface_shading(family, u, v, rng)[..., None]
    deco = spec.decoration
    if deco.artwork:
        _draw_artwork(img, u, v, rng)
    if deco.tape:
        _draw_tape(img, u, v, rng)
    for _ in range(deco.labels):
        _draw_label(img, u, v, rng, white_on_white=deco.white_on_white)
    return (np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)


def _family(type_name: str) -> str:
    from robin_sim.package_catalog import package_type  # noqa: PLC0415 - avoid a cycle at import

    return package_type(type_name).texture


def _surface_shading(family: str, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative brightness field: fibres for cardboard, wrinkles for mailers, bubbles for padding."""
    n = u.shape[0]
    coarse = rng.normal(0.0, 1.0, (8, 8))
    low = np.kron(coarse, np.ones((n // 8, n // 8)))[:n, :n]
    if family == 'cardboard':
        fibres = rng.normal(0.0, 1.0, (n, 1)) * 0.03 + rng.normal(0.0, 0.02, (n, n))
        flutes = 0.02 * np.sin(2 * np.pi * v * rng.uniform(20, 40))
        return 1.0 + 0.04 * low + fibres + flutes
    if family == 'mailer':
        phase = rng.uniform(0, 2 * np.pi, 3)
        wrinkles = sum(np.sin(2 * np.pi * (u * rng.uniform(1, 4) + v * rng.uniform(1, 4)) + p) for p in phase)
        return 1.0 + 0.05 * wrinkles / 3 + 0.03 * low
    if family == 'padded':
        bubbles = np.sin(2 * np.pi * u * 18) * np.sin(2 * np.pi * v * 14)
        return 1.0 + 0.04 * bubbles + 0.04 * low
    flap = np.where(np.abs(v - 0.5) < 0.5 * u, 0.96, 1.0)  # envelope flap seam
    return flap + 0.015 * low


def _draw_tape(img: np.ndarray, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> None:
    width = rng.uniform(0.12, 0.22)
    centre = rng.uniform(0.4, 0.6)
    mask = np.abs(v - centre) < width / 2
    tapes = np.array([[0.55, 0.38, 0.2], [0.8, 0.75, 0.65], [0.85, 0.85, 0.85], [0.15, 0.35, 0.7]], np.float32)
    colour = tapes[rng.integers(len(tapes))]
    alpha = 0.45 if colour[0] > 0.75 else 0.9  # clear tape mostly shows the box through
    img[mask] = img[mask] * (1 - alpha) + colour * alpha + 0.05  # tape is a bit shinier


def _draw_label(img: np.ndarray, u: np.ndarray, v: np.ndarray, rng: np.random.Generator,
                white_on_white: bool) -> None:
    w, h = rng.uniform(0.25, 0.45), rng.uniform(0.2, 0.35)
    u0, v0 = rng.uniform(0.05, 0.95 - w), rng.uniform(0.05, 0.95 - h)
    inside = (u >= u0) & (u < u0 + w) & (v >= v0) & (v < v0 + h)
    paper = np.float32(0.97 if white_on_white else 0.99)
    img[inside] = paper
    lu, lv = (u - u0) / w, (v - v0) / h
    bars = inside & (lv > 0.62) & (lv < 0.9) & (lu > 0.08) & (lu < 0.92)
    stripes = np.sin(lu * rng.uniform(150, 260)) + np.sin(lu * rng.uniform(40, 90)) > 0.3
    ink = np.float32(0.8 if white_on_white else 0.05)
    img[bars & stripes] = ink
    lines = inside & (lv > 0.1) & (lv < 0.55) & (np.sin(lv * 60) > 0.55) & (lu > 0.08)
    lines &= lu < 0.2 + 0.7 * np.abs(np.sin(np.floor(lv * 60 / np.pi) * 1.7))
    img[lines] = ink + 0.1


def _draw_artwork(img: np.ndarray, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> None:
    palette = rng.uniform(0.0, 1.0, (3, 3)).astype(np.float32)
    for k in range(int(rng.integers(1, 4))):
        cu, cv, r = rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85), rng.uniform(0.06, 0.2)
        if rng.random() < 0.5:
            mask = (u - cu) ** 2 + (v - cv) ** 2 < r * r
        else:
            mask = (np.abs(u - cu) < r) & (np.abs(v - cv) < r * 0.5)
        img[mask] = palette[k % 3]
    if rng.random() < 0.5:  # a printed logo band
        band = np.abs(u - rng.uniform(0.2, 0.8)) < 0.03
        img[band] = palette[0] * 0.5
