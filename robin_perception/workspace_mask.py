"""Which pixels show the belt's working surface (plain numpy, no rclpy).

The overhead camera also sees the rails, the drive robot at the place station and the floor.
Depth-wise these are "objects above the belt", so a depth-only segmenter (and a model near the
image border) reports them as packages, and a rail standing higher than a package beside it makes
the package look buried. Knowing the cell geometry, every pixel is tested in the robot base frame:
its 3-D point (from depth) must lie over the belt surface between the rails. Pixels without depth
use the ray's crossing of the belt plane instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BeltWorkspace:
    """The belt surface in ``base_link``: where packages can lie.

    Attributes:
        x_range: [m] across the belt, between the rails.
        y_range: [m] along the belt.
        belt_z: [m] belt surface height.
        max_height: [m] above the belt; higher points (the arm, the camera mount) are not packages.
    """

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    belt_z: float
    max_height: float = 0.8


class WorkspaceMasker:
    """Computes the belt mask of a depth image; ray directions are cached per image size."""

    def __init__(self, K: np.ndarray, T_base_optical: np.ndarray, workspace: BeltWorkspace) -> None:  # noqa: N803
        self.K = np.asarray(K, dtype=np.float64)
        self.T = np.asarray(T_base_optical, dtype=np.float64)
        self.ws = workspace
        self._rays: np.ndarray | None = None  # (H, W, 3) camera-frame rays with z = 1

    def _rays_for(self, h: int, w: int) -> np.ndarray:
        if self._rays is None or self._rays.shape[:2] != (h, w):
            u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
            fx, fy, cx, cy = self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2]
            self._rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], axis=-1)
        return self._rays

    def mask(self, depth_m: np.ndarray) -> np.ndarray:
        """(H, W) bool: True where the pixel's point lies over the belt surface.

        Args:
            depth_m: (H, W) depth along the optical axis [m], NaN = invalid.
        """
        h, w = depth_m.shape
        rays = self._rays_for(h, w)
        R, t = self.T[:3, :3], self.T[:3, 3]  # noqa: N806
        dirs = rays @ R.T  # (H, W, 3) base-frame direction per unit optical depth
        z = depth_m.astype(np.float64)
        # no depth: where the ray meets the belt plane
        with np.errstate(divide='ignore', invalid='ignore'):
            z_plane = (self.ws.belt_z - t[2]) / dirs[..., 2]
        z = np.where(np.isfinite(z) & (z > 0), z, z_plane)
        pts = t + dirs * z[..., None]
        x, y, height = pts[..., 0], pts[..., 1], pts[..., 2] - self.ws.belt_z
        ws = self.ws
        inside = (x >= ws.x_range[0]) & (x <= ws.x_range[1]) & (y >= ws.y_range[0]) & (y <= ws.y_range[1])
        return inside & (height <= ws.max_height) & np.isfinite(z)


def restrict_labels(labels: np.ndarray, inside: np.ndarray, min_inside_fraction: float = 0.5) -> np.ndarray:
    """Labels with pixels off the belt cleared and instances mostly off the belt removed.

    Returns a new array; instance ids are kept (gaps are fine: ids are names, not indices).
    """
    n = int(labels.max()) + 1 if labels.size else 1
    total = np.bincount(labels.ravel(), minlength=n)
    kept = np.bincount(labels[inside].ravel(), minlength=n)
    with np.errstate(divide='ignore', invalid='ignore'):
        frac = np.where(total > 0, kept / np.maximum(total, 1), 0.0)
    keep = frac >= min_inside_fraction
    keep[0] = False
    out = np.where(inside & keep[labels], labels, 0)
    return out.astype(labels.dtype, copy=False)
