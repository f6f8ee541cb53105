"""Decision diff (robin-diff) without the simulator: stamps from CDR, the comparison rules, which grasp
a record executed, the planner's frame function, recording sessions, and the command on a small
synthetic recording (damaged and incomplete input included).

The proof that replaying a real recording reproduces the cell's decisions is in test_e2e_demo.py.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo, JointState, PointCloud2
from std_msgs.msg import Header, String

from robin_cell.controller_io import decision_from_json
from robin_core.cdr_header import header_stamp_ns
from robin_core.cell_description import default_cell
from robin_core.image_codec import Stamp, depth_to_meters, meters_to_depth16, numpy_to_image
from robin_core.instance_table import instances_to_cloud
from robin_core.records import PickRecord, Pose, TargetInfo, from_json, to_json
from robin_grasp.arm_view import ArmView
from robin_grasp.frame_planning import PlanningFrame, intrinsics_from_k, plan_frame, unhealthy_mask
from robin_grasp.grasp_config import config_from_values
from robin_grasp.grasp_decision import GraspDecision
from robin_grasp.motion.builtin_factory import build_builtin_backend
from robin_grasp.synthetic_scene import Package, render, settle
from robin_insight import diff_cli
from robin_insight.bag_source import SkipReport, read_bag
from robin_insight.bag_splits import SplitPolicy, SplitWriter
from robin_insight.decision_bag import recording_sessions
from robin_insight.decision_diff import DiffTolerance, PickDecision, compare, rank_of
from robin_perception.offline_segmentation import FrameSegmenter, SegmentationSettings, drop_instances

CELL = default_cell()


# ---------------------------------------------------------------- stamps straight from the CDR bytes
@pytest.mark.parametrize('msg', [numpy_to_image(np.zeros((4, 5), np.uint16), 'mono16'), CameraInfo(), PointCloud2()])
def test_header_stamp_read_from_cdr_matches_the_message(msg):
    msg.header = Header(stamp=Stamp(123_456_789_012).to_msg(), frame_id='camera_color_optical_frame')
    assert header_stamp_ns(serialize_message(msg)) == 123_456_789_012
    with pytest.raises(ValueError, match='short'):
        header_stamp_ns(b'\x00\x01\x00\x00')
    with pytest.raises(ValueError, match='encapsulation'):
        header_stamp_ns(b'\x00\x09' + bytes(20))


# ---------------------------------------------------------------- comparison rules
def _side(iid=3, kind='box', mask=0b1111, pos=(0.5, 0.0, 0.1), quat=(1.0, 0.0, 0.0, 0.0)):
    return PickDecision('ok', iid, kind, mask, pos, quat, 0.9)


def test_identical_needs_equal_ids_type_cups_and_pose_within_1e6():
    d = compare('r', 0, _side(), _side(pos=(0.5, 0.0, 0.1 + 5e-7), quat=(-1.0, 0.0, 0.0, 0.0)))
    assert d.identical and not d.changed  # -q is the same rotation
    d = compare('r', 0, _side(), _side(pos=(0.5, 0.0, 0.1 + 1e-4)))
    assert not d.identical and not d.changed  # 0.1 mm: not identical, not a material change
    assert d.suction_distance_m == pytest.approx(1e-4)


def test_changes_are_named():
    d = compare('r', 0, _side(), _side(kind='poly_mailer', mask=0b11, pos=(0.5, 0.02, 0.1)))
    assert d.changes == ['type', 'cups', 'suction_point'] and not d.identical
    assert compare('r', 0, _side(), PickDecision('no_pickable_target')).changes == ['no grasp offline']


def test_target_identity_follows_the_mask_not_the_id():
    rec, off = np.zeros((10, 10), np.uint16), np.zeros((10, 10), np.uint16)
    rec[2:6, 2:6], off[2:6, 2:6] = 3, 7  # the same package, renumbered by another model
    off[7:9, 7:9] = 3  # id 3 is now something else
    d = compare('r', 0, _side(iid=3), _side(iid=7), recorded_labels=rec, offline_labels=off)
    assert d.target_iou == 1.0 and 'target' not in d.changes and not d.identical
    d = compare('r', 0, _side(iid=3), _side(iid=3), recorded_labels=rec, offline_labels=off)
    assert d.target_iou == 0.0 and d.changes == ['target']
    assert compare('r', 0, _side(iid=3), _side(iid=4)).changes == ['target']  # no masks: ids decide


def test_tolerances_are_parameters():
    tol = DiffTolerance(position_tol=0.05)
    assert compare('r', 0, _side(), _side(pos=(0.5, 0.02, 0.1)), tol=tol).changes == []


# ---------------------------------------------------------------- which grasp a record executed
def _record(**kw) -> PickRecord:
    base = {'target': TargetInfo(instance_id=2, package_type='box', score=0.9, type_score=0.8), 'cup_mask': 0b110,
            'suction_pose': Pose(position=(0.4, 0.1, 0.05), orientation=(1.0, 0.0, 0.0, 0.0)), 'color_stamp_ns': 5}
    return PickRecord(**(base | kw))


def _decision_json(grasps: list[tuple[int, int, list[float]]], unhealthy: list[int]) -> str:
    def grasp(iid, mask, pos):
        return {'instance_id': iid, 'type_id': 0, 'type_name': 'box', 'instance_score': 0.9, 'type_score': 0.8,
                'height_top_m': 0.1, 'cup_mask': mask, 'cups': [(mask >> k) & 1 for k in range(8)], 'position': pos,
                'quaternion': [1.0, 0.0, 0.0, 0.0], 'yaw': 0.0, 'score': 0.7, 'target_score': 0.7, 'pose_score': 0.7,
                'pose_terms': {}, 'mass_kg': 0.5, 'mass_upper_kg': 0.7, 'force_required_n': 10.0,
                'force_available_n': 50.0}
    gs = [grasp(*g) for g in grasps]
    return json.dumps({'schema': 'robin.grasp_decision/1', 'stamp_ns': 5, 'frame_id': 'base_link', 'status': 'ok',
                       'chosen': gs[0], 'alternatives': gs[1:], 'unhealthy_cups': unhealthy})


def test_controller_passes_rank_and_the_planners_unhealthy_cups_into_the_options():
    text = _decision_json([(1, 0b1, [0.3, 0.0, 0.0]), (2, 0b110, [0.4, 0.1, 0.05])], unhealthy=[0, 5])
    d = decision_from_json(text, now_ns=10)
    assert [o.rank for o in d.options] == [0, 1] and d.unhealthy_cups == (0, 5)
    # a record without option_rank (older recordings): found in the recorded decision
    decision = GraspDecision.model_validate_json(text)
    assert rank_of(_record(), decision) == (1, 'matched in the recorded decision')
    assert rank_of(_record(option_rank=0), decision) == (0, 'record')
    assert rank_of(_record(cup_mask=0b111), decision) == (0, 'assumed 0')
    assert PickDecision.from_decision(decision, 1).instance_id == 2
    assert PickDecision.from_decision(decision, 5).instance_id is None


def test_old_pick_records_still_validate():
    old = json.loads(to_json(_record()))
    del old['option_rank']
    assert from_json(json.dumps(old), PickRecord).option_rank is None


# ---------------------------------------------------------------- the planner's per-frame function
def _scene(packages: list[Package] | None = None):
    cam = CELL.camera
    belt = CELL.pick_area.belt_z
    pile = settle(packages or [Package(1, 0.50, 0.05, 0.30, 0.22, 0.12, 0.3, 0),
                               Package(2, 0.55, -0.20, 0.26, 0.18, 0.03, -0.4, 1)], belt)
    depth, labels = render(pile, cam.intrinsics, cam.T_base_optical, 0.0, 0)
    # as the camera sends it: 16UC1 millimetres
    return depth_to_meters(numpy_to_image(meters_to_depth16(depth), '16UC1')), labels


def test_plan_frame_rejects_inconsistent_input_and_honours_unhealthy_cups():
    depth, _ = _scene()
    k = CELL.camera.intrinsics.K.reshape(-1)
    intr = intrinsics_from_k(CELL.camera.intrinsics.width, CELL.camera.intrinsics.height, k)
    seg = FrameSegmenter(None, SegmentationSettings(), CELL).run(np.zeros((*depth.shape, 3), np.uint8), depth, k,
                                                                 (intr.width, intr.height))
    assert seg.source == 'geometric' and len(seg.table) >= 2
    config = config_from_values({})
    frame = PlanningFrame(7, seg.table, seg.labels, depth, intr)
    healthy, _ = plan_frame(frame, CELL, config, unhealthy_mask([], 8))
    assert healthy.status == 'ok' and healthy.chosen is not None
    used = [k for k in range(8) if (healthy.chosen.cup_mask >> k) & 1]
    sick, _ = plan_frame(frame, CELL, config, unhealthy_mask(used[:2], 8))
    assert sick.unhealthy_cups == used[:2]
    assert all(not (g.cup_mask >> c) & 1 for g in [sick.chosen, *sick.alternatives] if g for c in used[:2])
    no_info, result = plan_frame(PlanningFrame(7, seg.table, seg.labels, depth, None), CELL, config,
                                 unhealthy_mask([], 8))
    assert no_info.status == 'bad_input' and result is None
    small = PlanningFrame(7, seg.table, seg.labels[:100], depth, intr)
    assert plan_frame(small, CELL, config, unhealthy_mask([], 8))[0].status == 'bad_input'
    with pytest.raises(ValueError, match='cup index'):
        unhealthy_mask([8], 8)


def test_drop_instances_renumbers():
    labels = np.array([[0, 1, 2, 3]], np.uint16)
    table = np.zeros(3, [('id', np.uint16), ('score', np.float32)])
    table['id'], table['score'] = [1, 2, 3], [0.9, 0.1, 0.8]
    out_labels, out_table = drop_instances(labels, table, np.array([2]))
    assert out_labels.tolist() == [[0, 1, 0, 2]] and out_table['id'].tolist() == [1, 2]
    assert out_table['score'].tolist() == pytest.approx([0.9, 0.8])


# ---------------------------------------------------------------- bags
def test_topic_filter_never_leaks_other_topics_of_a_split_without_the_topic(tmp_path):
    w = SplitWriter(tmp_path, SplitPolicy(max_split_bytes=0, max_split_duration_s=0, max_total_bytes=0), prefix='t')
    w.write('/a', 'std_msgs/msg/String', serialize_message(String(data='x')), 10**9)
    w.close()
    assert list(read_bag(tmp_path, SkipReport(), lambda t: t == '/cell/pick_records')) == []


def test_sessions_group_splits_of_one_recorder_run(tmp_path):
    for name in ('robin_20260101_000000_0007', 'robin_20260101_000000_0008', 'robin_20260102_120000_0009'):
        (tmp_path / name).mkdir()
        (tmp_path / name / f'{name}.mcap').write_bytes(b'')
    sessions = recording_sessions(tmp_path)
    assert [[p.name[-4:] for p in s] for s in sessions] == [['0007', '0008'], ['0009']]


def _write_recording(root, *, frames: bool = True, arm: list[tuple[int, np.ndarray]] | None = None,
                     late: list[tuple[int, np.ndarray]] | None = None, packages: list[Package] | None = None,
                     joints_recorded: bool = True):
    """A tiny recording: camera frame + camera_info + a grasp decision and a pick record made from it
    by the offline path itself (this exercises the command's plumbing, not the reproduction).

    ``arm``: (stamp, joints) samples the grasp planner had received when it planned; the decision is
    planned with the arm mask drawn from them, and they go into the recording (``joints_recorded``),
    with the ``late`` samples the planner had not received yet.
    """
    depth, _ = _scene(packages)
    cam = CELL.camera.intrinsics
    stamp = 2_000_000_000
    header = Header(stamp=Stamp(stamp).to_msg(), frame_id='camera_color_optical_frame')
    rgb = np.full((*depth.shape, 3), 90, np.uint8)
    seg = FrameSegmenter(None, SegmentationSettings(), CELL).run(rgb, depth, cam.K.reshape(-1), (cam.width, cam.height))
    intr = intrinsics_from_k(cam.width, cam.height, cam.K.reshape(-1))
    mask, drawn = None, ()
    if arm:
        view = ArmView(CELL)
        for t, q in arm:
            view.add(t, q)
        samples = view.drawn(stamp)
        mask, drawn = view.mask_of([q for _t, q in samples], intr), tuple(t for t, _q in samples)
    frame = PlanningFrame(stamp, seg.table, seg.labels, depth, intr, mask, drawn)
    decision, _ = plan_frame(frame, CELL, config_from_values({}), unhealthy_mask([3], 8))
    g = decision.chosen
    rec = PickRecord(color_stamp_ns=stamp, depth_stamp_ns=stamp, option_rank=0, cup_mask=g.cup_mask,
                     target=TargetInfo(instance_id=g.instance_id, package_type=g.type_name, score=g.instance_score,
                                       type_score=g.type_score),
                     suction_pose=Pose(position=tuple(g.position), orientation=tuple(g.quaternion)))
    later = stamp + 10**9
    lost = rec.model_copy(update={'record_id': 'lost', 'color_stamp_ns': later, 'depth_stamp_ns': later})
    w = SplitWriter(root, SplitPolicy(max_split_bytes=0, max_split_duration_s=0, max_total_bytes=0), prefix='robin')
    info = CameraInfo(header=header, width=cam.width, height=cam.height, k=[float(v) for v in cam.K.reshape(-1)])
    w.write('/camera/color/camera_info', 'sensor_msgs/msg/CameraInfo', serialize_message(info), stamp)
    for t, q in [*(arm or []), *(late or [])] if joints_recorded else []:
        js = JointState(header=Header(stamp=Stamp(t).to_msg()), name=list(CELL.joint_names),
                        position=[float(v) for v in q])
        w.write('/joint_states', 'sensor_msgs/msg/JointState', serialize_message(js), t)
    if frames:
        w.write('/camera/color/image_raw', 'sensor_msgs/msg/Image',
                serialize_message(numpy_to_image(rgb, 'rgb8', header)), stamp + 1)
        w.write('/camera/aligned_depth_to_color/image_raw', 'sensor_msgs/msg/Image',
                serialize_message(numpy_to_image(meters_to_depth16(depth), '16UC1', header)), stamp + 2)
        w.write('/perception/instances/labels', 'sensor_msgs/msg/Image',
                serialize_message(numpy_to_image(seg.labels, 'mono16', header)), stamp + 3)
        w.write('/perception/instances/table', 'sensor_msgs/msg/PointCloud2',
                serialize_message(instances_to_cloud(seg.table, header)), stamp + 4)
    for i, text in enumerate((decision.to_json(), to_json(rec), to_json(lost), '{"schema": "robin.pick_record/1", "x'),
                             start=5):
        topic = '/grasp/decision' if i == 5 else '/cell/pick_records'
        w.write(topic, 'std_msgs/msg/String', serialize_message(String(data=text)), stamp + i * 10**6)
    w.close()
    return rec


def test_command_compares_skips_and_reports(tmp_path, capsys):
    rec = _write_recording(tmp_path / 'bag')
    out = tmp_path / 'out'
    assert diff_cli.main([str(tmp_path / 'bag'), '--model', 'geometric', '--out', str(out), '--images', 'all']) == 0
    report = json.loads((out / 'report.json').read_text())
    assert report['summary'] == {'picks': 2, 'compared': 1, 'identical': 1, 'changed': 0, 'skipped': 1}
    (pick,) = report['picks']
    assert pick['record_id'] == rec.record_id and pick['unhealthy_cups'] == [3]
    assert pick['unhealthy_source'] == 'recorded decision' and pick['perception']['labels_identical'] is True
    assert math.dist(pick['recorded']['position'], pick['offline']['position']) <= 1e-6
    assert Path(pick['image']).is_file()
    assert report['skipped'] == [{'record_id': 'lost', 'reason': 'frame at 3000000000 ns not in the recording '
                                  '(rgb, depth_m missing)'}]
    assert 'undecodable' in report['skipped_topics']['/cell/pick_records']['reason']
    assert 'identical' in capsys.readouterr().out
    # another planner configuration: the fewest cups that hold the package through a slow transfer
    # change the cups of the same target
    cfg = tmp_path / 'grasp.yaml'
    cfg.write_text('/**:\n  ros__parameters:\n    cup_policy: minimal\n    max_acceleration: 3.0\n')
    out2 = tmp_path / 'out2'
    rc = diff_cli.main([str(tmp_path / 'bag'), '--model', 'geometric', '--config', str(cfg), '--out', str(out2),
                        '--fail-on-change'])
    (pick2,) = json.loads((out2 / 'report.json').read_text())['picks']
    assert rc == 3 and 'cups' in pick2['changes'] and 'target' not in pick2['changes']
    assert pick2['offline']['cup_mask'] != pick2['recorded']['cup_mask'] and Path(pick2['image']).is_file()


def test_command_on_damaged_or_empty_input(tmp_path):
    assert diff_cli.main([str(tmp_path / 'nothing'), '--out', str(tmp_path / 'o')]) == 2
    _write_recording(tmp_path / 'noframes', frames=False)
    assert diff_cli.main([str(tmp_path / 'noframes'), '--model', 'geometric', '--out', str(tmp_path / 'o1')]) == 1
    _write_recording(tmp_path / 'cut')
    (mcap,) = (tmp_path / 'cut').rglob('*.mcap')
    os.truncate(mcap, mcap.stat().st_size // 2)
    rc = diff_cli.main([str(tmp_path / 'cut'), '--model', 'geometric', '--out', str(tmp_path / 'o2')])
    report = json.loads((tmp_path / 'o2' / 'report.json').read_text())
    assert rc == 1 and report['bag_problems'] and 'rosbags could not read it' in report['bag_problems'][0]
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(b'not onnx')
    assert diff_cli.main([str(tmp_path / 'noframes'), '--model', str(bad), '--out', str(tmp_path / 'o3')]) == 2


def _over(x: float, y: float) -> np.ndarray:
    """Joints with the tool 0.4 m above the belt at (x, y)."""
    lift = np.diag([1.0, -1.0, -1.0, 1.0])
    lift[:3, 3] = (x, y, CELL.pick_area.belt_z + 0.4)
    return build_builtin_backend(CELL).solve_ik(np.array([0.0, -np.pi / 2, np.pi / 2, -np.pi / 2, -np.pi / 2, 0.0]),
                                                lift)


def test_a_decision_made_with_the_arm_in_view_replays_with_the_mask_the_planner_drew(tmp_path):
    """The planner masks the arm out of the frame it plans on; the replay must draw the samples it
    drew, not the ones that arrived after it planned (the late one here puts the arm elsewhere)."""
    boxes = [Package(1, 0.45, 0.22, 0.30, 0.22, 0.12, 0.3, 0), Package(2, 0.55, -0.22, 0.30, 0.22, 0.10, -0.4, 0)]
    q_a, q_b = _over(0.45, 0.22), _over(0.55, -0.22)
    arrived = [(1_960_000_000, q_a), (2_000_000_000, q_a), (2_020_000_000, q_a)]
    late = [(2_050_000_000, q_b)]  # within the window of the frame, recorded, not yet received
    plain = _write_recording(tmp_path / 'plain', packages=boxes)
    rec = _write_recording(tmp_path / 'arm', packages=boxes, arm=arrived, late=late)
    assert rec.target.instance_id != plain.target.instance_id  # the mask changed the decision
    args = ['--model', 'geometric', '--images', 'none']
    assert diff_cli.main([str(tmp_path / 'arm'), *args, '--out', str(tmp_path / 'o')]) == 0
    (pick,) = json.loads((tmp_path / 'o' / 'report.json').read_text())['picks']
    assert pick['identical'] and pick['arm_mask'] == 'rebuilt from the 3 joint states the planner drew', pick
    # without the joint states the replay cannot rebuild the mask: it says so and plans without it
    _write_recording(tmp_path / 'nojs', packages=boxes, arm=arrived, joints_recorded=False)
    assert diff_cli.main([str(tmp_path / 'nojs'), *args, '--out', str(tmp_path / 'o2')]) == 0
    (pick2,) = json.loads((tmp_path / 'o2' / 'report.json').read_text())['picks']
    assert pick2['arm_mask'].startswith('not rebuilt') and 'target' in pick2['changes']
    assert pick2['offline']['instance_id'] == plain.target.instance_id


def test_the_replay_draws_under_the_tool_what_the_decision_says_was_carried():
    from robin_grasp.carry_state import CarriedPackage
    from robin_insight.decision_bag import RecordedFrame
    from robin_insight.replay_arm_mask import ReplayArmMask

    cam = CELL.camera.intrinsics
    intr = intrinsics_from_k(cam.width, cam.height, cam.K.reshape(-1))
    q, stamp = _over(0.45, 0.22), 2_000_000_000
    frame = RecordedFrame(stamp, joints={stamp: dict(zip(CELL.joint_names, q.tolist(), strict=True))})
    decision = GraspDecision(stamp_ns=stamp, frame_id='base_link', status='no_pickable_target', arm_masked=True,
                             arm_joint_stamps_ns=[stamp], arm_carry='package',
                             arm_carried_package=[0.15, 0.10, 0.0, 0.0, 0.0])
    mask, why, carry = ReplayArmMask(CELL, {'arm_mask.enabled': True}).mask(frame, decision, intr)
    view = ArmView(CELL)
    assert carry == CarriedPackage(0.15, 0.10) and why.startswith('rebuilt')
    assert (mask == view.mask_of([q], intr, carry)).all() and (mask != view.mask_of([q], intr)).any()


def test_the_replay_says_why_it_cannot_rebuild_a_mask_from_a_partial_joint_state():
    from robin_insight.decision_bag import RecordedFrame
    from robin_insight.replay_arm_mask import ReplayArmMask

    cam = CELL.camera.intrinsics
    intr = intrinsics_from_k(cam.width, cam.height, cam.K.reshape(-1))
    stamp = 2_000_000_000
    partial = dict(zip(CELL.joint_names[:-1], _over(0.45, 0.22).tolist()[:-1], strict=True))  # a joint missing
    decision = GraspDecision(stamp_ns=stamp, frame_id='base_link', status='no_pickable_target', arm_masked=True,
                             arm_joint_stamps_ns=[stamp])
    replay = ReplayArmMask(CELL, {'arm_mask.enabled': True})
    mask, why, _ = replay.mask(RecordedFrame(stamp, joints={stamp: partial}), decision, intr)
    assert mask is None and why.startswith('not rebuilt: a recorded joint state lacks')
    mask, why, _ = ReplayArmMask(CELL, {'arm_mask.enabled': False}).mask(RecordedFrame(stamp), decision, intr)
    assert mask is None and why.startswith('off')
