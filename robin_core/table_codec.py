"""Typed tables (numpy structured arrays) <-> sensor_msgs/PointCloud2.

Per-instance and per-candidate tables travel as PointCloud2 with one "point" per row and named
fields: typed, self-describing, recordable in bags and viewable in standard tools, with no custom
interface package. Field order and types come from the structured dtype.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Header

_TO_FIELD = {
    np.dtype(np.int8): PointField.INT8,
    np.dtype(np.uint8): PointField.UINT8,
    np.dtype(np.int16): PointField.INT16,
    np.dtype(np.uint16): PointField.UINT16,
    np.dtype(np.int32): PointField.INT32,
    np.dtype(np.uint32): PointField.UINT32,
    np.dtype(np.float32): PointField.FLOAT32,
    np.dtype(np.float64): PointField.FLOAT64,
}
_FROM_FIELD = {v: k for k, v in _TO_FIELD.items()}


class TableFormatError(ValueError):
    """A PointCloud2 that cannot be read as the expected table."""


def table_to_cloud(table: np.ndarray, header: Header | None = None) -> PointCloud2:
    """Encode a 1-D structured array as a PointCloud2 (height 1, width = rows)."""
    if table.dtype.names is None or table.ndim != 1:
        raise TableFormatError('table must be a 1-D numpy structured array')
    fields = []
    for name in table.dtype.names:
        ftype, offset = table.dtype.fields[name][:2]
        count = 1
        if ftype.subdtype is not None:
            ftype, shape = ftype.subdtype
            count = int(np.prod(shape))
        base = ftype.newbyteorder('=')
        if base not in _TO_FIELD:
            raise TableFormatError(f"field '{name}' has unsupported dtype {ftype}")
        fields.append(PointField(name=name, offset=int(offset), datatype=_TO_FIELD[base], count=count))
    msg = PointCloud2()
    if header is not None:
        msg.header = header
    msg.height, msg.width = 1, int(table.shape[0])
    msg.fields = fields
    msg.is_bigendian = False
    msg.point_step = int(table.dtype.itemsize)
    msg.row_step = msg.point_step * msg.width
    msg.is_dense = True
    msg.data = np.ascontiguousarray(table).tobytes()
    return msg


def cloud_to_table(msg: PointCloud2, dtype: np.dtype | None = None) -> np.ndarray:
    """Decode a PointCloud2 into a structured array.

    With ``dtype`` given, every field of it must be present with the same type (extra fields in
    the message are ignored, so producers may add columns without breaking consumers).
    """
    names, formats, offsets = [], [], []
    for f in msg.fields:
        if f.datatype not in _FROM_FIELD:
            raise TableFormatError(f"field '{f.name}' has unknown datatype {f.datatype}")
        base = _FROM_FIELD[f.datatype].newbyteorder('>' if msg.is_bigendian else '<')
        names.append(f.name)
        formats.append((base, (f.count,)) if f.count > 1 else base)
        offsets.append(f.offset)
    n = int(msg.width) * int(msg.height)
    if n and len(msg.data) < n * msg.point_step:
        raise TableFormatError(f'buffer holds {len(msg.data)} bytes, expected {n * msg.point_step}')
    wire = np.dtype({'names': names, 'formats': formats, 'offsets': offsets, 'itemsize': msg.point_step})
    raw = np.frombuffer(msg.data, dtype=wire, count=n) if n else np.zeros(0, dtype=wire)
    if dtype is None:
        return raw.copy()
    if missing := [name for name in dtype.names if name not in names]:
        raise TableFormatError(f'table is missing fields: {", ".join(missing)}')
    out = np.zeros(n, dtype=dtype)
    for name in dtype.names:
        if raw.dtype[name].base.newbyteorder('=') != dtype[name].base:
            raise TableFormatError(f"field '{name}' is {raw.dtype[name]}, expected {dtype[name]}")
        out[name] = raw[name]
    return out
