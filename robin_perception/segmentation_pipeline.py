"""RGB-D frame -> label image + instance table, with the model or the depth-only fallback.

The node, ``evaluate`` and the latency benchmark all call :meth:`SegmentationPipeline.run`, so
what is measured is what runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from robin_perception.belt_height import BeltPlane
from robin_perception.camera_intrinsics import Intrinsics
from robin_perception.confidence_calibration import ConfidenceModel
from robin_perception.geometric_segmenter import GeometricParams, geometric_segment
from robin_perception.instance_grouping import Grouping, GroupingParams, group_instances, upsample_labels
from robin_perception.instance_table_builder import build_instance_table
from robin_perception.model_input import PreparedInput, prepare_input
from robin_perception.onnx_model import OnnxModel
from robin_perception.workspace_mask import WorkspaceMasker, restrict_labels


@dataclass
class SegmentationResult:
    """Output of one frame.

    Attributes:
        labels: (H, W) uint16 instance ids at camera resolution, 0 background.
        table: INSTANCE_DTYPE rows, ``id`` = label value.
        source: 'model' or 'geometric'.
        features: (N, F) confidence cues (model only, else empty).
        timings_ms: stage -> wall time [ms].
    """

    labels: np.ndarray
    table: np.ndarray
    source: str
    prepared: PreparedInput
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    grouping: Grouping | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


class SegmentationPipeline:
    """Model inference + grouping + table, or the geometric segmenter when ``model`` is None.

    Args:
        model: a loaded OnnxModel, or None for depth-only segmentation.
        grouping: grouping thresholds.
        geometric: depth-only segmenter thresholds.
        cross_check: also run the geometric segmenter to fill ``geometric_iou`` (~10-20 ms).
        confidence: instance confidence model (default: from the model metadata, else prior).
        workspace: belt mask from the cell geometry; segments off the belt (rails, drive robot,
            floor) are dropped. None keeps everything (e.g. evaluation on dataset frames).
    """

    def __init__(self, model: OnnxModel | None, grouping: GroupingParams | None = None,
                 geometric: GeometricParams | None = None, cross_check: bool = True,
                 confidence: ConfidenceModel | None = None, *, workspace: WorkspaceMasker | None = None) -> None:
        self.model = model
        self.workspace = workspace
        self.grouping = grouping or GroupingParams()
        self.geometric = geometric or GeometricParams()
        self.cross_check = cross_check
        if confidence is None and model is not None and model.metadata.confidence:
            confidence = ConfidenceModel.from_dict(model.metadata.confidence)
        self.confidence = confidence or ConfidenceModel.default()

    @property
    def input_hw(self) -> tuple[int, int]:
        return self.model.input_hw if self.model is not None else (240, 320)

    def run(self, rgb: np.ndarray, depth_m: np.ndarray, intrinsics: Intrinsics,
            plane: BeltPlane | None = None) -> SegmentationResult:
        """Segment one aligned RGB-D frame.

        Args:
            rgb: (H, W, 3) uint8 RGB.
            depth_m: (H, W) float32 depth [m], NaN invalid.
            intrinsics: camera model at (H, W).
            plane: known belt plane (skips the per-frame fit).

        Raises:
            BeltFitError: the belt could not be found in the depth image.
        """
        t = {}
        t0 = time.perf_counter()
        prep = prepare_input(rgb, depth_m, intrinsics, self.input_hw, plane)
        t['prepare'] = time.perf_counter()
        geo = geometric_segment(prep.height_m, self.geometric) if (self.cross_check or self.model is None) else None
        inside = self.workspace.mask(depth_m) if self.workspace is not None else None
        if geo is not None and inside is not None:
            geo = _compact(restrict_labels(geo, inside), int(geo.max()))[0]
        t['geometric'] = time.perf_counter()
        h, w = depth_m.shape
        if self.model is None:
            labels = geo
            table = build_instance_table(labels, depth_m, prep.height_m, intrinsics, score=None)
            table['score'] = 0.5  # depth-only: no learned confidence
            t['infer'] = t['group'] = t['geometric']
            t['table'] = time.perf_counter()
            return SegmentationResult(labels, table, 'geometric', prep, timings_ms=_ms(t0, t))
        sem, ctr, off = self.model.run(prep.rgbh)
        t['infer'] = time.perf_counter()
        g = group_instances(sem, ctr, off, self.grouping)
        labels = upsample_labels(g.labels, g.fg_prob, (h, w), self.grouping.fg_threshold)
        labels, keep = _compact(labels, len(g.type_id))
        if inside is not None:
            labels, kept = _compact(restrict_labels(labels, inside), len(keep))
            keep = keep[kept]
        t['group'] = time.perf_counter()
        feats = g.features[keep]
        table = build_instance_table(labels, depth_m, prep.height_m, intrinsics, type_id=g.type_id[keep],
                                     score=self.confidence.score(feats) if len(feats) else None,
                                     type_score=g.type_prob[keep].max(1) if len(feats) else None,
                                     reference_labels=geo)
        t['table'] = time.perf_counter()
        return SegmentationResult(labels, table, 'model', prep, feats, g, _ms(t0, t))


def _compact(labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber ids 1..M after upsampling may have erased tiny instances; return kept old indices."""
    present = np.zeros(n + 1, bool)
    present[np.unique(labels)] = True
    present[0] = False
    keep = np.flatnonzero(present[1:])
    if keep.size == n:
        return labels, keep
    lut = np.zeros(n + 1, np.uint16)
    lut[keep + 1] = np.arange(1, keep.size + 1)
    return lut[labels], keep


def _ms(t0: float, t: dict[str, float]) -> dict[str, float]:
    out, prev = {}, t0
    for k, v in t.items():
        out[k] = (v - prev) * 1e3
        prev = v
    out['total'] = (prev - t0) * 1e3
    return out
