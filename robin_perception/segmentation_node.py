"""ROS 2 adapter: colour + depth in, instance labels + table + debug overlay out.

All algorithms live in plain modules (SegmentationPipeline); this node only subscribes, pairs
frames by stamp, hands the newest pair to one worker thread (older pairs are dropped, never
queued), publishes and reports to /diagnostics.
"""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # before onnxruntime/numpy spin up thread pools

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import String

from robin_core import topics
from robin_core.diagnostics import ERROR, OK, WARN, DiagnosticsPublisher, Status
from robin_core.image_codec import ImageFormatError, Stamp, depth_to_meters, image_to_numpy, numpy_to_image
from robin_core.instance_table import PACKAGE_TYPES, instances_to_cloud
from robin_core.node_main import run_node
from robin_core.params import declare
from robin_core.qos import LATCHED, RELIABLE, SENSOR
from robin_core.records import ModelInfo, to_msg
from robin_core.ros_env import share_dir
from robin_perception.belt_height import BeltFitError, BeltPlane
from robin_perception.camera_intrinsics import Intrinsics
from robin_perception.debug_overlay import render_overlay
from robin_perception.geometric_segmenter import GeometricParams
from robin_perception.instance_grouping import GroupingParams
from robin_perception.latency_stats import LatencyWindow
from robin_perception.model_source import ModelChoice, choose_model, registry_root
from robin_perception.offline_segmentation import drop_instances
from robin_perception.onnx_model import DEFAULT_PROVIDERS, ModelLoadError, OnnxModel
from robin_perception.segmentation_pipeline import SegmentationPipeline
from robin_perception.stamp_matcher import StampMatcher
from robin_perception.workspace_mask import BeltWorkspace, WorkspaceMasker

DEFAULT_MODEL = 'models/universal/package_seg.onnx'
FAULT_HOLD_S = 5.0  # a frame fault stays visible in /diagnostics this long


