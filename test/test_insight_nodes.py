"""Recorder and pick-store nodes over real rclpy (loopback DDS); bags read back with rosbags."""

from __future__ import annotations

import numpy as np
import pytest
from rclpy.parameter import Parameter
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore
from sensor_msgs.msg import Image
from std_msgs.msg import String

from robin_core import qos, topics
from robin_core.image_codec import numpy_to_image
from robin_core.records import PickRecord, QaEvent, to_msg
from robin_insight.bag_source import SkipReport, find_splits, read_bag
from robin_insight.recorder_node import RecorderNode
from robin_insight.replay import Player, ReplayOptions
from robin_insight.replay_cli import ReplayPublisher
from robin_insight.store_node import PickStoreNode

pytestmark = pytest.mark.ros


def test_recorder_writes_readable_bag(ros, tmp_path):
    params = [Parameter('output_dir', value=str(tmp_path)), Parameter('include', value=['/camera/.*', '/cell/.*']),
              Parameter('exclude', value=['/cell/ignored']), Parameter('discovery_period_s', value=0.1)]
    pub_node = ros.node('publisher')
    img_pub = pub_node.create_publisher(Image, topics.COLOR_IMAGE, qos.SENSOR)
    rec_pub = pub_node.create_publisher(String, topics.PICK_RECORDS, qos.RECORDS)
    ign_pub = pub_node.create_publisher(String, 'cell/ignored', qos.RELIABLE)
    recorder = ros.add(RecorderNode(context=ros.context, parameter_overrides=params))
    assert ros.spin_until(lambda: len(recorder._subs) == 2 and all(
        p.get_subscription_count() for p in (img_pub, rec_pub)), 10.0), recorder._subs
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(15)]
    sent = []
    for k, arr in enumerate(frames):
        img_pub.publish(numpy_to_image(arr, 'rgb8'))
        rec = PickRecord(record_id=f'r{k}')
        sent.append(rec.record_id)
        rec_pub.publish(to_msg(rec))
        ign_pub.publish(String(data='x'))
        ros.spin_for(0.03)
    assert ros.spin_until(lambda: recorder.recorder.stats.received >= 30, 10.0)
    recorder.close()  # what SIGINT triggers through run_node: drain + close
    st = recorder.recorder.stats
    assert st.dropped == 0 and st.write_errors == 0 and st.written == st.received
    store = get_typestore(Stores.ROS2_KILTED)
    got_imgs, got_recs = [], []
    with AnyReader(find_splits(tmp_path), default_typestore=store) as reader:
        assert {c.topic for c in reader.connections} == {'/camera/color/image_raw', '/cell/pick_records'}
        for conn, _, raw in reader.messages():
            msg = reader.deserialize(raw, conn.msgtype)  # every message deserializes
            if conn.msgtype == 'sensor_msgs/msg/Image':
                got_imgs.append(msg.data.reshape(msg.height, msg.width, 3))
            else:
                got_recs.append(PickRecord.model_validate_json(msg.data).record_id)
    assert got_recs == sent  # reliable topic: all, in order
    assert len(got_imgs) >= 12 and all(any(np.array_equal(g, f) for f in frames) for g in got_imgs)


def test_replay_publishes_recorded_bytes(ros, tmp_path):
    from robin_insight.synthetic import write_session

    records = write_session(tmp_path, 3)
    node = ros.node('replay')
    received = []
    listener = ros.node('listener')
    listener.create_subscription(String, topics.PICK_RECORDS, received.append, qos.RECORDS)
    publisher = ReplayPublisher(node, clock=True)
    # a topic name ROS refuses and a type this machine does not have: skipped, replay goes on
    report = SkipReport()

    def messages():
        for m in read_bag(tmp_path, report):
            yield m
            if m.topic == '/cell/pick_records':
                yield m.__class__('/bad topic!', m.type_name, m.stamp_ns, m.data, m.split)
                yield m.__class__('/x/unknown', 'nosuch_msgs/msg/Thing', m.stamp_ns, b'', m.split)

    publisher(next(iter(read_bag(tmp_path, SkipReport(), lambda t: t == '/cell/pick_records'))))  # create pub
    assert ros.spin_until(lambda: len(received) == 1, 5.0)
    received.clear()
    Player(messages, publisher, ReplayOptions(rate=0), report).run()
    assert ros.spin_until(lambda: len(received) == 3, 5.0)
    assert [PickRecord.model_validate_json(m.data).record_id for m in received] == [r.record_id for r in records]
    assert set(report.skipped_topics) == {'/bad topic!', '/x/unknown'}
    assert 'unknown message type' in report.skipped_topics['/x/unknown']


def test_store_node_ingests_idempotently(ros, tmp_path):
    db = tmp_path / 'picks.db'
    node = ros.add(PickStoreNode(context=ros.context,
                                 parameter_overrides=[Parameter('database_url', value=f'sqlite:///{db}')]))
    pub = ros.node('cell').create_publisher(String, topics.PICK_RECORDS, qos.RECORDS)
    qa = ros.node('qa').create_publisher(String, topics.QA_EVENTS, qos.RECORDS)
    assert ros.spin_until(lambda: pub.get_subscription_count() and qa.get_subscription_count(), 5.0)
    rec = PickRecord(record_id='abc', outcome='in_progress')
    pub.publish(to_msg(rec))
    pub.publish(to_msg(rec.model_copy(update={'outcome': 'succeeded'})))
    qa.publish(to_msg(QaEvent(record_id='abc', verdict='ok')))
    pub.publish(String(data='{"schema": "robin.pick_record/1", "bogus": 1}'))
    assert ros.spin_until(lambda: node.counts['records'] == 2 and node.counts['qa_events'] == 1
                          and node.counts['invalid'] == 1, 5.0), node.counts
    got = node.store.get('abc')
    assert node.store.count() == 1 and got.row['outcome'] == 'succeeded' and got.row['verdict'] == 'ok'
