"""COCO instance-segmentation export (with predictions as pre-annotations) and import.

Export writes ``annotations.json`` with ``images`` (``file_name`` = absolute path of the color
PNG, plus ``robin_frame_key``), ``categories`` (id = type id + 1) and one annotation per
predicted instance (uncompressed RLE, with ``score``/``type_score``: a correction tool shows them
as drafts). Import accepts polygons (``[[x1, y1, x2, y2, ...], ...]``) or uncompressed RLE.
Category ids are mapped by *name* when the file lists categories (tools renumber them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from robin_learning.annotation_import import (
    ImportResult,
    ParsedImage,
    check_category,
    check_polygon,
    commit,
    polygon_instance,
)
from robin_learning.instances import category_names, mask_instance
from robin_learning.queue_store import AnnotationQueue, QueueItem
from robin_perception.coco_format import rle_decode


def coco_categories() -> list[dict[str, Any]]:
    return [{'id': i + 1, 'name': n, 'supercategory': 'package'} for i, n in enumerate(category_names())]


def export_coco(queue: AnnotationQueue, items: list[QueueItem], out: Path, batch: str) -> Path:
    """Write a COCO file for ``items`` and mark them exported (one transaction)."""
    images, anns = [], []
    for it in items:
        images.append({'id': it.image_id, 'file_name': str(it.color_path), 'width': it.width, 'height': it.height,
                       'robin_frame_key': it.frame_key, 'robin_reasons': list(it.reasons),
                       'robin_priority': it.priority})
        for inst in it.prediction:
            anns.append({**inst, 'id': len(anns) + 1, 'image_id': it.image_id, 'iscrowd': 0})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix('.tmp')
    tmp.write_text(json.dumps({'info': {'description': f'robin annotation batch {batch}'}, 'images': images,
                               'annotations': anns, 'categories': coco_categories()}))
    queue.set_status([it.image_id for it in items], 'exported', batch)
    tmp.replace(out)  # the file appears only once the queue says exported
    return out


def _category_map(doc: dict[str, Any]) -> dict[int, int] | None:
    cats = doc.get('categories')
    if not cats:
        return None  # ids taken as ours
    names = {n: i + 1 for i, n in enumerate(category_names())}
    out = {}
    for c in cats:
        if c.get('name') in names:
            out[c.get('id')] = names[c['name']]
    return out


def _segmentation(seg: object, item: str, frame: QueueItem, cat: int, problems: list[str]) -> dict[str, Any] | None:
    if isinstance(seg, dict):
        if isinstance(seg.get('counts'), str):
            problems.append(f'{item}: compressed RLE is not supported; export polygons or uncompressed RLE')
            return None
        size = [int(v) for v in seg.get('size', [])]
        if size != [frame.height, frame.width]:
            problems.append(f'{item}: RLE size {size} does not match the image {frame.height}x{frame.width}')
            return None
        counts = seg.get('counts') or []
        if sum(counts) != frame.height * frame.width or any(c < 0 for c in counts):
            problems.append(f'{item}: RLE counts do not cover the image')
            return None
        mask = rle_decode(seg)
        if not mask.any():
            problems.append(f'{item}: empty mask')
            return None
        return mask_instance(mask, cat)
    if not isinstance(seg, list) or not seg:
        problems.append(f'{item}: segmentation is neither polygons nor RLE')
        return None
    polys = []
    for k, flat in enumerate(seg):
        if not isinstance(flat, list) or len(flat) % 2:
            problems.append(f'{item}: polygon {k} is not a flat list of x, y pairs')
            return None
        pts = [(float(flat[i]), float(flat[i + 1])) for i in range(0, len(flat), 2)]
        if not check_polygon(pts, f'{item} polygon {k}', frame.width, frame.height, problems):
            return None
        polys.append(pts)
    return polygon_instance(polys, cat, item, frame, problems)


def parse_coco(doc: dict[str, Any], queue: AnnotationQueue, problems: list[str]) -> list[ParsedImage]:
    """Validate a COCO document against the queue; problems are appended, never raised."""
    if not isinstance(doc, dict) or not isinstance(doc.get('annotations'), list):
        problems.append("not a COCO file: no 'annotations' list")
        return []
    known = queue.ids()
    listed = [im.get('id') for im in doc.get('images', [])]
    for im_id in listed:
        if im_id not in known:
            problems.append(f'image {im_id!r}: not in the annotation queue')
    wanted = {i for i in listed if i in known} or {a.get('image_id') for a in doc['annotations']} & known
    frames = {f.image_id: f for f in queue.get_many(sorted(wanted))}
    for im in doc.get('images', []):
        f = frames.get(im.get('id'))
        if f and (im.get('width', f.width), im.get('height', f.height)) != (f.width, f.height):
            problems.append(f"image {f.image_id}: size {im.get('width')}x{im.get('height')} differs from the "
                            f'queued {f.width}x{f.height}')
    cmap = _category_map(doc)
    parsed = {i: ParsedImage(i) for i in sorted(frames)}
    for k, ann in enumerate(doc['annotations']):
        item = f"annotation {ann.get('id', f'#{k}')} (image {ann.get('image_id')!r})"
        frame = frames.get(ann.get('image_id'))
        if frame is None:
            problems.append(f'{item}: references an image that is not in the queue'
                            + ('' if ann.get('image_id') in known else ' (unknown image id)'))
            continue
        raw = ann.get('category_id')
        if cmap is not None:
            if raw not in cmap:
                problems.append(f'{item}: category {raw!r} out of range: not a known package type '
                                f'({", ".join(category_names())}) among the file categories')
                continue
            cat = cmap[raw]
        elif (cat := check_category(raw, item, problems)) is None:
            continue
        inst = _segmentation(ann.get('segmentation'), item, frame, cat, problems)
        if inst is not None:
            parsed[frame.image_id].instances.append(inst)
    return list(parsed.values())


def import_coco(queue: AnnotationQueue, path: Path) -> ImportResult:
    """Import corrected annotations from a COCO file (all or nothing)."""
    problems: list[str] = []
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        problems.append(f'cannot read: {exc}')
        doc = {}
    parsed = parse_coco(doc, queue, problems) if not problems else []
    return commit(queue, parsed, f'coco:{path}', problems)

