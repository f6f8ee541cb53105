"""The annotation queue: frames waiting for (or carrying) human annotations, in one SQL table.

SQLAlchemy Core, like ``robin_insight.pick_store``: the same table and queries on SQLite (the
embedded default, WAL) and PostgreSQL for a fleet-wide queue. Every change of several frames
(an export batch, an annotation import, a training run) is one transaction, so a failure
half-way leaves the queue exactly as it was.

Images are referenced, not stored: ``color_path``/``depth_path`` point at PNG files (absolute,
or relative to the directory of the SQLite file). Predictions and annotations are JSON lists of
COCO-style instances with uncompressed RLE masks (see :mod:`robin_learning.instances`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from robin_learning.queue_status import STATUSES, check_transition

metadata = sa.MetaData()

frames = sa.Table(
    'queued_frames', metadata,
    sa.Column('image_id', sa.Integer, primary_key=True, autoincrement=True),  # COCO image id
    sa.Column('frame_key', sa.String(160), nullable=False, unique=True),  # idempotency: cell + stamp
    sa.Column('created_ns', sa.BigInteger, nullable=False),
    sa.Column('updated_ns', sa.BigInteger, nullable=False),
    sa.Column('cell_id', sa.String(64), nullable=False),
    sa.Column('stamp_ns', sa.BigInteger),  # color header stamp
    sa.Column('record_id', sa.String(64)),  # pick record that flagged it, if any
    sa.Column('status', sa.String(20), nullable=False),
    sa.Column('priority', sa.Float, nullable=False),  # uncertainty score: higher = more informative
    sa.Column('reasons', sa.Text, nullable=False),  # sorted, comma-separated queue_status.REASONS
    sa.Column('model_version', sa.String(128)),
    sa.Column('width', sa.Integer, nullable=False),
    sa.Column('height', sa.Integer, nullable=False),
    sa.Column('color_path', sa.Text, nullable=False),
    sa.Column('depth_path', sa.Text),
    sa.Column('meta_json', sa.Text, nullable=False),  # intrinsics, belt plane, domain (for training)
    sa.Column('prediction_json', sa.Text, nullable=False),  # pre-annotation
    sa.Column('gt_ref', sa.Text),  # simulation ground truth (dataset sidecar) for the GT annotator
    sa.Column('annotation_json', sa.Text),
    sa.Column('annotation_source', sa.Text),
    sa.Column('batch', sa.String(128)),  # last export batch / training run
)

INDEXES = (
    sa.Index('ix_queue_status_priority', frames.c.status, frames.c.priority),
    sa.Index('ix_queue_cell_stamp', frames.c.cell_id, frames.c.stamp_ns),
)


class QueueError(ValueError):
    """A queue operation that names unknown frames or breaks the life cycle."""


@dataclass
class NewFrame:
    """A frame to queue (what the node or the bench knows at selection time)."""

    frame_key: str
    cell_id: str
    width: int
    height: int
    color_path: str
    priority: float
    reasons: Sequence[str]
    prediction: list[dict[str, Any]]
    depth_path: str | None = None
    stamp_ns: int | None = None
    record_id: str | None = None
    model_version: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    gt_ref: str | None = None


@dataclass
class QueueItem:
    """One stored frame."""

    image_id: int
    frame_key: str
    cell_id: str
    status: str
    priority: float
    reasons: tuple[str, ...]
    width: int
    height: int
    color_path: Path
    depth_path: Path | None
    meta: dict[str, Any]
    prediction: list[dict[str, Any]]
    annotation: list[dict[str, Any]] | None
    gt_ref: str | None
    stamp_ns: int | None
    record_id: str | None
    model_version: str | None
    batch: str | None


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute('PRAGMA journal_mode=WAL')
    cur.execute('PRAGMA busy_timeout=5000')
    cur.close()


class AnnotationQueue:
    """Transactional store of queued frames.

    Args:
        url: SQLAlchemy URL (``sqlite:///path/queue.db`` or ``postgresql+psycopg://...``).
        image_root: base directory of relative image paths (default: the SQLite file's folder).
    """

    def __init__(self, url: str, image_root: Path | None = None) -> None:
        self.url = url
        self.engine: Engine = sa.create_engine(url)
        if self.engine.dialect.name == 'sqlite':
            sa.event.listen(self.engine, 'connect', _sqlite_pragmas)
            db = url.removeprefix('sqlite:///')
            default_root = Path(db).parent if db and db != ':memory:' else Path.cwd()
        else:
            default_root = Path.cwd()
        self.image_root = Path(image_root) if image_root else default_root
        metadata.create_all(self.engine)
        for ix in INDEXES:
            ix.create(self.engine, checkfirst=True)

    @classmethod
    def at(cls, path: Path) -> AnnotationQueue:
        """Queue in the SQLite file ``path`` (parents created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(f'sqlite:///{path}')

    # --- writing -------------------------------------------------------------------------------
    def add(self, frame: NewFrame) -> int | None:
        """Queue ``frame``; return its image id, or None when its ``frame_key`` is already queued."""
        now = time.time_ns()
        row = {
            'frame_key': frame.frame_key, 'created_ns': now, 'updated_ns': now, 'cell_id': frame.cell_id,
            'stamp_ns': frame.stamp_ns, 'record_id': frame.record_id, 'status': 'queued',
            'priority': float(frame.priority), 'reasons': ','.join(sorted(set(frame.reasons))),
            'model_version': frame.model_version, 'width': int(frame.width), 'height': int(frame.height),
            'color_path': frame.color_path, 'depth_path': frame.depth_path, 'meta_json': json.dumps(frame.meta),
            'prediction_json': json.dumps(frame.prediction), 'gt_ref': frame.gt_ref,
        }
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(frames.c.image_id).where(frames.c.frame_key == frame.frame_key)).first()
            if exists:
                return None
            return int(conn.execute(frames.insert().values(**row)).inserted_primary_key[0])

    def set_status(self, image_ids: Iterable[int], status: str, batch: str | None = None) -> int:
        """Move frames to ``status`` in one transaction (all or none); return how many moved."""
        ids = sorted(set(image_ids))
        with self.engine.begin() as conn:
            current = self._statuses(conn, ids)
            for i in ids:
                check_transition(str(i), current[i], status)
            conn.execute(frames.update().where(frames.c.image_id.in_(ids)).values(
                status=status, batch=batch, updated_ns=time.time_ns()))
        return len(ids)

    def apply_annotations(self, annotations: Mapping[int, list[dict[str, Any]]], source: str) -> int:
        """Store corrected annotations per image id and mark them annotated, all in one transaction.

        Raises:
            QueueError: an image id is not queued; TransitionError: a frame may not be annotated
                (e.g. already used in training). Nothing is written then.
        """
        ids = sorted(annotations)
        now = time.time_ns()
        with self.engine.begin() as conn:
            current = self._statuses(conn, ids)
            for i in ids:
                check_transition(str(i), current[i], 'annotated')
            for i in ids:
                conn.execute(frames.update().where(frames.c.image_id == i).values(
                    status='annotated', annotation_json=json.dumps(annotations[i]), annotation_source=source,
                    updated_ns=now))
        return len(ids)

    def delete(self, image_ids: Iterable[int]) -> list[QueueItem]:
        """Remove frames (disk bound); return them so the caller can delete their files."""
        ids = sorted(set(image_ids))
        gone = self.get_many(ids)
        with self.engine.begin() as conn:
            conn.execute(frames.delete().where(frames.c.image_id.in_(ids)))
        return gone

    # --- reading -------------------------------------------------------------------------------
    def _statuses(self, conn: sa.Connection, ids: Sequence[int]) -> dict[int, str]:
        rows = conn.execute(sa.select(frames.c.image_id, frames.c.status).where(frames.c.image_id.in_(ids)))
        found = {int(r.image_id): r.status for r in rows}
        if missing := [i for i in ids if i not in found]:
            raise QueueError(f'unknown image id(s) in the queue: {", ".join(map(str, missing[:20]))}')
        return found

    def _item(self, r: sa.Row) -> QueueItem:
        def path(p: str | None) -> Path | None:
            if not p:
                return None
            q = Path(p)
            return q if q.is_absolute() else self.image_root / q

        return QueueItem(
            image_id=int(r.image_id), frame_key=r.frame_key, cell_id=r.cell_id, status=r.status,
            priority=float(r.priority), reasons=tuple(x for x in r.reasons.split(',') if x), width=int(r.width),
            height=int(r.height), color_path=path(r.color_path), depth_path=path(r.depth_path),  # type: ignore[arg-type]
            meta=json.loads(r.meta_json), prediction=json.loads(r.prediction_json),
            annotation=json.loads(r.annotation_json) if r.annotation_json else None, gt_ref=r.gt_ref,
            stamp_ns=r.stamp_ns, record_id=r.record_id, model_version=r.model_version, batch=r.batch)

    def get_many(self, image_ids: Sequence[int]) -> list[QueueItem]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(frames).where(frames.c.image_id.in_(list(image_ids)))
                                .order_by(frames.c.image_id))
            return [self._item(r) for r in rows]

    def get(self, image_id: int) -> QueueItem:
        items = self.get_many([image_id])
        if not items:
            raise QueueError(f'unknown image id in the queue: {image_id}')
        return items[0]

    def items(self, status: str | Sequence[str] | None = None, limit: int | None = None,
              by_priority: bool = True) -> list[QueueItem]:
        """Frames (optionally of some statuses), highest priority first (or oldest first)."""
        q = sa.select(frames)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            if bad := [s for s in wanted if s not in STATUSES]:
                raise QueueError(f'unknown status {bad}; one of {", ".join(STATUSES)}')
            q = q.where(frames.c.status.in_(wanted))
        q = q.order_by(frames.c.priority.desc(), frames.c.image_id) if by_priority else q.order_by(frames.c.image_id)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [self._item(r) for r in conn.execute(q)]

    def ids(self) -> set[int]:
        with self.engine.connect() as conn:
            return {int(v) for v in conn.execute(sa.select(frames.c.image_id)).scalars()}

    def counts(self) -> dict[str, int]:
        """Frames per status (every status listed, zero included)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(frames.c.status, sa.func.count()).group_by(frames.c.status))
            got = {r[0]: int(r[1]) for r in rows}
        return {s: got.get(s, 0) for s in STATUSES}

    def lowest_priority(self, n: int, status: str = 'queued') -> list[int]:
        """Ids of the ``n`` least informative frames of ``status`` (eviction candidates)."""
        with self.engine.connect() as conn:
            return [int(v) for v in conn.execute(
                sa.select(frames.c.image_id).where(frames.c.status == status)
                .order_by(frames.c.priority, frames.c.image_id).limit(n)).scalars()]
