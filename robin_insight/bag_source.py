"""Read a bag, a folder of splits, or what is left of a damaged one, with a report of the losses.

Intact splits are read with rosbags (indexed, time ordered). A split that rosbags refuses
(no ``metadata.yaml`` after a crash, truncated file, bad footer) is read again with the
:mod:`mcap_salvage` scanner, and the report says what was lost and why.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rosbags.rosbag2 import Reader

from robin_insight import mcap_salvage
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
        result = mcap_salvage.SalvageResult()
        for m in mcap_salvage.scan(file, result):
            if keep(m.topic) and (last_ns is None or m.stamp_ns > last_ns):
                yield BagMessage(m.topic, m.type_name, m.stamp_ns, m.data, split)
        detail = result.problem or 'file intact'
        report.problem(f'{file.name}: rosbags could not read it ({reason}); salvaged {result.messages} messages '
                       f'from {result.stopped_at} of {result.file_size} bytes ({detail})')


def read_bag(
    path: Path | str, report: SkipReport, keep: Callable[[str], bool] = lambda _t: True,
) -> Iterator[BagMessage]:
    """Messages of every split under ``path`` in split order."""
    for split in find_splits(path):
        for msg in read_split(split, report, keep):
            report.read += 1
            yield msg
