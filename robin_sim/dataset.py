"""Randomized scene samples for training and evaluating perception, without ROS.

Example::

    from robin_sim.dataset import generate_scene
    s = generate_scene(seed=42, num_packages=20)
    s.rgb            # (480, 640, 3) uint8
    s.depth_m        # (480, 640) float32 [m], NaN holes (noise model applied)
    s.labels         # (480, 640) uint16 package id, 0 = background
    s.instances      # [{'id', 'type', 'size', 'mass', 'pose', 'state'}, ...]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robin_sim.simulation import SimConfig, Simulation


@dataclass
class SceneSample:
    """One rendered scene with ground truth."""

    seed: int
    rgb: np.ndarray  #: (H, W, 3) uint8
    depth_m: np.ndarray  #: (H, W) float32 [m], NaN invalid
    depth_clean_m: np.ndarray  #: (H, W) float32 [m], perfect depth
    labels: np.ndarray  #: (H, W) uint16 package id per pixel, 0 = background
    instances: list[dict[str, object]]  #: ground-truth rows (id, type, size, mass, pose, state)
    K: np.ndarray  #: (3, 3) [px] camera matrix
    T_base_optical: np.ndarray  #: (4, 4) camera pose in base_link


def generate_scene(seed: int, num_packages: int = 20, settle_s: float = 2.0,
                   package_types: tuple[str, ...] = ()) -> SceneSample:
    """Drop a seeded random pile, let it settle for ``settle_s`` [s] and render it.

    Deterministic for the arguments. Needs an OpenGL backend (``MUJOCO_GL=egl`` headless).

    Raises:
        ValueError: unknown package type.
    """
    sim = Simulation(SimConfig(seed=seed, num_packages=num_packages, package_types=package_types))
    sim.step(settle_s)
    renderer = sim.make_renderer()
    try:
        snap = sim.snapshot()
        clean = renderer.render(snap, None, labels=True)
        noisy = renderer.render(snap, np.random.default_rng([seed, 1]), labels=False)
    finally:
        renderer.close()
    cam = sim.cell.camera
    return SceneSample(seed, clean.rgb, noisy.depth_m, clean.depth_m, clean.labels,
                       sim.ground_truth().to_json()['packages'], cam.intrinsics.K, np.array(cam.T_base_optical))
