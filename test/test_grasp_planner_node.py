"""The grasp planner node over real DDS: a synthetic frame in, a decision, a pose and a table out."""

from __future__ import annotations

import json

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header, String, UInt8MultiArray

from robin_core import qos, topics
from robin_core.cell_description import default_cell
from robin_core.image_codec import Stamp, numpy_to_image
from robin_core.instance_table import empty_table, instances_to_cloud
from robin_core.table_codec import cloud_to_table
from robin_grasp.grasp_candidates import GRASP_CANDIDATE_DTYPE
from robin_grasp.grasp_decision import GraspDecision
from robin_grasp.grasp_planner_node import GraspPlannerNode
from robin_grasp.synthetic_scene import Package, instance_table, render, settle

pytestmark = pytest.mark.ros


class _Harness:
    def __init__(self, ros) -> None:
        self.ros = ros
        self.cell = default_cell()
        self.planner = ros.add(GraspPlannerNode(context=ros.context))
        n = ros.node('fake_perception')
        self.pub_table = n.create_publisher(PointCloud2, topics.INSTANCE_TABLE, qos.RELIABLE)
        self.pub_labels = n.create_publisher(Image, topics.INSTANCE_LABELS, qos.RELIABLE)
        self.pub_depth = n.create_publisher(Image, topics.DEPTH_IMAGE, qos.SENSOR)
        self.pub_info = n.create_publisher(CameraInfo, topics.COLOR_INFO, qos.SENSOR)
        self.pub_cups = n.create_publisher(UInt8MultiArray, topics.QA_UNHEALTHY_CUPS, qos.LATCHED)
        self.decisions: list[GraspDecision] = []
        self.poses: list[PoseStamped] = []
        self.tables: list[np.ndarray] = []
        n.create_subscription(String, topics.GRASP_DECISION,
                              lambda m: self.decisions.append(GraspDecision.model_validate_json(m.data)), qos.RECORDS)
        n.create_subscription(PoseStamped, topics.GRASP_TARGET_POSE, self.poses.append, qos.RELIABLE)
        n.create_subscription(PointCloud2, topics.GRASP_CANDIDATES,
                              lambda m: self.tables.append(cloud_to_table(m, GRASP_CANDIDATE_DTYPE)), qos.RELIABLE)
        ros.spin_until(lambda: self.pub_table.get_subscription_count() > 0
                       and self.pub_labels.get_subscription_count() > 0, 10.0)  # fmt: skip

    def header(self, stamp_ns: int) -> Header:
        return Header(stamp=Stamp(stamp_ns).to_msg(), frame_id=self.cell.camera.frame_id)

    def send_info(self, stamp_ns: int) -> None:
        intr = self.cell.camera.intrinsics
        info = CameraInfo(header=self.header(stamp_ns), width=intr.width, height=intr.height)
        info.k = [intr.fx, 0.0, intr.cx, 0.0, intr.fy, intr.cy, 0.0, 0.0, 1.0]
        for _ in range(20):  # best effort, like a camera driver: repeat until it lands
            self.pub_info.publish(info)
            if self.ros.spin_until(lambda: self.planner.has_camera_info, 0.25):
                break
        assert self.planner.has_camera_info

    def send_depth(self, stamp_ns: int, depth: np.ndarray) -> None:
        self.pub_depth.publish(numpy_to_image(np.nan_to_num(depth, nan=0.0).astype(np.float32), '32FC1',
                                              self.header(stamp_ns)))

    def send(self, stamp_ns: int, table: np.ndarray, labels: np.ndarray, depth: np.ndarray) -> GraspDecision:
        self.send_info(stamp_ns)
        self.send_depth(stamp_ns, depth)
        self.send_perception(stamp_ns, table, labels)
        n = len(self.decisions)
        assert self.ros.spin_until(lambda: len(self.decisions) > n, 20.0), 'no decision'
        return self.decisions[-1]

    def send_perception(self, stamp_ns: int, table: np.ndarray, labels: np.ndarray) -> None:
        header = self.header(stamp_ns)
        self.pub_labels.publish(numpy_to_image(labels, 'mono16', header))
        self.pub_table.publish(instances_to_cloud(table, header))


def _scene(cell, *packages):
    pile = settle(list(packages), cell.pick_area.belt_z)
    cam = cell.camera
    depth, labels = render(pile, cam.intrinsics, cam.T_base_optical)
    return instance_table(pile, depth, labels, cam.intrinsics, cam.T_base_optical), labels, depth


