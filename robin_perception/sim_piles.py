"""Dataset backend on the project's MuJoCo simulator (robin_sim): settled physical piles.

Slower than ``procedural_piles`` (physics settling + rendering, seconds per frame) but it is
the cell the pipeline runs against, so held-out evaluation sets should come from here.
Truth per package: type from the catalog, hard-case tags from its decoration and colour,
``pickable`` from package-package contacts (nothing whose contact normal points down onto it),
visible fraction from visible pixels over the projected area of its top face. Packages that
fell off the belt are background. The belt plane
comes from the cell's camera extrinsics (the floor beside the belt is lower than the belt, so a
"lowest plane" fit would find the floor) and is stored with the frame.
"""

from __future__ import annotations

import os

import numpy as np

from robin_core.instance_table import PACKAGE_TYPES
from robin_perception.belt_height import BeltPlane
from robin_perception.camera_intrinsics import Intrinsics
from robin_perception.pile_scene import PackageTruth, PileFrame

SETTLE_S = 2.5  # [s] simulated time for a dropped pile to come to rest
MIN_VISIBLE_PX = 30


def _resting_on(sim) -> dict[int, set[int]]:
    """{package id: ids of packages lying on it} from the current contacts."""
    d, g2p = sim.data, sim.geom_to_package
    above: dict[int, set[int]] = {}
    for c in d.contact[: d.ncon]:
        a, b = int(g2p[c.geom1]), int(g2p[c.geom2])
        if a <= 0 or b <= 0 or a == b:
            continue
        nz = float(c.frame[2])  # contact normal, from geom1 to geom2
        if nz > 0.3:
            above.setdefault(a, set()).add(b)
        elif nz < -0.3:
            above.setdefault(b, set()).add(a)
    return above


def render_sim_pile(seed: int, domain: str = 'universal', width: int = 640, height: int = 480) -> PileFrame:
    """Settle a seeded random pile in robin_sim and render it with exact labels.

    ``domain`` 'site_b' restricts the mix to mailers/envelopes (the shifted-site experiment);
    width/height other than the cell camera's are not supported by the simulator.
    """
    os.environ.setdefault('MUJOCO_GL', 'egl')
    from robin_sim.simulation import SimConfig, Simulation  # noqa: PLC0415 - after MUJOCO_GL is set

    rng = np.random.default_rng(seed)
    types = ('poly_mailer', 'padded_mailer', 'flat_envelope') if domain == 'site_b' else ()
    sim = Simulation(SimConfig(seed=seed, num_packages=int(rng.integers(6, 30)), num_drive_robots=0,
                               package_types=types))
    sim.step(SETTLE_S)
    frame = sim.render(labels=True)
    ci = sim.cell.camera.intrinsics
    intr = Intrinsics(ci.fx, ci.fy, ci.cx, ci.cy, ci.width, ci.height)
    if (intr.width, intr.height) != (width, height):
        raise ValueError(f'simulator camera is {intr.width}x{intr.height}, not {width}x{height}')
    labels_sim = frame.labels.astype(np.int64)
    depth = frame.depth_m
    above = _resting_on(sim)
    gt = sim.ground_truth()
    cam_z = sim.cell.camera.T_base_optical[2, 3]
    ids, counts = np.unique(labels_sim, return_counts=True)
    vis = {int(i): int(c) for i, c in zip(ids, counts, strict=True) if i > 0 and c >= MIN_VISIBLE_PX}
    remap = np.zeros(int(labels_sim.max()) + 1, np.uint16)
    packages = []
    belt_z = sim.cell.pick_area.belt_z
    new_id = 0
    for pid in sorted(vis):
        spec = sim.packages[pid]
        k = int(np.searchsorted(gt.ids, pid))
        top_z = gt.poses[k, 2] + spec.size[2] / 2
        if gt.poses[k, 2] < belt_z - 0.02:
            continue  # fell off the belt onto the floor: not part of the pick scene (label 0)
        new_id += 1
        remap[pid] = new_id
        dist = max(cam_z - top_z, 0.2)
        full_px = spec.size[0] * spec.size[1] * intr.fx * intr.fy / dist**2
        frac = float(min(vis[pid] / max(full_px, 1.0), 1.0))
        tags = set()
        if max(spec.color) < 0.2:
            tags.add('black')
        if spec.decoration.white_on_white or (min(spec.color) > 0.8 and any(
                min(sim.packages[j].color) > 0.8 for j in above.get(pid, set()) | {
                    i for i, s in above.items() if pid in s})):
            tags.add('white_on_white')
        if spec.decoration.artwork:
            tags.add('printed_artwork')
        if frac < 0.5:
            tags.add('heavily_occluded')
        on_top = len(above.get(pid, ()))
        if on_top == 0:
            tags.add('pickable')
        type_id = PACKAGE_TYPES.index(spec.type) if spec.type in PACKAGE_TYPES else 0
        packages.append(PackageTruth(new_id, type_id, tuple(sorted(tags)), frac, on_top))
    labels = remap[labels_sim]
    depth_mm = np.where(np.isfinite(depth), np.clip(np.rint(depth * 1000), 1, 65535), 0).astype(np.uint16)
    plane = BeltPlane.from_extrinsics(sim.cell.camera.T_base_optical, sim.cell.pick_area.belt_z)
    renderer = getattr(sim, '_renderer', None)
    if renderer is not None:
        renderer.close()  # free the GL context: a dataset run makes thousands of simulations
    return PileFrame(np.ascontiguousarray(frame.rgb), depth_mm, labels, packages, intr, seed, domain,
                     {'backend': 'sim', 'camera_height_m': float(plane.offset), 'belt_plane': plane.as_list()})
