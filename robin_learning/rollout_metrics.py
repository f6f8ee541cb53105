"""Per-cell rollout windows from the fleet Parquet dataset (DuckDB), for the rollout policy."""

from __future__ import annotations

from pathlib import Path

import duckdb

from robin_learning.fleet_table import parquet_glob
from robin_learning.rollout_policy import CellWindow


def cell_windows(root: Path, model_version: str, since_ns: int = 0) -> list[CellWindow]:
    """Windows of every cell's picks made with ``model_version`` since ``since_ns`` ([] before the
    first record has been written)."""
    if not any(Path(root).rglob('*.parquet')):
        return []
    q = (f"SELECT cell_id, count(*) AS n, sum(CASE WHEN failed THEN 0 ELSE 1 END) AS ok, "
         f"sum(CASE WHEN qa_flagged THEN 1 ELSE 0 END) AS qa, list(decision_ms) FILTER (decision_ms IS NOT NULL) "
         f"FROM read_parquet('{parquet_glob(root)}', hive_partitioning = true) "
         f"WHERE model_version = $v AND time_ns >= $t GROUP BY cell_id ORDER BY cell_id")
    rows = duckdb.execute(q, {'v': model_version, 't': since_ns}).fetchall()
    return [CellWindow(str(c), int(n), int(ok), int(qa), [float(x) for x in (lat or [])]) for c, n, ok, qa, lat in rows]
