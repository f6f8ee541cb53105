"""Where the arm is in a camera frame: its silhouette, so a frame taken while it is over the pile is usable.

The overhead camera sees the arm (and what it carries) while it lifts a package and swings away.
Waiting until the arm has left the view costs the cell most of a transfer before the next frame
counts (session-6 demo: the arm waited 56 % of the cycle, mostly for a decision on a clear frame).
Instead the grasp planner masks the arm out: the arm's pose at the frame's stamp is known from
``/joint_states``, so the image region it covers is known too. Each arm geom's bounding box is
projected into the image and filled (a box's silhouette is the convex hull of its projected
corners), plus a column under the tool down to the belt for a carried package — its footprint
when the pick phase names it (robin_grasp/carry_state.py), a square of unknown size otherwise —
then dilated by a safety band. Packages touching that region are not offered (what rests on them
cannot be seen), and the depth under it is dropped so the arm never becomes "pile".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from robin_core.cell_description import CameraIntrinsics
from robin_grasp.carry_state import CarriedPackage

_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)


@dataclass(frozen=True)
class OrientedBox:
    """A box in base_link: centre [m], rotation (3×3, box axes as columns) and half-sizes [m]."""

    center: np.ndarray
    rotation: np.ndarray
    half: np.ndarray

    def corners(self) -> np.ndarray:
        """(8, 3) corner points [m] in base_link."""
        return self.center + (_SIGNS * self.half) @ self.rotation.T


def carried_column(tcp_pose: np.ndarray, belt_z: float, half_size: float) -> OrientedBox:
    """The space a carried package may take: a vertical square column from the tcp down to the belt
    (``half_size`` [m] around the tool axis) — the package's size and the cups' offset are not known
    to the planner, so this is the conservative bound."""
    top = float(tcp_pose[2, 3])
    bottom = min(belt_z, top)
    center = np.array([tcp_pose[0, 3], tcp_pose[1, 3], (top + bottom) / 2])
    return OrientedBox(center, np.eye(3), np.array([half_size, half_size, max((top - bottom) / 2, 0.01)]))


def package_column(tcp_pose: np.ndarray, belt_z: float, package: CarriedPackage, margin: float) -> OrientedBox:
    """The space a carried package of known footprint may take: its footprint (centre and long-side
    heading in the tcp frame, grown by ``margin`` [m]) as a vertical column from the tcp down to
    the belt. The tool may tilt a little while carrying; the margin and the silhouette's dilation
    cover that."""
    x, y, heading = package.x, package.y, package.heading
    rot = tcp_pose[:3, :3]
    centre = tcp_pose[:3, 3] + rot @ np.array([x, y, 0.0])
    axis = rot @ np.array([np.cos(heading), np.sin(heading), 0.0])
    yaw = float(np.arctan2(axis[1], axis[0]))
    c, s_ = np.cos(yaw), np.sin(yaw)
    top = float(tcp_pose[2, 3])
    bottom = min(belt_z, top)
    half = np.array([package.length / 2 + margin, package.width / 2 + margin, max((top - bottom) / 2, 0.01)])
    return OrientedBox(np.array([centre[0], centre[1], (top + bottom) / 2]),
                       np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]]), half)


def silhouette(boxes: Iterable[OrientedBox], base_optical: np.ndarray, intr: CameraIntrinsics,
               dilate_px: int = 0) -> np.ndarray:
    """(H, W) bool image of every pixel the boxes cover (boxes behind the camera are skipped).

    Args:
        boxes: the arm's geoms (and a carried package) in base_link.
        base_optical: camera optical frame in base_link (z forward, x right, y down).
        intr: pinhole intrinsics of the image.
        dilate_px: safety band added around the silhouette [px].
    """
    mask = np.zeros((intr.height, intr.width), dtype=np.uint8)
    optical_base = np.linalg.inv(base_optical)
    for box in boxes:
        p = box.corners() @ optical_base[:3, :3].T + optical_base[:3, 3]
        if (p[:, 2] <= 0.05).any():
            continue  # at or behind the lens: not in this overhead view
        uv = np.stack([intr.fx * p[:, 0] / p[:, 2] + intr.cx, intr.fy * p[:, 1] / p[:, 2] + intr.cy], axis=1)
        hull = cv2.convexHull(np.round(uv).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
    if dilate_px > 0 and mask.any():
        k = 2 * dilate_px + 1
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return mask.astype(bool)


def instances_under(mask: np.ndarray, labels: np.ndarray, ids: Sequence[int], min_pixels: int = 1) -> set[int]:
    """Instance ids with at least ``min_pixels`` pixels inside ``mask``."""
    hit = labels[mask]
    if hit.size == 0:
        return set()
    counts = np.bincount(hit.astype(np.int64), minlength=int(max(ids, default=0)) + 1)
    return {int(i) for i in ids if 0 < int(i) < counts.size and counts[int(i)] >= min_pixels}
