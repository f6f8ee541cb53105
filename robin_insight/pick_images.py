"""The images behind one pick: from files next to the store, or from the recorded bags."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from robin_core import topics
from robin_core.image_codec import depth_to_meters, image_to_numpy
from robin_core.instance_table import cloud_to_instances
from robin_insight.bag_frames import BagFrames
from robin_insight.pick_store import StoredPick


@dataclass
class PickFrames:
    """What the pick page can show; any part may be missing (not recorded, bag rotated away)."""

    color: np.ndarray | None = None  # rgb uint8
    depth_m: np.ndarray | None = None  # float32 metres, NaN invalid
    labels: np.ndarray | None = None  # uint16 instance ids
    table: np.ndarray | None = None  # instance table rows
    source: str = ''
    missing: list[str] = field(default_factory=list)


@dataclass
class ImageTopics:
    color: str = topics.COLOR_IMAGE
    depth: str = topics.DEPTH_IMAGE
    labels: str = topics.INSTANCE_LABELS
    table: str = topics.INSTANCE_TABLE


class PickImages:
    """Resolves a stored pick to its frames: ``image_dir`` files first, else the bags."""

    def __init__(self, bags: BagFrames | None, image_topics: ImageTopics | None = None) -> None:
        self.bags = bags
        self.topics = image_topics or ImageTopics()

    def frames(self, pick: StoredPick) -> PickFrames:
        if pick.row.get('image_dir'):
            return self._from_files(Path(pick.row['image_dir']))
        out = PickFrames(source='bag')
        stamp = pick.record.color_stamp_ns
        if self.bags is None or stamp is None:
            out.missing = ['color', 'depth', 'labels', 'table']
            out.source = 'none (no bag configured or no stamp in the record)'
            return out
        depth_stamp = pick.record.depth_stamp_ns or stamp
        if (m := self.bags.lookup(self.topics.color, stamp)) is not None:
            out.color = _rgb(image_to_numpy(m), m.encoding)
        if (m := self.bags.lookup(self.topics.depth, depth_stamp)) is not None:
            out.depth_m = depth_to_meters(m)
        if (m := self.bags.lookup(self.topics.labels, stamp)) is not None:
            out.labels = image_to_numpy(m, expect=('mono16', '16UC1'))
        if (m := self.bags.lookup(self.topics.table, stamp)) is not None:
            out.table = cloud_to_instances(m)
        out.missing = [k for k in ('color', 'depth_m', 'labels', 'table') if getattr(out, k) is None]
        return out

    @staticmethod
    def _from_files(folder: Path) -> PickFrames:
        out = PickFrames(source=str(folder))
        if (img := cv2.imread(str(folder / 'color.png'), cv2.IMREAD_COLOR)) is not None:
            out.color = img[:, :, ::-1]
        if (img := cv2.imread(str(folder / 'depth.png'), cv2.IMREAD_UNCHANGED)) is not None:
            out.depth_m = np.where(img > 0, img.astype(np.float32) * 1e-3, np.nan).astype(np.float32)
        if (img := cv2.imread(str(folder / 'labels.png'), cv2.IMREAD_UNCHANGED)) is not None:
            out.labels = img.astype(np.uint16)
        if (folder / 'instances.npy').is_file():
            out.table = np.load(folder / 'instances.npy')
        out.missing = [k for k in ('color', 'depth_m', 'labels', 'table') if getattr(out, k) is None]
        return out


def _rgb(arr: np.ndarray, encoding: str) -> np.ndarray:
    if encoding == 'bgr8':
        return arr[:, :, ::-1]
    if encoding in {'rgba8', 'bgra8'}:
        return arr[:, :, :3] if encoding == 'rgba8' else arr[:, :, 2::-1]
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2).astype(np.uint8)
    return arr
