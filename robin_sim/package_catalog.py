"""Package types with size/mass/friction/appearance priors, and a seeded pile generator.

A *pile* is a list of :class:`PackageSpec` with initial poses above a drop region; the world
builder turns it into MuJoCo bodies and physics lets it settle into a jumbled, overlapping pile.
Everything is drawn from one ``numpy.random.Generator`` so a seed reproduces the scene exactly.
The registry is extendable with :func:`register_package_type`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

RGB = tuple[float, float, float]

#: Appearance palettes (linear-ish sRGB in [0, 1]).
KRAFT: RGB = (0.62, 0.45, 0.28)
WHITE: RGB = (0.93, 0.93, 0.92)
YELLOW: RGB = (0.95, 0.82, 0.22)
BLACK: RGB = (0.06, 0.06, 0.07)
GREY: RGB = (0.55, 0.56, 0.58)
MANILA: RGB = (0.86, 0.76, 0.52)


@dataclass(frozen=True)
class PackageType:
    """Priors of one package type. Sizes are (length, width, height) [m], length ≥ width."""

    name: str
    size_min: tuple[float, float, float]  #: [m]
    size_max: tuple[float, float, float]  #: [m]
    density: tuple[float, float]  #: [kg/m³] range, uniform
    friction: tuple[float, float]  #: sliding friction coefficient range
    colors: tuple[RGB, ...]  #: base colours to choose from
    texture: str  #: procedural texture family: cardboard | mailer | padded | envelope
    glossy: bool = False  #: specular surface (depth holes from highlights)
    weight: float = 1.0  #: relative sampling frequency in mixed piles
    mass_max: float = 20.0  #: [kg] clamp of density × volume


_REGISTRY: dict[str, PackageType] = {}


def register_package_type(ptype: PackageType) -> None:
    """Add or replace a package type in the registry."""
    if any(lo > hi for lo, hi in zip(ptype.size_min, ptype.size_max, strict=True)):
        raise ValueError(f"package type '{ptype.name}': size_min must not exceed size_max")
    if min(ptype.size_min) < 0.008:
        raise ValueError(f"package type '{ptype.name}': sizes below 8 mm tunnel through contacts")
    _REGISTRY[ptype.name] = ptype


def package_type(name: str) -> PackageType:
    """Look up a registered type.

    Raises:
        ValueError: ``name`` is not registered (the message lists the known types).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown package type '{name}'; known: {', '.join(sorted(_REGISTRY))}") from None


def package_type_names() -> tuple[str, ...]:
    """Names of all registered types, in registration order."""
    return tuple(_REGISTRY)


for _t in (
    PackageType('box', (0.10, 0.08, 0.05), (0.45, 0.35, 0.30), (40.0, 220.0), (0.45, 0.7),
                (KRAFT, KRAFT, KRAFT, WHITE, BLACK), 'cardboard', weight=3.0),
    PackageType('poly_mailer', (0.18, 0.14, 0.015), (0.45, 0.35, 0.07), (80.0, 350.0), (0.25, 0.45),
                (WHITE, YELLOW, KRAFT, GREY, BLACK), 'mailer', glossy=True, weight=2.0),
    PackageType('padded_mailer', (0.16, 0.12, 0.02), (0.36, 0.27, 0.05), (60.0, 250.0), (0.35, 0.55),
                (YELLOW, KRAFT, WHITE), 'padded', weight=1.0),
    PackageType('flat_envelope', (0.16, 0.11, 0.008), (0.35, 0.25, 0.015), (300.0, 700.0), (0.3, 0.5),
                (WHITE, WHITE, MANILA, KRAFT), 'envelope', weight=1.0),
):
    register_package_type(_t)


@dataclass(frozen=True)
class Decoration:
    """What is printed or stuck on a package's top (drawn into its texture)."""

    tape: bool  #: a tape strip along the length
    labels: int  #: shipping labels (0-2)
    artwork: bool  #: printed shapes/logos
    white_on_white: bool  #: white label on a white package (low contrast)
    texture_seed: int


@dataclass(frozen=True)
class PackageSpec:
    """One package: identity, physical properties, appearance and initial pose."""

    id: int  #: ≥ 1; 0 is background in label images
    type: str
    size: tuple[float, float, float]  #: (length, width, height) [m] full extents
    mass: float  #: [kg]
    friction: float  #: sliding coefficient
    color: RGB
    decoration: Decoration
    pos: tuple[float, float, float]  #: [m] initial centre in base_link
    quat: tuple[float, float, float, float]  #: initial orientation (w, x, y, z)

    @property
    def glossy(self) -> bool:
        return package_type(self.type).glossy


