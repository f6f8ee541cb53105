"""Per-instance surface statistics and pile relations measured on the base_link height map.

Everything here is vectorised over all instances at once (``np.bincount`` moments, shifted-array
comparisons), so scoring 40 instances costs about as much as scoring one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from robin_grasp.height_map import HeightMap

# Neighbour offsets (drow, dcol) for boundary comparisons: one of each +/- pair is enough because
# both orderings of a pair are counted.
_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))


@dataclass(frozen=True)
class InstanceStats:
    """Top-surface statistics of the instances visible in a height map (arrays indexed by row).

    Attributes:
        ids: (N,) instance labels.
        n_cells: (N,) number of cells carrying the label.
        centroid: (N, 3) mean base_link position of the interior cells [m].
        normal: (N, 3) unit plane normal (z up) of the interior cells.
        rms: (N,) RMS distance of interior cells to that plane [m] (flatness).
        tilt: (N,) angle between the normal and base z [rad].
        length: (N,) extent along the major in-plane axis [m] (rectangle from second moments).
        width: (N,) extent along the minor axis [m].
        major_axis: (N, 3) unit in-plane direction of the long side.
        top: (N,) 95th percentile of the cell heights [m].
        touches_edge: (N,) the label reaches the border of the map (partly outside the pick area).
    """

    ids: np.ndarray
    n_cells: np.ndarray
    centroid: np.ndarray
    normal: np.ndarray
    rms: np.ndarray
    tilt: np.ndarray
    length: np.ndarray
    width: np.ndarray
    major_axis: np.ndarray
    top: np.ndarray
    touches_edge: np.ndarray

    def row(self, instance_id: int) -> int | None:
        """Row of ``instance_id`` or None when it is not in the map."""
        hit = np.flatnonzero(self.ids == instance_id)
        return int(hit[0]) if hit.size else None


def instance_stats(hm: HeightMap, ids: np.ndarray) -> InstanceStats:
    """Measure every instance in ``ids`` on the height map (absent ones get n_cells 0, NaN stats)."""
    ids = np.asarray(ids, dtype=np.int64)
    n = ids.size
    lab = hm.labels.astype(np.int64)
    known = np.isfinite(hm.height)
    # Map label values to rows 0..n-1, everything else to n (a discard bin).
    lut = np.full(max(int(lab.max(initial=0)), int(ids.max(initial=0))) + 1, n, np.int64)
    lut[ids] = np.arange(n)
    row_of = lut[lab]
    row_of[~known | (lab == 0)] = n
    n_cells = np.bincount(row_of.ravel(), minlength=n + 1)[:n]
    # Interior cells (all 4 neighbours share the label) keep flying pixels at edges out of the fit.
    interior = _interior(lab) & known & (row_of < n)
    rr, cc = np.nonzero(interior)
    xy = hm.cell_xy(rr, cc)
    pts = np.column_stack([xy, hm.height[rr, cc].astype(np.float64)])
    r = row_of[rr, cc]
    cnt = np.bincount(r, minlength=n).astype(np.float64)
    safe = np.maximum(cnt, 1.0)
    mean = np.stack([np.bincount(r, pts[:, k], minlength=n) for k in range(3)], axis=1) / safe[:, None]
    d = pts - mean[r]
    cov = np.empty((n, 3, 3))
    for a in range(3):
        for b in range(a, 3):
            cov[:, a, b] = cov[:, b, a] = np.bincount(r, d[:, a] * d[:, b], minlength=n) / safe
    evals, evecs = np.linalg.eigh(cov)  # ascending: [normal, minor, major]
    normal = evecs[:, :, 0] * np.where(evecs[:, 2:3, 0] < 0, -1.0, 1.0)
    few = cnt < 6
    nan3 = np.full(3, np.nan)
    normal[few] = nan3
    mean[few] = nan3
    rms = np.where(few, np.nan, np.sqrt(np.maximum(evals[:, 0], 0.0)))
    # A uniform rectangle of side L has variance L²/12 along that side.
    length = np.where(few, np.nan, np.sqrt(12.0 * np.maximum(evals[:, 2], 0.0)))
    width = np.where(few, np.nan, np.sqrt(12.0 * np.maximum(evals[:, 1], 0.0)))
    tilt = np.arccos(np.clip(np.abs(normal[:, 2]), 0.0, 1.0))
    top = _label_percentile(hm.height, row_of, n, 95.0)
    edge = np.zeros(n + 1, bool)
    border = np.concatenate([row_of[0], row_of[-1], row_of[:, 0], row_of[:, -1]])
    edge[border] = True
    return InstanceStats(ids, n_cells, mean, normal, rms, tilt, length, width, evecs[:, :, 2].copy(), top, edge[:n])


def _interior(lab: np.ndarray) -> np.ndarray:
    inner = np.zeros(lab.shape, bool)
    c = lab[1:-1, 1:-1]
    inner[1:-1, 1:-1] = (c == lab[:-2, 1:-1]) & (c == lab[2:, 1:-1]) & (c == lab[1:-1, :-2]) & (c == lab[1:-1, 2:])
    return inner


def _label_percentile(height: np.ndarray, row_of: np.ndarray, n: int, q: float) -> np.ndarray:
    """Per-row percentile of heights, vectorised: sort by (row, height) and index into each run."""
    sel = row_of.ravel() < n
    r = row_of.ravel()[sel]
    z = height.ravel()[sel]
    out = np.full(n, np.nan)
    if r.size == 0:
        return out
    order = np.lexsort((z, r))
    r, z = r[order], z[order]
    starts = np.searchsorted(r, np.arange(n), side='left')
    ends = np.searchsorted(r, np.arange(n), side='right')
    present = ends > starts
    k = starts + np.floor((ends - starts - 1) * q / 100.0).astype(np.int64)
    out[present] = z[k[present]]
    return out


@dataclass(frozen=True)
class AboveRelation:
    """Evidence that instance ``upper`` lies over instance ``lower`` along their shared boundary.

    Attributes:
        upper: label of the higher instance.
        lower: label of the lower instance.
        votes: boundary cell pairs where ``upper`` is higher by more than the step tolerance.
        step: median height step over those pairs [m].
    """

    upper: int
    lower: int
    votes: int
    step: float


def above_relations(
    hm: HeightMap, step_tol: float, min_votes: int, max_gap_cells: int = 2, shadow_cells: int = 40
) -> list[AboveRelation]:
    """Find instance pairs where one is higher than the other along a shared boundary.

    A package resting on another always stands above it where their outlines meet; a taller
    package merely standing beside a lower one looks the same from above, and is reported too,
    because picking the lower one first would brush past it (conservative by design).

    Args:
        hm: the height map.
        step_tol: height difference that counts as a step [m] (above depth noise, below the
            thinnest package).
        min_votes: boundary cell pairs needed before a relation is reported (noise rejection).
        max_gap_cells: compare cells up to this far apart, bridging thin unlabelled seams.
        shadow_cells: unknown cells up to this far from a known one take its label and height
            first. A tall package hides a band of whatever lies beyond it from a perspective
            camera; filling that shadow from both sides makes the two meet with the true step.

    Returns:
        One relation per ordered pair that has more votes for that order than for the reverse.
    """
    lab = hm.labels.astype(np.int64)
    z = hm.height
    unknown = ~np.isfinite(z)
    if shadow_cells > 0 and unknown.any() and not unknown.all():
        dist, (ri, ci) = ndimage.distance_transform_edt(unknown, return_indices=True)
        fill = unknown & (dist <= shadow_cells)
        lab, z = lab.copy(), z.copy()
        lab[fill] = lab[ri[fill], ci[fill]]
        z[fill] = z[ri[fill], ci[fill]]
    kmax = int(lab.max(initial=0)) + 1
    codes: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    for dr, dc in _OFFSETS:
        for s in range(1, max_gap_cells + 1):
            a_l, b_l = _shifted_pair(lab, dr * s, dc * s)
            a_z, b_z = _shifted_pair(z, dr * s, dc * s)
            pair = (a_l != b_l) & (a_l > 0) & (b_l > 0)
            diff = b_z[pair] - a_z[pair]
            al, bl = a_l[pair], b_l[pair]
            up = diff > step_tol  # b over a
            down = diff < -step_tol  # a over b
            codes += [bl[up] * kmax + al[up], al[down] * kmax + bl[down]]
            steps += [diff[up], -diff[down]]
    if not codes:
        return []
    code = np.concatenate(codes)
    step = np.concatenate(steps)
    if code.size == 0:
        return []
    uniq, inv, votes = np.unique(code, return_inverse=True, return_counts=True)
    med = np.array([np.median(step[inv == k]) for k in range(uniq.size)])
    count = dict(zip(uniq.tolist(), votes.tolist(), strict=True))
    out = []
    for c, v, m in zip(uniq.tolist(), votes.tolist(), med.tolist(), strict=True):
        upper, lower = divmod(c, kmax)
        if v >= min_votes and v >= count.get(lower * kmax + upper, 0):
            out.append(AboveRelation(int(upper), int(lower), int(v), float(m)))
    return out


def _shifted_pair(a: np.ndarray, dr: int, dc: int) -> tuple[np.ndarray, np.ndarray]:
    """Views (a[p], a[p + (dr, dc)]) over all positions p where both are inside the array."""
    h, w = a.shape
    r0, r1 = max(0, -dr), h - max(0, dr)
    c0, c1 = max(0, -dc), w - max(0, dc)
    return a[r0:r1, c0:c1], a[r0 + dr : r1 + dr, c0 + dc : c1 + dc]


def neighbour_clearance(hm: HeightMap, instance_id: int, band: float, horizon: float) -> float:
    """Distance from an instance to the nearest other instance that is not well below it [m].

    Args:
        hm: the height map.
        instance_id: the target label.
        band: neighbours lower than the target's top by more than this are ignored (the tool passes
            over them) [m].
        horizon: search radius; the result saturates here [m].

    Returns:
        Clearance [m], ``horizon`` when nothing relevant is closer, NaN when the instance is absent.
    """
    mask = hm.labels == instance_id
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return float('nan')
    pad = int(np.ceil(horizon / hm.resolution)) + 1
    r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, hm.shape[0])
    c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, hm.shape[1])
    lab = hm.labels[r0:r1, c0:c1]
    z = hm.height[r0:r1, c0:c1]
    top = np.nanpercentile(hm.height[mask], 95)
    obstacle = (lab != instance_id) & (lab != 0) & (z > top - band)
    if not obstacle.any():
        return float(horizon)
    dist = ndimage.distance_transform_edt(~obstacle) * hm.resolution
    return float(min(dist[lab == instance_id].min(), horizon))


def support_height(hm: HeightMap, instance_id: int, ring: float, min_step: float) -> float:
    """Median height of what surrounds an instance and lies below its top: what it rests on [m].

    Args:
        hm: the height map.
        instance_id: the target label.
        ring: width of the band around the instance that is inspected [m].
        min_step: ring cells less than this below the top are ignored (its own flying edges,
            same-height neighbours) [m].

    Returns:
        Support height in base_link z [m], NaN when no lower surface is visible around it.
    """
    mask = hm.labels == instance_id
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return float('nan')
    k = int(np.ceil(ring / hm.resolution))
    r0, r1 = max(rows.min() - k - 1, 0), min(rows.max() + k + 2, hm.shape[0])
    c0, c1 = max(cols.min() - k - 1, 0), min(cols.max() + k + 2, hm.shape[1])
    m = mask[r0:r1, c0:c1]
    z = hm.height[r0:r1, c0:c1]
    band = ndimage.binary_dilation(m, iterations=k) & ~m
    top = np.nanpercentile(hm.height[mask], 95)
    zr = z[band]
    zr = zr[np.isfinite(zr) & (zr < top - min_step)]
    return float(np.median(zr)) if zr.size else float('nan')
