"""Small synthetic frames and queues for the robin_learning tests (no simulator, no model)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from robin_core.instance_table import empty_table
from robin_learning.instances import prediction_from_table
from robin_learning.queue_store import AnnotationQueue, NewFrame
from robin_learning.uncertainty import score_frame

H, W = 48, 64
INTRINSICS = {'fx': 60.0, 'fy': 60.0, 'cx': 32.0, 'cy': 24.0, 'width': W, 'height': H}


def boxes_frame(boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """uint16 label image with rectangles (u0, v0, u1, v1) labelled 1..N."""
    labels = np.zeros((H, W), np.uint16)
    for k, (u0, v0, u1, v1) in enumerate(boxes, start=1):
        labels[v0:v1, u0:u1] = k
    return labels


def table_for(labels: np.ndarray, scores: list[float], type_scores: list[float] | None = None,
              geo: list[float] | None = None) -> np.ndarray:
    n = int(labels.max())
    t = empty_table(n)
    t['id'] = np.arange(1, n + 1)
    t['type_id'] = np.arange(n) % 4
    t['score'] = scores
    t['type_score'] = type_scores if type_scores is not None else [0.95] * n
    t['geometric_iou'] = geo if geo is not None else [np.nan] * n
    t['area_px'] = [(labels == i).sum() for i in range(1, n + 1)]
    return t


def write_images(d: Path, name: str, labels: np.ndarray) -> tuple[str, str]:
    d.mkdir(parents=True, exist_ok=True)
    rgb = np.full((H, W, 3), 90, np.uint8)
    rgb[labels > 0] = 200
    depth = np.full((H, W), 1000, np.uint16)
    depth[labels > 0] = 950
    cv2.imwrite(str(d / f'{name}_color.png'), rgb)
    cv2.imwrite(str(d / f'{name}_depth.png'), depth)
    return str(d / f'{name}_color.png'), str(d / f'{name}_depth.png')


def queue_frame(q: AnnotationQueue, tmp: Path, key: str, scores: list[float], *, gt_ref: str | None = None,
                boxes: list[tuple[int, int, int, int]] | None = None) -> int:
    boxes = boxes or [(2, 2, 20, 20), (30, 10, 60, 40)][: len(scores)]
    labels = boxes_frame(boxes)
    table = table_for(labels, scores)
    unc = score_frame(table)
    color, depth = write_images(tmp / 'images', key.replace('/', '_'), labels)
    image_id = q.add(NewFrame(frame_key=key, cell_id='cell_0', width=W, height=H, color_path=color, depth_path=depth,
                              priority=unc.score, reasons=unc.reasons or ['random'],
                              prediction=prediction_from_table(labels, table), model_version='v0001',
                              meta={'intrinsics': INTRINSICS, 'domain': 'test'}, gt_ref=gt_ref))
    assert image_id is not None
    return image_id
