"""Instances as the queue stores them: COCO-style dicts with uncompressed RLE masks.

One instance: ``{'category_id': type_id + 1, 'segmentation': {'size': [h, w], 'counts': [...]},
'bbox': [x, y, w, h], 'area': px, 'score': s, 'type_score': t, 'geometric_iou': g}`` (the last
three only for predictions). RLE coding is the perception package's (``coco_format``), so the
queue, the dataset generator and the evaluation agree on masks bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from robin_core.instance_table import PACKAGE_TYPES
from robin_perception.coco_format import rle_decode, rle_encode


def mask_instance(mask: np.ndarray, category_id: int, **extra: Any) -> dict[str, Any]:
    """COCO instance of a binary (H, W) mask (``extra`` keys are copied, NaN floats become None)."""
    vs, us = np.nonzero(mask)
    bbox = [0, 0, 0, 0]
    if vs.size:
        bbox = [int(us.min()), int(vs.min()), int(us.max() - us.min() + 1), int(vs.max() - vs.min() + 1)]
    out: dict[str, Any] = {'category_id': int(category_id), 'segmentation': rle_encode(mask), 'bbox': bbox,
                           'area': int(vs.size)}
    for k, v in extra.items():
        out[k] = None if isinstance(v, float) and math.isnan(v) else v
    return out


def prediction_from_table(labels: np.ndarray, table: np.ndarray) -> list[dict[str, Any]]:
    """Pre-annotation from a label image (mono16, 0 background) and its INSTANCE_DTYPE table."""
    out = []
    for row in table:
        mask = labels == int(row['id'])
        if not mask.any():
            continue
        out.append(mask_instance(mask, int(row['type_id']) + 1, score=round(float(row['score']), 4),
                                 type_score=round(float(row['type_score']), 4),
                                 geometric_iou=round(float(row['geometric_iou']), 4)))
    return out


def instance_mask(inst: dict[str, Any]) -> np.ndarray:
    return rle_decode(inst['segmentation'])


def label_image(instances: list[dict[str, Any]], height: int, width: int) -> tuple[np.ndarray, list[int]]:
    """Paint instances into a uint16 label image (ids 1..N in order); return it and type ids.

    Later instances overwrite earlier ones where masks overlap (annotators draw on top).
    """
    labels = np.zeros((height, width), np.uint16)
    types = []
    for k, inst in enumerate(instances, start=1):
        labels[instance_mask(inst)] = k
        types.append(int(inst['category_id']) - 1)
    return labels, types


def mask_to_polygon(mask: np.ndarray, tolerance_px: float = 1.0) -> list[tuple[float, float]]:
    """Outline of the largest connected part of ``mask`` as (x, y) pixel vertices."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    c = max(contours, key=cv2.contourArea)
    c = cv2.approxPolyDP(c, tolerance_px, True)
    return [(float(p[0][0]), float(p[0][1])) for p in c]


def polygon_area(points: list[tuple[float, float]]) -> float:
    """Shoelace area [px²] of a simple polygon."""
    if len(points) < 3:
        return 0.0
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2.0)


def polygons_to_mask(polygons: list[list[tuple[float, float]]], height: int, width: int) -> np.ndarray:
    """Rasterise polygons (pixel coordinates) into a (H, W) bool mask."""
    canvas = np.zeros((height, width), np.uint8)
    for poly in polygons:
        pts = np.round(np.asarray(poly, np.float64)).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(canvas, [pts], 1)
    return canvas.astype(bool)


def category_names() -> tuple[str, ...]:
    """Names by COCO category id - 1."""
    return PACKAGE_TYPES
