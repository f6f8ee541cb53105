"""Annotation queue node: queues the frames the model is unsure about, with its prediction.

Subscribes the perception output (label image + instance table), the camera (color, depth,
color camera_info), pick records and QA events; all decisions are made by the plain
:class:`robin_learning.queue_writer.QueueWriter`. In simulation it can also keep the
simulator's ground-truth labels so ``robin-learn gt-annotate`` can answer the queue.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import String

from robin_core import topics
from robin_core.diagnostics import OK, WARN, DiagnosticsPublisher, Status
from robin_core.image_codec import ImageFormatError, Stamp, image_to_numpy
from robin_core.instance_table import cloud_to_instances
from robin_core.node_main import run_node
from robin_core.params import declare
from robin_core.qos import RECORDS, RELIABLE, SENSOR
from robin_core.records import PickRecord, QaEvent, RecordError, from_msg
from robin_learning.frame_assembler import FrameAssembler
from robin_learning.queue_store import AnnotationQueue
from robin_learning.queue_writer import QueueWriter, WriterParams
from robin_learning.uncertainty import FLAGGING_VERDICTS, UncertaintyParams
from robin_perception.camera_intrinsics import Intrinsics


class AnnotationQueueNode(Node):
    """Thin adapter: decode messages, hand them to the QueueWriter, report in /diagnostics."""

    def __init__(self, **kwargs) -> None:
        super().__init__('annotation_queue', **kwargs)
        url = declare(self, 'database_url', 'sqlite:///runs/learning/queue.db', 'annotation queue SQLAlchemy URL')
        image_dir = Path(declare(self, 'image_dir', 'runs/learning/frames', 'where queued frames are saved'))
        if url.startswith('sqlite:///'):
            Path(url.removeprefix('sqlite:///')).parent.mkdir(parents=True, exist_ok=True)
        wp = WriterParams(
            cell_id=declare(self, 'cell_id', 'cell_0', 'cell id stamped on queued frames'),
            min_interval_s=declare(self, 'min_interval_s', 2.0, 'at most one uncertain frame per interval [s]',
                                   low=0.0, high=3600.0),
            random_rate=declare(self, 'random_rate', 0.02, 'share of confident frames queued anyway',
                                low=0.0, high=1.0),
            max_frames=declare(self, 'max_frames', 5000, 'queue size bound', low=1, high=10_000_000),
            max_disk_mb=declare(self, 'max_disk_mb', 2000.0, 'image disk bound [MB]', low=1.0, high=1e7))
        sp = UncertaintyParams(
            min_instance_score=declare(self, 'min_instance_score', 0.6, 'queue below', low=0.0, high=1.0),
            min_type_score=declare(self, 'min_type_score', 0.7, 'queue below', low=0.0, high=1.0),
            min_geometric_iou=declare(self, 'min_geometric_iou', 0.5, 'queue below', low=0.0, high=1.0),
            top_k=declare(self, 'top_k', 3, 'instances averaged into the score', low=1, high=100),
            pick_bonus=declare(self, 'pick_bonus', 1.0, 'score bonus of failed/flagged picks', low=0.0, high=10.0))
        tol = declare(self, 'stamp_tolerance_s', 0.02, 'color/depth stamp tolerance [s]', low=0.0, high=1.0)
        self.writer = QueueWriter(AnnotationQueue(url, image_dir), image_dir, wp, sp)
        self.writer.model_version = declare(self, 'model_version', '', 'model version stamped on frames') or None
        self.assembler = FrameAssembler(int(tol * 1e9))
        self._records: OrderedDict[str, PickRecord] = OrderedDict()  # for QA events that arrive later
        self._problem = ''
        self.create_subscription(Image, topics.COLOR_IMAGE, lambda m: self._part('color', m), SENSOR)
        self.create_subscription(Image, topics.DEPTH_IMAGE, lambda m: self._part('depth', m), SENSOR)
        self.create_subscription(Image, topics.INSTANCE_LABELS, lambda m: self._part('labels', m), RELIABLE)
        self.create_subscription(PointCloud2, topics.INSTANCE_TABLE, lambda m: self._part('table', m), RELIABLE)
        self.create_subscription(CameraInfo, topics.COLOR_INFO, self._on_info, SENSOR)
        self.create_subscription(String, topics.PICK_RECORDS, self._on_record, RECORDS)
        self.create_subscription(String, topics.QA_EVENTS, self._on_event, RECORDS)
        if declare(self, 'save_sim_ground_truth', False, 'keep simulator truth for the GT annotator'):
            self._gt_types: dict[str, str] = {}
            self.create_subscription(String, topics.SIM_GROUND_TRUTH, self._on_gt_json, RELIABLE)
            self.create_subscription(Image, topics.SIM_GROUND_TRUTH_LABELS, self._on_gt_labels, RELIABLE)
        self._diag = DiagnosticsPublisher(self)
        self._diag.add('queue', self._status)

    def _part(self, kind: str, msg: Image | PointCloud2) -> None:
        try:
            if kind == 'table':
                item = cloud_to_instances(msg)
            elif kind == 'depth':
                item = image_to_numpy(msg, ('16UC1', '32FC1'))
                if item.dtype != np.uint16:  # 32FC1 metres -> 16UC1 millimetres, as the dataset stores it
                    item = np.nan_to_num(item * 1000.0, nan=0.0).clip(0, 65535).astype(np.uint16)
            else:
                item = image_to_numpy(msg, ('rgb8',) if kind == 'color' else ('mono16',)).copy()
        except (ImageFormatError, ValueError) as exc:
            self._problem = f'{kind}: {exc}'
            return
        frame = self.assembler.add(kind, Stamp.from_msg(msg.header.stamp).nanoseconds, item)
        if frame is not None:
            self.writer.offer(frame, self.get_clock().now().nanoseconds * 1e-9)

    def _on_info(self, msg: CameraInfo) -> None:
        self.writer.meta['intrinsics'] = Intrinsics.from_k(msg.k, msg.width, msg.height).as_dict()

    def _on_record(self, msg: String) -> None:
        try:
            rec = from_msg(msg, PickRecord)
        except RecordError as exc:
            self._problem = str(exc)
            return
        self._records[rec.record_id] = rec
        while len(self._records) > 200:
            self._records.popitem(last=False)
        self.writer.on_pick(rec)

    def _on_event(self, msg: String) -> None:
        try:
            ev = from_msg(msg, QaEvent)
        except RecordError as exc:
            self._problem = str(exc)
            return
        rec = self._records.get(ev.record_id)
        if rec is not None and ev.verdict in FLAGGING_VERDICTS:
            self.writer.on_pick(rec.model_copy(update={'verdict': ev.verdict}))

    def _on_gt_json(self, msg: String) -> None:
        self._gt_types = {str(p['id']): p['type'] for p in json.loads(msg.data).get('packages', [])}

    def _on_gt_labels(self, msg: Image) -> None:
        if self._gt_types:
            self.writer.add_ground_truth(Stamp.from_msg(msg.header.stamp).nanoseconds,
                                         image_to_numpy(msg, ('mono16',)).copy(), dict(self._gt_types))

    def _status(self) -> Status:
        values = {**self.writer.counts, **self.writer.queue.counts(), 'unmatched_parts': self.assembler.dropped}
        if self._problem:
            return Status(WARN, self._problem, values)
        return Status(OK, 'ok', values)


def main(args: list[str] | None = None) -> int:
    return run_node(AnnotationQueueNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
