"""Per-cell settings a fleet runner passes through the environment (no rclpy import).

A fleet of simulated cells starts every cell from the same graph and parameter files; what
differs per cell is set in the environment of its process group:

- ``ROBIN_CELL_ID``: the cell's name in pick records (overrides the ``cell_id`` parameter);
- ``ROBIN_MODEL_REF``: registry alias or version the segmentation node loads (overrides ``model_ref``).

An unset or blank variable leaves the parameter in force.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

CELL_ID_ENV = 'ROBIN_CELL_ID'
MODEL_REF_ENV = 'ROBIN_MODEL_REF'


@dataclass(frozen=True)
class Setting:
    """A value and where it came from (``parameter`` or the environment variable's name)."""

    value: str
    source: str


def env_override(param_name: str, param_value: str, env_name: str,
                 environ: Mapping[str, str] | None = None) -> Setting:
    """``environ[env_name]`` when set and not blank, else the parameter's value."""
    env = os.environ if environ is None else environ
    value = (env.get(env_name) or '').strip()
    if value:
        return Setting(value, env_name)
    return Setting(str(param_value), f'parameter {param_name}')
