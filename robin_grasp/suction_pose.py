"""Fit a package's top surface and find where and how to place the suction tool on it.

The top surface is a plane fitted to the target's height-map cells (trimmed least squares, or
open3d RANSAC when asked). Suction points are cells that are on that plane, far from its outline
and locally flat; the tool orientation puts the tcp z axis along the inward normal (cups face the
surface) and the tcp x axis along the package's long side, so the 2×4 cup grid lies lengthwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

from robin_grasp.height_map import HeightMap

PLANE_METHODS = ('svd', 'open3d')


@dataclass(frozen=True)
class SurfaceFit:
    """A package's top surface in base_link.

    Attributes:
        normal: (3,) unit normal pointing up (away from the package).
        point: (3,) centroid of the inlier cells [m].
        rms: RMS distance of inliers to the plane [m].
        inlier_fraction: share of the target's cells within the inlier tolerance [0..1].
        major_axis: (3,) unit in-plane direction of the long side.
        minor_axis: (3,) unit in-plane direction of the short side (normal × major).
        length: extent along ``major_axis`` (from the 2nd-98th percentile span) [m].
        width: extent along ``minor_axis`` [m].
    """

    normal: np.ndarray
    point: np.ndarray
    rms: float
    inlier_fraction: float
    major_axis: np.ndarray
    minor_axis: np.ndarray
    length: float
    width: float

    def height_at(self, xy: np.ndarray) -> np.ndarray:
        """base_link z of the plane at points (..., 2) [m]."""
        n, p = self.normal, self.point
        xy = np.asarray(xy, dtype=np.float64)
        return p[2] - (n[0] * (xy[..., 0] - p[0]) + n[1] * (xy[..., 1] - p[1])) / n[2]


@dataclass(frozen=True)
class SuctionPoint:
    """A good place for the centre of a cup group.

    Attributes:
        position: (3,) base_link point on the fitted plane [m].
        edge_distance: distance to the nearest off-surface cell [m].
        local_rms: mean plane residual within one lip radius [m].
        quality: combined score [0..1] (far from edges, flat, near the centroid).
    """

    position: np.ndarray
    edge_distance: float
    local_rms: float
    quality: float


def fit_plane(
    points: np.ndarray, inlier_tol: float, method: str = 'svd', iterations: int = 3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit a plane robustly.

    Args:
        points: (N, 3) points [m], N >= 3.
        inlier_tol: distance that counts as on the plane [m].
        method: 'svd' (trimmed least squares; the fast default) or 'open3d' (RANSAC, then a least
            squares refit on its inliers; more robust when a large part is off-plane).
        iterations: trimming rounds for 'svd'.
        seed: RANSAC seed for 'open3d' (reproducible decisions).

    Returns:
        (normal (3,) with z >= 0, centroid (3,) of inliers, inlier mask (N,)).
    """
    if points.shape[0] < 3:
        raise ValueError('a plane needs at least 3 points')
    if method not in PLANE_METHODS:
        raise ValueError(f"unknown plane method '{method}' (expected one of {', '.join(PLANE_METHODS)})")
    inliers = np.ones(points.shape[0], bool)
    if method == 'open3d':
        inliers = _ransac_open3d(points, inlier_tol, seed)
        iterations = 1
    for _ in range(max(iterations, 1)):
        normal, centroid = _lsq_plane(points[inliers])
        dist = np.abs((points - centroid) @ normal)
        # Trim to the tolerance, or to 3 robust sigmas while the fit is still pulled by outliers.
        sigma = 1.4826 * np.median(dist[inliers])
        new = dist <= max(inlier_tol, 3.0 * sigma) if sigma > inlier_tol else dist <= inlier_tol
        if new.sum() < 3 or np.array_equal(new, inliers):
            break
        inliers = new
    normal, centroid = _lsq_plane(points[inliers])
    inliers = np.abs((points - centroid) @ normal) <= inlier_tol
    return normal, centroid, inliers


def _lsq_plane(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centroid = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - centroid, full_matrices=False)
    normal = vt[2]
    return (normal if normal[2] >= 0 else -normal), centroid


def _ransac_open3d(points: np.ndarray, inlier_tol: float, seed: int) -> np.ndarray:
    import open3d as o3d  # noqa: PLC0415 - optional heavy backend, loaded only when selected

    o3d.utility.random.seed(seed)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    _, idx = pcd.segment_plane(distance_threshold=inlier_tol, ransac_n=3, num_iterations=200)
    mask = np.zeros(points.shape[0], bool)
    mask[np.asarray(idx, dtype=np.int64)] = True
    return mask