def test_node_plans_a_frame_respects_unhealthy_cups_and_reports_empty_scenes(ros):
    h = _Harness(ros)
    table, labels, depth = _scene(h.cell, Package(1, 0.5, 0.0, 0.3, 0.2, 0.1), Package(2, 0.5, 0.0, 0.2, 0.12, 0.05))
    d = h.send(1_000_000_000, table, labels, depth)
    assert d.status == 'ok' and d.stamp_ns == 1_000_000_000 and d.frame_id == 'base_link'
    assert d.chosen.instance_id == 2  # the package on top
    assert '1' in d.rejected and d.latency_ms['node_total'] > 0
    assert ros.spin_until(lambda: h.poses and h.tables, 5.0)
    pose = h.poses[-1]
    assert pose.header.frame_id == 'base_link'
    assert pose.pose.position.z == pytest.approx(h.cell.pick_area.belt_z + 0.15, abs=0.003)
    assert int(h.tables[-1]['cup_mask'][0]) == d.chosen.cup_mask
    assert len(h.tables[-1]) == d.n_candidates > 0

    # QA marks cup 2 unhealthy (latched): the next decision never uses it.
    h.pub_cups.publish(UInt8MultiArray(data=[0, 0, 1, 0, 0, 0, 0, 0]))
    assert ros.spin_until(lambda: h.planner.unhealthy_cups == [2], 5.0)
    d = h.send(2_000_000_000, table, labels, depth)
    assert d.status == 'ok' and d.unhealthy_cups == [2]
    assert d.chosen.cups[2] == 0
    assert ros.spin_until(lambda: len(h.tables) == 2, 5.0)  # topics are independent: let the table land
    assert all(not (row['cup_mask'] >> 2) & 1 for row in h.tables[-1])

    # Empty scene: a clear decision, no crash, no pose.
    assert ros.spin_until(lambda: len(h.poses) == 2, 5.0)  # topics are independent: let the pose land
    n_poses = len(h.poses)
    d = h.send(3_000_000_000, empty_table(), np.zeros_like(labels), depth)
    assert d.status == 'empty_scene' and d.chosen is None and d.reason
    ros.spin_for(0.2)
    assert len(h.poses) == n_poses
    assert json.loads(d.to_json())['schema'] == 'robin.grasp_decision/1'


def test_a_frame_whose_perception_comes_late_is_still_planned(ros):
    """Depth streams at 30 Hz; perception's table for the first frame arrives 1.5 s later (its
    latency on a loaded CPU). The planner must still hold that frame's depth (frame_history_s)."""
    h = _Harness(ros)
    table, labels, depth = _scene(h.cell, Package(1, 0.5, 0.0, 0.3, 0.2, 0.1))
    first = 5_000_000_000
    h.send_info(first)
    for k in range(46):
        h.send_depth(first + k * 33_000_000, depth)
        ros.spin_for(0.02)
    h.send_perception(first, table, labels)
    assert ros.spin_until(lambda: any(d.stamp_ns == first for d in h.decisions), 20.0), 'the late frame was lost'


def test_node_reports_bad_input_without_crashing(ros):
    h = _Harness(ros)
    table, labels, depth = _scene(h.cell, Package(1, 0.5, 0.0, 0.3, 0.2, 0.1))
    d = h.send(5_000_000_000, table, labels[:, :320].copy(), depth)  # label image of the wrong size
    assert d.status == 'bad_input' and 'differ' in d.reason
    d = h.send(6_000_000_000, table, labels, depth)  # and recovers on the next good frame
    assert d.status == 'ok'


def test_node_records_suspect_cups_and_ignores_a_malformed_suspect_set(ros):
    h = _Harness(ros)
    pub = h.ros.node('fake_qa').create_publisher(UInt8MultiArray, topics.QA_SUSPECT_CUPS, qos.LATCHED)
    table, labels, depth = _scene(h.cell, Package(1, 0.5, 0.0, 0.3, 0.2, 0.1))
    pub.publish(UInt8MultiArray(data=[0, 0, 0, 1, 0, 0, 0, 0]))
    assert ros.spin_until(lambda: h.planner.suspect_cups == [3], 5.0)
    d = h.send(1_000_000_000, table, labels, depth)
    assert d.status == 'ok' and d.suspect_cups == [3]
    pub.publish(UInt8MultiArray(data=[1, 1, 1]))  # wrong length: logged and ignored, the last set stays
    ros.spin_for(0.5)
    d = h.send(2_000_000_000, table, labels, depth)
    assert d.status == 'ok' and d.suspect_cups == [3]


