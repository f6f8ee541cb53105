"""Label image + geometry -> robin_core INSTANCE_DTYPE table (vectorised per-label statistics)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from robin_core.instance_table import INSTANCE_DTYPE
from robin_perception.camera_intrinsics import Intrinsics

OCCLUSION_STEP_M = 0.006  # a neighbour this much higher across a shared edge lies on top
OCCLUSION_MIN_EDGE_PX = 4  # shared edge shorter than this is ignored (noise)
TOP_PERCENTILE = 0.95


def label_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A+1, B+1) pixel counts of every (label in a, label in b) pair (joint histogram)."""
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    joint = a.astype(np.int64).ravel() * nb + b.astype(np.int64).ravel()
    return np.bincount(joint, minlength=na * nb).reshape(na, nb)


def best_iou(a: np.ndarray, b: np.ndarray, stride: int = 1) -> np.ndarray:
    """(A,) best IoU of each non-zero label 1..max(a) in ``a`` with any non-zero label in ``b``.

    ``stride`` > 1 estimates the IoUs on every stride-th pixel (4x cheaper at 2, error < 1 %
    for package-sized masks).
    """
    n = int(a.max())
    a, b = a[::stride, ::stride], b[::stride, ::stride]
    inter = label_overlap(a, b)
    if inter.shape[0] < n + 1:  # an instance vanished in the subsample
        inter = np.pad(inter, ((0, n + 1 - inter.shape[0]), (0, 0)))
    area_a, area_b = inter.sum(1), inter.sum(0)
    inter = inter[1:, 1:]
    if inter.shape[1] == 0:
        return np.zeros(inter.shape[0], np.float32)
    union = area_a[1:, None] + area_b[None, 1:] - inter
    return (inter / np.maximum(union, 1)).max(1).astype(np.float32)


def percentile_per_label(labels: np.ndarray, values: np.ndarray, n: int, q: float) -> np.ndarray:
    """(n,) ``q`` quantile of ``values`` per label 1..n (NaN values and label 0 ignored)."""
    ok = (labels > 0) & np.isfinite(values)
    lab, val = labels[ok].astype(np.int64), values[ok]
    out = np.full(n, np.nan, np.float32)
    if lab.size == 0:
        return out
    order = np.lexsort((val, lab))
    lab, val = lab[order], val[order]
    counts = np.bincount(lab, minlength=n + 1)[1:]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    idx = starts[has] + np.floor(q * (counts[has] - 1)).astype(np.int64)
    out[has] = val[idx]
    return out


def occluders(labels: np.ndarray, height_m: np.ndarray, n: int, step_px: int = 2) -> np.ndarray:
    """(n,) number of neighbouring instances lying on top of each instance.

    Pixel pairs ``step_px`` apart across an edge between two instances vote on which side is
    higher; a neighbour that is higher by ``OCCLUSION_STEP_M`` along most of a long enough
    shared edge is counted as resting on top.
    """
    pairs_a, pairs_b, dh = [], [], []
    for sl_a, sl_b in (
        ((slice(None), slice(0, -step_px)), (slice(None), slice(step_px, None))),
        ((slice(0, -step_px), slice(None)), (slice(step_px, None), slice(None))),
    ):
        la, lb = labels[sl_a], labels[sl_b]
        m = (la != lb) & (la > 0) & (lb > 0)
        d = height_m[sl_b][m] - height_m[sl_a][m]
        ok = np.isfinite(d)
        pairs_a += [la[m][ok], lb[m][ok]]
        pairs_b += [lb[m][ok], la[m][ok]]
        dh += [d[ok], -d[ok]]
    out = np.zeros(n, np.uint32)
    if not pairs_a or sum(x.size for x in pairs_a) == 0:
        return out
    a = np.concatenate(pairs_a).astype(np.int64)
    b = np.concatenate(pairs_b).astype(np.int64)
    up = (np.concatenate(dh) > OCCLUSION_STEP_M).astype(np.float64)
    key = a * (n + 1) + b
    uk, inv = np.unique(key, return_inverse=True)
    cnt = np.bincount(inv)
    frac = np.bincount(inv, weights=up) / cnt
    on_top = (cnt >= OCCLUSION_MIN_EDGE_PX) & (frac > 0.6)
    lower = uk[on_top] // (n + 1)
    np.add.at(out, lower - 1, 1)
    return out


