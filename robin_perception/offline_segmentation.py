"""Segment a recorded frame exactly as ``segmentation_node`` does, without ROS.

The node's per-frame work after decoding the messages: intrinsics from the latest camera_info
(rescaled if the image size differs, a default camera when there is none), the belt plane from
the cell's camera extrinsics (``belt_plane_source: cell``), the belt workspace mask from the
camera_info K (``restrict_to_belt``), :meth:`SegmentationPipeline.run`, then instances below
``min_score`` removed and the rest renumbered. :class:`FrameSegmenter` does those same steps from
the node's parameter values (``config/perception.yaml``), so the decision diff reproduces what
the cell perceived. No rclpy import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robin_core.cell_description import CellDescription
from robin_core.instance_table import PACKAGE_TYPES
from robin_perception.belt_height import BeltPlane
from robin_perception.camera_intrinsics import Intrinsics
from robin_perception.geometric_segmenter import GeometricParams
from robin_perception.instance_grouping import GroupingParams
from robin_perception.onnx_model import OnnxModel
from robin_perception.segmentation_pipeline import SegmentationPipeline
from robin_perception.workspace_mask import BeltWorkspace, WorkspaceMasker


@dataclass(frozen=True)
class SegmentationSettings:
    """The segmentation node's parameters that change its output (defaults = the node's)."""

    fg_threshold: float = 0.5
    center_threshold: float = 0.12
    min_score: float = 0.0
    cross_check: bool = True
    belt_plane_source: str = 'cell'
    restrict_to_belt: bool = True
    geometric_min_height_m: float = 0.006
    geometric_step_m: float = 0.008
    class_names: tuple[str, ...] = PACKAGE_TYPES
    input_height: int = 240
    input_width: int = 320
    intra_op_threads: int = 2

    @classmethod
    def from_params(cls, values: Mapping[str, Any]) -> SegmentationSettings:
        """From ROS parameter values (dotted names); unknown names are ignored, missing keep defaults."""
        d = cls()
        get = values.get
        return cls(
            fg_threshold=float(get('fg_threshold', d.fg_threshold)),
            center_threshold=float(get('center_threshold', d.center_threshold)),
            min_score=float(get('min_score', d.min_score)),
            cross_check=bool(get('cross_check', d.cross_check)),
            belt_plane_source=str(get('belt_plane_source', d.belt_plane_source)),
            restrict_to_belt=bool(get('restrict_to_belt', d.restrict_to_belt)),
            geometric_min_height_m=float(get('geometric_min_height_m', d.geometric_min_height_m)),
            geometric_step_m=float(get('geometric_step_m', d.geometric_step_m)),
            class_names=tuple(get('class_names', d.class_names)),
            input_height=int(get('input_height', d.input_height)),
            input_width=int(get('input_width', d.input_width)),
            intra_op_threads=int(get('intra_op_threads', d.intra_op_threads)),
        )


def load_model(path: Path, settings: SegmentationSettings) -> OnnxModel:
    """The ONNX model on the CPU, checked against the configured classes and input size.

    Raises:
        ModelLoadError: missing/corrupt file or metadata contradicting the settings.
    """
    return OnnxModel(path, providers=('CPUExecutionProvider',), intra_op_threads=settings.intra_op_threads,
                     inter_op_threads=1, expect_classes=settings.class_names,
                     expect_input_hw=(settings.input_height, settings.input_width))


@dataclass
class SegmentedFrame:
    """Labels and instance table as the node would publish them."""

    labels: np.ndarray  # (H, W) uint16
    table: np.ndarray  # INSTANCE_DTYPE rows
    source: str  # 'model' | 'geometric'


class FrameSegmenter:
    """Segments single frames the way the node does.

    Args:
        model: loaded model, or None for the depth-only geometric segmenter.
        settings: the node's parameters.
        cell: camera extrinsics and belt geometry (belt plane, workspace mask).
    """

    def __init__(self, model: OnnxModel | None, settings: SegmentationSettings, cell: CellDescription) -> None:
        self.settings = settings
        self.cell = cell
        grouping = GroupingParams(fg_threshold=settings.fg_threshold, center_threshold=settings.center_threshold)
        geometric = GeometricParams(min_height_m=settings.geometric_min_height_m, step_m=settings.geometric_step_m)
        self.pipeline = SegmentationPipeline(model, grouping, geometric, cross_check=settings.cross_check)
        self._plane = (BeltPlane.from_extrinsics(cell.camera.T_base_optical, cell.pick_area.belt_z)
                       if settings.belt_plane_source == 'cell' else None)
        self._masks: dict[tuple[float, ...], WorkspaceMasker] = {}

    @property
    def source(self) -> str:
        return 'model' if self.pipeline.model is not None else 'geometric'

    def run(self, rgb: np.ndarray, depth_m: np.ndarray, k: np.ndarray | list[float] | None,
            info_size: tuple[int, int] | None) -> SegmentedFrame:
        """Segment one frame.

        Args:
            rgb: (H, W, 3) uint8 RGB.
            depth_m: (H, W) float32 aligned depth [m], NaN invalid.
            k: row-major 3x3 K of the camera_info in effect (None: none received).
            info_size: (width, height) of that camera_info.

        Raises:
            ValueError: colour and depth differ in size or depth has no valid pixel.
            BeltFitError: no belt plane could be fitted (``belt_plane_source: fit``).
        """
        if depth_m.shape != rgb.shape[:2]:
            raise ValueError(f'colour {rgb.shape[1]}x{rgb.shape[0]} and depth {depth_m.shape[1]}x{depth_m.shape[0]} '
                             'differ: depth must be aligned to colour')
        if not np.isfinite(depth_m).any():
            raise ValueError('depth image has no valid pixel')
        h, w = depth_m.shape
        have_info = k is not None and info_size is not None and info_size[0] > 0 and info_size[1] > 0 and k[0] > 0
        intr = Intrinsics.from_k(k, info_size[0], info_size[1]) if have_info else None
        if intr is None or (intr.width, intr.height) != (w, h):
            intr = intr.scaled(w, h) if intr is not None else Intrinsics.default(w, h)
        self.pipeline.workspace = self._workspace(k) if have_info and self.settings.restrict_to_belt else None
        res = self.pipeline.run(np.ascontiguousarray(rgb), depth_m, intr, self._plane)
        labels, table = res.labels, res.table
        if self.settings.min_score > 0 and len(table):
            drop = table['id'][table['score'] < self.settings.min_score]
            if drop.size:
                labels, table = drop_instances(labels, table, drop)
        return SegmentedFrame(labels, table, res.source)


    def _workspace(self, k: np.ndarray | list[float] | None) -> WorkspaceMasker:
        key = tuple(float(v) for v in np.asarray(k, float).reshape(-1))
        if key not in self._masks:
            pa = self.cell.pick_area
            self._masks[key] = WorkspaceMasker(np.asarray(key).reshape(3, 3), self.cell.camera.T_base_optical,
                                               BeltWorkspace(pa.belt_x_range, pa.belt_y_range, pa.belt_z))
        return self._masks[key]


def drop_instances(labels: np.ndarray, table: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove instances ``ids`` and renumber the rest 1..M (label values = table ids)."""
    n = int(table['id'].max()) if len(table) else 0
    lut = np.zeros(n + 1, np.uint16)
    keep = ~np.isin(table['id'], ids)
    lut[table['id'][keep]] = np.arange(1, int(keep.sum()) + 1)
    table = table[keep].copy()
    table['id'] = np.arange(1, len(table) + 1)
    return lut[labels], table
