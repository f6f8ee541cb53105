"""Pick records of all cells as one columnar table: Parquet, Hive-partitioned by cell and date.

Layout (documented in docs/learning.md)::

    <root>/cell_id=<cell>/date=<YYYY-MM-DD>/part-<uuid>-<n>.parquet

Plain columns only (strings, int32/int64, float64, bool, timestamp[us, UTC]); the partition
columns live in the directory names, as Spark (``spark.read.parquet``), Trino's Hive connector
and DuckDB (``hive_partitioning=true``) all expect. Appending never rewrites files: each batch
adds uniquely named parts, so several cells or ingest runs can write at once.

Scene properties that a pick record does not carry yet (lighting, belt speed, instance count of
the pile) come from the record's ``scene`` dict when present, else from a side mapping.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from robin_core.records import PickRecord
from robin_learning.uncertainty import FLAGGING_VERDICTS

FAILURE_VERDICTS = frozenset({'double_pick', 'drop', 'misplace', 'missed'})

SCHEMA = pa.schema([
    ('record_id', pa.string()),
    ('time_ns', pa.int64()),
    ('ts', pa.timestamp('us', tz='UTC')),
    ('attempt', pa.int32()),
    ('outcome', pa.string()),
    ('verdict', pa.string()),
    ('failed', pa.bool_()),  # outcome failed or a failure verdict (double pick, drop, misplace, missed)
    ('qa_flagged', pa.bool_()),
    ('model_version', pa.string()),
    ('segmenter', pa.string()),
    ('package_type', pa.string()),
    ('confidence', pa.float64()),
    ('type_score', pa.float64()),
    ('instance_count', pa.int32()),  # clutter: instances in the scene
    ('cups_used', pa.int32()),
    ('unhealthy_cups', pa.int32()),  # cup health
    ('lighting_lux', pa.float64()),
    ('belt_speed_mps', pa.float64()),
    ('scenario', pa.string()),
    ('decision_ms', pa.float64()),
    ('perception_ms', pa.float64()),
    ('cycle_ms', pa.float64()),
    ('cell_id', pa.string()),
    ('date', pa.string()),
])
PARTITIONS = ('cell_id', 'date')


def _time(rec: PickRecord) -> datetime:
    if rec.wall_time:
        try:
            t = datetime.fromisoformat(rec.wall_time)
            return t if t.tzinfo else t.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def record_row(rec: PickRecord, scene: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Flat row of one pick record (+ scene properties)."""
    sc = dict(getattr(rec, 'scene', None) or {})
    sc.update(scene or {})
    t = _time(rec)
    n_inst = sc.get('instance_count')
    if n_inst is None and rec.candidates:
        n_inst = len({c.instance_id for c in rec.candidates})  # lower bound: instances the planner saw
    return {
        'record_id': rec.record_id, 'time_ns': int(t.timestamp() * 1e9), 'ts': t, 'attempt': rec.attempt,
        'outcome': rec.outcome, 'verdict': rec.verdict,
        'failed': rec.outcome == 'failed' or rec.verdict in FAILURE_VERDICTS,
        'qa_flagged': rec.verdict in FLAGGING_VERDICTS, 'model_version': rec.model_version,
        'segmenter': rec.segmenter, 'package_type': rec.target.package_type if rec.target else None,
        'confidence': rec.target.score if rec.target else None,
        'type_score': rec.target.type_score if rec.target else None,
        'instance_count': int(n_inst) if n_inst is not None else None, 'cups_used': bin(rec.cup_mask).count('1'),
        'unhealthy_cups': len(rec.unhealthy_cups), 'lighting_lux': _num(sc.get('lighting_lux')),
        'belt_speed_mps': _num(sc.get('belt_speed_mps')),
        'scenario': str(sc['scenario']) if sc.get('scenario') is not None else None,
        'decision_ms': _num(rec.timings_ms.get('decision')), 'perception_ms': _num(rec.timings_ms.get('perception')),
        'cycle_ms': _num(rec.timings_ms.get('cycle')), 'cell_id': rec.cell_id, 'date': t.date().isoformat(),
    }


def write_records(records: Iterable[PickRecord], root: Path,
                  scenes: Mapping[str, Mapping[str, Any]] | None = None) -> int:
    """Append records to the partitioned dataset under ``root``; return how many rows."""
    rows = [record_row(r, (scenes or {}).get(r.record_id)) for r in records]
    if not rows:
        return 0
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    ds.write_dataset(table, str(root), format='parquet', partitioning=list(PARTITIONS),
                     partitioning_flavor='hive', existing_data_behavior='overwrite_or_ignore',
                     basename_template=f'part-{uuid.uuid4().hex}-{{i}}.parquet')
    return len(rows)


def parquet_glob(root: Path) -> str:
    """The glob DuckDB (and Spark/Trino external tables) read the dataset with."""
    return str(Path(root) / '**' / '*.parquet')
