"""Pinhole intrinsics (no distortion: aligned RealSense streams are rectified) and back-projection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole camera model of an image of ``width`` x ``height`` pixels.

    Attributes:
        fx: focal length along u [px].
        fy: focal length along v [px].
        cx: principal point u [px].
        cy: principal point v [px].
        width: image width [px].
        height: image height [px].
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_k(cls, k: np.ndarray | list[float], width: int, height: int) -> Intrinsics:
        """Build from a row-major 3x3 K (as in sensor_msgs/CameraInfo.k)."""
        m = np.asarray(k, dtype=np.float64).reshape(3, 3)
        return cls(float(m[0, 0]), float(m[1, 1]), float(m[0, 2]), float(m[1, 2]), int(width), int(height))

    @classmethod
    def default(cls, width: int = 640, height: int = 480) -> Intrinsics:
        """A RealSense-D435-like colour camera (69° HFOV) used when no CameraInfo is known."""
        f = 0.5 * width / np.tan(np.deg2rad(69.0) / 2.0)
        return cls(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height)

    def scaled(self, width: int, height: int) -> Intrinsics:
        """The same camera resampled to ``width`` x ``height`` (pixel-centre convention)."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(
            self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5, width, height
        )

    def as_dict(self) -> dict[str, float | int]:
        return {'fx': self.fx, 'fy': self.fy, 'cx': self.cx, 'cy': self.cy, 'width': self.width, 'height': self.height}

    def pixel_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel (x/z, y/z) of the viewing rays, each (H, W) float32."""
        u = (np.arange(self.width, dtype=np.float32) - np.float32(self.cx)) / np.float32(self.fx)
        v = (np.arange(self.height, dtype=np.float32) - np.float32(self.cy)) / np.float32(self.fy)
        shape = (self.height, self.width)
        return np.broadcast_to(u[None, :], shape), np.broadcast_to(v[:, None], shape)

    def back_project(self, depth_m: np.ndarray) -> np.ndarray:
        """Depth image [m] (NaN invalid) -> (H, W, 3) camera-frame points [m] (REP-103 optical)."""
        rx, ry = self.pixel_rays()
        return np.stack((rx * depth_m, ry * depth_m, depth_m), axis=-1)
