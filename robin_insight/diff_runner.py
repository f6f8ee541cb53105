"""Re-decide every recorded pick offline and compare: the work behind ``robin-diff``.

For each pick record of a recording: its colour + aligned depth frame and the camera_info in
effect are read from the bag, segmented with :class:`~robin_perception.offline_segmentation.FrameSegmenter`
(the recorded model, another ONNX, or the depth-only segmenter) and planned with
:func:`~robin_grasp.frame_planning.plan_frame` — the function the grasp planner node runs — with
the unhealthy cups the planner used (from the recorded decision) and the arm mask it drew from the
recorded joint states (robin_insight/replay_arm_mask.py). The grasp of the same rank is
compared with what the record says was executed. No DDS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robin_core.cell_description import CellDescription
from robin_core.records import PickRecord
from robin_core.ros_env import share_dir
from robin_grasp.frame_planning import PlanningFrame, intrinsics_from_k, plan_frame, unhealthy_mask
from robin_grasp.grasp_config import config_from_values
from robin_grasp.grasp_planner import PlannerConfig
from robin_insight.bag_source import SkipReport
from robin_insight.decision_bag import BagScan, RecordedFrame, load_frames, recording_sessions, scan_bag
from robin_insight.decision_diff import DiffTolerance, PickDecision, compare, rank_of
from robin_insight.diff_images import panel, side_by_side
from robin_insight.diff_report import DiffReport, PickEntry
from robin_insight.model_lookup import find_model_by_sha
from robin_insight.overlay import png_bytes
from robin_insight.replay_arm_mask import ReplayArmMask
from robin_perception.offline_segmentation import FrameSegmenter, SegmentationSettings, load_model
from robin_perception.onnx_model import ModelLoadError

GEOMETRIC = 'geometric'
DEFAULT_MODEL = Path('models/universal/package_seg.onnx')


@dataclass(frozen=True)
class DiffOptions:
    """What to run over the recording.

    Attributes:
        model: an ONNX file, ``'geometric'`` (depth-only segmenter), or None = the model the cell ran.
        perception_params: segmentation node parameter values (``config/perception.yaml``).
        planner_params: grasp planner parameter values (``config/grasp.yaml``).
        tolerance: what counts as a change.
        images: 'changed' (default), 'all' or 'none'.
    """

    model: Path | str | None
    perception_params: Mapping[str, Any]
    planner_params: Mapping[str, Any]
    tolerance: DiffTolerance = field(default_factory=DiffTolerance)
    images: str = 'changed'


class _Segmenters:
    """One FrameSegmenter per model actually needed (a recording may span a model rollout)."""

    def __init__(self, settings: SegmentationSettings, cell: CellDescription) -> None:
        self.settings, self.cell = settings, cell
        self._cache: dict[str, FrameSegmenter | ModelLoadError] = {}

    def get(self, key: str) -> FrameSegmenter:
        """``key``: 'geometric' or a model path. Raises ModelLoadError (remembered: loaded once)."""
        if key not in self._cache:
            try:
                model = None if key == GEOMETRIC else load_model(Path(key), self.settings)
                self._cache[key] = FrameSegmenter(model, self.settings, self.cell)
            except ModelLoadError as exc:
                self._cache[key] = exc
        got = self._cache[key]
        if isinstance(got, ModelLoadError):
            raise got
        return got


def model_key(model: Path | str) -> str:
    return GEOMETRIC if str(model) == GEOMETRIC else str(model)


def describe_model(model: Path | str | None) -> str:
    if model is None:
        return 'recorded (the model the segmentation node reported in /diagnostics)'
    return 'geometric (depth-only segmenter)' if str(model) == GEOMETRIC else str(model)


def recorded_model_key(rec: PickRecord, scan: BagScan, stamp_ns: int) -> tuple[str | None, str]:
    """(model key, description) for the model the cell ran on this frame; key None: not available."""
    seen = scan.model_at(stamp_ns)
    sha = rec.model_sha256 or (seen.sha256 if seen is not None and seen.source == 'model' else None)
    if sha:
        path = find_model_by_sha(sha)
        if path is None:
            return None, f'recorded model sha256 {sha[:12]} not found under models/ (pass --model)'
        return str(path), f'recorded: {path} (sha256 {sha[:12]})'
    if seen is not None and seen.source == GEOMETRIC:
        return GEOMETRIC, 'recorded: geometric fallback'
    return str(share_dir() / DEFAULT_MODEL), f'assumed: {DEFAULT_MODEL} (no model reported in the recording)'


def run_diff(bag: Path | str, options: DiffOptions, cell: CellDescription, out_dir: Path | None = None,
             *, progress: Callable[[str], None] = lambda _s: None) -> DiffReport:
    """Compare every pick record of ``bag``; PNGs go to ``out_dir/images``.

    Raises:
        FileNotFoundError: ``bag`` holds no recording.
        ModelLoadError: the model given in ``options`` cannot be loaded.
        ValueError: inconsistent planner parameters.
    """
    settings = SegmentationSettings.from_params(options.perception_params)
    differ = _Differ(options, _Segmenters(settings, cell), config_from_values(options.planner_params), cell, out_dir,
                     ReplayArmMask(cell, options.planner_params))
    if options.model is not None:  # an explicit model must load, else nothing can be compared
        differ.segmenters.get(model_key(options.model))
    report = DiffReport(str(bag), describe_model(options.model), '', '', bag_report=SkipReport())
    for splits in recording_sessions(bag):
        differ.session(splits, report, progress)
    return report


@dataclass
class _Differ:
    options: DiffOptions
    segmenters: _Segmenters
    config: PlannerConfig
    cell: CellDescription
    out_dir: Path | None
    arm: ReplayArmMask

    def session(self, splits: list[Path], report: DiffReport, progress: Callable[[str], None]) -> None:
        """Compare the pick records of one recording session (sim time is unique only within one)."""
        scan = scan_bag(splits, report.bag_report)
        todo: list[PickRecord] = []
        for rec in scan.picks.values():
            if rec.target is None or rec.suction_pose is None:
                report.skipped.append((rec.record_id, f'no grasp in the record (outcome {rec.outcome})'))
            elif rec.color_stamp_ns is None:
                report.skipped.append((rec.record_id, 'the record names no camera frame (color_stamp_ns)'))
            else:
                todo.append(rec)
        stamps = [(r.color_stamp_ns, r.depth_stamp_ns or r.color_stamp_ns) for r in todo]
        frames = load_frames(splits, scan, stamps, report.bag_report,  # type: ignore[arg-type]
                             joint_window_ns=self.arm.window_ns)
        for rec in todo:
            progress(rec.record_id)
            entry = self.compare(rec, frames[rec.color_stamp_ns], scan)  # type: ignore[index]
            if isinstance(entry, str):
                report.skipped.append((rec.record_id, entry))
            else:
                report.entries.append(entry)

    def _model(self, rec: PickRecord, stamp_ns: int, scan: BagScan) -> tuple[str | None, str]:
        model = self.options.model
        if model is None:
            return recorded_model_key(rec, scan, stamp_ns)
        return model_key(model), describe_model(model)

    def compare(self, rec: PickRecord, frame: RecordedFrame, scan: BagScan) -> PickEntry | str:
        """The pick's entry, or why it was skipped."""
        if frame.rgb is None or frame.depth_m is None:
            return f"frame at {frame.stamp_ns} ns not in the recording ({', '.join(frame.missing[:2])} missing)"
        info = scan.camera_info(frame.stamp_ns)
        if info is None:
            return 'no camera_info recorded'
        key, model_text = self._model(rec, frame.stamp_ns, scan)
        if key is None:
            return model_text
        try:
            seg = self.segmenters.get(key).run(frame.rgb, frame.depth_m, info.k, (info.width, info.height))
        except ModelLoadError as exc:
            return f'model: {exc}'
        except Exception as exc:  # noqa: BLE001 - a frame the node would also have rejected
            return f'perception rejected the frame: {type(exc).__name__}: {exc}'
        recorded_decision = scan.decisions.get(frame.stamp_ns)
        suspect: list[int] = []
        if recorded_decision is not None:
            bad_cups, cups_from = recorded_decision.unhealthy_cups, 'recorded decision'
            suspect = recorded_decision.suspect_cups
        else:
            bad_cups, cups_from = rec.unhealthy_cups, 'pick record'
        intr = intrinsics_from_k(info.width, info.height, info.k)
        arm_mask, arm_from, carry = self.arm.mask(frame, recorded_decision, intr)
        planning = PlanningFrame(frame.stamp_ns, seg.table, seg.labels, frame.depth_m, intr, arm_mask,
                                 arm_carry=carry)
        n_cups = self.cell.gripper.num_cups
        decision, _ = plan_frame(planning, self.cell, self.config, unhealthy_mask(bad_cups, n_cups),
                                 unhealthy_mask(suspect, n_cups))
        rank, rank_from = rank_of(rec, recorded_decision)
        recorded, offline = PickDecision.from_record(rec), PickDecision.from_decision(decision, rank)
        diff = compare(rec.record_id, rank, recorded, offline, recorded_labels=frame.labels,
                       offline_labels=seg.labels, tol=self.options.tolerance)
        same_labels = None if frame.labels is None else bool(np.array_equal(frame.labels, seg.labels))
        entry = PickEntry(diff, frame.stamp_ns, rank_from, list(bad_cups), cups_from, model_text, same_labels,
                          (None if frame.table is None else len(frame.table), len(seg.table)), arm_from)
        images = self.options.images
        if self.out_dir is not None and (images == 'all' or (images == 'changed' and diff.changed)):
            left = panel(frame.rgb, frame.labels, frame.table, recorded, title='recorded (what the cell did)',
                         cell=self.cell, intr=intr)
            right = panel(frame.rgb, seg.labels, seg.table, offline, title=f'offline: {model_text}'[:80],
                          cell=self.cell, intr=intr)
            path = self.out_dir / 'images' / f'{rec.record_id}.png'
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png_bytes(side_by_side(left, right)))
            entry.image = str(path)
        return entry
