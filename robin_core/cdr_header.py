"""The header stamp of a serialized (CDR) message without deserializing it.

Every message whose first field is ``std_msgs/Header`` (Image, CameraInfo, PointCloud2, ...)
starts, after the 4-byte CDR encapsulation header, with ``stamp.sec`` (int32) and
``stamp.nanosec`` (uint32). Reading those 8 bytes lets a bag reader pick the frames it needs out
of gigabytes of images without decoding each one.
"""

from __future__ import annotations

import struct

_CDR_BE, _CDR_LE = 0x00, 0x01  # second byte of the encapsulation header (plain CDR, big/little endian)


def header_stamp_ns(data: bytes | memoryview) -> int:
    """``header.stamp`` in nanoseconds of a CDR-serialized message that starts with a Header.

    Raises:
        ValueError: too short, or not plain CDR (e.g. XCDR2 / PL_CDR encapsulation).
    """
    if len(data) < 12:
        raise ValueError(f'{len(data)} bytes is too short for a CDR message with a header')
    if data[0] != 0x00 or data[1] not in (_CDR_BE, _CDR_LE):
        raise ValueError(f'unsupported CDR encapsulation {bytes(data[:2]).hex()}')
    sec, nanosec = struct.unpack_from('<iI' if data[1] == _CDR_LE else '>iI', data, 4)
    return sec * 1_000_000_000 + nanosec
