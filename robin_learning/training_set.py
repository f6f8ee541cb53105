"""Write annotated queue frames as a perception dataset, so the fine-tune command can train on them.

Output is the layout of ``robin_perception.dataset`` (``<root>/<split>/{rgb,depth,labels,meta}``
+ sidecars), read by its ``read_split``/``load_frame`` and by ``SampleCache``. A deterministic
share of frames (by hash of the frame key, stable across rounds) goes to the ``test`` split:
those are *the new hard cases* the retraining gate evaluates on, never trained on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2

from robin_learning.instances import label_image
from robin_learning.queue_store import AnnotationQueue, QueueItem


@dataclass
class TrainingSetManifest:
    """What was written (goes into the model registry's training-data manifest)."""

    root: str
    train_frames: int
    test_frames: int
    image_ids: list[int]
    sha256: str

    def as_dict(self) -> dict[str, object]:
        return {'root': self.root, 'train_frames': self.train_frames, 'test_frames': self.test_frames,
                'image_ids': self.image_ids, 'sha256': self.sha256}


def split_of(frame_key: str, holdout_percent: int) -> str:
    """'test' for a stable ``holdout_percent`` share of frame keys, else 'train'."""
    h = int(hashlib.sha256(frame_key.encode()).hexdigest()[:8], 16) % 100
    return 'test' if h < holdout_percent else 'train'


def write_frame(root: Path, split: str, item: QueueItem) -> Path:
    """Write one annotated frame (images copied, labels painted) and return its sidecar path."""
    if item.annotation is None:
        raise ValueError(f'frame {item.image_id}: not annotated')
    if 'intrinsics' not in item.meta:
        raise ValueError(f'frame {item.image_id}: no camera intrinsics in its metadata')
    d = Path(root) / split
    name = f'q{item.image_id:08d}'
    for sub in ('rgb', 'depth', 'labels', 'meta'):
        (d / sub).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(item.color_path, d / 'rgb' / f'{name}.png')
    if item.depth_path is None:
        raise ValueError(f'frame {item.image_id}: no depth image (the model is RGB-D)')
    shutil.copyfile(item.depth_path, d / 'depth' / f'{name}.png')
    labels, _ = label_image(item.annotation, item.height, item.width)
    cv2.imwrite(str(d / 'labels' / f'{name}.png'), labels)
    anns = []
    for k, inst in enumerate(item.annotation, start=1):
        anns.append({**inst, 'id': item.image_id * 1000 + k, 'image_id': item.image_id, 'iscrowd': 0, 'label_id': k,
                     'tags': inst.get('tags', []), 'visible_fraction': inst.get('visible_fraction', 1.0),
                     'occluded_by': inst.get('occluded_by', 0)})
    meta = {'image': {'id': item.image_id, 'file_name': f'rgb/{name}.png', 'depth_file': f'depth/{name}.png',
                      'label_file': f'labels/{name}.png', 'width': item.width, 'height': item.height,
                      'domain': item.meta.get('domain', item.cell_id), 'robin_frame_key': item.frame_key,
                      **{k: v for k, v in item.meta.items() if k != 'domain'}},
            'annotations': anns}
    out = d / 'meta' / f'{name}.json'
    tmp = out.with_suffix('.tmp')
    tmp.write_text(json.dumps(meta))
    tmp.replace(out)
    return out


def build_training_set(queue: AnnotationQueue, root: Path, run_id: str, holdout_percent: int = 20,
                       mark_used: bool = True) -> TrainingSetManifest:
    """Write every annotated (and already used) frame to ``root``; mark new ones used_in_training.

    Frames used in earlier rounds are written again, so each round trains on everything annotated
    so far (the set only grows).
    """
    items = queue.items(['annotated', 'used_in_training'], by_priority=False)
    h = hashlib.sha256()
    counts = {'train': 0, 'test': 0}
    for it in items:
        split = split_of(it.frame_key, holdout_percent)
        side = write_frame(root, split, it)
        h.update(side.name.encode())
        h.update(side.read_bytes())
        counts[split] += 1
    new = [it.image_id for it in items if it.status == 'annotated']
    if mark_used and new:
        queue.set_status(new, 'used_in_training', run_id)
    return TrainingSetManifest(str(root), counts['train'], counts['test'], [it.image_id for it in items],
                               h.hexdigest())
