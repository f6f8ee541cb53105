"""A RealSense-like depth error model on numpy images: axial noise and invalid-pixel holes.

Applied to a perfect z-depth render. Holes (NaN) come from: depth edges (mixed pixels are
dropped by the stereo matcher), the stereo shadow beside near edges, dark/black surfaces (too
little IR texture), specular highlights (saturation), range limits and random speckle.
Axial noise grows with the square of the distance, as for any stereo camera.

Speed: a 640×480 frame needs ~0.3 M normal and uniform draws, which cost more than the rest of
the model. They come from precomputed banks of twice the image size (made once per shape with a
fixed seed), read through a window at a random offset per frame from the caller's generator, so
every frame still sees iid N(0, 1) / U(0, 1) values and a seeded rng still gives the same frame.
Speckle draws its ~0.2 % pixels directly; luma thresholds use integer arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

BANK_SEED = 0x5EED_DE97  #: seed of the precomputed noise banks (per-frame draws come from the caller's rng)
WOBBLE_CELL_PX = 32  #: [px] cell size of the smooth wobble field


@dataclass(frozen=True)
class DepthNoiseModel:
    """Parameters of :func:`apply_depth_noise` (defaults: D435-class at ~1.3 m)."""

    sigma_base_m: float = 0.0005  #: [m] noise floor
    sigma_quadratic: float = 0.0012  #: [1/m] σ = base + quadratic · z²  (→ ~2.5 mm at 1.3 m)
    wobble_m: float = 0.0008  #: [m] σ of a smooth low-frequency error field
    edge_step_m: float = 0.02  #: [m] a neighbour step larger than this invalidates the pixel
    shadow_px: int = 3  #: stereo shadow width left of near-edge steps [px]
    dark_luma: float = 35.0  #: pixels darker than this (0-255) are mostly invalid
    dark_dropout: float = 0.8
    specular_luma: float = 250.0  #: saturated highlights
    specular_dropout: float = 0.7
    speckle: float = 0.002  #: random dropout rate
    depth_min: float = 0.28  #: [m]
    depth_max: float = 3.0  #: [m]


@lru_cache(maxsize=4)
def _banks(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(2h, 2w) float32 standard normals and uniforms [0, 1), read-only, shared by all frames of this shape."""
    g = np.random.default_rng(BANK_SEED)
    normal = g.standard_normal((2 * h, 2 * w), dtype=np.float32)
    uniform = g.random((2 * h, 2 * w), dtype=np.float32)
    normal.flags.writeable = uniform.flags.writeable = False
    return normal, uniform


