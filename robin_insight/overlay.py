"""Images for the audit page: depth colouring, instance mask overlays, PNG encoding (vectorised)."""

from __future__ import annotations

import cv2
import numpy as np

from robin_core.instance_table import PACKAGE_TYPES

_rng = np.random.default_rng(7)
#: label id -> colour; fixed so the same id has the same colour on every page
PALETTE = _rng.integers(60, 256, (65536, 3), dtype=np.uint8)
PALETTE[0] = 0


def depth_to_rgb(depth_m: np.ndarray) -> np.ndarray:
    """Float metres (NaN invalid) -> a colour-mapped rgb image, invalid pixels black."""
    valid = np.isfinite(depth_m)
    out = np.zeros((*depth_m.shape, 3), np.uint8)
    if not valid.any():
        return out
    lo, hi = np.percentile(depth_m[valid], (1, 99))
    norm = np.clip((np.nan_to_num(depth_m, nan=hi) - lo) / max(hi - lo, 1e-6), 0, 1)
    bgr = cv2.applyColorMap((255 * (1 - norm)).astype(np.uint8), cv2.COLORMAP_TURBO)
    out[valid] = bgr[valid][:, ::-1]
    return out


def overlay_instances(
    color: np.ndarray,
    labels: np.ndarray,
    table: np.ndarray | None,
    *,
    target_id: int | None = None,
    class_names: tuple[str, ...] = PACKAGE_TYPES,
    alpha: float = 0.45,
) -> np.ndarray:
    """Masks blended over ``color`` with outlines, ``type score`` captions, the target and its suction point.

    Args:
        color: (H, W, 3) uint8 rgb.
        labels: (H, W) instance ids, 0 = background (same pixel grid as ``color``).
        table: instance table rows (``id``, ``type_id``, ``score``, box) or None.
        target_id: instance chosen for the pick: thick outline and a crosshair at its mask centroid.
    """
    if labels.shape != color.shape[:2]:
        labels = cv2.resize(labels, (color.shape[1], color.shape[0]), interpolation=cv2.INTER_NEAREST)
    fg = labels > 0
    out = color.copy()
    out[fg] = (color[fg] * (1 - alpha) + PALETTE[labels[fg]] * alpha).astype(np.uint8)
    edge = np.zeros_like(fg)
    edge[:-1] |= labels[:-1] != labels[1:]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    out[edge] = 255
    if table is not None:
        for row in table:
            name = class_names[int(row['type_id'])] if int(row['type_id']) < len(class_names) else str(row['type_id'])
            caption = f"#{int(row['id'])} {name} {float(row['score']):.2f}"
            org = (int(row['u0']) + 2, max(10, int(row['v0']) + 11))
            cv2.putText(out, caption, org, cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 2, cv2.LINE_AA)
            cv2.putText(out, caption, org, cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
    if target_id is not None and (mask := labels == target_id).any():
        vs, us = np.nonzero(mask)
        cv2.rectangle(out, (int(us.min()), int(vs.min())), (int(us.max()), int(vs.max())), (255, 40, 40), 2)
        cu, cv = int(us.mean()), int(vs.mean())
        cv2.drawMarker(out, (cu, cv), (255, 255, 0), cv2.MARKER_CROSS, 16, 2)
        cv2.circle(out, (cu, cv), 9, (255, 255, 0), 1, cv2.LINE_AA)
    return out


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an rgb (or single-channel) uint8 image as PNG."""
    img = rgb[:, :, ::-1] if rgb.ndim == 3 else rgb
    ok, buf = cv2.imencode('.png', np.ascontiguousarray(img))
    if not ok:
        raise ValueError('PNG encoding failed')
    return buf.tobytes()
