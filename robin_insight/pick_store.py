"""The pick store: every pick record and QA event, queryable by the columns engineers filter on.

SQLAlchemy Core rather than raw DB-API: the same table definitions and queries run on SQLite (the
embedded default, WAL mode) and on PostgreSQL for a fleet (``postgresql+psycopg://...``), with
the dialect handling parameter styles, BIGINT/TEXT types and ``INSERT ... ON CONFLICT``; no ORM,
so every query stays visible and cheap. The full record JSON is kept beside the indexed columns,
so a schema change in the record never loses data.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from robin_core.records import PickRecord, QaEvent, from_json, to_json
from robin_insight.pick_query import PickQuery, to_ns

metadata = sa.MetaData()

picks = sa.Table(
    'pick_records', metadata,
    sa.Column('record_id', sa.String(64), primary_key=True),
    sa.Column('time_ns', sa.BigInteger, nullable=False),  # wall time of the pick (ingest time if unknown)
    sa.Column('cell_id', sa.String(64), nullable=False),
    sa.Column('attempt', sa.Integer, nullable=False),
    sa.Column('outcome', sa.String(16), nullable=False),
    sa.Column('verdict', sa.String(16), nullable=False),
    sa.Column('recovery', sa.String(32), nullable=False),
    sa.Column('model_version', sa.String(128)),
    sa.Column('confidence', sa.Float),  # target instance score
    sa.Column('package_type', sa.String(32)),
    sa.Column('cycle_ms', sa.Float),
    sa.Column('sim_time_s', sa.Float),
    sa.Column('color_stamp_ns', sa.BigInteger),  # images: looked up in the bags by topic + stamp
    sa.Column('depth_stamp_ns', sa.BigInteger),
    sa.Column('image_dir', sa.Text),  # or saved as files (color.png, depth.png, labels.png)
    sa.Column('record_json', sa.Text, nullable=False),
    sa.Column('updated_ns', sa.BigInteger, nullable=False),
)

qa_events = sa.Table(
    'qa_events', metadata,
    sa.Column('event_key', sa.String(64), primary_key=True),  # hash of the JSON: re-sends are no-ops
    sa.Column('record_id', sa.String(64), nullable=False, index=True),
    sa.Column('verdict', sa.String(16), nullable=False),
    sa.Column('recovery', sa.String(32), nullable=False),
    sa.Column('alert', sa.Boolean, nullable=False),
    sa.Column('received_ns', sa.BigInteger, nullable=False),
    sa.Column('event_json', sa.Text, nullable=False),
)

#: Indexes for the list filters; (cell, time) serves the most common fleet query.
INDEXES = (
    sa.Index('ix_picks_time', picks.c.time_ns),
    sa.Index('ix_picks_cell_time', picks.c.cell_id, picks.c.time_ns),
    sa.Index('ix_picks_outcome_time', picks.c.outcome, picks.c.time_ns),
    sa.Index('ix_picks_verdict_time', picks.c.verdict, picks.c.time_ns),
    sa.Index('ix_picks_model_time', picks.c.model_version, picks.c.time_ns),
    sa.Index('ix_picks_confidence', picks.c.confidence),
)

LIST_COLUMNS = [c for c in picks.c if c.name not in {'record_json'}]


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class StoredPick:
    record: PickRecord
    row: dict[str, Any]
    qa_events: list[QaEvent]


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute('PRAGMA journal_mode=WAL')  # readers (the UI) never block the ingester
    cur.execute('PRAGMA synchronous=NORMAL')  # durable at checkpoints; WAL keeps the DB consistent
    cur.execute('PRAGMA busy_timeout=5000')
    cur.close()


def _time_ns(rec: PickRecord) -> int:
    if rec.wall_time:
        try:
            return to_ns(datetime.fromisoformat(rec.wall_time))
        except ValueError:
            pass
    return time.time_ns()


def record_row(rec: PickRecord, image_dir: str | None = None) -> dict[str, Any]:
    """The column values of one pick record."""
    return {
        'record_id': rec.record_id,
        'time_ns': _time_ns(rec),
        'cell_id': rec.cell_id,
        'attempt': rec.attempt,
        'outcome': rec.outcome,
        'verdict': rec.verdict,
        'recovery': rec.recovery,
        'model_version': rec.model_version,
        'confidence': rec.target.score if rec.target else None,
        'package_type': rec.target.package_type if rec.target else None,
        'cycle_ms': rec.timings_ms.get('cycle'),
        'sim_time_s': rec.sim_time_s,
        'color_stamp_ns': rec.color_stamp_ns,
        'depth_stamp_ns': rec.depth_stamp_ns,
        'image_dir': image_dir,
        'record_json': to_json(rec),
        'updated_ns': time.time_ns(),
    }


class PickStore:
    """Access layer over one database URL (``sqlite:///runs/picks.db`` by default)."""

    def __init__(self, url: str = 'sqlite:///runs/picks.db', *, indexes: bool = True) -> None:
        self.engine: Engine = sa.create_engine(url)
        self.dialect = self.engine.dialect.name
        if self.dialect not in {'sqlite', 'postgresql'}:
            raise ValueError(f'unsupported database {self.dialect!r} (sqlite or postgresql)')
        if self.dialect == 'sqlite':
            sa.event.listen(self.engine, 'connect', _sqlite_pragmas)
        metadata.create_all(self.engine)  # creates INDEXES too (they belong to the table)
        if not indexes:  # the benchmark's unindexed baseline
            for ix in INDEXES:
                ix.drop(self.engine, checkfirst=True)

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------------------

    def _insert(self, table: sa.Table):
        return (sqlite if self.dialect == 'sqlite' else postgresql).insert(table)

    def upsert(self, records: list[PickRecord] | PickRecord, image_dir: str | None = None) -> None:
        """Insert or update by ``record_id`` (a re-sent record updates its row, never duplicates).

        A record still saying ``verdict='not_run'`` does not overwrite a verdict a QA event set.
        """
        records = [records] if isinstance(records, PickRecord) else records
        if not records:
            return
        rows = [record_row(r, image_dir) for r in records]
        stmt = self._insert(picks)
        ex = stmt.excluded
        keep_verdict = sa.case((ex.verdict == 'not_run', picks.c.verdict), else_=ex.verdict)
        keep_recovery = sa.case((ex.verdict == 'not_run', picks.c.recovery), else_=ex.recovery)
        keep_images = sa.func.coalesce(ex.image_dir, picks.c.image_dir)
        updates = {c.name: ex[c.name] for c in picks.c if c.name != 'record_id'}
        updates |= {'verdict': keep_verdict, 'recovery': keep_recovery, 'image_dir': keep_images}
        stmt = stmt.on_conflict_do_update(index_elements=[picks.c.record_id], set_=updates)
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
            pending = [r['record_id'] for r in rows if r['verdict'] == 'not_run']
            if pending:  # a QA event may have arrived before its record
                self._apply_events(conn, pending)

    def add_qa_event(self, event: QaEvent) -> None:
        """Store a QA event (idempotent) and apply its verdict to the pick, if stored."""
        text = to_json(event)
        row = {
            'event_key': hashlib.sha256(text.encode()).hexdigest()[:64],
            'record_id': event.record_id,
            'verdict': event.verdict,
            'recovery': event.recovery,
            'alert': event.alert,
            'received_ns': time.time_ns(),
            'event_json': text,
        }
        with self.engine.begin() as conn:
            conn.execute(self._insert(qa_events).values(row).on_conflict_do_nothing(index_elements=['event_key']))
            self._apply_events(conn, [event.record_id])

    @staticmethod
    def _apply_events(conn: sa.Connection, record_ids: list[str]) -> None:
        for rid in record_ids:
            latest = conn.execute(
                sa.select(qa_events.c.verdict, qa_events.c.recovery)
                .where(qa_events.c.record_id == rid, qa_events.c.verdict != 'not_run')
                .order_by(qa_events.c.received_ns.desc()).limit(1)
            ).first()
            if latest is not None:
                conn.execute(sa.update(picks).where(picks.c.record_id == rid)
                             .values(verdict=latest.verdict, recovery=latest.recovery))

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    def _where(q: PickQuery) -> list[sa.ColumnElement[bool]]:
        c = picks.c
        conds: list[sa.ColumnElement[bool]] = []
        if q.outcome:
            conds.append(c.outcome.in_(q.outcome))
        if q.verdict:
            conds.append(c.verdict.in_(q.verdict))
        if q.conf_min is not None:
            conds.append(c.confidence >= q.conf_min)
        if q.conf_max is not None:
            conds.append(c.confidence <= q.conf_max)
        if q.model_version:
            conds.append(c.model_version == q.model_version)
        if q.cell:
            conds.append(c.cell_id == q.cell)
        if q.time_from:
            conds.append(c.time_ns >= to_ns(q.time_from))
        if q.time_to:
            conds.append(c.time_ns <= to_ns(q.time_to))
        return conds

    def query(self, q: PickQuery) -> Page:
        """One page of matching picks (newest first by default) and the total match count."""
        conds = self._where(q)
        order = picks.c.time_ns.desc() if q.order == 'newest' else picks.c.time_ns.asc()
        sel = (sa.select(*LIST_COLUMNS).where(*conds)
               .order_by(order, picks.c.record_id).limit(q.per_page).offset(q.offset))
        count = sa.select(sa.func.count()).select_from(picks).where(*conds)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sel)]
            total = int(conn.execute(count).scalar_one())
        return Page(rows, total, q.page, q.per_page)

    def get(self, record_id: str) -> StoredPick | None:
        """One pick with its full record and QA events, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(picks).where(picks.c.record_id == record_id)).first()
            if row is None:
                return None
            events = conn.execute(sa.select(qa_events.c.event_json).where(qa_events.c.record_id == record_id)
                                  .order_by(qa_events.c.received_ns)).scalars().all()
        data = dict(row._mapping)
        return StoredPick(from_json(data['record_json'], PickRecord), data, [from_json(e, QaEvent) for e in events])

    def timeline(self, q: PickQuery, buckets: int = 24) -> tuple[int, list[dict[str, Any]]]:
        """Outcome counts and cycle latency per time bucket over the filtered picks.

        Returns ``(bucket width [ns], rows)``; rows hold ``bucket`` (start ns), ``outcome``,
        ``n``, ``avg_ms``, ``max_ms``. Aggregation runs in SQL with portable functions only.
        """
        conds = self._where(q)
        with self.engine.connect() as conn:
            lo, hi = conn.execute(sa.select(sa.func.min(picks.c.time_ns), sa.func.max(picks.c.time_ns))
                                  .where(*conds)).one()
            if lo is None:
                return 0, []
            width = max(1, -(-(hi - lo + 1) // buckets))
            bucket = (picks.c.time_ns - lo) // width  # SQLAlchemy renders floor division per dialect
            avg_ms, max_ms = sa.func.avg(picks.c.cycle_ms), sa.func.max(picks.c.cycle_ms)
            sel = (sa.select(bucket.label('b'), picks.c.outcome, sa.func.count().label('n'),
                             avg_ms.label('avg_ms'), max_ms.label('max_ms'))
                   .where(*conds).group_by('b', picks.c.outcome).order_by('b'))
            rows = [{'bucket': lo + int(r.b) * width, 'outcome': r.outcome, 'n': r.n,
                     'avg_ms': r.avg_ms, 'max_ms': r.max_ms} for r in conn.execute(sel)]
        return width, rows

    def facets(self) -> dict[str, list[str]]:
        """Distinct cells and model versions (for the filter form)."""
        with self.engine.connect() as conn:
            cells = conn.execute(sa.select(picks.c.cell_id).distinct().order_by(picks.c.cell_id)).scalars().all()
            models = conn.execute(sa.select(picks.c.model_version).distinct()
                                  .where(picks.c.model_version.is_not(None)).order_by(picks.c.model_version)).scalars().all()
        return {'cells': list(cells), 'model_versions': list(models)}

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(picks)).scalar_one())
