"""Crash-safe, append-only journal of pick records (plain Python).

Every snapshot of an in-flight pick record is appended and fsync'ed *before* the cell acts on it,
so a controller that crashes mid-pick restarts, finds the record that never reached its final
state, and re-publishes it as ``interrupted`` — the in-flight record is never lost. Files rotate
by size and the oldest beyond ``keep_files`` are deleted (bounded disk); the pick store, which
ingests every published record, is the long-term home.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO

from robin_core.records import PickRecord, RecordError, from_json, to_json

_NAME = 'pick_journal'


class PickJournal:
    """Append-only JSON-lines journal: one line ``{"final": bool, "record": {...}}`` per snapshot."""

    def __init__(self, directory: Path, max_bytes: int = 8 << 20, keep_files: int = 8) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.keep_files = max(2, keep_files)
        self._open: dict[str, PickRecord] = {}  # latest snapshot of every unfinished record
        self._file = self._open_current()

    def _open_current(self) -> TextIO:
        f = self.path.open('a+', encoding='utf-8')
        if f.tell() > 0:
            f.seek(f.tell() - 1)
            if f.read(1) != '\n':  # a torn last line: never glue the next entry onto it
                f.write('\n')
        return f

    @property
    def path(self) -> Path:
        return self.directory / f'{_NAME}.jsonl'

    def append(self, record: PickRecord, final: bool) -> None:
        """Write one snapshot durably (flush + fsync) and rotate when the file is full."""
        self._write(record, final)
        if final:
            self._open.pop(record.record_id, None)
        else:
            self._open[record.record_id] = record.model_copy(deep=True)
        if final and self._file.tell() >= self.max_bytes:
            self._rotate()

    def _write(self, record: PickRecord, final: bool) -> None:
        line = json.dumps({'final': final, 'record': json.loads(to_json(record))}, separators=(',', ':'))
        self._file.write(line + '\n')
        self._file.flush()
        os.fsync(self._file.fileno())

    def recover(self, mark_final: bool = True) -> list[PickRecord]:
        """Records whose last snapshot is not final (the controller died mid-pick), marked interrupted.

        A torn last line (power loss while writing) is skipped; unreadable lines are skipped too.
        Each recovered record is appended as final (``mark_final``), so a second restart does not
        report it again; a caller that must first deliver it elsewhere passes False and appends
        the final snapshot itself once it has.
        """
        last: dict[str, tuple[bool, PickRecord]] = {}
        for path in self._files_oldest_first():
            with path.open(encoding='utf-8') as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                        rec = from_json(json.dumps(entry['record']), PickRecord)
                    except (json.JSONDecodeError, KeyError, TypeError, RecordError):
                        continue
                    last[rec.record_id] = (bool(entry.get('final')), rec)
        interrupted = []
        for final, rec in last.values():
            if not final:
                rec.outcome = 'interrupted'
                rec.failure_reason = rec.failure_reason or 'cell controller restarted during this pick'
                if mark_final:
                    self.append(rec, final=True)
                interrupted.append(rec)
        return interrupted

    def close(self) -> None:
        self._file.close()

    def _files_oldest_first(self) -> list[Path]:
        rotated = sorted(self.directory.glob(f'{_NAME}.*.jsonl'), key=lambda p: int(p.name.split('.')[1]))
        return [*reversed(rotated), self.path] if self.path.exists() else list(reversed(rotated))

    def _rotate(self) -> None:
        self._file.close()
        rotated = sorted(self.directory.glob(f'{_NAME}.*.jsonl'), key=lambda p: int(p.name.split('.')[1]),
                         reverse=True)
        for p in rotated:  # shift .1 -> .2 ...; drop beyond the budget
            n = int(p.name.split('.')[1])
            if n + 1 >= self.keep_files:
                p.unlink()
            else:
                p.rename(self.directory / f'{_NAME}.{n + 1}.jsonl')
        self.path.rename(self.directory / f'{_NAME}.1.jsonl')
        self._file = self._open_current()
        for rec in self._open.values():  # unfinished records move along, so deletion never loses them
            self._write(rec, final=False)
