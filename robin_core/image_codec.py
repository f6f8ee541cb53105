"""sensor_msgs/Image <-> numpy, vectorised (np.frombuffer, no per-pixel Python).

Depth follows REP-118: ``16UC1`` is millimetres with 0 meaning invalid, ``32FC1`` is metres with
NaN (or 0 / inf) meaning invalid. Helpers convert both to float32 metres with NaN for invalid.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image
from std_msgs.msg import Header

# encoding -> (dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    'rgb8': (np.dtype(np.uint8), 3),
    'bgr8': (np.dtype(np.uint8), 3),
    'rgba8': (np.dtype(np.uint8), 4),
    'bgra8': (np.dtype(np.uint8), 4),
    'mono8': (np.dtype(np.uint8), 1),
    '8UC1': (np.dtype(np.uint8), 1),
    'mono16': (np.dtype(np.uint16), 1),
    '16UC1': (np.dtype(np.uint16), 1),
    '32FC1': (np.dtype(np.float32), 1),
}

DEPTH_ENCODINGS = ('16UC1', '32FC1')


class ImageFormatError(ValueError):
    """An Image message whose encoding, size or buffer is not what the receiver can use."""


@dataclass(frozen=True)
class Stamp:
    """A ROS time as integer nanoseconds, hashable and comparable (for stamp matching)."""

    nanoseconds: int

    @classmethod
    def from_msg(cls, t: Time) -> Stamp:
        return cls(int(t.sec) * 1_000_000_000 + int(t.nanosec))

    def to_msg(self) -> Time:
        return Time(sec=self.nanoseconds // 1_000_000_000, nanosec=self.nanoseconds % 1_000_000_000)

    @property
    def seconds(self) -> float:
        return self.nanoseconds * 1e-9


def image_to_numpy(msg: Image, expect: tuple[str, ...] | None = None) -> np.ndarray:
    """Return a (H, W) or (H, W, C) array viewing ``msg.data`` (read-only, no copy when unpadded).

    Raises:
        ImageFormatError: unknown or unexpected encoding, or a buffer that does not match
            height/width/step.
    """
    if expect is not None and msg.encoding not in expect:
        msg_ = f"encoding '{msg.encoding}' not accepted here (expected one of {', '.join(expect)})"
        raise ImageFormatError(msg_)
    if msg.encoding not in ENCODINGS:
        raise ImageFormatError(f"unsupported image encoding '{msg.encoding}'")
    dtype, channels = ENCODINGS[msg.encoding]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = w * channels * dtype.itemsize
    if h == 0 or w == 0:
        raise ImageFormatError(f'empty image ({w}x{h})')
    if step < row_bytes:
        raise ImageFormatError(f'step {step} is smaller than width*channels*itemsize = {row_bytes}')
    if len(msg.data) < step * h:
        raise ImageFormatError(f'buffer holds {len(msg.data)} bytes, expected step*height = {step * h}')
    buf = np.frombuffer(msg.data, dtype=np.uint8, count=step * h).reshape(h, step)[:, :row_bytes]
    big = bool(msg.is_bigendian)
    arr = buf.view(dtype.newbyteorder('>' if big else '<')) if dtype.itemsize > 1 else buf.view(dtype)
    if dtype.itemsize > 1 and big != (sys.byteorder == 'big'):
        arr = arr.astype(dtype)  # native byte order for downstream maths
    return arr.reshape(h, w, channels) if channels > 1 else arr.reshape(h, w)


def numpy_to_image(arr: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """Build an Image from a C-contiguous array whose dtype/channels match ``encoding``."""
    if encoding not in ENCODINGS:
        raise ImageFormatError(f"unsupported image encoding '{encoding}'")
    dtype, channels = ENCODINGS[encoding]
    shape_ok = arr.ndim == 2 if channels == 1 else (arr.ndim == 3 and arr.shape[2] == channels)
    if not shape_ok or arr.dtype != dtype:
        raise ImageFormatError(f'array {arr.shape} {arr.dtype} does not fit encoding {encoding}')
    arr = np.ascontiguousarray(arr)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(arr.shape[1] * channels * dtype.itemsize)
    msg.data = arr.tobytes()
    return msg


def depth_to_meters(msg: Image) -> np.ndarray:
    """REP-118 depth image -> float32 metres, NaN where invalid."""
    raw = image_to_numpy(msg, expect=DEPTH_ENCODINGS)
    if msg.encoding == '16UC1':
        depth = raw.astype(np.float32) * np.float32(1e-3)
        depth[raw == 0] = np.nan
        return depth
    depth = raw.astype(np.float32, copy=True)
    depth[~np.isfinite(depth) | (depth <= 0)] = np.nan
    return depth


def meters_to_depth16(depth_m: np.ndarray) -> np.ndarray:
    """float metres (NaN/<=0 invalid) -> uint16 millimetres with 0 invalid, saturating at 65.535 m."""
    valid = np.isfinite(depth_m) & (depth_m > 0)
    mm = np.zeros(depth_m.shape, dtype=np.uint16)
    mm[valid] = np.clip(np.rint(depth_m[valid] * 1000.0), 1, 65535).astype(np.uint16)
    return mm
