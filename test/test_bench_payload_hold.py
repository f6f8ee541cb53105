"""End to end in the simulator: a heavy box swung at full speed on two cups drops; on eight cups,
slowed to what the hold model says they hold, it arrives (bench/payload_hold.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from robin_grasp.grasp_planner import PlannerConfig

BENCH = Path(__file__).resolve().parents[1] / 'bench' / 'payload_hold.py'


def _bench():
    spec = importlib.util.spec_from_file_location('payload_hold', BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules['payload_hold'] = mod
    spec.loader.exec_module(mod)
    return mod


def test_a_heavy_box_drops_at_full_speed_and_arrives_slowed_to_its_hold():
    cfg, payload_hold = PlannerConfig(), _bench()
    fast = payload_hold.run_case(6.0, 2, limited=False, cfg=cfg)
    assert fast['outcome'] == 'dropped' and fast['hold_mps2'] < 0.0  # the planner would never allow it
    assert payload_hold.run_case(6.0, 2, limited=True, cfg=cfg)['outcome'] == 'refused'
    slowed = payload_hold.run_case(6.0, 8, limited=True, cfg=cfg)
    assert slowed['outcome'] == 'held'
    assert slowed['transfer_s'] > payload_hold.run_case(6.0, 8, limited=False, cfg=cfg)['transfer_s']
