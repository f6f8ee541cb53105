"""Model outputs -> instances: centre peaks, offset voting, per-instance type and confidence cues.

Bottom-up grouping in the spirit of Panoptic-DeepLab: every foreground pixel votes for the
centre its offset points at and joins the nearest detected centre peak. Everything is vectorised
over pixels; the only Python loop is none.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Names of the per-instance cues (columns of ``Grouping.features``) fed to the confidence model.
FEATURE_NAMES: tuple[str, ...] = (
    'fg_mean', 'center_peak', 'boundary_mean', 'vote_consistency', 'log_area', 'type_prob', 'fill_ratio',
)


@dataclass(frozen=True)
class GroupingParams:
    """Thresholds of the grouping (output-resolution pixels).

    Attributes:
        fg_threshold: foreground probability threshold.
        center_threshold: minimum centre-heatmap peak.
        nms_kernel: peak non-maximum-suppression window [px].
        max_instances: keep at most this many peaks (highest first).
        min_area: drop instances smaller than this [output px].
        vote_radius: a vote within this distance of its centre counts as consistent [px].
    """

    fg_threshold: float = 0.5
    center_threshold: float = 0.12
    nms_kernel: int = 7
    max_instances: int = 80
    min_area: int = 12
    vote_radius: float = 3.0


@dataclass
class Grouping:
    """Instances at the network output resolution.

    Attributes:
        labels: (h, w) uint16 instance ids 1..N, 0 background.
        fg_prob: (h, w) float32 foreground probability.
        type_id: (N,) int64 most likely type per instance.
        type_prob: (N, T) float32 mean type probabilities over each mask.
        features: (N, len(FEATURE_NAMES)) float32 confidence cues.
    """

    labels: np.ndarray
    fg_prob: np.ndarray
    type_id: np.ndarray
    type_prob: np.ndarray
    features: np.ndarray


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def find_centers(center: np.ndarray, p: GroupingParams) -> np.ndarray:
    """(K, 2) int (y, x) heatmap peaks above threshold, highest first."""
    pooled = cv2.dilate(center, np.ones((p.nms_kernel, p.nms_kernel), np.uint8))
    ys, xs = np.nonzero((center >= pooled) & (center > p.center_threshold))
    order = np.argsort(-center[ys, xs], kind='stable')[: p.max_instances]
    return np.stack((ys[order], xs[order]), 1)


def group_instances(semantic: np.ndarray, center: np.ndarray, offset: np.ndarray,
                    params: GroupingParams | None = None) -> Grouping:
    """Group one image's outputs into instances.

    Args:
        semantic: (2 + T, h, w) logits: foreground, boundary, T types.
        center: (h, w) or (1, h, w) heatmap in [0, 1].
        offset: (2, h, w) (dy, dx) to the instance centre [px].
        params: thresholds.
    """
    p = params or GroupingParams()
    center = center.reshape(center.shape[-2:]).astype(np.float32)
    h, w = center.shape
    fg_prob = _sigmoid(semantic[0].astype(np.float32))
    bd_prob = _sigmoid(semantic[1].astype(np.float32))
    n_types = semantic.shape[0] - 2
    peaks = find_centers(center, p)
    labels = np.zeros((h, w), np.uint16)
    empty = Grouping(labels, fg_prob, np.zeros(0, np.int64), np.zeros((0, n_types), np.float32),
                     np.zeros((0, len(FEATURE_NAMES)), np.float32))
    fy, fx = np.nonzero(fg_prob > p.fg_threshold)
    if len(peaks) == 0 or fy.size == 0:
        return empty
    vy = fy + offset[0, fy, fx]
    vx = fx + offset[1, fy, fx]
    d2 = (vy[:, None] - peaks[None, :, 0]) ** 2 + (vx[:, None] - peaks[None, :, 1]) ** 2  # (P, K)
    nearest = np.argmin(d2, axis=1)
    near_d = np.sqrt(d2[np.arange(fy.size), nearest])
    k = len(peaks)
    area = np.bincount(nearest, minlength=k)
    keep = area >= p.min_area
    new_id = np.zeros(k, np.int64)
    new_id[keep] = np.arange(1, int(keep.sum()) + 1)
    lab = new_id[nearest]
    labels[fy, fx] = lab.astype(np.uint16)
    n = int(keep.sum())
    if n == 0:
        return empty
    sel = lab > 0
    li = lab[sel] - 1
    cnt = np.bincount(li, minlength=n).astype(np.float32)

    def mean_of(values: np.ndarray) -> np.ndarray:
        return np.bincount(li, weights=values[sel], minlength=n) / np.maximum(cnt, 1)

    logits = semantic[2:, fy[sel], fx[sel]].astype(np.float32)  # (T, P)
    ex = np.exp(logits - logits.max(0, keepdims=True))
    probs = ex / ex.sum(0, keepdims=True)
    type_prob = np.stack([np.bincount(li, weights=probs[t], minlength=n) for t in range(n_types)], 1)
    type_prob /= np.maximum(cnt, 1)[:, None]
    type_id = np.argmax(type_prob, 1)
    ys_, xs_ = fy[sel], fx[sel]
    y0 = np.full(n, h)
    y1 = np.zeros(n, np.int64)
    x0 = np.full(n, w)
    x1 = np.zeros(n, np.int64)
    np.minimum.at(y0, li, ys_)
    np.maximum.at(y1, li, ys_)
    np.minimum.at(x0, li, xs_)
    np.maximum.at(x1, li, xs_)
    fill = cnt / ((y1 - y0 + 1) * (x1 - x0 + 1))
    peak_val = center[peaks[keep, 0], peaks[keep, 1]]
    feats = np.stack((
        mean_of(fg_prob[fy, fx]),
        peak_val,
        mean_of(bd_prob[fy, fx]),
        mean_of((near_d <= p.vote_radius).astype(np.float32)),
        np.log(cnt),
        type_prob.max(1),
        fill,
    ), 1).astype(np.float32)
    return Grouping(labels, fg_prob, type_id, type_prob.astype(np.float32), feats)


def upsample_labels(labels: np.ndarray, fg_prob: np.ndarray, out_hw: tuple[int, int],
                    fg_threshold: float = 0.5) -> np.ndarray:
    """Labels at camera resolution: nearest-neighbour ids, smoothed, cut by the bilinear foreground.

    A 5x5 median removes the staircase of nearest-neighbour upsampling between instances (the
    median of ids is always one of the ids in the window, so no new ids appear).
    """
    h, w = out_hw
    up = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    if h >= 2 * labels.shape[0]:
        up = cv2.medianBlur(up, 5)
    fg = cv2.resize(fg_prob, (w, h), interpolation=cv2.INTER_LINEAR) > fg_threshold
    up[~fg] = 0
    return up
