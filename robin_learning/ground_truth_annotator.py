"""Answer the annotation queue from simulation ground truth, so the learning loop runs unattended.

A queued frame's ``gt_ref`` points at its truth, in one of two forms:

- a dataset sidecar ``<root>/<split>/meta/<seed>.json`` written by ``python -m
  robin_perception.dataset`` (its COCO annotations carry exact RLE masks and types);
- a directory saved by the queue node from the simulator's ``sim/ground_truth/labels`` (mono16,
  pixel = package id) and ``sim/ground_truth`` JSON: ``gt_labels.png`` + ``gt_types.json``
  (``{"<package id>": "<type name>"}``).

The answer goes through the same transactional path as a human import (source
``ground_truth``), so the queue cannot tell the difference except by that source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from robin_learning.annotation_import import AnnotationImportError
from robin_learning.instances import category_names, mask_instance
from robin_learning.queue_store import AnnotationQueue, QueueItem

GT_LABELS = 'gt_labels.png'
GT_TYPES = 'gt_types.json'


def truth_from_sidecar(path: Path) -> list[dict[str, Any]]:
    """Instances of a dataset sidecar (category ids as the dataset writes them: type id + 1)."""
    doc = json.loads(Path(path).read_text())
    keep = ('category_id', 'segmentation', 'bbox', 'area', 'tags', 'visible_fraction', 'occluded_by')
    return [{k: a[k] for k in keep if k in a} for a in doc['annotations']]


def truth_from_label_dir(path: Path, min_area_px: int = 1) -> list[dict[str, Any]]:
    """Instances of a saved simulator label image + id -> type map."""
    labels = cv2.imread(str(Path(path) / GT_LABELS), cv2.IMREAD_UNCHANGED)
    if labels is None:
        raise FileNotFoundError(f'{path}: {GT_LABELS} missing or unreadable')
    types = json.loads((Path(path) / GT_TYPES).read_text())
    names = {n: i + 1 for i, n in enumerate(category_names())}
    out = []
    for pid in np.unique(labels):
        if pid == 0:
            continue
        t = types.get(str(int(pid)))
        if t not in names:
            raise ValueError(f'{path}: package {int(pid)} has unknown type {t!r}')
        mask = labels == pid
        if mask.sum() >= min_area_px:
            out.append(mask_instance(mask, names[t]))
    return out


def truth_of(item: QueueItem) -> list[dict[str, Any]]:
    """Ground-truth instances of a queued frame (raises when it has none)."""
    if not item.gt_ref:
        raise ValueError(f'frame {item.image_id}: no ground-truth reference')
    ref = Path(item.gt_ref)
    return truth_from_label_dir(ref) if ref.is_dir() else truth_from_sidecar(ref)


def annotate_from_ground_truth(queue: AnnotationQueue, items: list[QueueItem]) -> int:
    """Annotate ``items`` with their ground truth in one transaction; return how many.

    Raises:
        AnnotationImportError: some frames have no usable truth (nothing is written then).
    """
    answers, problems = {}, []
    for it in items:
        try:
            answers[it.image_id] = truth_of(it)
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f'frame {it.image_id} ({it.frame_key}): {exc}')
    if problems:
        raise AnnotationImportError('ground_truth', problems)
    return queue.apply_annotations(answers, 'ground_truth')
