"""Read a bag, a folder of splits, or what is left of a damaged one, with a report of the losses.

Intact splits are read with rosbags (indexed, time ordered). A split that rosbags refuses
(no ``metadata.yaml`` after a crash, truncated file, bad footer) is read again record by record
with the ``mcap`` library's :class:`~mcap.stream_reader.StreamReader`, which needs no footer or
index, up to the first record it cannot read; the report says what was lost and why.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mcap.exceptions import EndOfFile, InvalidMagic, RecordLengthLimitExceeded
from mcap.records import Channel, Chunk, DataEnd, McapRecord, Message, MessageIndex, Schema
from mcap.stream_reader import StreamReader, breakup_chunk
from rosbags.rosbag2 import Reader

from robin_insight.bag_splits import INDEX_FILE


@dataclass
class BagMessage:
    """One recorded message: serialized CDR plus where and when it was recorded."""

    topic: str
    type_name: str
    stamp_ns: int  # recording (log) time
    data: bytes
    split: Path


@dataclass
class SkipReport:
    """What could not be read or played, grouped so a long bag gives a short report."""

    problems: list[str] = field(default_factory=list)  # file-level: truncated, corrupt, missing
    skipped_topics: dict[str, str] = field(default_factory=dict)  # topic -> reason
    skipped_counts: Counter = field(default_factory=Counter)  # topic -> messages not played
    read: int = 0
    played: int = 0

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def skip(self, topic: str, reason: str) -> None:
        self.skipped_topics.setdefault(topic, reason)
        self.skipped_counts[topic] += 1

    @property
    def clean(self) -> bool:
        return not self.problems and not self.skipped_topics

    def text(self) -> str:
        """A human-readable summary (what the replay command prints at the end)."""
        lines = [f'replay report: {self.read} messages read, {self.played} played']
        lines += [f'  problem: {p}' for p in self.problems]
        for topic, reason in sorted(self.skipped_topics.items()):
            lines.append(f'  skipped {self.skipped_counts[topic]} messages on {topic}: {reason}')
        if self.clean:
            lines.append('  nothing skipped')
        return '\n'.join(lines)


def find_splits(path: Path | str) -> list[Path]:
    """The bag folders to play, in order: ``path`` itself, or its splits (index order, else name order).

    Raises:
        FileNotFoundError: ``path`` does not exist or holds no bag.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f'no such bag or folder: {path}')
    if path.is_file():
        return [path.parent]
    if _is_bag(path):
        return [path]
    index = path / INDEX_FILE
    ordered: list[Path] = []
    if index.is_file():
        ordered = [path / s['name'] for s in json.loads(index.read_text())['splits'] if (path / s['name']).is_dir()]
    rest = sorted(p for p in path.iterdir() if p.is_dir() and _is_bag(p) and p not in ordered)
    if not (splits := ordered + rest):
        raise FileNotFoundError(f'{path} holds no rosbag2 folder (metadata.yaml or *.mcap)')
    return splits


def _is_bag(path: Path) -> bool:
    return (path / 'metadata.yaml').is_file() or any(path.glob('*.mcap')) or any(path.glob('*.db3'))


def read_split(split: Path, report: SkipReport, keep: Callable[[str], bool] = lambda _t: True) -> Iterator[BagMessage]:
    """Messages of one split on topics ``keep`` accepts; damage goes into ``report``."""
    last_ns: int | None = None
    try:
        with Reader(split) as reader:
            conns = [c for c in reader.connections if keep(c.topic)]
            if not conns:  # rosbags reads every connection when given none
                return
            for conn, stamp, data in reader.messages(connections=conns):
                last_ns = stamp
                yield BagMessage(conn.topic, conn.msgtype, stamp, bytes(data), split)
        return
    except Exception as exc:  # noqa: BLE001 - rosbags raises several types; all mean "salvage"
        reason = f'{type(exc).__name__}: {exc}'
    files = sorted(split.glob('*.mcap'))
    if not files:
        report.problem(f'{split.name}: unreadable ({reason}) and no MCAP file to salvage')
        return
    for file in files:
        salvage = _Salvage(file_size=file.stat().st_size)
        for msg in _salvage_mcap(file, salvage):
            if keep(msg.topic) and (last_ns is None or msg.stamp_ns > last_ns):
                yield msg
        detail = salvage.problem or 'data section complete'
        report.problem(f'{file.name}: rosbags could not read it ({reason}); salvaged {salvage.messages} messages '
                       f'from {salvage.stopped_at} of {salvage.file_size} bytes ({detail})')


