"""Bring corrected annotations back into the queue: validate everything, then commit at once.

Parsers (COCO, Label Studio) turn a file into :class:`ParsedImage` items and collect every
problem they find (not just the first), each naming the annotation/task and image. Only a file
with no problems is applied, in one queue transaction: all images annotated, or none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robin_learning.instances import category_names, mask_instance, polygon_area, polygons_to_mask
from robin_learning.queue_store import AnnotationQueue, QueueItem


class AnnotationImportError(ValueError):
    """The file has problems; ``problems`` lists each one with the item it is about."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = '\n  '.join(problems[:30])
        more = f'\n  ... and {len(problems) - 30} more' if len(problems) > 30 else ''
        super().__init__(f'{source}: {len(problems)} problem(s), nothing imported:\n  {shown}{more}')
        self.problems = problems


@dataclass
class ParsedImage:
    """Annotations of one queue image, already converted to the queue's instance dicts."""

    image_id: int
    instances: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportResult:
    images: int
    instances: int
    skipped: list[str] = field(default_factory=list)  # e.g. Label Studio tasks not annotated yet


def check_polygon(points: list[tuple[float, float]], item: str, width: int, height: int, problems: list[str]) -> bool:
    """Append problems of one polygon (pixel coordinates) naming ``item``; True when usable."""
    if len(points) < 3:
        problems.append(f'{item}: degenerate polygon with {len(points)} point(s), need >= 3')
        return False
    if not all(np.isfinite(v) for p in points for v in p):
        problems.append(f'{item}: polygon has non-finite coordinates')
        return False
    if polygon_area(points) <= 0.0:
        problems.append(f'{item}: degenerate polygon with zero area')
        return False
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    if min(xs) < -1 or min(ys) < -1 or max(xs) > width + 1 or max(ys) > height + 1:
        problems.append(f'{item}: polygon lies outside the {width}x{height} image')
        return False
    return True


def polygon_instance(polys: list[list[tuple[float, float]]], category_id: int, item: str, frame: QueueItem,
                     problems: list[str]) -> dict[str, Any] | None:
    """Instance dict of checked polygons, or None (problem appended) when nothing usable remains."""
    mask = polygons_to_mask(polys, frame.height, frame.width)
    if not mask.any():
        problems.append(f'{item}: polygon covers no pixel')
        return None
    return mask_instance(mask, category_id)


def check_category(category_id: object, item: str, problems: list[str]) -> int | None:
    """The category id if it names a known package type (1..N), else None (problem appended)."""
    n = len(category_names())
    if isinstance(category_id, bool) or not isinstance(category_id, int) or not 1 <= category_id <= n:
        problems.append(f'{item}: category {category_id!r} out of range (1..{n}: {", ".join(category_names())})')
        return None
    return category_id


def commit(queue: AnnotationQueue, parsed: list[ParsedImage], source: str, problems: list[str],
           skipped: list[str] | None = None) -> ImportResult:
    """Raise AnnotationImportError if there are problems, else apply all images in one transaction."""
    if problems:
        raise AnnotationImportError(source, problems)
    queue.apply_annotations({p.image_id: p.instances for p in parsed}, source)
    return ImportResult(len(parsed), sum(len(p.instances) for p in parsed), skipped or [])
