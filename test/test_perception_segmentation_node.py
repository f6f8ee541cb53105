"""Segmentation node over real rclpy: matched frames in, labels + table out, bad input survives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from perception_fixtures import INTR, box_scene
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header, String

from robin_core import topics
from robin_core.image_codec import image_to_numpy, meters_to_depth16, numpy_to_image
from robin_core.instance_table import PACKAGE_TYPES, cloud_to_instances
from robin_core.qos import LATCHED, RELIABLE, SENSOR
from robin_core.records import ModelInfo, from_json
from robin_perception.export_onnx import export_model
from robin_perception.model_metadata import ModelMetadata
from robin_perception.seg_model import RobinSegNet
from robin_perception.segmentation_node import SegmentationNode

pytestmark = pytest.mark.ros
BOXES = [(20, 100, 20, 120, 0.10), (20, 100, 120, 220, 0.20), (140, 220, 60, 160, 0.05)]


@pytest.fixture(scope='module')
def random_model(tmp_path_factory) -> Path:
    """An untrained but valid export (the node test checks plumbing, not accuracy)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('model') / 'package_seg.onnx'
    export_model(RobinSegNet(len(PACKAGE_TYPES)).eval(), path, ModelMetadata('test', PACKAGE_TYPES, (240, 320), 'x'))
    return path


class Harness:
    def __init__(self, ros, **params) -> None:
        overrides = [Parameter('belt_plane_source', value='fit'), Parameter('intra_op_threads', value=1)]
        overrides += [Parameter(k, value=v) for k, v in params.items()]
        self.ros = ros
        self.node = ros.add(SegmentationNode(context=ros.context, parameter_overrides=overrides))
        self.io = ros.node('perception_test_io')
        self.color = self.io.create_publisher(Image, topics.COLOR_IMAGE, SENSOR)
        self.depth = self.io.create_publisher(Image, topics.DEPTH_IMAGE, SENSOR)
        self.info = self.io.create_publisher(CameraInfo, topics.COLOR_INFO, SENSOR)
        self.labels: list[Image] = []
        self.tables: list[PointCloud2] = []
        self.diag: list[DiagnosticArray] = []
        self.io.create_subscription(Image, topics.INSTANCE_LABELS, self.labels.append, RELIABLE)
        self.io.create_subscription(PointCloud2, topics.INSTANCE_TABLE, self.tables.append, RELIABLE)
        self.io.create_subscription(DiagnosticArray, '/diagnostics', self.diag.append, 10)
        self.model_info: list[ModelInfo] = []
        self.io.create_subscription(String, topics.PERCEPTION_MODEL_INFO,
                                    lambda m: self.model_info.append(from_json(m.data, ModelInfo)), LATCHED)
        self.stamp = 1
        ros.spin_for(0.5)  # discovery

    def send(self, rgb: np.ndarray, depth: Image | np.ndarray, color_encoding: str = 'rgb8') -> None:
        header = Header(stamp=Time(sec=self.stamp, nanosec=0), frame_id='camera_color_optical_frame')
        self.stamp += 1
        info = CameraInfo(header=header, width=INTR.width, height=INTR.height,
                          k=[INTR.fx, 0.0, INTR.cx, 0.0, INTR.fy, INTR.cy, 0.0, 0.0, 1.0])
        self.info.publish(info)
        self.color.publish(numpy_to_image(rgb, color_encoding, header))
        dmsg = depth if isinstance(depth, Image) else numpy_to_image(meters_to_depth16(depth), '16UC1', header)
        dmsg.header = header
        self.depth.publish(dmsg)

    def status(self):
        for arr in reversed(self.diag):
            for st in arr.status:
                if 'segmentation' in st.name:
                    return st
        return None


def _scene():
    depth, truth = box_scene(BOXES)
    rgb = np.full((INTR.height, INTR.width, 3), 60, np.uint8)
    rgb[truth > 0] = 180
    return rgb, depth, truth


def test_geometric_fallback_publishes_and_reports(ros, tmp_path):
    h = Harness(ros, model_path=str(tmp_path / 'missing.onnx'))
    rgb, depth, truth = _scene()
    ok = False
    for _ in range(10):  # best-effort camera QoS: resend until a result arrives
        h.send(rgb, depth)
        if ros.spin_until(lambda: h.labels and h.tables, 2.0):
            ok = True
            break
    assert ok, 'no labels/table published'
    labels = image_to_numpy(h.labels[-1])
    assert h.labels[-1].encoding == 'mono16' and labels.shape == truth.shape
    table = cloud_to_instances(h.tables[-1])
    assert len(table) == 3 == labels.max()
    assert sorted(np.round(table['height_top'], 2)) == [0.05, 0.1, 0.2]
    assert ros.spin_until(lambda: h.status() is not None, 3.0)
    st = h.status()
    assert st.level == b'\x01' and 'geometric' in st.message
    assert {kv.key: kv.value for kv in st.values}['source'] == 'geometric'
    assert ros.spin_until(lambda: h.model_info, 3.0)  # latched: pick records say what segmented
    assert h.model_info[-1].segmenter == 'geometric' and h.model_info[-1].model_sha256 is None


def test_model_runs_and_bad_inputs_keep_the_node_alive(ros, random_model):
    h = Harness(ros, model_path=str(random_model))
    rgb, depth, _ = _scene()
    assert h.node._pipeline.model is not None
    bad_inputs = [
        ('mono8 colour', lambda: h.send(rgb[..., 0].copy(), depth, 'mono8'), 'encoding'),
        ('size mismatch', lambda: h.send(rgb, depth[:120, :160].copy()), 'differ'),
        ('no valid depth', lambda: h.send(rgb, np.full_like(depth, np.nan)), 'no valid'),
    ]
    for name, send, text in bad_inputs:
        seen = False
        for _ in range(10):
            send()
            if ros.spin_until(lambda t=text: (s := h.status()) is not None and t in s.message, 1.5):
                seen = True
                break
        assert seen, f'{name}: no fault in /diagnostics'
        assert h.status().level == b'\x02'
    n = len(h.labels)
    for _ in range(10):
        h.send(rgb, depth)
        if ros.spin_until(lambda: len(h.labels) > n, 2.0):
            break
    assert len(h.labels) > n, 'node stopped publishing after bad input'
    values = {kv.key: kv.value for kv in h.status().values}
    assert values['source'] == 'model' and len(values['model_sha256']) == 64
    assert ros.spin_until(lambda: h.model_info, 3.0)
    assert h.model_info[-1].segmenter == 'model' and h.model_info[-1].model_sha256 == values['model_sha256']
    assert int(values['rejected_frames']) >= 3


def test_metadata_contradiction_falls_back(ros, random_model):
    h = Harness(ros, model_path=str(random_model), class_names=['box', 'tote'])
    assert h.node._pipeline.model is None
    assert ros.spin_until(lambda: h.status() is not None, 3.0)
    assert 'classes' in h.status().message