@dataclass
class _Salvage:
    """How far :func:`_salvage_mcap` got: filled in while it runs."""

    file_size: int
    stopped_at: int = 0  # end offset of the last record read whole
    messages: int = 0
    problem: str = ''  # '' = the data section ended cleanly (DataEnd record)


def _salvage_mcap(file: Path, salvage: _Salvage) -> Iterator[BagMessage]:
    """Every message of ``file`` in file order, up to the first record that cannot be read.

    Never raises for bad content: the damage ends the read and goes into ``salvage.problem``.
    A chunk counts only if it was read whole, and its messages are held back until the message
    index records after it are counted: rosbags writes no chunk CRC, and the mcap library skips
    what it cannot parse inside a chunk, so a count that disagrees with the index is the only sign
    of a damaged chunk. A record longer than the file is a cut one.
    """
    schemas: dict[int, str] = {}
    channels: dict[int, Channel] = {}

    def messages(records: list[McapRecord]) -> list[BagMessage]:
        out = []
        for record in records:
            if isinstance(record, Schema):
                schemas[record.id] = record.name
            elif isinstance(record, Channel):
                channels[record.id] = record
            elif isinstance(record, Message):
                if (channel := channels.get(record.channel_id)) is None:
                    raise ValueError(f'message on undeclared channel {record.channel_id}')
                out.append(BagMessage(channel.topic, schemas.get(channel.schema_id, ''), record.log_time,
                                      record.data, file.parent))
        return out

    held: list[BagMessage] = []  # the last chunk's messages
    held_from = 0  # where that chunk starts
    indexed: int | None = None  # how many messages the index records after that chunk list
    with file.open('rb') as stream:
        reader = StreamReader(stream, emit_chunks=True, validate_crcs=True, record_size_limit=salvage.file_size)
        try:
            for record in reader.records:
                if isinstance(record, MessageIndex):
                    indexed = (indexed or 0) + len(record.records)
                    salvage.stopped_at = stream.tell()
                    continue
                if indexed is not None and indexed != len(held):
                    salvage.stopped_at = held_from
                    count, held = len(held), []
                    raise ValueError(f'a chunk holds {count} messages but its index lists {indexed}')
                salvage.messages += len(held)
                yield from held
                held, indexed, held_from = [], None, salvage.stopped_at
                if isinstance(record, Chunk):
                    held = messages(breakup_chunk(record, validate_crc=True))
                else:
                    new = messages([record])
                    salvage.messages += len(new)
                    yield from new
                salvage.stopped_at = stream.tell()
                if isinstance(record, DataEnd):  # the rest is the summary: indexes and repeats
                    break
        except InvalidMagic:
            salvage.problem = 'not an MCAP file (bad magic)'
        except Exception as exc:  # noqa: BLE001 - CRC, decompressor and decode errors have many types
            where = f'after offset {salvage.stopped_at} of {salvage.file_size} bytes'
            if isinstance(exc, RecordLengthLimitExceeded):  # limit = file size: the record cannot fit
                salvage.problem = f'truncated {where}: the next record is longer than the file ({exc})'
            elif isinstance(exc, (EndOfFile, struct.error)) and stream.tell() >= salvage.file_size:
                salvage.problem = f'truncated {where}: the file ends before its data section does'
            else:
                salvage.problem = f'corrupt {where}: {type(exc).__name__}: {exc}'
    salvage.messages += len(held)  # a whole chunk whose index was cut off
    yield from held


def read_bag(
    path: Path | str, report: SkipReport, keep: Callable[[str], bool] = lambda _t: True,
) -> Iterator[BagMessage]:
    """Messages of every split under ``path`` in split order."""
    for split in find_splits(path):
        for msg in read_split(split, report, keep):
            report.read += 1
            yield msg
