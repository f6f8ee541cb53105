"""Side-by-side picture of a changed decision: recorded (left) and offline (right) on the same colour image.

Each panel: the instance masks with ``#id type score`` captions and the target boxed
(:func:`robin_insight.overlay.overlay_instances`), plus the decision's suction point and its cup
lips projected into the image (filled = on, thin = off) and a caption bar.
"""

from __future__ import annotations

import cv2
import numpy as np

from robin_core.cell_description import CameraIntrinsics, CellDescription
from robin_grasp.motion.interface import pose_matrix
from robin_insight.decision_diff import PickDecision
from robin_insight.overlay import overlay_instances

BAR_PX = 34
ON, OFF, POINT = (60, 255, 60), (255, 255, 255), (255, 0, 255)


def project(points_base: np.ndarray, T_base_optical: np.ndarray, intr: CameraIntrinsics) -> np.ndarray:  # noqa: N803
    """(N, 3) base_link points -> (N, 3) pixel u, v and depth z [m] (z <= 0: behind the camera)."""
    T_opt_base = np.linalg.inv(T_base_optical)  # noqa: N806
    p = points_base @ T_opt_base[:3, :3].T + T_opt_base[:3, 3]
    z = p[:, 2]
    safe = np.where(z > 1e-6, z, np.nan)
    return np.stack([intr.fx * p[:, 0] / safe + intr.cx, intr.fy * p[:, 1] / safe + intr.cy, z], axis=1)


def draw_decision(img: np.ndarray, d: PickDecision, cell: CellDescription, intr: CameraIntrinsics) -> None:
    """Draw the suction point and cup lips of ``d`` onto ``img`` (in place)."""
    if d.position is None or d.orientation is None:
        return
    pose = pose_matrix(d.position, d.orientation)
    cups = np.asarray(cell.gripper.cup_positions, float)
    cups_base = cups @ pose[:3, :3].T + pose[:3, 3]
    uvz = project(np.vstack([cups_base, np.asarray(d.position, float)[None]]), cell.camera.T_base_optical, intr)
    for k, (u, v, z) in enumerate(uvz[:-1]):
        if not np.isfinite(u) or z <= 0:
            continue
        r = max(2, round(float(intr.fx * cell.gripper.lip_radius / z)))
        on = bool((d.cup_mask >> k) & 1)
        cv2.circle(img, (round(float(u)), round(float(v))), r, ON if on else OFF, 2 if on else 1, cv2.LINE_AA)
    u, v, z = uvz[-1]
    if np.isfinite(u) and z > 0:
        cv2.drawMarker(img, (round(float(u)), round(float(v))), POINT, cv2.MARKER_TILTED_CROSS, 14, 2)


def caption(d: PickDecision) -> str:
    if d.instance_id is None:
        return f'no grasp: {d.status}'[:90]
    return f'#{d.instance_id} {d.package_type} cups {",".join(map(str, d.cups)) or "-"}'


def panel(
    rgb: np.ndarray,
    labels: np.ndarray | None,
    table: np.ndarray | None,
    d: PickDecision,
    *,
    title: str,
    cell: CellDescription,
    intr: CameraIntrinsics,
) -> np.ndarray:
    """One annotated image with a caption bar on top."""
    img = (overlay_instances(rgb, labels, table, target_id=d.instance_id) if labels is not None
           else rgb.copy())
    draw_decision(img, d, cell, intr)
    bar = np.full((BAR_PX, img.shape[1], 3), 30, np.uint8)
    for row, text in enumerate((title, caption(d))):
        cv2.putText(bar, text, (6, 13 + 15 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([bar, img])


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 6) -> np.ndarray:
    """Two panels of equal height next to each other."""
    sep = np.full((left.shape[0], gap, 3), 255, np.uint8)
    return np.hstack([left, sep, right])