@dataclass(frozen=True)
class SceneAppearance:
    """Lighting and belt colour, randomized per scene."""

    belt_rgb: RGB
    light_pos: tuple[float, float, float]  #: [m] main light position in base_link
    light_diffuse: float  #: main light intensity (0-1 per channel)
    light_tint: RGB
    ambient: float  #: ambient level (0-1)
    fill_diffuse: float  #: second, softer light


@dataclass(frozen=True)
class DropRegion:
    """Axis-aligned xy rectangle [m] over which packages are dropped, and the surface height below."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    surface_z: float


@dataclass
class PileSpec:
    """A generated scene: packages with initial poses plus the appearance."""

    seed: int
    packages: list[PackageSpec]
    appearance: SceneAppearance
    extras: dict[str, float] = field(default_factory=dict)


def random_appearance(rng: np.random.Generator) -> SceneAppearance:
    """Draw lighting and belt colour (dark grey/green/blue belts are common)."""
    belts = ((0.13, 0.13, 0.14), (0.2, 0.22, 0.2), (0.12, 0.2, 0.14), (0.1, 0.14, 0.24), (0.32, 0.32, 0.33))
    belt = np.clip(np.array(belts[rng.integers(len(belts))]) * rng.uniform(0.8, 1.2), 0, 1)
    warm = rng.uniform(-0.08, 0.08)
    return SceneAppearance(
        belt_rgb=tuple(float(c) for c in belt),
        light_pos=(float(rng.uniform(0.1, 0.9)), float(rng.uniform(-0.6, 0.6)), float(rng.uniform(1.6, 2.6))),
        light_diffuse=float(rng.uniform(0.45, 0.95)),
        light_tint=(1.0, float(1.0 - abs(warm) / 2), float(1.0 - warm)),
        ambient=float(rng.uniform(0.12, 0.35)),
        fill_diffuse=float(rng.uniform(0.0, 0.35)),
    )


def sample_package(rng: np.random.Generator, pid: int, type_name: str) -> PackageSpec:
    """Draw one package of ``type_name`` (pose at the origin; see :func:`generate_pile`)."""
    pt = package_type(type_name)
    size = np.sort(rng.uniform(pt.size_min, pt.size_max)[:2])[::-1]  # length ≥ width
    height = float(rng.uniform(pt.size_min[2], pt.size_max[2]))
    dims = (float(size[0]), float(size[1]), height)
    mass = float(np.clip(rng.uniform(*pt.density) * np.prod(dims), 0.03, pt.mass_max))
    color = pt.colors[rng.integers(len(pt.colors))]
    jitter = rng.uniform(0.9, 1.1, 3)
    color = tuple(float(c) for c in np.clip(np.array(color) * jitter, 0.0, 1.0))
    white = min(color) > 0.8
    deco = Decoration(
        tape=bool(pt.texture == 'cardboard' and rng.random() < 0.8),
        labels=int(rng.choice([0, 1, 1, 1, 2])),
        artwork=bool(rng.random() < (0.35 if pt.texture == 'cardboard' else 0.25)),
        white_on_white=bool(white and rng.random() < 0.6),
        texture_seed=int(rng.integers(2**31)),
    )
    return PackageSpec(pid, type_name, dims, mass, float(rng.uniform(*pt.friction)), color, deco,
                       (0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0))


def generate_pile(
    seed: int,
    count: int,
    region: DropRegion,
    types: Sequence[str] | None = None,
    *,
    first_id: int = 1,
    max_tilt: float = 0.35,
    candidates: int = 6,
    max_stack_height: float = 0.2,
) -> PileSpec:
    """Draw ``count`` packages and stack their drop poses into an overlapping pile.

    Each package gets a random xy in ``region`` (the lowest of ``candidates`` tries) and yaw, a
    small tilt (≤ ``max_tilt`` [rad]), and is placed just above whatever was placed under its
    footprint before, so the pile starts overlapping but not interpenetrating and settles with
    short drops.

    Args:
        seed: RNG seed; same seed, count, region and types → same pile.
        count: number of packages (≥ 0).
        region: where to drop.
        types: allowed type names (default all registered), sampled by type weight.
        first_id: id of the first package (ids are consecutive).
        max_tilt: [rad] maximum initial roll/pitch.
        candidates: xy spots tried per package; the lowest wins (more → flatter piles).
        max_stack_height: [m] when every spot would start a package higher than this above the
            surface, spots further along the belt are tried (the pile grows along the belt, not
            up): towers topple while settling and throw packages off the belt. A soft limit: when
            every window is full, the lowest spot found is used.

    Raises:
        ValueError: unknown type name or negative count.
    """
    if count < 0:
        raise ValueError(f'count must be >= 0, got {count}')
    names = list(types) if types else list(package_type_names())
    weights = np.array([package_type(n).weight for n in names])  # raises on unknown names
    rng = np.random.default_rng(seed)
    appearance = random_appearance(rng)
    placed: list[tuple[np.ndarray, np.ndarray, float]] = []  # (lo xy, hi xy, top z)
    packages = []
    for k in range(count):
        type_name = names[rng.choice(len(names), p=weights / weights.sum())]
        spec = sample_package(rng, first_id + k, type_name)
        yaw = rng.uniform(-np.pi, np.pi)
        roll, pitch = rng.uniform(-max_tilt, max_tilt, 2) * (rng.random() < 0.5)
        quat = _quat_from_rpy(roll, pitch, yaw)
        half = _aabb_half_extents(np.array(spec.size) / 2, quat)
        if 2 * half[0] > 0.7 * _span(region)[0]:
            # too wide across the belt at this yaw: turn it (long side along the flow), as a
            # package sliding down a chute onto a narrow belt would end up
            yaw += np.pi / 2
            quat = _quat_from_rpy(roll, pitch, yaw)
            half = _aabb_half_extents(np.array(spec.size) / 2, quat)
        lo_c = np.array([region.x_range[0], region.y_range[0]]) + np.minimum(half[:2], 0.5 * _span(region))
        hi_c = np.array([region.x_range[1], region.y_range[1]]) - np.minimum(half[:2], 0.5 * _span(region))
        # candidate spots over the region and stretches of belt up- and downstream of it
        spots = rng.uniform(lo_c, np.maximum(hi_c, lo_c), (candidates * len(_PILE_SHIFTS), 2))
        spots[:, 1] += np.repeat(_PILE_SHIFTS, candidates)
        bases = np.array([_base_under(xy, half, placed, region.surface_z) for xy in spots])
        off_region = np.abs(np.repeat(_PILE_SHIFTS, candidates))
        low_enough = bases - region.surface_z <= max_stack_height
        # lowest spot in the region if it is low enough, else the nearest low-enough spot, else the lowest
        order = np.lexsort((bases, off_region, ~low_enough)) if low_enough.any() else np.argsort(bases)
        best = (float(bases[order[0]]), spots[order[0]])
        base, xy = best
        lo, hi = xy - half[:2], xy + half[:2]
        z = base + half[2] + 0.01
        placed.append((lo, hi, z + half[2]))
        packages.append(PackageSpec(spec.id, spec.type, spec.size, spec.mass, spec.friction, spec.color,
                                    spec.decoration, (float(xy[0]), float(xy[1]), float(z)), quat))
    return PileSpec(seed, packages, appearance)


def place_package(spec: PackageSpec, pos: Sequence[float], yaw: float = 0.0) -> PackageSpec:
    """Copy of ``spec`` at ``pos`` [m] (centre) with a yaw [rad] about z."""
    return PackageSpec(spec.id, spec.type, spec.size, spec.mass, spec.friction, spec.color, spec.decoration,
                       (float(pos[0]), float(pos[1]), float(pos[2])), _quat_from_rpy(0.0, 0.0, yaw))


_PILE_SHIFTS = np.array([0.0, -0.2, 0.2, -0.4, 0.4, -0.6])  # [m] along the belt, nearest first


def _base_under(xy: np.ndarray, half: np.ndarray, placed: list, surface_z: float) -> float:
    """Top of what an AABB of half extents ``half`` centred at ``xy`` would rest on [m]."""
    lo, hi = xy - half[:2], xy + half[:2]
    base = surface_z
    for plo, phi, ptop in placed:
        if (lo < phi).all() and (plo < hi).all():
            base = max(base, ptop)
    return base


def _span(region: DropRegion) -> np.ndarray:
    return np.array([region.x_range[1] - region.x_range[0], region.y_range[1] - region.y_range[0]])


def _quat_from_rpy(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    cr, sr = np.cos(roll / 2), np.sin(roll / 2)
    cp, sp = np.cos(pitch / 2), np.sin(pitch / 2)
    cy, sy = np.cos(yaw / 2), np.sin(yaw / 2)
    return (float(cr * cp * cy + sr * sp * sy), float(sr * cp * cy - cr * sp * sy),
            float(cr * sp * cy + sr * cp * sy), float(cr * cp * sy - sr * sp * cy))


def _aabb_half_extents(half: np.ndarray, quat: tuple[float, float, float, float]) -> np.ndarray:
    w, x, y, z = quat
    rot = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    return np.abs(rot) @ half
