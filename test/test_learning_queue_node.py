"""Queue writer (plain) and the annotation queue node over real rclpy."""

from __future__ import annotations

import numpy as np
import pytest
from learning_fixtures import H, W, boxes_frame, table_for
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header, String

from robin_core import qos, topics
from robin_core.image_codec import Stamp, numpy_to_image
from robin_core.instance_table import instances_to_cloud
from robin_core.records import PickRecord, QaEvent, to_msg
from robin_learning.frame_assembler import FrameAssembler, FrameParts
from robin_learning.queue_store import AnnotationQueue
from robin_learning.queue_writer import QueueWriter, WriterParams

LABELS = boxes_frame([(2, 2, 20, 20), (30, 10, 60, 40)])


def parts(stamp: int, scores: list[float]) -> FrameParts:
    return FrameParts(stamp, np.zeros((H, W, 3), np.uint8), np.full((H, W), 900, np.uint16), LABELS,
                      table_for(LABELS, scores))


def test_assembler_matches_by_stamp_with_depth_tolerance():
    a = FrameAssembler(depth_tolerance_ns=5, depth=4)
    assert a.add('color', 100, 'c') is None
    assert a.add('labels', 100, 'l') is None
    assert a.add('depth', 103, 'd') is None
    f = a.add('table', 100, 't')
    assert (f.stamp_ns, f.color, f.depth, f.labels, f.table) == (100, 'c', 'd', 'l', 't')
    a.add('color', 200, 'c')
    a.add('labels', 200, 'l')
    a.add('table', 200, 't')
    assert a.add('depth', 210, 'd') is None  # beyond tolerance: no frame


def test_writer_rate_limits_flags_picks_and_bounds_disk(tmp_path):
    q = AnnotationQueue.at(tmp_path / 'q.db')
    w = QueueWriter(q, tmp_path / 'img', WriterParams(min_interval_s=1.0, random_rate=0.0, max_frames=3))
    assert w.offer(parts(1, [0.95, 0.95]), 0.0) is None  # confident
    assert w.offer(parts(2, [0.95, 0.3]), 0.1) is not None
    assert w.offer(parts(3, [0.95, 0.3]), 0.5) is None and w.counts['rate_limited'] == 1
    assert w.offer(parts(4, [0.95, 0.2]), 1.2) is not None
    # a confident frame whose pick dropped the package is queued anyway, with the pick reasons
    flagged = w.on_pick(PickRecord(color_stamp_ns=1, outcome='failed', verdict='drop'))
    item = q.get(flagged)
    assert set(item.reasons) == {'pick_failed', 'qa_flagged'} and item.priority > 1.0
    assert (item.color_path.parent / 'labels.png').is_file()
    assert w.on_pick(PickRecord(color_stamp_ns=999, outcome='failed')) is None  # frame no longer in memory
    w.offer(parts(5, [0.1, 0.2]), 5.0)
    assert sum(q.counts().values()) == 3 and w.counts['evicted'] == 1
    assert not (tmp_path / 'img' / 'cell_0' / '2').exists()  # least informative evicted with its files


@pytest.mark.ros
def test_node_queues_uncertain_frame_and_flagged_pick(ros, tmp_path):
    params = [Parameter('database_url', value=f"sqlite:///{tmp_path / 'q.db'}"),
              Parameter('image_dir', value=str(tmp_path / 'img')), Parameter('random_rate', value=0.0),
              Parameter('min_interval_s', value=0.0)]
    from robin_learning.annotation_queue_node import AnnotationQueueNode

    node = ros.add(AnnotationQueueNode(context=ros.context, parameter_overrides=params))
    pub = ros.node('camera')
    pubs = {
        'color': pub.create_publisher(type(numpy_to_image(LABELS, 'mono16')), topics.COLOR_IMAGE, qos.SENSOR),
        'depth': pub.create_publisher(type(numpy_to_image(LABELS, 'mono16')), topics.DEPTH_IMAGE, qos.SENSOR),
        'labels': pub.create_publisher(type(numpy_to_image(LABELS, 'mono16')), topics.INSTANCE_LABELS, qos.RELIABLE),
    }
    table_pub = pub.create_publisher(type(instances_to_cloud(table_for(LABELS, [0.9, 0.9]))), topics.INSTANCE_TABLE,
                                     qos.RELIABLE)
    info_pub = pub.create_publisher(CameraInfo, topics.COLOR_INFO, qos.SENSOR)
    rec_pub = pub.create_publisher(String, topics.PICK_RECORDS, qos.RECORDS)
    ev_pub = pub.create_publisher(String, topics.QA_EVENTS, qos.RECORDS)
    assert ros.spin_until(lambda: all(p.get_subscription_count() for p in (*pubs.values(), table_pub, rec_pub)), 10.0)

    def send(stamp_ns: int, scores: list[float]) -> None:
        h = Header(stamp=Stamp(stamp_ns).to_msg(), frame_id='camera')
        info_pub.publish(CameraInfo(header=h, width=W, height=H, k=[60.0, 0, 32, 0, 60.0, 24, 0, 0, 1]))
        pubs['color'].publish(numpy_to_image(np.zeros((H, W, 3), np.uint8), 'rgb8', h))
        pubs['depth'].publish(numpy_to_image(np.full((H, W), 900, np.uint16), '16UC1', h))
        pubs['labels'].publish(numpy_to_image(LABELS, 'mono16', h))
        table_pub.publish(instances_to_cloud(table_for(LABELS, scores), h))

    send(1_000_000_000, [0.95, 0.95])
    send(2_000_000_000, [0.95, 0.3])
    q = node.writer.queue
    assert ros.spin_until(lambda: node.writer.counts['frames'] == 2 and sum(q.counts().values()) == 1, 10.0)
    rec = PickRecord(record_id='r1', color_stamp_ns=1_000_000_000, outcome='succeeded')
    rec_pub.publish(to_msg(rec))
    ros.spin_for(0.3)
    ev_pub.publish(to_msg(QaEvent(record_id='r1', verdict='double_pick')))
    assert ros.spin_until(lambda: sum(q.counts().values()) == 2, 10.0)
    flagged = next(it for it in q.items() if it.record_id == 'r1')
    assert flagged.reasons == ('qa_flagged',) and flagged.meta['intrinsics']['fx'] == 60.0
