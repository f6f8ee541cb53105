"""Packages that left the cell for good leave the physics model too.

Every feeder pile adds free bodies to the MuJoCo model and nothing took them out: delivered
packages were parked on the floor beside the cell, fallen ones lay where they fell. Each rests on
the floor with ~4 contacts, and the constraint solver pays for all of them on every step: the
session-7 fault run slowed from 0.79× to 0.12× real time over 200 picks, which is why no 300-pick
run finished. Measured with ``Simulation.step`` alone: 0.18 s of wall time per simulated second
at the start, 2.3 s with 320 parked packages (1310 contacts).

A retired package is deleted from the spec (its body, material and texture; the next recompile
maps the state of everything else by name) and remembered with its final state, so the ground
truth still reports it (``delivered`` or ``fell_off``) and ids are never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

RETIRE_FELL_OFF_AFTER_S = 5.0  #: [s] a package on the floor this long has settled: nothing more happens to it


@dataclass(frozen=True)
class RetiredPackage:
    """What the ground truth keeps reporting for a package no longer simulated."""

    state: str  #: ``delivered`` or ``fell_off``
    robot: str | None  #: the drive robot that took it away (delivered)
    pose: np.ndarray  #: (7,) last pose [m, quaternion w x y z] in base_link


def delete_package_body(spec: mujoco.MjSpec, body_name: str) -> None:
    """Delete a package's body and its own material and texture (world_builder.add_package) from ``spec``."""
    spec.delete(spec.body(body_name))
    for asset in (spec.material(f'{body_name}_mat'), spec.texture(f'{body_name}_tex')):
        if asset is not None:
            spec.delete(asset)
