"""config/grasp.yaml matches the node's parameter declarations; values build a planner config."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from robin_grasp.grasp_config import NODE_SPECS, PLANNER_SPECS, config_from_values
from robin_grasp.grasp_planner import PlannerConfig

CONFIG = Path(__file__).resolve().parent.parent / 'config' / 'grasp.yaml'


def _flatten(d: dict, prefix: str = '') -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out |= _flatten(v, f'{prefix}{k}.')
        else:
            out[f'{prefix}{k}'] = v
    return out


def test_yaml_has_exactly_the_declared_parameters_with_their_defaults():
    doc = yaml.safe_load(CONFIG.read_text())
    params = _flatten(doc['/**']['ros__parameters'])
    specs = {s.name: s for s in (*NODE_SPECS, *PLANNER_SPECS)}
    assert params.keys() == specs.keys()
    for name, value in params.items():
        assert value == pytest.approx(specs[name].default), name
        s = specs[name]
        if s.low is not None:
            assert s.low <= value <= s.high, name
        if s.choices:
            assert value in s.choices, name
        assert s.description


def test_defaults_reproduce_the_planner_defaults():
    cfg = config_from_values({})
    ref = PlannerConfig()
    assert cfg.selection == ref.selection
    assert cfg.cups == ref.cups
    assert cfg.priors == ref.priors
    assert cfg.yaw_offsets == pytest.approx(ref.yaw_offsets)
    assert cfg.pose_weights == ref.pose_weights


def test_values_reach_the_config():
    cfg = config_from_values({'selection.max_tilt_deg': 20.0, 'density.box': 300.0, 'cup_policy': 'minimal'})
    assert cfg.selection.max_tilt == pytest.approx(math.radians(20.0))
    assert cfg.priors['box'].density == 300.0
    assert cfg.cup_policy == 'minimal'
    with pytest.raises(ValueError, match='reach_min'):
        config_from_values({'selection.reach_min': 0.9, 'selection.reach_max': 0.5})
