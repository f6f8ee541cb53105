"""Was any pick record lost? Cross-check a run's journal, published records, pick store and bag.

Plain Python (no rclpy). The cell controller journals every record before it acts
(``robin_cell/pick_journal.py``), publishes the final one on ``cell/pick_records``, the pick store
ingests it and the recorder writes it into the bag. After a run, every record that is final in the
journal or was seen on the topic (the *reference*) must be in the store and, when recording, in the
bag — except records that ended before the oldest split the recorder kept (its disk budget deletes
old splits on purpose). Records still open in the journal at the stop were in flight: the next
controller start re-publishes them as ``interrupted``; they are counted, not lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PICK_RECORDS_TOPIC = '/cell/pick_records'
MAX_LISTED = 20  # ids listed per problem in the report


@dataclass(frozen=True)
class JournalState:
    """Latest snapshot per record id in the journal files."""

    final: dict[str, float]  # record id -> end time (last state time, sim s; 0 when unknown)
    open: set[str]  # last snapshot not final: in flight when the controller stopped


def _end_time(record: Mapping[str, object]) -> float:
    states = record.get('states') or []
    times = [float(s[1]) for s in states if isinstance(s, list | tuple) and len(s) == 2]  # type: ignore[union-attr]
    return max(times, default=0.0)


def read_journal(directory: Path) -> JournalState:
    """Every record id of the journal files in ``directory`` (rotated ones too); torn lines skipped."""
    directory = Path(directory)
    files = sorted(directory.glob('pick_journal.*.jsonl'), key=lambda p: -int(p.name.split('.')[1]))
    if (directory / 'pick_journal.jsonl').is_file():
        files.append(directory / 'pick_journal.jsonl')
    last: dict[str, tuple[bool, float]] = {}
    for path in files:
        with path.open(encoding='utf-8') as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    rec = entry['record']
                    rid = str(rec['record_id'])
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
                last[rid] = (bool(entry.get('final')), _end_time(rec))
    return JournalState(final={r: t for r, (f, t) in last.items() if f},
                        open={r for r, (f, _t) in last.items() if not f})


def bag_record_ids(roots: Iterable[Path], newer_than: float = 0.0) -> tuple[set[str], float | None]:
    """Record ids on ``/cell/pick_records`` in the bag splits under ``roots`` whose folder changed
    after ``newer_than`` (epoch s), and the start [s, log time] of the oldest of those splits (from
    ``index.json``; else its first pick record), None when there is no such split."""
    from rosbags.typesys import Stores, get_typestore  # noqa: PLC0415 - only when a bag is audited

    from robin_insight.bag_source import SkipReport, find_splits, read_split  # noqa: PLC0415
    from robin_insight.bag_splits import read_index  # noqa: PLC0415

    store = get_typestore(Stores.ROS2_KILTED)
    ids: set[str] = set()
    earliest: float | None = None
    for root in roots:
        try:
            splits = find_splits(root)
        except FileNotFoundError:
            continue
        starts = {info.name: info.start_ns * 1e-9 for info in read_index(root)}
        for split in splits:
            if split.stat().st_mtime < newer_than:
                continue
            if split.name in starts:
                earliest = starts[split.name] if earliest is None else min(earliest, starts[split.name])
            for msg in read_split(split, SkipReport(), keep=lambda t: t == PICK_RECORDS_TOPIC):
                earliest = msg.stamp_ns * 1e-9 if earliest is None else min(earliest, msg.stamp_ns * 1e-9)
                try:
                    ids.add(str(json.loads(store.deserialize_cdr(msg.data, msg.type_name).data)['record_id']))
                except (ValueError, KeyError, TypeError):
                    continue
    return ids, earliest


def account(reference: Mapping[str, float], published: set[str], in_flight: set[str],
            in_store: Callable[[str], bool] | None, bag: tuple[set[str], float | None] | None) -> dict[str, object]:
    """The record accounting of a run.

    Args:
        reference: record id -> end time [sim s] of every record final in the journal or published.
        published: ids seen on ``cell/pick_records`` by the run monitor.
        in_flight: ids still open in the journal at the stop.
        in_store: whether the pick store holds an id (None: no store in the graph).
        bag: (ids in the run's bag, earliest log time kept) or None (no recorder in the graph).
    """
    ids = sorted(reference)
    not_published = [r for r in ids if r not in published]
    out: dict[str, object] = {
        'final_records': len(ids),
        'in_flight_at_stop': len(in_flight),
        'published_seen': len(published),
        'missing_from_topic': not_published[:MAX_LISTED],
    }
    lost: set[str] = set()
    if in_store is not None:
        missing = [r for r in ids if not in_store(r)]
        out['in_store'] = len(ids) - len(missing)
        out['missing_from_store'] = missing[:MAX_LISTED]
        lost.update(missing)
    if bag is not None:
        bag_ids, earliest = bag
        kept = [r for r in ids if earliest is None or reference[r] >= earliest]
        missing = [r for r in kept if r not in bag_ids]
        out['bag_checked'] = len(kept)
        out['missing_from_bag'] = missing[:MAX_LISTED]
        lost.update(missing)
    out['records_lost'] = len(lost)
    return out