class SegmentationNode(Node):
    """Segments every matched colour/depth pair (newest first) with the model or the fallback."""

    def __init__(self, **kwargs) -> None:
        super().__init__('segmentation', **kwargs)
        p = self._params()
        self._matcher: StampMatcher[Image, Image] = StampMatcher(int(p['stamp_tolerance_ms'] * 1e6), depth=4)
        self._intrinsics: Intrinsics | None = None
        self._latency = LatencyWindow()
        self._lock = threading.Lock()
        self._pending: tuple[int, Image, Image] | None = None
        self._wake = threading.Event()
        self._stop = False
        self._frames = self._dropped = self._errors = 0
        self._fault: tuple[float, str] | None = None
        self._model_fault = ''
        self._choice: ModelChoice | None = None
        self._pipeline = self._build_pipeline(p)
        self._plane = self._cell_plane() if p['belt_plane_source'] == 'cell' else None
        self._restrict_to_belt = bool(p['restrict_to_belt'])

        self._pub_labels = self.create_publisher(Image, topics.INSTANCE_LABELS, RELIABLE)
        self._pub_table = self.create_publisher(PointCloud2, topics.INSTANCE_TABLE, RELIABLE)
        self._pub_overlay = (self.create_publisher(Image, topics.PERCEPTION_OVERLAY, SENSOR)
                             if p['publish_overlay'] else None)
        # which segmenter and model version the instances come from: pick records carry it
        self._pub_model = self.create_publisher(String, topics.PERCEPTION_MODEL_INFO, LATCHED)
        self._pub_model.publish(to_msg(self._model_info()))
        self.create_subscription(Image, topics.COLOR_IMAGE, self._on_color, SENSOR)
        self.create_subscription(Image, topics.DEPTH_IMAGE, self._on_depth, SENSOR)
        self.create_subscription(CameraInfo, topics.COLOR_INFO, self._on_info, SENSOR)
        self._diag = DiagnosticsPublisher(self, period_s=1.0)
        self._diag.add('segmentation', self._status)
        self._worker = threading.Thread(target=self._work, name='segmentation', daemon=True)
        self._worker.start()

    # ---------------------------------------------------------------- set-up
    def _params(self) -> dict:
        p = {
            'model_ref': declare(self, 'model_ref', 'production',
                                 'registry alias (production, canary, candidate) or version to load; '
                                 'env ROBIN_MODEL_REF overrides it; empty = the shipped universal model file'),
            'model_registry': declare(self, 'model_registry', '',
                                      'registry root; empty = $ROBIN_MODEL_REGISTRY, else models/registry'),
            'model_path': declare(self, 'model_path', '',
                                  'explicit ONNX file (bypasses model_ref); empty = use model_ref'),
            'execution_providers': declare(self, 'execution_providers', list(DEFAULT_PROVIDERS),
                                           'onnxruntime providers in order of preference (missing ones skipped)'),
            'intra_op_threads': declare(self, 'intra_op_threads', 2, 'onnxruntime intra-op threads',
                                        low=1, high=64),
            'inter_op_threads': declare(self, 'inter_op_threads', 1, 'onnxruntime inter-op threads', low=1, high=16),
            'class_names': declare(self, 'class_names', list(PACKAGE_TYPES), 'package types the model must have'),
            'input_height': declare(self, 'input_height', 240, 'network input height [px]', low=32, high=2048),
            'input_width': declare(self, 'input_width', 320, 'network input width [px]', low=32, high=4096),
            'stamp_tolerance_ms': declare(self, 'stamp_tolerance_ms', 5.0,
                                          'largest colour/depth stamp difference to pair [ms]', low=0.0, high=200.0),
            'fg_threshold': declare(self, 'fg_threshold', 0.5, 'foreground probability threshold', low=0.05, high=0.95),
            'center_threshold': declare(self, 'center_threshold', 0.12, 'instance centre heatmap threshold',
                                        low=0.01, high=0.95),
            'min_score': declare(self, 'min_score', 0.0, 'instances below this confidence are not published',
                                 low=0.0, high=1.0),
            'cross_check': declare(self, 'cross_check', True, 'run the depth-only segmenter for geometric_iou'),
            'publish_overlay': declare(self, 'publish_overlay', True, 'publish the rgb8 debug overlay'),
            'belt_plane_source': declare(self, 'belt_plane_source', 'cell',
                                         'cell: belt plane from the cell description (camera extrinsics); '
                                         'fit: fit the lowest large plane in every depth frame',
                                         choices=('cell', 'fit')),
            'restrict_to_belt': declare(self, 'restrict_to_belt', True,
                                        'drop segments that are not over the belt between the rails (rails, '
                                        'drive robot, floor), using the cell description'),
            'geometric_min_height_m': declare(self, 'geometric_min_height_m', 0.006,
                                              'depth-only segmenter: package height threshold [m]',
                                              low=0.001, high=0.1),
            'geometric_step_m': declare(self, 'geometric_step_m', 0.008,
                                        'depth-only segmenter: height step that separates packages [m]',
                                        low=0.001, high=0.2),
        }
        self._min_score = float(p['min_score'])
        self._class_names = tuple(p['class_names'])
        return p

    def _build_pipeline(self, p: dict) -> SegmentationPipeline:
        grouping = GroupingParams(fg_threshold=p['fg_threshold'], center_threshold=p['center_threshold'])
        geometric = GeometricParams(min_height_m=p['geometric_min_height_m'], step_m=p['geometric_step_m'])
        choice = self._choice = choose_model(p['model_ref'], p['model_path'], share_dir() / DEFAULT_MODEL,
                                             registry_root(p['model_registry'], share_dir()))
        path = choice.path
        try:
            if path is None:
                raise ModelLoadError(choice.error)
            model = OnnxModel(path, providers=p['execution_providers'], intra_op_threads=p['intra_op_threads'],
                              inter_op_threads=p['inter_op_threads'],
                              expect_classes=self._class_names,
                              expect_input_hw=(p['input_height'], p['input_width']))
            self.get_logger().info(f'model {path} v{model.metadata.version} sha256 {model.sha256[:12]} '
                                   f'on {model.providers[0]} (ref {choice.ref!r} from {choice.source}, '
                                   f'registry version {choice.version})')
        except ModelLoadError as exc:
            model = None
            self._model_fault = str(exc)
            self.get_logger().error(f'{exc} -> falling back to the depth-only geometric segmenter')
        return SegmentationPipeline(model, grouping, geometric, cross_check=bool(p['cross_check']))

    def _model_info(self) -> ModelInfo:
        model, choice = self._pipeline.model, self._choice
        if model is None:
            return ModelInfo(segmenter='geometric', model_ref=choice.ref if choice else '')
        return ModelInfo(segmenter='model', model_version=model.metadata.version, model_sha256=model.sha256,
                         model_ref=choice.ref if choice else '', registry_version=choice.version if choice else None)

    def _cell_plane(self) -> BeltPlane | None:
        try:
            from robin_core.cell_description import default_cell  # noqa: PLC0415 - optional: fit without it

            cell = default_cell()
            return BeltPlane.from_extrinsics(cell.camera.T_base_optical, cell.pick_area.belt_z)
        except Exception as exc:  # noqa: BLE001 - any problem with the description: fit instead
            self.get_logger().warning(f'no belt plane from the cell description ({exc}); fitting per frame')
            return None

    # ------------------------------------------------------------- callbacks
    def _on_info(self, msg: CameraInfo) -> None:
        if msg.width and msg.height and msg.k[0] > 0:
            self._intrinsics = Intrinsics.from_k(msg.k, msg.width, msg.height)
            if self._restrict_to_belt and self._pipeline.workspace is None:
                self._pipeline.workspace = self._belt_workspace(np.array(msg.k, dtype=float).reshape(3, 3))

    def _belt_workspace(self, k: np.ndarray) -> WorkspaceMasker | None:
        try:
            from robin_core.cell_description import default_cell  # noqa: PLC0415 - optional, as for the plane

            cell = default_cell()
        except Exception as exc:  # noqa: BLE001 - no description: keep every segment, say so once
            self.get_logger().warning(f'no cell description ({exc}); segments are not restricted to the belt')
            self._restrict_to_belt = False
            return None
        pa = cell.pick_area
        return WorkspaceMasker(k, cell.camera.T_base_optical, BeltWorkspace(pa.belt_x_range, pa.belt_y_range,
                                                                             pa.belt_z))

    def _on_color(self, msg: Image) -> None:
        self._offer(self._matcher.add_color(Stamp.from_msg(msg.header.stamp).nanoseconds, msg))

    def _on_depth(self, msg: Image) -> None:
        self._offer(self._matcher.add_depth(Stamp.from_msg(msg.header.stamp).nanoseconds, msg))

    def _offer(self, pair: tuple[int, Image, Image] | None) -> None:
        if pair is None:
            return
        with self._lock:
            if self._pending is not None:
                self._dropped += 1  # the worker is busy: the older pair is stale, replace it
            self._pending = pair
        self._wake.set()

    # ---------------------------------------------------------------- worker
    def _work(self) -> None:
        while not self._stop:
            if not self._wake.wait(0.2):
                continue
            with self._lock:
                pair, self._pending = self._pending, None
                self._wake.clear()
            if pair is None:
                continue
            try:
                self._process(*pair)
            except (ImageFormatError, BeltFitError, ValueError) as exc:
                self._report(str(exc))
            except Exception as exc:  # noqa: BLE001 - the node must survive any bad frame
                self._report(f'{type(exc).__name__}: {exc}')

    def _report(self, text: str) -> None:
        self._errors += 1
        self._fault = (time.monotonic(), text)
        self.get_logger().error(f'frame rejected: {text}', throttle_duration_sec=2.0)

    def _process(self, stamp_ns: int, color: Image, depth: Image) -> None:
        t0 = time.perf_counter()
        rgb = image_to_numpy(color, expect=('rgb8', 'bgr8'))
        if color.encoding == 'bgr8':
            rgb = rgb[..., ::-1]
        depth_m = depth_to_meters(depth)
        if depth_m.shape != rgb.shape[:2]:
            raise ImageFormatError(f'colour {rgb.shape[1]}x{rgb.shape[0]} and depth {depth_m.shape[1]}x'
                                   f'{depth_m.shape[0]} differ: depth must be aligned to colour')
        if not np.isfinite(depth_m).any():
            raise ImageFormatError('depth image has no valid pixel')
        h, w = depth_m.shape
        intr = self._intrinsics
        if intr is None or (intr.width, intr.height) != (w, h):
            intr = intr.scaled(w, h) if intr is not None else Intrinsics.default(w, h)
        res = self._pipeline.run(np.ascontiguousarray(rgb), depth_m, intr, self._plane)
        labels, table = res.labels, res.table
        if self._min_score > 0 and len(table):
            drop = table['id'][table['score'] < self._min_score]
            if drop.size:
                labels, table = drop_instances(labels, table, drop)
        header = color.header
        self._pub_labels.publish(numpy_to_image(labels, 'mono16', header))
        self._pub_table.publish(instances_to_cloud(table, header))
        if self._pub_overlay is not None:
            self._pub_overlay.publish(numpy_to_image(render_overlay(rgb, labels, table, self._class_names), 'rgb8',
                                                     header))
        self._latency.add((time.perf_counter() - t0) * 1e3)
        self._frames += 1

    # ----------------------------------------------------------- diagnostics
    def _status(self) -> Status:
        model = self._pipeline.model
        stats = self._matcher.stats
        values = {
            'source': 'model' if model else 'geometric',
            'model_version': model.metadata.version if model else 'none',
            'model_sha256': model.sha256 if model else 'none',
            'model_ref': self._choice.ref if self._choice else '',
            'model_ref_source': self._choice.source if self._choice else '',
            'registry_version': (self._choice.version or 'none') if self._choice else 'none',
            'execution_provider': model.providers[0] if model else 'none',
            'latency_ms_p50': self._latency.percentile(50),
            'latency_ms_p99': self._latency.percentile(99),
            'frames': self._frames,
            'dropped_stale_pairs': self._dropped,
            'unmatched_color': stats.dropped_color,
            'unmatched_depth': stats.dropped_depth,
            'rejected_frames': self._errors,
        }
        if self._fault and time.monotonic() - self._fault[0] < FAULT_HOLD_S:
            return Status(ERROR, f'bad input: {self._fault[1]}', values)
        if self._choice is not None and not self._choice.ok:
            return Status(ERROR, f'{self._choice.error} -> geometric fallback', values)
        if model is None:
            return Status(WARN, f'model unavailable, geometric fallback: {self._model_fault}', values)
        return Status(OK, 'ok', values)

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._worker.join(timeout=2.0)


def main(args: list[str] | None = None) -> int:
    return run_node(SegmentationNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
