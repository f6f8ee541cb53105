"""Pick store benchmark: filtered list server time over 100,000 synthetic pick records.

Times the whole request handler of ``/api/picks`` (store query + count + JSON) through the app,
reading the app's own ``Server-Timing`` header, for the indexed schema and an unindexed baseline.

    .venv/bin/python bench/pick_store_query.py [--records 100000] [--repeats 30] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from robin_insight.audit_app import create_app
from robin_insight.pick_store import PickStore
from robin_insight.synthetic import make_records

QUERIES = {
    'no filter, page 1': '',
    'outcome=failed': 'outcome=failed',
    'verdict=double_pick, cell_1': 'verdict=double_pick&cell=cell_1',
    'model + confidence 0.4-0.6': 'model_version=seg-2024.2&conf_min=0.4&conf_max=0.6',
    'time range (1 day) + failed': 'time_from=2025-01-03T00:00&time_to=2025-01-04T00:00&outcome=failed',
    'deep page (page 500)': 'page=500',
}


def fill(store: PickStore, n: int) -> float:
    t0 = time.perf_counter()
    for start in range(0, n, 5000):
        store.upsert(make_records(min(5000, n - start), seed=start, start=start))
    return time.perf_counter() - t0


def server_ms(client: TestClient, query: str, repeats: int) -> np.ndarray:
    out = []
    for _ in range(repeats):
        r = client.get(f'/api/picks?{query}')
        r.raise_for_status()
        out.append(float(r.headers['server-timing'].split('dur=')[1]))
    return np.array(out)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument('--records', type=int, default=100_000)
    p.add_argument('--repeats', type=int, default=30)
    p.add_argument('--json', type=Path, help='also write the results as JSON here')
    args = p.parse_args()
    results: dict[str, dict[str, tuple[float, float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, indexed in (('indexed', True), ('unindexed', False)):
            store = PickStore(f'sqlite:///{tmp}/{label}.db', indexes=indexed)
            secs = fill(store, args.records)
            print(f'{label}: inserted {store.count()} records in {secs:.1f} s', flush=True)
            client = TestClient(create_app(store))
            results[label] = {}
            for name, query in QUERIES.items():
                ms = server_ms(client, query, args.repeats)
                total = client.get(f'/api/picks?{query}').json()['total']
                results[label][name] = (float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), total)
            store.close()
    print(f'\nfiltered list, server time [ms] over {args.records} records, {args.repeats} requests each (target < 500)')
    print(f"{'query':34} {'matches':>8} {'idx p50':>8} {'idx p99':>8} {'noidx p50':>10} {'noidx p99':>10}")
    worst = 0.0
    for name in QUERIES:
        i50, i99, total = results['indexed'][name]
        u50, u99, _ = results['unindexed'][name]
        worst = max(worst, i99)
        print(f'{name:34} {total:8d} {i50:8.1f} {i99:8.1f} {u50:10.1f} {u99:10.1f}')
    print(f'\nworst indexed p99: {worst:.1f} ms -> {"PASS" if worst < 500 else "FAIL"} (< 500 ms)')
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        rows = [{'query': name, 'matches': results['indexed'][name][2],
                 'indexed_p50_ms': results['indexed'][name][0], 'indexed_p99_ms': results['indexed'][name][1],
                 'unindexed_p50_ms': results['unindexed'][name][0], 'unindexed_p99_ms': results['unindexed'][name][1]}
                for name in QUERIES]
        args.json.write_text(json.dumps({'benchmark': 'pick_store_query', 'records': args.records,
                                         'repeats': args.repeats, 'rows': rows}, indent=2))
    return 0 if worst < 500 else 1


if __name__ == '__main__':
    raise SystemExit(main())
