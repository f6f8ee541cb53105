"""One rendered pile frame with ground truth: the common currency of every dataset backend."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robin_perception.camera_intrinsics import Intrinsics

#: Hard-case tags an instance may carry (evaluation breaks metrics down by these).
HARD_CASES: tuple[str, ...] = ('black', 'white_on_white', 'heavily_occluded', 'printed_artwork', 'pickable')


@dataclass(frozen=True)
class PackageTruth:
    """Ground truth of one package in a frame.

    Attributes:
        id: its value in the frame's label image (1..N).
        type_id: index into robin_core.instance_table.PACKAGE_TYPES.
        tags: subset of HARD_CASES.
        visible_fraction: visible share of its top footprint (0..1).
        occluded_by: number of packages resting on it.
    """

    id: int
    type_id: int
    tags: tuple[str, ...]
    visible_fraction: float
    occluded_by: int

    @property
    def pickable(self) -> bool:
        return 'pickable' in self.tags


@dataclass
class PileFrame:
    """Camera frame of a pile with exact instance labels.

    Attributes:
        rgb: (H, W, 3) uint8.
        depth_mm: (H, W) uint16 depth [mm], 0 = invalid (REP-118 16UC1).
        labels: (H, W) uint16 instance ids, 0 = belt/background.
        packages: truth per label id present in ``labels``.
        intrinsics: camera model of the frame.
        seed: generator seed (the split is decided by seed ranges).
        domain: name of the domain-randomisation profile.
    """

    rgb: np.ndarray
    depth_mm: np.ndarray
    labels: np.ndarray
    packages: list[PackageTruth]
    intrinsics: Intrinsics
    seed: int
    domain: str
    meta: dict[str, object] = field(default_factory=dict)
