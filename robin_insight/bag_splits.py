"""Rosbag2 (MCAP) splits: rotation by size and time, an index, and a bounded disk budget.

Layout under ``root``::

    root/
      index.json                 # closed splits, oldest first (rewritten atomically)
      <prefix>_0000/             # a complete rosbag2 folder (metadata.yaml + <name>.mcap)
      <prefix>_0001/             # the split being written (no metadata.yaml until closed)

Each split is an independent bag that ``ros2 bag info``/Foxglove open on its own. No rclpy here:
the writer takes ``(topic, type name, serialized CDR bytes, timestamp)``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.writer import Connection

from robin_insight.msg_types import BagTypes, default_bag_types

INDEX_FILE = 'index.json'


@dataclass
class SplitInfo:
    """One closed split, as listed in ``index.json``."""

    name: str
    index: int
    start_ns: int
    end_ns: int
    messages: int
    bytes: int
    topics: dict[str, str] = field(default_factory=dict)  # topic -> type name


@dataclass
class SplitPolicy:
    """When to start a new split and how much disk all splits together may use."""

    max_split_bytes: int = 512 * 2**20
    max_split_duration_s: float = 300.0
    max_total_bytes: int = 8 * 2**30  # 0 = unbounded


def dir_bytes(path: Path) -> int:
    """Bytes used by the files under ``path`` (0 when it vanished meanwhile)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += (Path(dirpath) / f).stat().st_size
            except FileNotFoundError:
                continue
    return total


def read_index(root: Path) -> list[SplitInfo]:
    """Closed splits listed in ``root/index.json`` (empty when there is none)."""
    path = Path(root) / INDEX_FILE
    if not path.is_file():
        return []
    return [SplitInfo(**item) for item in json.loads(path.read_text())['splits']]


class SplitWriter:
    """Writes messages into a sequence of MCAP bag folders under ``root``.

    Not thread-safe: one thread (the recorder's writer thread) owns it.
    """

    def __init__(
        self,
        root: Path | str,
        policy: SplitPolicy | None = None,
        *,
        prefix: str | None = None,
        types: BagTypes | None = None,
        monotonic=time.monotonic,
    ) -> None:
        self.root = Path(root)
        self.policy = policy or SplitPolicy()
        self.prefix = prefix or time.strftime('robin_%Y%m%d_%H%M%S')
        self.types = types or default_bag_types()
        self._monotonic = monotonic
        self.root.mkdir(parents=True, exist_ok=True)
        self.splits: list[SplitInfo] = read_index(self.root)
        self.deleted: list[str] = []
        self._next_index = max((s.index for s in self.splits), default=-1) + 1
        self._writer: Writer | None = None
        self._current: SplitInfo | None = None
        self._connections: dict[tuple[str, str], Connection] = {}
        self._opened_at = 0.0
        self._bytes = 0

    @property
    def current_path(self) -> Path | None:
        """Folder of the split being written, if one is open."""
        cur = self._current  # read once: another thread may close the split meanwhile
        return self.root / cur.name if cur else None

    def write(self, topic: str, type_name: str, data: bytes | memoryview, stamp_ns: int) -> None:
        """Append one serialized message; rotates first when the current split is full."""
        if self._writer is not None and self._split_full():
            self.rotate()
        if self._writer is None:
            self._open()
        assert self._writer is not None and self._current is not None
        conn = self._connections.get((topic, type_name))
        if conn is None:
            msgdef, rihs01 = self.types.definition(type_name)
            conn = self._writer.add_connection(topic, type_name, msgdef=msgdef, rihs01=rihs01)
            self._connections[(topic, type_name)] = conn
            self._current.topics[topic] = type_name
        self._writer.write(conn, stamp_ns, data)
        cur = self._current
        cur.start_ns = min(cur.start_ns, stamp_ns)
        cur.end_ns = max(cur.end_ns, stamp_ns)
        cur.messages += 1
        self._bytes += len(data) + 31  # + MCAP message record overhead

    def rotate(self) -> None:
        """Close the current split (if any); the next write opens a new one."""
        if self._writer is None or self._current is None:
            return
        self._writer.close()
        self._current.bytes = dir_bytes(self.root / self._current.name)
        self.splits.append(self._current)
        self._writer, self._current = None, None
        self._connections.clear()
        self.enforce_budget()
        self._write_index()

    def close(self) -> None:
        """Close the current split and write the index (flushes everything to disk)."""
        self.rotate()
        self._write_index()

    def total_bytes(self) -> int:
        """Closed splits plus what the open one has written so far."""
        return sum(s.bytes for s in self.splits) + self._bytes

    def enforce_budget(self) -> None:
        """Delete the oldest closed splits until the total fits; never the one being written."""
        budget = self.policy.max_total_bytes
        if budget <= 0:
            return
        while self.splits and self.total_bytes() > budget:
            oldest = self.splits.pop(0)
            shutil.rmtree(self.root / oldest.name, ignore_errors=True)
            self.deleted.append(oldest.name)

    def _split_full(self) -> bool:
        p = self.policy
        too_big = p.max_split_bytes > 0 and self._bytes >= p.max_split_bytes
        too_old = p.max_split_duration_s > 0 and self._monotonic() - self._opened_at >= p.max_split_duration_s
        return too_big or too_old

    def _open(self) -> None:
        name = f'{self.prefix}_{self._next_index:04d}'
        self._current = SplitInfo(name=name, index=self._next_index, start_ns=2**63 - 1, end_ns=0, messages=0, bytes=0)
        self._next_index += 1
        self._writer = Writer(self.root / name, version=Writer.VERSION_LATEST, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._opened_at = self._monotonic()
        self._bytes = 0
        # a new split may push the total over budget while the previous ones are still listed
        self.enforce_budget()

    def _write_index(self) -> None:
        tmp = self.root / f'{INDEX_FILE}.tmp'
        tmp.write_text(json.dumps({'splits': [asdict(s) for s in self.splits]}, indent=1))
        tmp.replace(self.root / INDEX_FILE)
