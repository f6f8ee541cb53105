"""Height above the belt from a depth image: a robust fit of the lowest large plane (the belt).

The model and the geometric segmenter use height above the belt rather than raw depth, so that
camera height and tilt (which vary between cells and sites) drop out of the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from robin_perception.camera_intrinsics import Intrinsics


class BeltFitError(RuntimeError):
    """Too few valid depth pixels, or no plane that explains enough of them."""


@dataclass(frozen=True)
class BeltPlane:
    """Plane ``normal . p + offset = h`` in the camera frame; ``h`` is the height above it [m].

    Attributes:
        normal: unit normal (3,) pointing from the belt toward the camera.
        offset: camera-centre height above the belt [m] (positive).
        inlier_fraction: share of sampled valid pixels within the inlier band (a quality cue).
    """

    normal: np.ndarray
    offset: float
    inlier_fraction: float = 1.0

    @classmethod
    def from_camera_height(cls, height_m: float) -> BeltPlane:
        """A belt perpendicular to the optical axis, ``height_m`` below the camera."""
        return cls(np.array([0.0, 0.0, -1.0]), float(height_m))

    @classmethod
    def from_extrinsics(cls, t_base_optical: np.ndarray, belt_z: float) -> BeltPlane:
        """The belt ``z = belt_z`` of the base frame, seen from an optical frame at ``t_base_optical`` (4x4).

        Height of an optical-frame point p is ``R[2] . p + t_z - belt_z`` (z-up base frame).
        """
        t = np.asarray(t_base_optical, dtype=np.float64)
        return cls(t[2, :3].copy(), float(t[2, 3] - belt_z))

    def as_list(self) -> list[float]:
        return [*(float(v) for v in self.normal), float(self.offset)]

    @classmethod
    def from_list(cls, v: list[float]) -> BeltPlane:
        return cls(np.asarray(v[:3], dtype=np.float64), float(v[3]))

    def height_of(self, points: np.ndarray) -> np.ndarray:
        """Signed heights [m] of (..., 3) camera-frame points."""
        return (points @ self.normal.astype(points.dtype)) + np.asarray(self.offset, dtype=points.dtype)


def fit_belt_plane(
    depth_m: np.ndarray,
    intrinsics: Intrinsics,
    *,
    stride: int = 8,
    hypotheses: int = 128,
    inlier_band_m: float = 0.006,
    below_penalty: float = 3.0,
    min_inlier_fraction: float = 0.05,
    seed: int = 0,
) -> BeltPlane:
    """Fit the belt as the lowest plane that many pixels lie on (vectorised RANSAC + least squares).

    Hypotheses are drawn from the farthest 40 % of the sampled pixels; each is scored by its
    inliers minus ``below_penalty`` times the points clearly *below* it, which rejects package
    tops (many points below) and favours the belt (nothing below but noise).

    Args:
        depth_m: (H, W) depth [m], NaN where invalid.
        intrinsics: camera model of ``depth_m``.
        stride: pixel subsampling step for the fit.
        hypotheses: RANSAC plane hypotheses.
        inlier_band_m: half-width of the inlier band [m].
        below_penalty: weight of points more than 3 bands below a hypothesis.
        min_inlier_fraction: below this share of sampled pixels the fit is rejected.
        seed: RNG seed (the fit is deterministic for a given image).

    Raises:
        BeltFitError: fewer than 50 valid sampled pixels or no acceptable plane.
    """
    rx, ry = intrinsics.pixel_rays()
    d = depth_m[::stride, ::stride]
    ok = np.isfinite(d)
    d = d[ok].astype(np.float64)
    pts = np.stack((rx[::stride, ::stride][ok] * d, ry[::stride, ::stride][ok] * d, d), axis=1)
    if len(pts) < 50:
        raise BeltFitError(f'only {len(pts)} valid depth samples for the belt fit')
    rng = np.random.default_rng(seed)
    far = pts[pts[:, 2] >= np.quantile(pts[:, 2], 0.6)]
    tri = far[rng.integers(0, len(far), size=(hypotheses, 3))]  # (N, 3 points, xyz)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    norm = np.linalg.norm(normals, axis=1)
    ok = norm > 1e-9
    normals = normals[ok] / norm[ok, None]
    normals *= np.where(normals[:, 2] > 0, -1.0, 1.0)[:, None]  # point toward the camera (-z)
    offsets = -np.einsum('nk,nk->n', normals, tri[ok, 0])
    heights = pts.astype(np.float32) @ normals.T.astype(np.float32) + offsets.astype(np.float32)  # (M, N)
    inliers = np.abs(heights) < inlier_band_m
    below = heights < -3.0 * inlier_band_m
    score = inliers.sum(0) - below_penalty * below.sum(0)
    best = int(np.argmax(score))
    mask = inliers[:, best]
    normal, offset = normals[best], offsets[best]
    for _ in range(2):  # least-squares refinement on the inliers
        if mask.sum() < 3:
            break
        sel = pts[mask]
        centroid = sel.mean(0)
        normal = np.linalg.svd(sel - centroid, full_matrices=False)[2][2]
        normal = -normal if normal[2] > 0 else normal
        offset = -float(normal @ centroid)
        mask = np.abs(pts @ normal + offset) < inlier_band_m
    frac = float(mask.mean())
    if frac < min_inlier_fraction or offset <= 0:
        raise BeltFitError(f'no belt plane found (best inlier fraction {frac:.3f})')
    return BeltPlane(normal.astype(np.float64), float(offset), frac)


def height_above_belt(depth_m: np.ndarray, intrinsics: Intrinsics, plane: BeltPlane) -> np.ndarray:
    """(H, W) float32 height above the belt [m]; NaN where depth is invalid."""
    n = plane.normal.astype(np.float32)
    rx, ry = intrinsics.pixel_rays()
    # n . (rx d, ry d, d) + offset = d (n . ray) + offset; the ray term is separable in u and v
    ray_dot = n[0] * rx[0][None, :] + n[1] * ry[:, 0][:, None] + n[2]
    return (depth_m.astype(np.float32) * ray_dot + np.float32(plane.offset)).astype(np.float32)


def fill_height_holes(height_m: np.ndarray, max_hole_px: int = 9) -> np.ndarray:
    """Fill invalid (NaN) heights with the highest valid neighbour, then 0 (belt) for large holes.

    Depth holes sit mostly at package edges and on dark surfaces; the local maximum keeps a
    package's top height instead of punching a fake gap down to the belt.
    """
    invalid = ~np.isfinite(height_m)
    if not invalid.any():
        return height_m
    filled = np.where(invalid, np.float32(-1.0), height_m).astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(max(1, max_hole_px // 2)):
        grown = cv2.dilate(filled, kernel)
        still = filled < -0.5
        if not still.any():
            break
        filled[still] = grown[still]
    filled[filled < -0.5] = 0.0
    return filled