def _window(bank: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    oy, ox = rng.integers(0, h + 1), rng.integers(0, w + 1)
    return bank[oy: oy + h, ox: ox + w]


def _luma_x1000(rgb: np.ndarray) -> np.ndarray:
    """(H, W) int32 luma × 1000 (BT.601 weights 299, 587, 114), exact in integers."""
    c = rgb.astype(np.int32)
    return c[..., 0] * 299 + c[..., 1] * 587 + c[..., 2] * 114


def apply_depth_noise(depth_m: np.ndarray, rgb: np.ndarray, rng: np.random.Generator,
                      model: DepthNoiseModel | None = None) -> np.ndarray:
    """Return noisy float32 depth [m] with NaN holes.

    Args:
        depth_m: (H, W) perfect z-depth [m].
        rgb: (H, W, 3) uint8 colour image aligned with the depth.
        rng: random generator (seeded by the caller for determinism).
        model: noise parameters.
    """
    m = model or DepthNoiseModel()
    h, w = depth_m.shape
    z = np.asarray(depth_m, dtype=np.float32)
    normal, uniform = _banks(h, w)
    sigma = z * z
    sigma *= np.float32(m.sigma_quadratic)
    sigma += np.float32(m.sigma_base_m)
    sigma *= _window(normal, h, w, rng)
    noisy = sigma
    noisy += z
    c = WOBBLE_CELL_PX
    coarse = rng.normal(0.0, m.wobble_m, (h // c + 1, w // c + 1)).astype(np.float32)
    noisy += np.repeat(np.repeat(coarse, c, axis=0), c, axis=1)[:h, :w]
    with np.errstate(invalid='ignore'):
        invalid = ~((z >= m.depth_min) & (z <= m.depth_max))  # NaN/inf fail the comparisons
        # depth edges: a step larger than edge_step_m to a 4-neighbour invalidates both pixels
        dx = np.diff(z, axis=1)  # (h, w-1): z[:, j+1] - z[:, j]
        step = np.abs(dx) > m.edge_step_m
        invalid[:, 1:] |= step
        invalid[:, :-1] |= step
        step = np.abs(np.diff(z, axis=0)) > m.edge_step_m
        invalid[1:, :] |= step
        invalid[:-1, :] |= step
        # stereo shadow: background pixels just left of where the surface steps closer to the camera
        closer = dx < -m.edge_step_m
    for k in range(m.shadow_px):
        invalid[:, : w - 1 - k] |= closer[:, k:]
    luma = _luma_x1000(rgb)
    u = _window(uniform, h, w, rng)  # dark and highlight pixels are disjoint: one uniform serves both
    invalid |= (luma < 1000 * m.dark_luma) & (u < m.dark_dropout)
    invalid |= (luma > 1000 * m.specular_luma) & (u < m.specular_dropout)
    flat = invalid.reshape(-1)
    flat[rng.integers(0, h * w, rng.binomial(h * w, m.speckle))] = True
    noisy[invalid] = np.nan
    return noisy


def reference_depth_noise(depth_m: np.ndarray, rgb: np.ndarray, rng: np.random.Generator,
                          m: DepthNoiseModel) -> np.ndarray:
    """The straightforward (pre-optimisation) form of :func:`apply_depth_noise`: fresh draws per pixel.

    Kept unchanged as the statistical reference for tests and ``bench/sim_rtf.py``; do not optimise.
    Same arguments and result semantics as :func:`apply_depth_noise` (``m`` is required).
    """
    h, w = depth_m.shape
    z = depth_m.astype(np.float32)
    noisy = z + rng.normal(0.0, 1.0, z.shape).astype(np.float32) * (m.sigma_base_m + m.sigma_quadratic * z * z)
    coarse = rng.normal(0.0, m.wobble_m, (h // 32 + 1, w // 32 + 1)).astype(np.float32)
    noisy += np.kron(coarse, np.ones((32, 32), np.float32))[:h, :w]
    invalid = (z < m.depth_min) | (z > m.depth_max) | ~np.isfinite(z)
    dx = np.zeros_like(z)
    dy = np.zeros_like(z)
    dx[:, 1:] = z[:, 1:] - z[:, :-1]
    dy[1:, :] = z[1:, :] - z[:-1, :]
    edge = (np.abs(dx) > m.edge_step_m) | (np.abs(dy) > m.edge_step_m)
    edge[:, :-1] |= np.abs(dx[:, 1:]) > m.edge_step_m
    edge[:-1, :] |= np.abs(dy[1:, :]) > m.edge_step_m
    invalid |= edge
    step_closer = np.zeros_like(edge)
    step_closer[:, :-1] = dx[:, 1:] < -m.edge_step_m
    shadow = np.zeros_like(edge)
    for k in range(m.shadow_px):
        shadow[:, : w - k] |= step_closer[:, k:]
    invalid |= shadow
    luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    invalid |= (luma < m.dark_luma) & (rng.random(z.shape) < m.dark_dropout)
    invalid |= (luma > m.specular_luma) & (rng.random(z.shape) < m.specular_dropout)
    invalid |= rng.random(z.shape) < m.speckle
    noisy[invalid] = np.nan
    return noisy
