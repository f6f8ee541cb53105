"""What the decision diff needs from a recording: pick records, the frames they were decided on,
the planner's recorded decisions and which segmentation model was running.

Two passes over the splits of one recording session (:func:`~robin_insight.bag_source.read_split`,
so damaged splits are salvaged and reported): the first reads the small topics (pick records, grasp decisions,
camera_info, /diagnostics), the second only the image topics of the splits that hold a wanted
frame, keeping messages whose header stamp (read from the CDR bytes, no decoding) is wanted.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo, Image, JointState, PointCloud2
from std_msgs.msg import String

from robin_core import topics
from robin_core.cdr_header import header_stamp_ns
from robin_core.image_codec import depth_to_meters, image_to_numpy
from robin_core.instance_table import cloud_to_instances
from robin_core.records import PickRecord, from_json
from robin_grasp.grasp_decision import GraspDecision
from robin_insight.bag_source import BagMessage, SkipReport, find_splits, read_split

_SPLIT_NAME = re.compile(r'^(?P<session>.+)_\d{4}$')


def _abs(name: str) -> str:
    return name if name.startswith('/') else f'/{name}'


@dataclass(frozen=True)
class DiffTopics:
    """Recorded topic names (absolute, as in the bag)."""

    pick_records: str = _abs(topics.PICK_RECORDS)
    decisions: str = _abs(topics.GRASP_DECISION)
    color: str = _abs(topics.COLOR_IMAGE)
    depth: str = _abs(topics.DEPTH_IMAGE)
    info: str = _abs(topics.COLOR_INFO)
    labels: str = _abs(topics.INSTANCE_LABELS)
    table: str = _abs(topics.INSTANCE_TABLE)
    joint_states: str = _abs(topics.JOINT_STATES)
    diagnostics: str = '/diagnostics'


@dataclass(frozen=True)
class CameraInfoStamp:
    stamp_ns: int
    width: int
    height: int
    k: tuple[float, ...]


@dataclass(frozen=True)
class ModelSeen:
    """The segmentation node's /diagnostics at one time."""

    stamp_ns: int
    source: str  # 'model' | 'geometric'
    version: str
    sha256: str


@dataclass
class BagScan:
    """First pass: everything small."""

    picks: dict[str, PickRecord] = field(default_factory=dict)  # record id -> last version seen
    decisions: dict[int, GraspDecision] = field(default_factory=dict)  # frame stamp -> decision
    infos: list[CameraInfoStamp] = field(default_factory=list)  # in recording order
    models: list[ModelSeen] = field(default_factory=list)
    split_spans: dict[Path, tuple[int, int]] = field(default_factory=dict)  # camera_info header stamps per split

    def camera_info(self, stamp_ns: int) -> CameraInfoStamp | None:
        """The camera_info in effect at ``stamp_ns``: the latest at or before it, else the first after."""
        before = [i for i in self.infos if i.stamp_ns <= stamp_ns]
        if before:
            return max(before, key=lambda i: i.stamp_ns)
        return min(self.infos, key=lambda i: i.stamp_ns) if self.infos else None

    def model_at(self, stamp_ns: int) -> ModelSeen | None:
        """The segmentation model reported last at or before ``stamp_ns`` (else the first report)."""
        before = [m for m in self.models if m.stamp_ns <= stamp_ns]
        if before:
            return max(before, key=lambda m: m.stamp_ns)
        return min(self.models, key=lambda m: m.stamp_ns) if self.models else None


def recording_sessions(path: Path | str) -> list[list[Path]]:
    """The splits under ``path`` grouped by recording session, in order.

    The recorder names splits ``<prefix>_<date>_<time>_<NNNN>``; one session is one recorder run.
    Sim time starts again at every run, so frames are matched to pick records only within their
    session (a folder with bounded disk use often holds the tail of the previous run).

    Raises:
        FileNotFoundError: ``path`` holds no bag.
    """
    groups: dict[str, list[Path]] = {}
    for split in find_splits(path):
        m = _SPLIT_NAME.match(split.name)
        groups.setdefault(m['session'] if m else split.name, []).append(split)
    return list(groups.values())


