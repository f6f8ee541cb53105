"""Synthetic picks and camera frames for tests, the benchmark and UI demos (no simulator needed).

Scenes are flat-shaded packages on a belt: a color image, REP-118 depth, a ``mono16`` label image
and the perception instance table, consistent with each other. Records are valid
:class:`PickRecord` objects with a plausible mix of outcomes, verdicts and timings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rclpy.serialization import serialize_message
from std_msgs.msg import Header, String

from robin_core import topics
from robin_core.image_codec import Stamp, numpy_to_image
from robin_core.instance_table import PACKAGE_TYPES, empty_table, instances_to_cloud
from robin_core.records import Candidate, PickRecord, Pose, QaSignals, TargetInfo, to_json
from robin_insight.bag_splits import SplitPolicy, SplitWriter

VERDICT_MIX = (('ok', 0.8), ('double_pick', 0.06), ('drop', 0.05), ('misplace', 0.03), ('missed', 0.06))
RECOVERY_FOR = {'ok': 'none', 'double_pick': 'put_back_and_repick', 'drop': 'repick', 'misplace': 'rework_spot',
                'missed': 'reperceive'}
MODELS = ('seg-2024.1', 'seg-2024.2')
CELLS = ('cell_0', 'cell_1')


@dataclass
class Scene:
    color: np.ndarray  # (H, W, 3) uint8 rgb
    depth_mm: np.ndarray  # (H, W) uint16, 0 = invalid
    labels: np.ndarray  # (H, W) uint16, 0 = background
    table: np.ndarray  # INSTANCE_DTYPE rows


def make_scene(rng: np.random.Generator, width: int = 320, height: int = 240, n: int = 5) -> Scene:
    """A belt with ``n`` non-overlapping rectangular packages."""
    color = np.full((height, width, 3), (70, 72, 78), np.uint8)
    depth = np.full((height, width), 900, np.uint16)
    labels = np.zeros((height, width), np.uint16)
    table = empty_table(n)
    cols = max(1, n // 2 + n % 2)
    cell_w, cell_h = width // cols, height // 2
    for i in range(n):
        cu, cv = (i % cols) * cell_w, (i // cols) * cell_h
        w, h = int(rng.integers(cell_w // 2, cell_w - 8)), int(rng.integers(cell_h // 2, cell_h - 8))
        u0, v0 = cu + int(rng.integers(2, cell_w - w - 2)), cv + int(rng.integers(2, cell_h - h - 2))
        top_mm = int(rng.integers(20, 250))
        labels[v0:v0 + h, u0:u0 + w] = i + 1
        depth[v0:v0 + h, u0:u0 + w] = 900 - top_mm
        color[v0:v0 + h, u0:u0 + w] = rng.integers(90, 250, 3, dtype=np.uint8)
        row = table[i]
        row['id'], row['type_id'] = i + 1, int(rng.integers(len(PACKAGE_TYPES)))
        row['score'], row['type_score'] = rng.uniform(0.5, 1.0), rng.uniform(0.4, 1.0)
        row['u0'], row['v0'], row['u1'], row['v1'] = u0, v0, u0 + w, v0 + h
        row['area_px'], row['height_top'], row['z'] = w * h, top_mm / 1000, (900 - top_mm) / 1000
    depth[rng.random(depth.shape) < 0.01] = 0  # sensor dropouts
    return Scene(color, depth, labels, table)


def make_record(rng: np.random.Generator, i: int, t0: datetime, scene: Scene | None = None,
                stamp_ns: int | None = None) -> PickRecord:
    """Pick record number ``i`` (one every ~7 s from ``t0``), consistent with ``scene`` if given."""
    names, probs = zip(*VERDICT_MIX, strict=True)
    verdict = str(rng.choice(names, p=probs))
    table = scene.table if scene is not None else None
    n = len(table) if table is not None else 5
    ranked = rng.permutation(n)[:3] + 1
    target_id = int(ranked[0])
    trow = table[target_id - 1] if table is not None else None
    score = float(trow['score']) if trow is not None else float(rng.uniform(0.3, 1.0))
    ptype = PACKAGE_TYPES[int(trow['type_id'])] if trow is not None else str(rng.choice(PACKAGE_TYPES))
    cup_mask = int(rng.choice([0x0F, 0xF0, 0x33, 0xFF, 0x66]))
    cycle = float(rng.gamma(9.0, 400.0))
    when = t0 + timedelta(seconds=7.0 * i + float(rng.uniform(0, 2)))
    return PickRecord(
        record_id=f'{i:06d}-{rng.integers(1 << 32):08x}',
        cell_id=CELLS[i % len(CELLS)],
        sim_time_s=7.0 * i,
        wall_time=when.isoformat(),
        color_stamp_ns=stamp_ns,
        depth_stamp_ns=stamp_ns,
        model_version=MODELS[(i // 50) % len(MODELS)],
        segmenter='model',
        target=TargetInfo(instance_id=target_id, package_type=ptype, score=score,
                          type_score=float(trow['type_score']) if trow is not None else float(rng.uniform(0.4, 1.0)),
                          height_top_m=0.1, expected_mass_kg=0.4),
        candidates=[Candidate(instance_id=int(k), score=float(s), cup_mask=int(m), reason=r) for k, s, m, r in zip(
            ranked, sorted(rng.uniform(0.2, 1.0, len(ranked)), reverse=True), (cup_mask, 0xFF, 0x0F),
            ('chosen: best score', 'lower seal estimate', 'partly occluded'), strict=False)],
        cup_mask=cup_mask,
        unhealthy_cups=[5] if i % 17 == 0 else [],
        suction_pose=Pose(position=(0.5, float(rng.uniform(-0.2, 0.2)), 0.12), orientation=(1.0, 0.0, 0.0, 0.0)),
        plan={'backend': 'ompl', 'planning_ms': float(rng.uniform(40, 120)), 'approach_s': 0.8, 'lift_s': 0.6},
        timings_ms={'perception': float(rng.uniform(60, 140)), 'grasp': float(rng.uniform(5, 30)),
                    'motion_plan': float(rng.uniform(40, 120)), 'cycle': cycle},
        qa_signals=QaSignals(cup_vacuum_kpa=[float(v) for v in rng.uniform(0, 60, 8)],
                             cup_sealed=[bool(cup_mask >> k & 1) for k in range(8)],
                             payload_kg=float(rng.uniform(0.1, 1.2)), expected_mass_kg=0.4),
        verdict=verdict,
        verdict_reasons=[] if verdict == 'ok' else [f'{verdict} detector fired'],
        recovery=RECOVERY_FOR[verdict],
        outcome='succeeded' if verdict == 'ok' else 'failed',
        states=[('perceive', 7.0 * i), ('approach', 7.0 * i + 0.3), ('grip', 7.0 * i + 1.2),
                ('transfer', 7.0 * i + 1.8), ('release', 7.0 * i + 3.1)],
    )


def make_records(n: int, seed: int = 0, t0: datetime | None = None, start: int = 0) -> list[PickRecord]:
    """Records ``start .. start + n - 1`` without images (benchmark, store tests)."""
    rng = np.random.default_rng(seed)
    t0 = t0 or datetime(2025, 1, 1, tzinfo=UTC)
    return [make_record(rng, i, t0) for i in range(start, start + n)]


def write_session(root: Path | str, n_picks: int, seed: int = 0,
                  policy: SplitPolicy | None = None) -> list[PickRecord]:
    """Record ``n_picks`` scenes and their pick records as a real bag under ``root`` (recorder layout)."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    writer = SplitWriter(root, policy or SplitPolicy(max_split_duration_s=0), prefix='synthetic')
    records = []
    for i in range(n_picks):
        scene = make_scene(rng)
        stamp = int(t0.timestamp() * 1e9) + i * 7_000_000_000
        header = Header(frame_id='camera_color_optical_frame', stamp=Stamp(stamp).to_msg())
        frames = [(topics.COLOR_IMAGE, 'sensor_msgs/msg/Image', numpy_to_image(scene.color, 'rgb8', header)),
                  (topics.DEPTH_IMAGE, 'sensor_msgs/msg/Image', numpy_to_image(scene.depth_mm, '16UC1', header)),
                  (topics.INSTANCE_LABELS, 'sensor_msgs/msg/Image', numpy_to_image(scene.labels, 'mono16', header)),
                  (topics.INSTANCE_TABLE, 'sensor_msgs/msg/PointCloud2', instances_to_cloud(scene.table, header))]
        for k, (topic, type_name, msg) in enumerate(frames):
            writer.write(f'/{topic}', type_name, serialize_message(msg), stamp + k * 1000)
        rec = make_record(rng, i, t0, scene, stamp)
        writer.write(f'/{topics.PICK_RECORDS}', 'std_msgs/msg/String', serialize_message(String(data=to_json(rec))),
                     stamp + 3_000_000_000)
        records.append(rec)
    writer.close()
    return records
