"""A RealSense-like depth error model on numpy images: axial noise and invalid-pixel holes.

Applied to a perfect z-depth render. Holes (NaN) come from: depth edges (mixed pixels are
dropped by the stereo matcher), the stereo shadow beside near edges, dark/black surfaces (too
little IR texture), specular highlights (saturation), range limits and random speckle.
Axial noise grows with the square of the distance, as for any stereo camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    z = depth_m.astype(np.float32)
    noisy = z + rng.normal(0.0, 1.0, z.shape).astype(np.float32) * (m.sigma_base_m + m.sigma_quadratic * z * z)
    coarse = rng.normal(0.0, m.wobble_m, (h // 32 + 1, w // 32 + 1)).astype(np.float32)
    noisy += np.kron(coarse, np.ones((32, 32), np.float32))[:h, :w]
    invalid = (z < m.depth_min) | (z > m.depth_max) | ~np.isfinite(z)
    # depth edges: a large step to a 4-neighbour
    dx = np.zeros_like(z)
    dy = np.zeros_like(z)
    dx[:, 1:] = z[:, 1:] - z[:, :-1]
    dy[1:, :] = z[1:, :] - z[:-1, :]
    edge = (np.abs(dx) > m.edge_step_m) | (np.abs(dy) > m.edge_step_m)
    edge[:, :-1] |= np.abs(dx[:, 1:]) > m.edge_step_m
    edge[:-1, :] |= np.abs(dy[1:, :]) > m.edge_step_m
    invalid |= edge
    # stereo shadow: background pixels just left of where the surface steps closer to the camera
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
