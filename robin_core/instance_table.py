"""The per-instance table that perception publishes and the grasp planner consumes.

One row per segmented package, sent as a PointCloud2 (see table_codec) next to a ``mono16``
label image whose pixel value is the row's ``id`` (0 = background). Positions are in the color
camera's optical frame (REP-103: x right, y down, z forward) in metres; pixel boxes are in the
label image's pixel grid, inclusive-exclusive.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Header

from robin_core.table_codec import cloud_to_table, table_to_cloud

#: Package types the shipped model knows; a model's metadata may extend it (ids are indices).
PACKAGE_TYPES: tuple[str, ...] = ('box', 'poly_mailer', 'padded_mailer', 'flat_envelope')

INSTANCE_DTYPE = np.dtype(
    [
        ('id', np.uint32),  # label value in the label image, 1..N
        ('type_id', np.uint32),  # index into the model's class list
        ('score', np.float32),  # instance confidence in [0, 1]
        ('type_score', np.float32),  # confidence of type_id in [0, 1]
        ('x', np.float32),  # centroid of the visible top surface, camera frame [m]
        ('y', np.float32),
        ('z', np.float32),
        ('u0', np.int32),  # bounding box [px]
        ('v0', np.int32),
        ('u1', np.int32),
        ('v1', np.int32),
        ('area_px', np.uint32),  # visible mask area [px]
        ('area_m2', np.float32),  # visible top area projected on the belt plane [m^2]
        ('height_top', np.float32),  # highest point above the belt [m] (robust percentile)
        ('height_mean', np.float32),  # mean height above the belt [m]
        ('occluded_by', np.uint32),  # number of instances lying on top of this one
        ('touches_border', np.uint8),  # 1 when the mask touches the image border (not fully visible)
        ('geometric_iou', np.float32),  # IoU with the depth-only segmenter's best match (NaN: not run)
    ]
)


def empty_table(n: int = 0) -> np.ndarray:
    return np.zeros(n, dtype=INSTANCE_DTYPE)


def instances_to_cloud(table: np.ndarray, header: Header | None = None) -> PointCloud2:
    return table_to_cloud(table.astype(INSTANCE_DTYPE, copy=False), header)


def cloud_to_instances(msg: PointCloud2) -> np.ndarray:
    return cloud_to_table(msg, INSTANCE_DTYPE)
