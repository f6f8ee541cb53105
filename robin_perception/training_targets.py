"""Training targets for RobinSegNet from an instance label image (at the network output size)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CENTER_SIGMA_PX = 3.0  # Gaussian sigma of the centre heatmap [output px]


@dataclass
class Targets:
    """Per-pixel targets at output resolution (h, w).

    Attributes:
        fg: uint8 foreground (package) mask.
        boundary: uint8 pixels within one pixel of a different label.
        center: float32 centre heatmap in [0, 1].
        offset: (2, h, w) float32 (dy, dx) to the own instance centre [px].
        type_id: int64 package type per pixel, -1 on background.
        centers: (N, 2) float32 (y, x) instance centres [px] (for tests and debugging).
    """

    fg: np.ndarray
    boundary: np.ndarray
    center: np.ndarray
    offset: np.ndarray
    type_id: np.ndarray
    centers: np.ndarray


def instance_centers(labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(N, 2) (y, x) of each instance's innermost pixel (distance-transform maximum).

    Unlike the centroid, it always lies inside the mask, also for L-shaped, partly covered
    packages, and it is where a suction cup would go.
    """
    out = np.zeros((len(ids), 2), np.float32)
    for k, i in enumerate(ids):
        ys, xs = np.nonzero(labels == i)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        crop = np.pad((labels[y0:y1, x0:x1] == i).astype(np.uint8), 1)
        dist = cv2.distanceTransform(crop, cv2.DIST_L2, 3)
        cy, cx = np.unravel_index(int(np.argmax(dist)), dist.shape)
        out[k] = (y0 + cy - 1, x0 + cx - 1)
    return out


def build_targets(labels: np.ndarray, type_of_label: dict[int, int]) -> Targets:
    """Targets from an (h, w) uint16 label image and ``{label id: type_id}``."""
    h, w = labels.shape
    ids = np.array(sorted(int(i) for i in np.unique(labels) if i), np.int64)
    fg = (labels > 0).astype(np.uint8)
    k = np.ones((3, 3), np.uint8)
    lab = labels.astype(np.uint16)
    boundary = ((cv2.dilate(lab, k) != lab) | (cv2.erode(lab, k) != lab)).astype(np.uint8)
    centers = instance_centers(labels, ids) if ids.size else np.zeros((0, 2), np.float32)
    lut_cy = np.zeros(int(labels.max()) + 1, np.float32)
    lut_cx = np.zeros_like(lut_cy)
    lut_t = np.full(lut_cy.shape, -1, np.int64)
    if ids.size:
        lut_cy[ids], lut_cx[ids] = centers[:, 0], centers[:, 1]
        lut_t[ids] = [type_of_label.get(int(i), -1) for i in ids]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    offset = np.stack((lut_cy[labels] - yy, lut_cx[labels] - xx)) * fg
    heat = np.zeros((h, w), np.float32)
    r = int(3 * CENTER_SIGMA_PX)
    g = np.exp(-(np.arange(-r, r + 1, dtype=np.float32) ** 2) / (2 * CENTER_SIGMA_PX**2))
    g2 = np.outer(g, g)
    for cy, cx in centers.astype(np.int64):
        y0, y1, x0, x1 = max(cy - r, 0), min(cy + r + 1, h), max(cx - r, 0), min(cx + r + 1, w)
        patch = g2[y0 - cy + r : y1 - cy + r, x0 - cx + r : x1 - cx + r]
        np.maximum(heat[y0:y1, x0:x1], patch, out=heat[y0:y1, x0:x1])
    return Targets(fg, boundary, heat, offset.astype(np.float32), lut_t[labels], centers)
