"""The one preprocessing path shared by training, evaluation and the node: RGB-D -> ``rgbh`` tensor."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from robin_perception.belt_height import BeltPlane, fill_height_holes, fit_belt_plane, height_above_belt
from robin_perception.camera_intrinsics import Intrinsics


@dataclass
class PreparedInput:
    """Network input and the full-resolution geometry post-processing needs.

    Attributes:
        rgbh: (4, h, w) float32 network input (RGB 0..255, height above belt [m]).
        height_m: (H, W) float32 height above the belt at camera resolution, NaN invalid.
        depth_m: (H, W) float32 depth [m], NaN invalid.
        plane: the belt plane used.
    """

    rgbh: np.ndarray
    height_m: np.ndarray
    depth_m: np.ndarray
    plane: BeltPlane


def prepare_input(
    rgb: np.ndarray,
    depth_m: np.ndarray,
    intrinsics: Intrinsics,
    input_hw: tuple[int, int],
    plane: BeltPlane | None = None,
) -> PreparedInput:
    """Fit the belt (unless ``plane`` is given), compute height, resize both to ``input_hw``.

    Args:
        rgb: (H, W, 3) uint8 RGB.
        depth_m: (H, W) float32 depth [m], NaN invalid, aligned to ``rgb``.
        intrinsics: camera model at (H, W).
        input_hw: network input (height, width) [px].
        plane: a known belt plane (skips the fit).

    Raises:
        BeltFitError: no belt plane could be fitted.
    """
    if plane is None:
        plane = fit_belt_plane(depth_m, intrinsics)
    height = height_above_belt(depth_m, intrinsics, plane)
    h, w = input_hw
    filled = fill_height_holes(cv2.resize(height, (w, h), interpolation=cv2.INTER_NEAREST))
    small_rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    rgbh = np.empty((4, h, w), np.float32)
    rgbh[:3] = small_rgb.transpose(2, 0, 1)
    rgbh[3] = np.clip(filled, -0.05, 0.6)
    return PreparedInput(rgbh, height, depth_m, plane)
