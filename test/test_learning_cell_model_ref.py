"""Nodes over real rclpy: the segmentation node loads its model by registry reference (or reports
why not and keeps segmenting geometrically); the cell controller stamps ROBIN_CELL_ID."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from perception_fixtures import INTR, box_scene
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header, String

from robin_cell.cell_controller_node import CellControllerNode
from robin_core import qos, topics
from robin_core.image_codec import meters_to_depth16, numpy_to_image
from robin_core.instance_table import PACKAGE_TYPES
from robin_core.qos import RELIABLE, SENSOR
from robin_learning.registry import ModelRegistry
from robin_perception.export_onnx import export_model
from robin_perception.model_metadata import ModelMetadata
from robin_perception.seg_model import RobinSegNet
from robin_perception.segmentation_node import SegmentationNode

pytestmark = pytest.mark.ros


@pytest.fixture(scope='module')
def registry(tmp_path_factory) -> ModelRegistry:
    """production = an untrained but valid export (plumbing, not accuracy)."""
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp('model')
    export_model(RobinSegNet(len(PACKAGE_TYPES)).eval(), d / 'm.onnx',
                 ModelMetadata('test-1', PACKAGE_TYPES, (240, 320), 'x'))
    reg = ModelRegistry(d / 'registry')
    reg.register(d / 'm.onnx', version='seg-test-1', alias='canary')
    return reg


def _segmentation(ros, **params) -> tuple[SegmentationNode, list[Image], list[DiagnosticArray], object]:
    overrides = [Parameter('belt_plane_source', value='fit'), Parameter('intra_op_threads', value=1),
                 Parameter('publish_overlay', value=False)]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    node = ros.add(SegmentationNode(context=ros.context, parameter_overrides=overrides))
    io = ros.node('model_ref_test_io')
    labels: list[Image] = []
    diag: list[DiagnosticArray] = []
    io.create_subscription(Image, topics.INSTANCE_LABELS, labels.append, RELIABLE)
    io.create_subscription(DiagnosticArray, '/diagnostics', diag.append, 10)
    pubs = (io.create_publisher(Image, topics.COLOR_IMAGE, SENSOR), io.create_publisher(Image, topics.DEPTH_IMAGE,
                                                                                        SENSOR),
            io.create_publisher(CameraInfo, topics.COLOR_INFO, SENSOR))
    ros.spin_for(0.5)
    return node, labels, diag, pubs


def _status(diag: list[DiagnosticArray]):
    for arr in reversed(diag):
        for st in arr.status:
            if 'segmentation' in st.name:
                return st, {kv.key: kv.value for kv in st.values}
    return None


def _send(pubs, stamp: int) -> None:
    depth, truth = box_scene([(20, 100, 20, 120, 0.10), (140, 220, 60, 160, 0.05)])
    rgb = np.full((INTR.height, INTR.width, 3), 60, np.uint8)
    rgb[truth > 0] = 180
    header = Header(stamp=Time(sec=stamp, nanosec=0), frame_id='camera_color_optical_frame')
    color, dpub, info = pubs
    info.publish(CameraInfo(header=header, width=INTR.width, height=INTR.height,
                            k=[INTR.fx, 0.0, INTR.cx, 0.0, INTR.fy, INTR.cy, 0.0, 0.0, 1.0]))
    color.publish(numpy_to_image(rgb, 'rgb8', header))
    dpub.publish(numpy_to_image(meters_to_depth16(depth), '16UC1', header))


def test_unknown_model_ref_is_an_error_and_the_geometric_fallback_keeps_segmenting(ros, registry, monkeypatch):
    monkeypatch.delenv('ROBIN_MODEL_REF', raising=False)
    _, labels, diag, pubs = _segmentation(ros, model_ref='candidate', model_registry=str(registry.root))
    for k in range(10):  # best-effort camera QoS: resend until a result arrives
        _send(pubs, k + 1)
        if ros.spin_until(lambda: labels, 2.0):
            break
    assert labels, 'the node stopped segmenting without a model'
    assert ros.spin_until(lambda: _status(diag) is not None, 3.0)
    st, values = _status(diag)
    assert st.level == b'\x02', st.message
    assert "model_ref 'candidate'" in st.message and 'unknown model' in st.message and 'geometric' in st.message
    assert values['source'] == 'geometric' and values['registry_version'] == 'none'


def test_env_model_ref_selects_the_registry_version(ros, registry, monkeypatch):
    monkeypatch.setenv('ROBIN_MODEL_REF', 'canary')
    node, _, diag, _ = _segmentation(ros, model_ref='production', model_registry=str(registry.root))
    assert node._pipeline.model is not None
    assert ros.spin_until(lambda: _status(diag) is not None, 3.0)
    _, values = _status(diag)
    assert values['source'] == 'model' and values['registry_version'] == 'seg-test-1'
    assert values['model_ref'] == 'canary' and values['model_ref_source'] == 'ROBIN_MODEL_REF'
    assert values['model_sha256'] == registry.get('canary').sha256


def test_cell_controller_stamps_the_cell_id_from_the_environment(ros, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv('ROBIN_CELL_ID', 'cell_7')
    ctrl = ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('cell_id', value='cell_0'), Parameter('journal_dir', value=str(tmp_path / 'journal')),
        Parameter('pipeline.startup_grace', value=0.0)]))
    peer = ros.node('cell_id_peer')
    pub = peer.create_publisher(String, topics.GRASP_DECISION, qos.RECORDS)
    assert ros.spin_until(lambda: pub.get_subscription_count() > 0, 10)
    chosen = {'instance_id': 3, 'type_id': 0, 'type_name': 'box', 'instance_score': 0.97, 'type_score': 0.9,
              'height_top_m': 0.12, 'cup_mask': 15, 'cups': [1, 1, 1, 1, 0, 0, 0, 0],
              'position': [0.6, 0.1, 0.12], 'quaternion': [1.0, 0.0, 0.0, 0.0], 'yaw': 0.0, 'score': 0.8,
              'target_score': 0.8, 'pose_score': 0.9, 'pose_terms': {}, 'mass_kg': 0.8, 'mass_upper_kg': 1.2,
              'force_required_n': 20.0, 'force_available_n': 140.0}
    journal = tmp_path / 'journal' / 'pick_journal.jsonl'
    for _ in range(5):
        pub.publish(String(data=json.dumps({'schema': 'robin.grasp_decision/1', 'frame_id': 'base_link',
                                            'stamp_ns': ctrl.get_clock().now().nanoseconds, 'status': 'ok',
                                            'chosen': chosen})))
        if ros.spin_until(lambda: journal.is_file() and journal.read_text().strip(), 2.0):
            break
    record = json.loads(journal.read_text().splitlines()[-1])['record']
    assert record['cell_id'] == 'cell_7'