def fit_top_surface(
    hm: HeightMap, instance_id: int, inlier_tol: float = 0.004, method: str = 'svd'
) -> SurfaceFit | None:
    """Fit the top surface of one instance from its height-map cells.

    Args:
        hm: base_link height map.
        instance_id: target label.
        inlier_tol: plane distance that counts as on the surface [m].
        method: plane fitting backend, see :func:`fit_plane`.

    Returns:
        The surface, or None when the instance has fewer than 6 known cells.
    """
    rows, cols = np.nonzero((hm.labels == instance_id) & np.isfinite(hm.height))
    if rows.size < 6:
        return None
    pts = np.column_stack([hm.cell_xy(rows, cols), hm.height[rows, cols].astype(np.float64)])
    normal, centroid, inliers = fit_plane(pts, inlier_tol, method)
    q = pts[inliers] - centroid
    rms = float(np.sqrt(np.mean((q @ normal) ** 2)))
    # Long side: principal direction of the inliers within the plane.
    ref = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(normal, np.cross(ref, normal))
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    uv = np.column_stack([q @ e1, q @ e2])
    _, evecs = np.linalg.eigh(np.cov(uv.T))
    major = evecs[0, 1] * e1 + evecs[1, 1] * e2
    major /= np.linalg.norm(major)
    minor = np.cross(normal, major)
    span_major = np.percentile(q @ major, [2.0, 98.0])
    span_minor = np.percentile(q @ minor, [2.0, 98.0])
    return SurfaceFit(
        normal=normal,
        point=centroid,
        rms=rms,
        inlier_fraction=float(inliers.mean()),
        major_axis=major,
        minor_axis=minor,
        # The 2-98 % span of a uniform side covers 96 % of it (cell centres: minus one cell).
        length=float(span_major[1] - span_major[0]) / 0.96 + hm.resolution,
        width=float(span_minor[1] - span_minor[0]) / 0.96 + hm.resolution,
    )


def suction_points(
    hm: HeightMap,
    instance_id: int,
    surface: SurfaceFit,
    lip_radius: float,
    *,
    inlier_tol: float = 0.004,
    edge_ref: float = 0.05,
    count: int = 4,
    min_separation: float = 0.02,
) -> list[SuctionPoint]:
    """Best places for the centre of a cup group: on the plane, away from edges, flat, central.

    Args:
        hm: base_link height map.
        instance_id: target label.
        surface: its fitted top surface.
        lip_radius: cup lip radius; sets the local flatness window [m].
        inlier_tol: plane distance that counts as on the surface [m].
        edge_ref: edge distance giving a full edge score [m].
        count: number of points to return (greedy, spread by ``min_separation``).
        min_separation: minimum distance between returned points [m].

    Returns:
        Up to ``count`` points, best first (empty when no cell lies on the surface).
    """
    mask = hm.labels == instance_id
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return []
    pad = 2
    r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, hm.shape[0])
    c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, hm.shape[1])
    rr, cc = np.mgrid[r0:r1, c0:c1]
    xy = hm.cell_xy(rr, cc)
    z = hm.height[r0:r1, c0:c1]
    resid = np.abs(z - surface.height_at(xy))
    on = mask[r0:r1, c0:c1] & (resid <= inlier_tol)  # NaN residuals compare False
    if not on.any():
        return []
    # Zero-pad so the crop border counts as an edge even when the target touches the map border.
    edge = ndimage.distance_transform_edt(np.pad(on, 1))[1:-1, 1:-1] * hm.resolution
    win = max(round(2 * lip_radius / hm.resolution), 1)
    local = ndimage.uniform_filter(np.where(on, resid, inlier_tol), size=win, mode='nearest')
    centre_dist = np.linalg.norm(xy - surface.point[:2], axis=-1)
    half = max(0.5 * surface.length, hm.resolution)
    quality = (
        np.minimum(edge / edge_ref, 1.0)
        * (1.0 - np.minimum(local / inlier_tol, 1.0) * 0.5)
        * (1.0 - 0.5 * np.minimum(centre_dist / half, 1.0))
    )
    quality = np.where(on, quality, -1.0)
    flat = quality.ravel()
    top = np.argsort(flat)[::-1][: max(200, count)]
    top = top[flat[top] >= 0]
    chosen: list[int] = []
    pxy = xy.reshape(-1, 2)
    for k in top:  # greedy spread; the candidate list is short
        if all(np.linalg.norm(pxy[k] - pxy[j]) >= min_separation for j in chosen):
            chosen.append(int(k))
            if len(chosen) == count:
                break
    out = []
    for k in chosen:
        p_xy = pxy[k]
        out.append(
            SuctionPoint(
                position=np.array([p_xy[0], p_xy[1], float(surface.height_at(p_xy))]),
                edge_distance=float(edge.ravel()[k]),
                local_rms=float(local.ravel()[k]),
                quality=float(flat[k]),
            )
        )
    return out


def tool_rotation(normal: np.ndarray, major_axis: np.ndarray, yaw_offset: float = 0.0) -> np.ndarray:
    """Rotation of the tcp frame in base_link.

    Args:
        normal: (3,) surface normal pointing up.
        major_axis: (3,) in-plane long-side direction.
        yaw_offset: extra rotation about the tcp z axis [rad] (0: tcp x along the long side).

    Returns:
        (3, 3) rotation whose columns are the tcp x, y, z axes; z = -normal (cups face the surface).
    """
    z = -np.asarray(normal, dtype=np.float64)
    z /= np.linalg.norm(z)
    x = np.asarray(major_axis, dtype=np.float64) - z * float(np.dot(major_axis, z))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c, s = np.cos(yaw_offset), np.sin(yaw_offset)
    x, y = c * x + s * y, -s * x + c * y
    return np.column_stack([x, y, z])


def rotation_to_quaternion(rot: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation -> (..., 4) quaternion (x, y, z, w), ROS order, w >= 0."""
    q = Rotation.from_matrix(rot).as_quat()
    return np.where(q[..., 3:4] < 0, -q, q)


def tool_yaw(rot: np.ndarray) -> float:
    """Heading of the tcp x axis projected on the base_link xy plane [rad]."""
    return float(np.arctan2(rot[1, 0], rot[0, 0]))