def _read(splits: list[Path], report: SkipReport, keep: Callable[[str], bool]) -> Iterator[BagMessage]:
    for split in splits:
        for msg in read_split(split, report, keep):
            report.read += 1
            yield msg


def scan_bag(splits: list[Path], report: SkipReport, names: DiffTopics | None = None) -> BagScan:
    """First pass over one session's splits."""
    t = names or DiffTopics()
    wanted = {t.pick_records, t.decisions, t.info, t.diagnostics}
    out = BagScan()
    for msg in _read(splits, report, lambda topic: topic in wanted):
        try:
            if msg.topic == t.pick_records:
                rec = from_json(deserialize_message(msg.data, String).data, PickRecord)
                out.picks.pop(rec.record_id, None)  # re-sent: keep the last version, in its order
                out.picks[rec.record_id] = rec
            elif msg.topic == t.decisions:
                d = GraspDecision.model_validate_json(deserialize_message(msg.data, String).data)
                out.decisions[d.stamp_ns] = d
            elif msg.topic == t.info:
                info = deserialize_message(msg.data, CameraInfo)
                stamp = header_stamp_ns(msg.data)
                out.infos.append(CameraInfoStamp(stamp, int(info.width), int(info.height),
                                                 tuple(float(v) for v in info.k)))
                lo, hi = out.split_spans.get(msg.split, (stamp, stamp))
                out.split_spans[msg.split] = (min(lo, stamp), max(hi, stamp))
            elif msg.topic == t.diagnostics:
                out.models += _segmentation_status(deserialize_message(msg.data, DiagnosticArray), msg.stamp_ns)
        except Exception as exc:  # noqa: BLE001 - a bad message is skipped and reported, never fatal
            report.skip(msg.topic, f'undecodable: {type(exc).__name__}: {str(exc)[:160]}')
    return out


def _segmentation_status(arr: DiagnosticArray, log_ns: int) -> list[ModelSeen]:
    out = []
    for st in arr.status:
        if not st.name.endswith(': segmentation'):
            continue
        values = {kv.key: kv.value for kv in st.values}
        if 'source' in values:
            stamp = arr.header.stamp.sec * 1_000_000_000 + arr.header.stamp.nanosec or log_ns
            out.append(ModelSeen(stamp, values['source'], values.get('model_version', 'none'),
                                 values.get('model_sha256', 'none')))
    return out


@dataclass
class RecordedFrame:
    """The camera frame (and what perception made of it) behind one decision; any part may be missing."""

    stamp_ns: int
    rgb: np.ndarray | None = None  # (H, W, 3) uint8
    depth_m: np.ndarray | None = None  # (H, W) float32 [m], NaN invalid
    depth_stamp_ns: int | None = None
    labels: np.ndarray | None = None  # recorded perception output
    table: np.ndarray | None = None
    #: joint states recorded near the frame: header stamp -> {joint name: position [rad]}
    joints: dict[int, dict[str, float]] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [k for k in ('rgb', 'depth_m', 'labels', 'table') if getattr(self, k) is None]


def load_frames(
    splits: list[Path],
    scan: BagScan,
    stamps: Iterable[tuple[int, int]],
    report: SkipReport,
    *,
    depth_tolerance_ns: int = 5_000_000,
    joint_window_ns: int = 0,
    names: DiffTopics | None = None,
) -> dict[int, RecordedFrame]:
    """Second pass: colour, aligned depth, recorded labels and table for each (colour stamp, depth stamp).

    Colour, labels and table are matched by exact header stamp; depth by the stamp the pick record
    names, else the nearest within ``depth_tolerance_ns`` (how the segmentation node paired them);
    joint states by header stamp within ``joint_window_ns`` of the colour stamp (0: none read).
    """
    t = names or DiffTopics()
    collect = _FrameCollector(dict(stamps), t, report, depth_tolerance_ns, joint_window_ns)
    if not collect.want:
        return collect.frames
    near = [*collect.want, *collect.want.values()]
    image_topics = {t.color, t.depth, t.labels, t.table} | ({t.joint_states} if joint_window_ns > 0 else set())
    scratch = SkipReport()  # damage was reported by the first pass
    for split in splits:
        if _may_hold(scan, split, near, depth_tolerance_ns + 1_000_000_000):
            for msg in read_split(split, scratch, lambda topic: topic in image_topics):
                collect.take(msg)
    return collect.finish()


