"""Bag splits (rotation, bounded disk), salvage of a truncated bag and the replay skip report."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore
from sensor_msgs.msg import Image
from std_msgs.msg import String

from robin_core.image_codec import image_to_numpy, numpy_to_image
from robin_insight.bag_recorder import BagRecorder
from robin_insight.bag_source import SkipReport, find_splits, read_bag
from robin_insight.bag_splits import SplitPolicy, SplitWriter, dir_bytes, read_index
from robin_insight.replay import Player, PublishSkippedError, ReplayOptions

MB = 2**20


def _write(root, n, policy, seed=0):
    """n images (~230 kB each) + n strings, 0.1 s apart; returns the images."""
    rng = np.random.default_rng(seed)
    w = SplitWriter(root, policy, prefix='t')
    imgs = []
    for i in range(n):
        arr = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        imgs.append(arr)
        t = 10**9 + i * 10**8
        w.write('/camera/color/image_raw', 'sensor_msgs/msg/Image', serialize_message(numpy_to_image(arr, 'rgb8')), t)
        w.write('/cell/pick_records', 'std_msgs/msg/String', serialize_message(String(data=f'rec {i}')), t + 1)
    w.close()
    return w, imgs


def test_rotation_by_size_and_index(tmp_path):
    _, imgs = _write(tmp_path, 20, SplitPolicy(max_split_bytes=MB, max_split_duration_s=0, max_total_bytes=0))
    index = read_index(tmp_path)
    assert len(index) == len(find_splits(tmp_path)) >= 4
    assert sum(s.messages for s in index) == 40
    assert all(s.bytes <= 1.5 * MB for s in index)
    # every split is a complete bag an independent reader opens; images come back bit-exact
    store = get_typestore(Stores.ROS2_KILTED)
    got = []
    with AnyReader([tmp_path / s.name for s in index], default_typestore=store) as reader:
        for conn, _, raw in reader.messages():
            msg = reader.deserialize(raw, conn.msgtype)
            if conn.topic == '/camera/color/image_raw':
                got.append(msg.data.reshape(240, 320, 3))
    assert len(got) == 20 and all(np.array_equal(a, b) for a, b in zip(got, imgs, strict=True))


def test_rotation_by_time(tmp_path):
    clock = iter(float(i) for i in range(1000))
    w = SplitWriter(tmp_path, SplitPolicy(max_split_bytes=0, max_split_duration_s=3.5, max_total_bytes=0),
                    monotonic=lambda: next(clock))
    for i in range(10):
        w.write('/a', 'std_msgs/msg/String', serialize_message(String(data=str(i))), i + 1)
    w.close()
    assert len(w.splits) > 1 and sum(s.messages for s in w.splits) == 10


def test_disk_budget_deletes_oldest_never_current(tmp_path):
    budget = 3 * MB
    policy = SplitPolicy(max_split_bytes=MB, max_split_duration_s=0, max_total_bytes=budget)
    w = SplitWriter(tmp_path, policy, prefix='t')
    rng = np.random.default_rng(1)
    for i in range(40):
        arr = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        w.write('/img', 'sensor_msgs/msg/Image', serialize_message(numpy_to_image(arr, 'rgb8')), 10**9 + i)
        assert w.current_path is not None and w.current_path.is_dir()  # the open split survives
        assert w.total_bytes() <= budget + 0.3 * MB
    w.close()
    assert w.deleted and w.deleted[0] == 't_0000'
    assert dir_bytes(tmp_path) <= budget + 0.3 * MB
    remaining = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert remaining == [s.name for s in read_index(tmp_path)]


def test_truncated_bag_is_salvaged_and_reported(tmp_path):
    _write(tmp_path, 12, SplitPolicy(max_split_bytes=0, max_split_duration_s=0, max_total_bytes=0))
    (split,) = find_splits(tmp_path)
    mcap = next(split.glob('*.mcap'))
    os.truncate(mcap, int(mcap.stat().st_size * 0.55))
    report = SkipReport()
    msgs = list(read_bag(tmp_path, report))
    assert 0 < len(msgs) < 24  # the first chunks survive, the cut one is lost
    for m in msgs:  # everything salvaged deserializes
        cls = Image if m.topic == '/camera/color/image_raw' else String
        msg = deserialize_message(m.data, cls)
        if cls is Image:
            assert image_to_numpy(msg).shape == (240, 320, 3)
    assert len(report.problems) == 1 and 'truncated' in report.problems[0] and mcap.name in report.problems[0]
    assert 'salvaged' in report.text()


def test_garbage_and_missing_metadata(tmp_path):
    _write(tmp_path / 'a', 3, SplitPolicy(max_split_duration_s=0, max_total_bytes=0))
    (split,) = find_splits(tmp_path / 'a')
    (split / 'metadata.yaml').unlink()  # crash before close: no metadata
    bad = tmp_path / 'a' / 't_0099'
    bad.mkdir()
    (bad / 't_0099.mcap').write_bytes(b'not a bag at all')
    report = SkipReport()
    msgs = list(read_bag(tmp_path / 'a', report))
    assert len(msgs) == 6  # the intact file without metadata is read in full
    assert any('bad magic' in p for p in report.problems)


def test_player_timing_rate_offset_and_skips(tmp_path):
    _write(tmp_path, 10, SplitPolicy(max_split_duration_s=0, max_total_bytes=0))
    now = [0.0]
    published = []

    def publish(m):
        if m.topic == '/cell/pick_records':
            raise PublishSkippedError('unknown message type: test')
        published.append((now[0], m.stamp_ns))

    def sleep(dt):
        now[0] += dt

    report = SkipReport()
    opts = ReplayOptions(rate=2.0, start_offset_s=0.3, duration_s=0.45)
    Player(lambda: read_bag(tmp_path, report), publish, opts, report, now=lambda: now[0], sleep=sleep).run()
    stamps = [s for _, s in published]
    assert stamps == [10**9 + i * 10**8 for i in range(3, 8)]
    walls = np.array([t for t, _ in published])
    assert np.allclose(np.diff(walls), 0.05)  # 0.1 s recorded at rate 2
    assert report.skipped_topics == {'/cell/pick_records': 'unknown message type: test'}
    assert report.skipped_counts['/cell/pick_records'] > 0


def test_player_rejects_negative_rate():
    with pytest.raises(ValueError, match='rate'):
        Player(list, print, ReplayOptions(rate=-1), SkipReport())


class _SlowDisk(SplitWriter):
    """A real split writer behind a disk that stalls until ``go`` is set."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.go = threading.Event()

    def write(self, *args, **kwargs) -> None:
        self.go.wait(10.0)
        super().write(*args, **kwargs)


def test_a_stalled_disk_costs_drops_not_memory(tmp_path):
    writer = _SlowDisk(tmp_path, SplitPolicy(), prefix='t')
    rec = BagRecorder(writer, max_queue=1000, max_queue_bytes=3 * MB)
    frame = serialize_message(numpy_to_image(np.zeros((480, 640, 3), np.uint8), 'rgb8'))  # ~0.9 MB
    accepted = [rec.put('/camera/color/image_raw', 'sensor_msgs/msg/Image', frame, 10**9 + i) for i in range(10)]
    assert 3 <= sum(accepted) <= 4  # the byte bound, not the 1000-message bound, stops the queue
    assert rec.queued_bytes <= 3 * MB and rec.stats.dropped == 10 - sum(accepted)
    writer.go.set()
    rec.close()
    assert rec.stats.written == sum(accepted) and rec.queued_bytes == 0
    assert rec.stats.received == rec.stats.written + rec.stats.dropped
