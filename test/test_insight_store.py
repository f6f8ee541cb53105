"""Pick store: filters, idempotency by record_id, QA events, pagination (SQLite file, WAL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from robin_core.records import QaEvent
from robin_insight.pick_query import PickQuery
from robin_insight.pick_store import PickStore
from robin_insight.synthetic import make_records


@pytest.fixture
def store(tmp_path):
    s = PickStore(f'sqlite:///{tmp_path / "picks.db"}')
    yield s
    s.close()


def test_wal_mode(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql('PRAGMA journal_mode').scalar() == 'wal'


def test_upsert_is_idempotent(store):
    recs = make_records(20, seed=1)
    store.upsert(recs)
    store.upsert(recs)  # re-sent
    assert store.count() == 20
    changed = recs[3].model_copy(update={'outcome': 'aborted', 'failure_reason': 'estop'})
    store.upsert(changed)
    assert store.count() == 20
    got = store.get(recs[3].record_id)
    assert got.row['outcome'] == 'aborted' and got.record.failure_reason == 'estop'


@pytest.mark.parametrize('field', ['outcome', 'verdict', 'model_version', 'cell', 'confidence', 'time'])
def test_filters_match_python(store, field):
    recs = make_records(300, seed=2)
    store.upsert(recs)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    q, want = {
        'outcome': (PickQuery(outcome=['failed']), lambda r: r.outcome == 'failed'),
        'verdict': (PickQuery(verdict=['drop', 'double_pick']), lambda r: r.verdict in {'drop', 'double_pick'}),
        'model_version': (PickQuery(model_version='seg-2024.2'), lambda r: r.model_version == 'seg-2024.2'),
        'cell': (PickQuery(cell='cell_1'), lambda r: r.cell_id == 'cell_1'),
        'confidence': (PickQuery(conf_min=0.4, conf_max=0.6), lambda r: 0.4 <= r.target.score <= 0.6),
        'time': (PickQuery(time_from=t0 + timedelta(minutes=5), time_to=t0 + timedelta(minutes=10)),
                 lambda r: timedelta(minutes=5) <= datetime.fromisoformat(r.wall_time) - t0 <= timedelta(minutes=10)),
    }[field]
    expected = {r.record_id for r in recs if want(r)}
    assert 0 < len(expected) < len(recs)  # the filter must actually narrow
    page = store.query(q.model_copy(update={'per_page': 500}))
    assert page.total == len(expected)
    assert {r['record_id'] for r in page.rows} == expected


def test_pagination_covers_everything_once_in_time_order(store):
    recs = make_records(123, seed=3)
    store.upsert(recs)
    seen, times = [], []
    for n in range(1, 5):
        page = store.query(PickQuery(page=n, per_page=40))
        assert page.total == 123 and page.pages == 4
        seen += [r['record_id'] for r in page.rows]
        times += [r['time_ns'] for r in page.rows]
    assert len(seen) == len(set(seen)) == 123
    assert times == sorted(times, reverse=True)


def test_qa_event_sets_verdict_before_or_after_record(store):
    early, late = make_records(2, seed=4)
    early = early.model_copy(update={'verdict': 'not_run', 'recovery': 'none'})
    store.add_qa_event(QaEvent(record_id=early.record_id, verdict='double_pick', recovery='put_back_and_repick'))
    store.upsert(early)  # the record arrives after its QA event
    assert store.get(early.record_id).row['verdict'] == 'double_pick'
    late = late.model_copy(update={'verdict': 'not_run'})
    store.upsert(late)
    event = QaEvent(record_id=late.record_id, verdict='drop', recovery='repick')
    store.add_qa_event(event)
    store.add_qa_event(event)  # re-sent: stored once
    got = store.get(late.record_id)
    assert got.row['verdict'] == 'drop' and got.row['recovery'] == 'repick' and len(got.qa_events) == 1
    store.upsert(late)  # a later re-send still saying not_run keeps the QA verdict
    assert store.get(late.record_id).row['verdict'] == 'drop'


def test_timeline_counts_add_up(store):
    recs = make_records(200, seed=5)
    store.upsert(recs)
    width, rows = store.timeline(PickQuery(), buckets=10)
    assert width > 0
    assert sum(r['n'] for r in rows) == 200
    assert sum(r['n'] for r in rows if r['outcome'] == 'failed') == sum(r.outcome == 'failed' for r in recs)


def test_indexes_exist_and_serve_the_list(store, tmp_path):
    with store.engine.connect() as conn:
        names = {r[1] for r in conn.exec_driver_sql("SELECT type, name FROM sqlite_master WHERE type='index'")}
        plan = ' '.join(str(r[-1]) for r in conn.exec_driver_sql(
            'EXPLAIN QUERY PLAN SELECT record_id FROM pick_records WHERE cell_id = ? ORDER BY time_ns DESC LIMIT 50',
            ('cell_0',)))
    assert {'ix_picks_time', 'ix_picks_cell_time', 'ix_picks_verdict_time', 'ix_picks_confidence'} <= names
    assert 'ix_picks_cell_time' in plan and 'TEMP B-TREE' not in plan  # no sort: the index gives the order
    bare = PickStore(f'sqlite:///{tmp_path / "bare.db"}', indexes=False)
    with bare.engine.connect() as conn:
        assert not conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE name LIKE 'ix_picks_%'").all()
    bare.close()
