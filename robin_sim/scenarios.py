"""Named scenes: exact package layouts for tests and demos (``scenario`` parameter of the sim).

``pile`` (the default) is a seeded random pile; the others place packages exactly so that a
scripted trajectory knows where to pick.
"""

from __future__ import annotations

import numpy as np

from robin_core.cell_description import CellDescription
from robin_sim.package_catalog import Decoration, PackageSpec, place_package

SCENARIOS = ('pile', 'empty', 'suction_test')

#: suction_test layout: (package id, role, centre x, y [m], size l, w, h [m], yaw [rad], mass [kg])
SUCTION_TEST_LAYOUT = (
    (1, 'light', 0.45, -0.30, (0.26, 0.16, 0.10), np.pi / 2, 1.0),
    (2, 'heavy', 0.45, 0.00, (0.26, 0.16, 0.12), np.pi / 2, 8.0),
    (3, 'pair_a', 0.45, 0.235, (0.16, 0.11, 0.10), 0.0, 0.8),
    (4, 'pair_b', 0.45, 0.345, (0.16, 0.11, 0.10), 0.0, 0.8),
)


def suction_test_packages(cell: CellDescription) -> list[PackageSpec]:
    """A light box, a heavy box and two touching boxes, level on the belt, long side along base y.

    The pair's seam lies at y = 0.29 m, under the middle of the cup grid when the tool's cup rows
    run along base y (tool yaw -π/2).
    """
    out = []
    for pid, _role, x, y, size, yaw, mass in SUCTION_TEST_LAYOUT:
        deco = Decoration(tape=False, labels=1, artwork=False, white_on_white=False, texture_seed=pid)
        base = PackageSpec(pid, 'box', size, mass, 0.6, (0.62, 0.45, 0.28), deco, (0, 0, 0), (1, 0, 0, 0))
        out.append(place_package(base, (x, y, cell.pick_area.belt_z + size[2] / 2 + 0.001), yaw))
    return out


def scenario_packages(name: str, cell: CellDescription) -> list[PackageSpec] | None:
    """Packages of a fixed scenario, or None for ``pile`` (random).

    Raises:
        ValueError: unknown scenario name.
    """
    if name == 'pile':
        return None
    if name == 'empty':
        return []
    if name == 'suction_test':
        return suction_test_packages(cell)
    raise ValueError(f"unknown scenario '{name}'; known: {', '.join(SCENARIOS)}")


def pick_point(package: PackageSpec) -> np.ndarray:
    """Centre of the top face [m] of a level package."""
    return np.array([package.pos[0], package.pos[1], package.pos[2] + package.size[2] / 2])
