"""Recover messages from an MCAP file that has no index or is cut short (crash, full disk).

rosbags' reader needs an intact footer; this scanner walks the records from the start of the file
and stops at the first record it cannot read, saying where and why. Records follow the MCAP
specification (opcode u8, length u64 little endian, content); only what a rosbag2 file uses is
decoded: Schema, Channel, Message and Chunk (uncompressed, zstd or lz4).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lz4.frame  # rosbags' own dependency

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python >= 3.14
except ImportError:  # rosbags depends on the backport below 3.14
    from backports import zstd  # type: ignore[no-redef]

MAGIC = b'\x89MCAP0\r\n'
OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK, OP_DATA_END, OP_FOOTER = 0x03, 0x04, 0x05, 0x06, 0x0F, 0x02
_U16, _U32, _U64 = struct.Struct('<H'), struct.Struct('<I'), struct.Struct('<Q')
_MAX_RECORD = 1 << 36  # larger lengths are corruption, not data


@dataclass
class SalvagedMessage:
    topic: str
    type_name: str
    stamp_ns: int  # MCAP log time
    data: bytes


@dataclass
class SalvageResult:
    """Filled in while :func:`scan` runs: where reading stopped and why ('' = clean end)."""

    problem: str = ''
    stopped_at: int = 0
    messages: int = 0
    file_size: int = 0


class _Cursor:
    def __init__(self, buf: memoryview) -> None:
        self.buf, self.pos = buf, 0

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise EOFError(f'record needs {n} bytes at offset {self.pos}, only {len(self.buf) - self.pos} left')
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def u16(self) -> int:
        return _U16.unpack(self.take(2))[0]

    def u32(self) -> int:
        return _U32.unpack(self.take(4))[0]

    def u64(self) -> int:
        return _U64.unpack(self.take(8))[0]

    def string(self) -> str:
        return bytes(self.take(self.u32())).decode()


def _decompress(kind: str, data: bytes, size: int) -> bytes:
    if kind == '':
        return data
    if kind == 'zstd':
        return zstd.decompress(data)
    if kind == 'lz4':
        return lz4.frame.decompress(data)
    raise ValueError(f"unsupported chunk compression '{kind}'")


class _Scanner:
    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.channels: dict[int, tuple[str, int]] = {}  # id -> (topic, schema id)

    def records(self, cur: _Cursor, result: SalvageResult, base: int) -> Iterator[SalvagedMessage]:
        while cur.pos < len(cur.buf):
            start = cur.pos
            op = cur.take(1)[0]
            length = cur.u64()
            if length > _MAX_RECORD:
                raise ValueError(f'implausible record length {length} (opcode 0x{op:02x}) at offset {base + start}')
            body = _Cursor(cur.take(length))
            if op == OP_SCHEMA:
                sid = body.u16()
                self.schemas[sid] = body.string()
            elif op == OP_CHANNEL:
                cid, sid = body.u16(), body.u16()
                self.channels[cid] = (body.string(), sid)
            elif op == OP_MESSAGE:
                cid, _seq, log_time, _pub = body.u16(), body.u32(), body.u64(), body.u64()
                if cid not in self.channels:
                    raise ValueError(f'message on undeclared channel {cid} at offset {base + start}')
                topic, sid = self.channels[cid]
                yield SalvagedMessage(topic, self.schemas.get(sid, ''), log_time, bytes(body.buf[body.pos:]))
            elif op == OP_CHUNK:
                _t0, _t1, size, crc = body.u64(), body.u64(), body.u64(), body.u32()
                kind = body.string()
                raw = _decompress(kind, bytes(body.take(body.u64())), size)
                if crc and zlib.crc32(raw) != crc:
                    raise ValueError(f'chunk at offset {base + start} fails its CRC check')
                # messages of a chunk are only trusted once the whole chunk decoded
                yield from list(self.records(_Cursor(memoryview(raw)), result, base + start))
            elif op in {OP_DATA_END, OP_FOOTER}:
                if base == 0:
                    cur.pos = len(cur.buf)
                return
            if base == 0:
                result.stopped_at = cur.pos


def scan(path: Path | str, result: SalvageResult | None = None) -> Iterator[SalvagedMessage]:
    """Yield every message readable from ``path`` in file order; fill ``result`` as it goes.

    Never raises for bad content: a truncated or corrupt record ends the scan and is described in
    ``result.problem`` (messages before it were yielded).
    """
    result = result if result is not None else SalvageResult()
    data = Path(path).read_bytes()
    result.file_size = len(data)
    if data[:8] != MAGIC:
        result.problem = 'not an MCAP file (bad magic)'
        return
    cur = _Cursor(memoryview(data))
    cur.pos = 8
    result.stopped_at = 8
    try:
        for msg in _Scanner().records(cur, result, 0):
            result.messages += 1
            yield msg
    except (EOFError, ValueError, UnicodeDecodeError, struct.error) as exc:
        result.problem = f'truncated or corrupt after offset {result.stopped_at} of {len(data)} bytes: {exc}'
    except Exception as exc:  # noqa: BLE001 - decompressor errors have library-specific types
        result.problem = f'unreadable chunk after offset {result.stopped_at}: {type(exc).__name__}: {exc}'
