"""Pick records out of a cell's pick store (the ``pick_records`` table of robin_insight)."""

from __future__ import annotations

import sqlalchemy as sa

from robin_core.records import PickRecord, from_json
from robin_insight.pick_store import picks


def read_pick_store(url: str) -> list[PickRecord]:
    """Every record in the store at ``url`` (SQLAlchemy URL); [] while the store has no table yet
    (a cell that has just started)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(picks.name):
                return []
            return [from_json(t, PickRecord) for t in conn.execute(sa.select(picks.c.record_json)).scalars()]
    finally:
        engine.dispose()
