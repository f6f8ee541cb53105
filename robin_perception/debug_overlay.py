"""Debug overlay: instance colours blended over the camera image, outlines, and type/score text."""

from __future__ import annotations

import cv2
import numpy as np

_PALETTE = (np.random.default_rng(7).uniform(40, 255, (256, 3))).astype(np.uint8)


def render_overlay(rgb: np.ndarray, labels: np.ndarray, table: np.ndarray, class_names: tuple[str, ...], *,
                   alpha: float = 0.45, text: bool = True) -> np.ndarray:
    """(H, W, 3) uint8 RGB with each instance tinted, outlined in white, labelled with type and score."""
    colors = _PALETTE[labels.astype(np.int64) % 256]
    fg = (labels > 0)[..., None]
    out = np.where(fg, (rgb * (1 - alpha) + colors * alpha).astype(np.uint8), rgb)
    k = np.ones((3, 3), np.uint8)
    edge = cv2.dilate(labels, k) != cv2.erode(labels, k)
    out[edge] = 255
    if text:
        for row in table:  # one label per instance
            if row['area_px'] == 0:
                continue
            u, v = int((row['u0'] + row['u1']) / 2), int((row['v0'] + row['v1']) / 2)
            name = class_names[row['type_id']] if row['type_id'] < len(class_names) else str(row['type_id'])
            cv2.putText(out, f"{name[:5]} {row['score']:.2f}", (max(u - 30, 0), v), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (255, 255, 255), 1, cv2.LINE_AA)
    return np.ascontiguousarray(out)