class _FrameCollector:
    """Keeps the messages of the wanted frames (depth: the nearest one) while the bag streams by."""

    def __init__(self, want: dict[int, int], names: DiffTopics, report: SkipReport, depth_tolerance_ns: int,
                 joint_window_ns: int = 0) -> None:
        self.want = want  # colour stamp -> depth stamp
        self.t = names
        self.report = report
        self.tol = depth_tolerance_ns
        self.joint_window = joint_window_ns
        self._sorted = sorted(want)
        self.frames = {s: RecordedFrame(s) for s in want}
        self._depth: dict[int, tuple[int, bytes]] = {}  # colour stamp -> (depth stamp, CDR)

    def take(self, msg: BagMessage) -> None:
        t = self.t
        try:
            stamp = header_stamp_ns(msg.data)
        except ValueError as exc:
            self.report.skip(msg.topic, f'no header stamp: {exc}')
            return
        try:
            if msg.topic == t.joint_states:
                self._joint_state(stamp, msg.data)
            elif msg.topic == t.depth:
                for color_ns, depth_ns in self.want.items():
                    dist = abs(stamp - depth_ns)
                    held = self._depth.get(color_ns)
                    if dist <= self.tol and (held is None or dist < abs(held[0] - depth_ns)):
                        self._depth[color_ns] = (stamp, msg.data)
            elif (f := self.frames.get(stamp)) is not None:
                if msg.topic == t.color:
                    img = deserialize_message(msg.data, Image)
                    f.rgb = _rgb(image_to_numpy(img, expect=('rgb8', 'bgr8')), img.encoding)
                elif msg.topic == t.labels:
                    f.labels = image_to_numpy(deserialize_message(msg.data, Image), expect=('mono16', '16UC1'))
                elif msg.topic == t.table:
                    f.table = cloud_to_instances(deserialize_message(msg.data, PointCloud2))
        except Exception as exc:  # noqa: BLE001 - one bad frame must not stop the others
            self.report.skip(msg.topic, f'undecodable: {type(exc).__name__}: {str(exc)[:160]}')

    def _joint_state(self, stamp: int, data: bytes) -> None:
        lo = bisect.bisect_left(self._sorted, stamp - self.joint_window)
        hi = bisect.bisect_right(self._sorted, stamp + self.joint_window)
        if lo == hi:
            return  # near no wanted frame: not decoded (the stream runs at 100+ Hz)
        msg = deserialize_message(data, JointState)
        if len(msg.position) != len(msg.name):
            raise ValueError(f'{len(msg.name)} joint names but {len(msg.position)} positions')
        joints = {str(n): float(p) for n, p in zip(msg.name, msg.position, strict=True)}
        for color_ns in self._sorted[lo:hi]:
            self.frames[color_ns].joints[stamp] = joints

    def finish(self) -> dict[int, RecordedFrame]:
        for color_ns, (depth_ns, data) in self._depth.items():
            try:
                self.frames[color_ns].depth_m = depth_to_meters(deserialize_message(data, Image))
                self.frames[color_ns].depth_stamp_ns = depth_ns
            except Exception as exc:  # noqa: BLE001
                self.report.skip(self.t.depth, f'undecodable: {type(exc).__name__}: {str(exc)[:160]}')
        return self.frames


def _may_hold(scan: BagScan, split: Path, stamps: list[int], margin_ns: int) -> bool:
    """False only when the first pass saw this split's camera stamps and none is near a wanted one."""
    span = scan.split_spans.get(split)
    return span is None or any(span[0] - margin_ns <= s <= span[1] + margin_ns for s in stamps)


def _rgb(arr: np.ndarray, encoding: str) -> np.ndarray:
    return np.ascontiguousarray(arr[..., ::-1]) if encoding == 'bgr8' else arr
