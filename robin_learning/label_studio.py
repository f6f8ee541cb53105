"""Label Studio import tasks (predictions as polygon pre-annotations) and export parsing.

Why polygons, not brushes: Label Studio's brush results use its own RLE flavour (not COCO's),
which needs an extra codec on both sides; polygons are plain JSON that every tool reads, are
quick to correct by dragging vertices, and package outlines are nearly convex. The cost: one
polygon per instance (the largest part of a split mask), simplified to ~1 px.

Tasks reference images through Label Studio local-file serving: ``<url_prefix><path relative to
document_root>`` (set ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` to the same root). Each task's
``data.robin_image_id`` ties the annotation back to the queue.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from robin_learning.annotation_import import (
    ImportResult,
    ParsedImage,
    check_polygon,
    commit,
    polygon_instance,
)
from robin_learning.instances import category_names, instance_mask, mask_to_polygon
from robin_learning.queue_store import AnnotationQueue, QueueItem

FROM_NAME, TO_NAME = 'label', 'image'


def labeling_config() -> str:
    """The Label Studio labeling interface the tasks are written for."""
    labels = '\n'.join(f'    <Label value="{n}"/>' for n in category_names())
    return (f'<View>\n  <Image name="{TO_NAME}" value="$image" zoom="true"/>\n'
            f'  <PolygonLabels name="{FROM_NAME}" toName="{TO_NAME}" strokeWidth="2" opacity="0.4">\n'
            f'{labels}\n  </PolygonLabels>\n</View>\n')


def _image_url(path: Path, document_root: Path, url_prefix: str) -> str:
    try:
        rel = Path(path).resolve().relative_to(Path(document_root).resolve())
    except ValueError:
        rel = Path(path).resolve()
    return f'{url_prefix}{rel.as_posix()}'


def task_of(item: QueueItem, document_root: Path, url_prefix: str = '/data/local-files/?d=') -> dict[str, Any]:
    """One import task with the model's prediction as a polygon pre-annotation."""
    result = []
    names = category_names()
    for k, inst in enumerate(item.prediction):
        pts = mask_to_polygon(instance_mask(inst))
        if len(pts) < 3:
            continue
        result.append({
            'id': f'{item.image_id}_{k}', 'from_name': FROM_NAME, 'to_name': TO_NAME, 'type': 'polygonlabels',
            'original_width': item.width, 'original_height': item.height, 'image_rotation': 0,
            'value': {'points': [[100.0 * x / item.width, 100.0 * y / item.height] for x, y in pts],
                      'closed': True, 'polygonlabels': [names[int(inst['category_id']) - 1]]},
            'score': inst.get('score'),
        })
    return {
        'data': {'image': _image_url(item.color_path, document_root, url_prefix), 'robin_image_id': item.image_id,
                 'robin_frame_key': item.frame_key, 'robin_reasons': ','.join(item.reasons)},
        'predictions': [{'model_version': item.model_version or 'unknown', 'score': item.priority,
                         'result': result}],
    }


def export_label_studio(queue: AnnotationQueue, items: list[QueueItem], out_dir: Path, batch: str,
                        document_root: Path | None = None) -> Path:
    """Write ``tasks.json`` and ``labeling_config.xml`` into ``out_dir``; mark items exported."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    root = document_root or queue.image_root
    tasks = [task_of(it, root) for it in items]
    (out_dir / 'labeling_config.xml').write_text(labeling_config())
    tmp = out_dir / 'tasks.json.tmp'
    tmp.write_text(json.dumps(tasks))
    queue.set_status([it.image_id for it in items], 'exported', batch)
    tmp.replace(out_dir / 'tasks.json')
    return out_dir / 'tasks.json'


def _final_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    done = [a for a in task.get('annotations') or [] if not a.get('was_cancelled')]
    return done[-1] if done else None


def parse_label_studio(tasks: object, queue: AnnotationQueue, problems: list[str],
                       skipped: list[str]) -> list[ParsedImage]:
    """Validate a Label Studio JSON export against the queue (problems appended, never raised)."""
    if not isinstance(tasks, list):
        problems.append('not a Label Studio JSON export: expected a list of tasks')
        return []
    known = queue.ids()
    names = {n: i + 1 for i, n in enumerate(category_names())}
    wanted = {t.get('data', {}).get('robin_image_id') for t in tasks if isinstance(t, dict)} & known
    frames = {f.image_id: f for f in queue.get_many(sorted(wanted))}
    out = []
    for t in tasks:
        tid = t.get('id', '?') if isinstance(t, dict) else '?'
        image_id = t.get('data', {}).get('robin_image_id') if isinstance(t, dict) else None
        task = f'task {tid} (image {image_id!r})'
        if image_id not in frames:
            problems.append(f'{task}: references an image that is not in the queue')
            continue
        ann = _final_annotation(t)
        if ann is None:
            skipped.append(f'{task}: no finished annotation')
            continue
        frame = frames[image_id]
        parsed = ParsedImage(image_id)
        for k, r in enumerate(ann.get('result') or []):
            item = f'{task} result {r.get("id", k)}'
            if r.get('type') != 'polygonlabels':
                problems.append(f"{item}: result type {r.get('type')!r} not supported (polygonlabels only)")
                continue
            if (r.get('original_width', frame.width), r.get('original_height', frame.height)) != (frame.width,
                                                                                                  frame.height):
                problems.append(f'{item}: annotated on a {r.get("original_width")}x{r.get("original_height")} '
                                f'image, queued frame is {frame.width}x{frame.height}')
                continue
            value = r.get('value') or {}
            label = (value.get('polygonlabels') or [None])[0]
            if label not in names:
                problems.append(f'{item}: category {label!r} out of range (one of {", ".join(names)})')
                continue
            pts = [(float(p[0]) * frame.width / 100.0, float(p[1]) * frame.height / 100.0)
                   for p in value.get('points') or []]
            if not check_polygon(pts, item, frame.width, frame.height, problems):
                continue
            inst = polygon_instance([pts], names[label], item, frame, problems)
            if inst is not None:
                parsed.instances.append(inst)
        out.append(parsed)
    return out


def import_label_studio(queue: AnnotationQueue, path: Path) -> ImportResult:
    """Import a Label Studio JSON export (all or nothing; unfinished tasks are skipped)."""
    problems: list[str] = []
    skipped: list[str] = []
    try:
        tasks = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        problems.append(f'cannot read: {exc}')
        tasks = []
    parsed = parse_label_studio(tasks, queue, problems, skipped) if not problems else []
    return commit(queue, parsed, f'label_studio:{path}', problems, skipped)