def test_a_frame_taken_with_the_arm_over_the_pile_is_planned_around_it(ros):
    from sensor_msgs.msg import JointState

    from robin_grasp.motion.builtin_factory import build_builtin_backend

    h = _Harness(ros)
    maps: list[Image] = []
    h.ros.node('fake_motion').create_subscription(Image, topics.PILE_HEIGHT_MAP, maps.append, qos.RELIABLE)
    pub_js = h.ros.node('fake_arm').create_publisher(JointState, topics.JOINT_STATES, qos.SENSOR)
    table, labels, depth = _scene(h.cell, Package(1, 0.42, -0.15, 0.25, 0.18, 0.10),
                                  Package(2, 0.5, 0.2, 0.25, 0.15, 0.05))
    d = h.send(1_000_000_000, table, labels, depth)  # no joint states yet: planned as before
    assert not d.arm_masked and {t.instance_id for t in d.targets} == {1, 2}
    assert ros.spin_until(lambda: len(maps) == 1, 5.0)
    clear = np.frombuffer(bytes(maps[0].data), np.float32).reshape(maps[0].height, -1)
    # the tool 30 cm over package 1 (as after its neighbour's lift): 1 is hidden, 2 is still offered
    over = np.diag([1.0, -1.0, -1.0, 1.0])
    over[:3, 3] = (0.42, -0.15, h.cell.pick_area.belt_z + 0.4)
    q = build_builtin_backend(h.cell).solve_ik(np.array([0.0, -1.5708, 1.5708, -1.5708, -1.5708, 0.0]), over)
    def arm_at(stamp: int) -> None:
        """Five joint states around ``stamp``, the arm at ``q``."""
        for k in range(5):
            js = JointState(name=list(h.cell.joint_names), position=[float(v) for v in q])
            js.header.stamp = Stamp(stamp + (k - 2) * 10_000_000).to_msg()
            pub_js.publish(js)
        ros.spin_for(0.3)

    stamp = 2_000_000_000
    arm_at(stamp)
    d = h.send(stamp, table, labels, depth)
    assert d.arm_masked and d.rejected['1'] == 'under the arm in this frame'
    assert [t.instance_id for t in d.targets] == [2], d.rejected
    assert ros.spin_until(lambda: len(maps) == 2, 5.0)
    masked = np.frombuffer(bytes(maps[1].data), np.float32).reshape(maps[1].height, -1)
    # what the arm hid comes from the last clear map: never unknown (= empty) to the motion planner
    assert np.isnan(masked).sum() <= np.isnan(clear).sum()
    assert np.nanmax(masked) == pytest.approx(np.nanmax(clear), abs=0.01)

    # the controller says the gripper carries a 0.15 x 0.10 m package (cell/pick_phase): the decision
    # draws its footprint, not the unknown square; after the release nothing (a malformed phase is
    # logged and ignored)
    pub_phase = h.ros.node('fake_controller').create_publisher(String, topics.PICK_PHASE, qos.RECORDS)
    pub_phase.publish(String(data='{"phase": "grasped", "stamp_s": "soon"}'))
    for k, (phase, t) in enumerate((('grasped', 2.5), ('released', 3.5))):
        body = {'schema': 'robin.pick_phase/1', 'record_id': 'r1', 'phase': phase, 'stamp_s': t,
                'package_size_m': [0.15, 0.10, 0.05], 'package_in_tool': [0.01, 0.0, 0.3]}
        pub_phase.publish(String(data=json.dumps(body)))
        ros.spin_for(0.3)
        stamp = 3_000_000_000 + k * 1_000_000_000
        arm_at(stamp)
        d = h.send(stamp, table, labels, depth)
        assert d.arm_masked and d.arm_joint_stamps_ns
        if phase == 'grasped':
            assert d.arm_carry == 'package' and d.arm_carried_package == pytest.approx([0.15, 0.10, 0.01, 0.0, 0.3])
        else:
            assert d.arm_carry == 'nothing' and d.arm_carried_package is None
