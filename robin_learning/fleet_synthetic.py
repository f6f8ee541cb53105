"""Synthetic fleet pick records with known (planted) effects: a demo and a test oracle for the report.

Planted by default: failure probability rises with clutter (instance count) and with unhealthy
cups; model ``v0002`` decides slower. Lighting, belt speed and package type have no effect, so a
report that "finds" them is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from robin_core.instance_table import PACKAGE_TYPES
from robin_core.records import PickRecord, TargetInfo


def synthetic_fleet(n: int, cells: int = 4, seed: int = 0, *, clutter_effect: float = 0.06,
                    cup_effect: float = 0.06, slow_model: str = 'v0002', slow_ms: float = 15.0,
                    ) -> tuple[list[PickRecord], dict[str, dict[str, Any]]]:
    """``n`` records over ``cells`` cells and three days, plus their scene properties by record id."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    recs, scenes = [], {}
    for k in range(n):
        inst = int(rng.integers(1, 31))
        bad_cups = int(rng.choice([0, 0, 0, 1, 2]))
        model = str(rng.choice(['v0001', 'v0002']))
        p_fail = 0.02 + clutter_effect * inst / 10 + cup_effect * bad_cups
        failed = rng.random() < p_fail
        verdict = str(rng.choice(['drop', 'double_pick', 'missed'])) if failed else 'ok'
        decision = rng.lognormal(np.log(35.0), 0.15) + (slow_ms if model == slow_model else 0.0)
        cell = f'cell_{k % cells}'
        rec = PickRecord(
            cell_id=cell, wall_time=(t0 + timedelta(seconds=k * 3 * 86400 / n)).isoformat(), model_version=model,
            segmenter='model', outcome='failed' if failed and rng.random() < 0.5 else 'succeeded', verdict=verdict,
            target=TargetInfo(instance_id=1, package_type=str(rng.choice(PACKAGE_TYPES)),
                              score=float(rng.uniform(0.5, 1.0)), type_score=float(rng.uniform(0.5, 1.0))),
            cup_mask=int(rng.integers(1, 256)), unhealthy_cups=list(range(bad_cups)),
            timings_ms={'decision': float(decision), 'cycle': float(decision + rng.normal(4000, 300))})
        recs.append(rec)
        scenes[rec.record_id] = {'instance_count': inst, 'lighting_lux': float(rng.uniform(200, 1500)),
                                 'belt_speed_mps': float(rng.choice([0.0, 0.1, 0.2, 0.3])), 'scenario': 'mixed'}
    return recs, scenes
