"""Read the CLI sections of ``config/learning.yaml`` into the typed settings of each module."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from robin_learning.fleet_report import ReportConfig
from robin_learning.fleet_rollout import FleetStageConfig
from robin_learning.retraining_gate import GateConfig
from robin_learning.rollout_policy import RolloutPolicy


class ConfigError(ValueError):
    """Unknown keys or wrong types in the learning config."""


def _typed(cls: type, section: dict[str, Any], name: str) -> Any:
    known = {f.name for f in fields(cls)}
    if unknown := sorted(set(section) - known):
        raise ConfigError(f"{name}: unknown key(s) {unknown}; known: {sorted(known)}")
    try:
        return cls(**{k: float(v) if isinstance(getattr(cls(), k), float) else v for k, v in section.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f'{name}: {exc}') from exc


def load_learning_config(path: Path | None) -> tuple[GateConfig, RolloutPolicy, ReportConfig]:
    """Gate, rollout and report settings (defaults for missing sections or no file)."""
    doc: dict[str, Any] = {}
    if path is not None:
        doc = yaml.safe_load(Path(path).read_text()) or {}
        # a ROS 2 parameter file: the CLI sections sit beside the node's parameters
        doc = (doc.get('/**') or {}).get('ros__parameters', doc)
    gate = GateConfig.from_dict(doc.get('gate') or {})
    rollout = _typed(RolloutPolicy, doc.get('rollout') or {}, 'rollout')
    report = _typed(ReportConfig, doc.get('fleet_report') or {}, 'fleet_report')
    return gate, rollout, report


def load_fleet_rollout_config(path: Path | None) -> tuple[RolloutPolicy, FleetStageConfig]:
    """Policy and stage scale of the real-cell rollout demo: section ``rollout_fleet`` (``policy``
    keys override ``rollout``; ``stage`` sets FleetStageConfig)."""
    doc: dict[str, Any] = {}
    if path is not None:
        doc = yaml.safe_load(Path(path).read_text()) or {}
        doc = (doc.get('/**') or {}).get('ros__parameters', doc)
    fleet = doc.get('rollout_fleet') or {}
    policy = _typed(RolloutPolicy, {**(doc.get('rollout') or {}), **(fleet.get('policy') or {})},
                    'rollout_fleet.policy')
    stage = _typed(FleetStageConfig, fleet.get('stage') or {}, 'rollout_fleet.stage')
    return policy, stage
