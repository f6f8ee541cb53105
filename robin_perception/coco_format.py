"""COCO instance-segmentation records: uncompressed RLE masks, annotations from a PileFrame."""

from __future__ import annotations

import numpy as np

from robin_core.instance_table import PACKAGE_TYPES
from robin_perception.pile_scene import PileFrame


def rle_encode(mask: np.ndarray) -> dict[str, object]:
    """Binary (H, W) mask -> COCO uncompressed RLE (column-major run lengths, zeros first)."""
    flat = np.asarray(mask, dtype=bool).T.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {'size': [int(mask.shape[0]), int(mask.shape[1])], 'counts': counts}


def rle_decode(rle: dict[str, object]) -> np.ndarray:
    """COCO uncompressed RLE -> (H, W) bool mask."""
    h, w = (int(v) for v in rle['size'])  # type: ignore[union-attr]
    counts = np.asarray(rle['counts'], dtype=np.int64)
    values = (np.arange(counts.size) % 2).astype(bool)
    return np.repeat(values, counts).reshape(w, h).T


def categories() -> list[dict[str, object]]:
    """COCO categories; ``id`` = type_id + 1 (COCO reserves 0)."""
    return [{'id': i + 1, 'name': n, 'supercategory': 'package'} for i, n in enumerate(PACKAGE_TYPES)]


def frame_annotations(frame: PileFrame, first_ann_id: int) -> list[dict[str, object]]:
    """COCO annotations of every package in ``frame`` (ids from ``first_ann_id``)."""
    anns = []
    for k, pkg in enumerate(frame.packages):
        mask = frame.labels == pkg.id
        vs, us = np.nonzero(mask)
        if vs.size == 0:
            continue
        u0, v0, u1, v1 = int(us.min()), int(vs.min()), int(us.max()) + 1, int(vs.max()) + 1
        anns.append({
            'id': first_ann_id + k,
            'image_id': frame.seed,
            'category_id': pkg.type_id + 1,
            'segmentation': rle_encode(mask),
            'area': int(vs.size),
            'bbox': [u0, v0, u1 - u0, v1 - v0],
            'iscrowd': 0,
            'label_id': pkg.id,
            'tags': list(pkg.tags),
            'pickable': pkg.pickable,
            'visible_fraction': round(pkg.visible_fraction, 4),
            'occluded_by': pkg.occluded_by,
        })
    return anns