def build_instance_table(
    labels: np.ndarray,
    depth_m: np.ndarray,
    height_m: np.ndarray,
    intrinsics: Intrinsics,
    *,
    type_id: np.ndarray | None = None,
    score: np.ndarray | None = None,
    type_score: np.ndarray | None = None,
    reference_labels: np.ndarray | None = None,
    stats_stride: int = 2,
) -> np.ndarray:
    """One INSTANCE_DTYPE row per label 1..N of ``labels`` (ids must be consecutive).

    Args:
        labels: (H, W) uint16 instance ids, 0 background.
        depth_m: (H, W) depth [m], NaN invalid (same grid as ``labels``).
        height_m: (H, W) height above the belt [m], NaN invalid.
        intrinsics: camera model of the grid.
        type_id, score, type_score: (N,) per-instance model outputs (defaults 0, 1, 0).
        reference_labels: labels of the depth-only segmenter for ``geometric_iou`` (NaN if None).
        stats_stride: pixel step for the geometric statistics (area and box use every pixel).
    """
    n = int(labels.max())
    table = np.zeros(n, INSTANCE_DTYPE)
    if n == 0:
        return table
    lab = labels.astype(np.int64)
    table['id'] = np.arange(1, n + 1)
    table['type_id'] = 0 if type_id is None else type_id
    table['score'] = 1.0 if score is None else score
    table['type_score'] = 0.0 if type_score is None else type_score
    area = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    table['area_px'] = area
    # geometry statistics on every second pixel: 4x cheaper, same centroid/height to < 1 mm
    sub = (slice(None, None, stats_stride), slice(None, None, stats_stride))
    lab_s, depth_s, height_s = lab[sub], depth_m[sub], height_m[sub]
    rx, ry = intrinsics.pixel_rays()
    valid = np.isfinite(depth_s) & (lab_s > 0)
    lv = lab_s[valid]
    dv = depth_s[valid]
    nv = np.bincount(lv, minlength=n + 1)[1:].astype(np.float64)
    for name, comp in (('x', rx[sub][valid] * dv), ('y', ry[sub][valid] * dv), ('z', dv)):
        s = np.bincount(lv, weights=comp, minlength=n + 1)[1:]
        table[name] = np.where(nv > 0, s / np.maximum(nv, 1), np.nan)
    # [m^2] per pixel facing the camera; invalid-depth pixels take their instance's mean
    mean_pix_area = np.bincount(lv, weights=dv**2, minlength=n + 1)[1:] / np.maximum(nv, 1)
    table['area_m2'] = np.where(nv > 0, mean_pix_area * area / (intrinsics.fx * intrinsics.fy), 0.0)
    hv = np.isfinite(height_s) & (lab_s > 0)
    hn = np.bincount(lab_s[hv], minlength=n + 1)[1:]
    hs = np.bincount(lab_s[hv], weights=height_s[hv], minlength=n + 1)[1:]
    table['height_mean'] = np.where(hn > 0, hs / np.maximum(hn, 1), np.nan)
    table['height_top'] = percentile_per_label(lab_s, height_s, n, TOP_PERCENTILE)
    boxes = ndimage.find_objects(labels.astype(np.int32), max_label=n)
    for i, sl in enumerate(boxes):  # one entry per instance, not per pixel
        if sl is not None:
            table['v0'][i], table['v1'][i] = sl[0].start, sl[0].stop
            table['u0'][i], table['u1'][i] = sl[1].start, sl[1].stop
    border = np.concatenate((labels[0], labels[-1], labels[:, 0], labels[:, -1])).astype(np.int64)
    touches = np.bincount(border, minlength=n + 1)[1:] > 0
    table['touches_border'] = touches
    table['occluded_by'] = occluders(labels[sub], height_m[sub], n, step_px=1)
    table['geometric_iou'] = np.nan if reference_labels is None else best_iou(labels, reference_labels, stats_stride)
    return table
