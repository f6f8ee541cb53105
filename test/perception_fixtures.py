"""Synthetic RGB-D scenes with known geometry for perception unit tests (no simulator)."""

from __future__ import annotations

import numpy as np

from robin_perception.camera_intrinsics import Intrinsics

INTR = Intrinsics(500.0, 500.0, 159.5, 119.5, 320, 240)
CAM_H = 1.0  # camera height above the belt [m]


def box_scene(boxes: list[tuple[int, int, int, int, float]], tilt: tuple[float, float] = (0.0, 0.0),
              intr: Intrinsics = INTR) -> tuple[np.ndarray, np.ndarray]:
    """Depth [m] and labels of axis-aligned boxes (v0, v1, u0, u1, height [m]) on a belt.

    Later boxes are drawn over earlier ones (they lie on top). ``tilt`` adds a belt slope in
    depth per metre of x / y.
    """
    height = np.zeros((intr.height, intr.width), np.float32)
    labels = np.zeros(height.shape, np.uint16)
    for k, (v0, v1, u0, u1, h) in enumerate(boxes, 1):
        height[v0:v1, u0:u1] = h
        labels[v0:v1, u0:u1] = k
    rx, ry = intr.pixel_rays()
    z = CAM_H - height
    depth = (z + tilt[0] * rx * z + tilt[1] * ry * z).astype(np.float32)
    return depth, labels
