"""Fleet Parquet layout and the correlation report on synthetic records with planted effects."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq

from robin_learning.fleet_report import write_report
from robin_learning.fleet_stats import wilson
from robin_learning.fleet_synthetic import synthetic_fleet
from robin_learning.fleet_table import parquet_glob, write_records


def test_parquet_layout_is_hive_partitioned_plain_columns(tmp_path):
    recs, scenes = synthetic_fleet(200, cells=2, seed=1)
    assert write_records(recs[:120], tmp_path, scenes) == 120
    assert write_records(recs[120:], tmp_path, scenes) == 80  # append never overwrites
    dirs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob('cell_id=*/date=*'))
    assert dirs[0] == 'cell_id=cell_0/date=2026-03-01' and len(dirs) == 6
    f = next(tmp_path.rglob('*.parquet'))
    schema = pq.read_schema(f)
    assert 'cell_id' not in schema.names  # partition columns live in the path
    assert all(not str(t).startswith(('struct', 'list', 'map')) for t in schema.types)
    n, cells = duckdb.sql(f"SELECT count(*), count(DISTINCT cell_id) FROM read_parquet('{parquet_glob(tmp_path)}', "
                          'hive_partitioning = true)').fetchall()[0]
    assert (n, cells) == (200, 2)


def test_report_finds_planted_effects_and_not_the_others(tmp_path):
    recs, scenes = synthetic_fleet(3000, seed=3)
    write_records(recs, tmp_path / 'pq', scenes)
    doc = write_report(tmp_path / 'pq', tmp_path / 'out')
    found = {(f['factor'], f['target']) for f in doc['findings']}
    assert ('instance_count', 'failures') in found
    assert ('unhealthy_cups', 'failures') in found
    assert ('model_version', 'decision latency') in found
    assert not {f for f in found if f[0] in ('lighting_lux', 'belt_speed_mps', 'package_type')}
    clutter = next(f for f in doc['factors'] if f['name'] == 'instance_count')
    rates = [b['rate'] for b in clutter['buckets']]
    assert rates[-1] > rates[0] and clutter['failure_direction'] == 1
    md = (tmp_path / 'out' / 'report.md').read_text()
    assert '**instance_count** vs failures' in md and (tmp_path / 'out' / 'instance_count.png').stat().st_size > 5000
    assert json.loads((tmp_path / 'out' / 'report.json').read_text())['picks'] == 3000


def test_report_without_effects_finds_nothing(tmp_path):
    recs, scenes = synthetic_fleet(1500, seed=4, clutter_effect=0.0, cup_effect=0.0, slow_ms=0.0)
    write_records(recs, tmp_path / 'pq', scenes)
    assert write_report(tmp_path / 'pq', tmp_path / 'out')['findings'] == []


def test_wilson_interval():
    lo, hi = wilson(10, 100)
    assert 0.05 < lo < 0.1 < hi < 0.18
    assert wilson(0, 0)[0] != wilson(0, 0)[0]  # NaN for no data
