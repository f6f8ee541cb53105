"""Depth-only instance segmentation: height steps split packages, connected components name them.

Used as the fallback when no valid model is loaded and as a cross-check of the model (its IoU
with each model instance goes into the table as ``geometric_iou``; low values flag frames for the
learning loop). It cannot separate touching packages of equal height or find packages thinner
than ``min_height_m`` — which is exactly why there is a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from robin_perception.belt_height import fill_height_holes


@dataclass(frozen=True)
class GeometricParams:
    """Thresholds of the depth-only segmenter.

    Attributes:
        min_height_m: pixels higher than this above the belt are package [m].
        step_m: a height change this large between neighbours is an edge [m].
        min_area_px: smaller segments are dropped [px at working resolution].
        work_scale: processing resolution as a fraction of the input (speed).
    """

    min_height_m: float = 0.006
    step_m: float = 0.008
    min_area_px: int = 60
    work_scale: float = 0.5


def geometric_segment(height_m: np.ndarray, params: GeometricParams | None = None) -> np.ndarray:
    """(H, W) height above belt [m] (NaN invalid) -> (H, W) uint16 labels 1..N (0 belt).

    Steps (all vectorised): resample to ``work_scale``, fill depth holes, mark height-step
    edges (morphological gradient), label edge-free foreground with connected components, drop
    small ones, grow labels back over edge pixels (nearest label via a distance transform), and
    resample to the input grid.
    """
    p = params or GeometricParams()
    h, w = height_m.shape
    wh, ww = max(int(h * p.work_scale), 8), max(int(w * p.work_scale), 8)
    small = fill_height_holes(cv2.resize(height_m.astype(np.float32), (ww, wh), interpolation=cv2.INTER_NEAREST))
    fg = small > p.min_height_m
    k = np.ones((3, 3), np.uint8)
    grad = cv2.dilate(small, k) - cv2.erode(small, k)
    core = (fg & (grad < p.step_m)).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=4)
    keep = stats[:, cv2.CC_STAT_AREA] >= p.min_area_px
    keep[0] = False
    remap = np.zeros(n, np.uint16)
    remap[keep] = np.arange(1, int(keep.sum()) + 1)
    lab = remap[lab]
    if keep.sum() == 0:
        return np.zeros((h, w), np.uint16)
    # grow into edge pixels: every foreground pixel takes the nearest labelled pixel's id
    idx = ndimage.distance_transform_edt(lab == 0, return_distances=False, return_indices=True)
    grown = lab[idx[0], idx[1]]
    grown[~fg] = 0
    out = cv2.resize(grown, (w, h), interpolation=cv2.INTER_NEAREST)
    full_fg = np.isfinite(height_m) & (height_m > p.min_height_m)
    out[~(full_fg | ~np.isfinite(height_m))] = 0  # keep ids on holes, clear the belt
    return out
