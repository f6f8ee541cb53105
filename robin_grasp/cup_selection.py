"""Which of the gripper's cups to switch on for a given tool pose.

A cup may be switched on only when its whole lip footprint (plus a margin) lands on the target's
top surface: same label in the height map and the same height as the contact plane. A lip over
the outline leaks (drop); a lip over a neighbour lifts it too (double pick). Cups the QA node has
marked unhealthy are never used. Off cups still must not press on anything higher than the
surface, and the tool body must clear the neighbours. The chosen set must hold the package's
conservative mass through the transfer acceleration with a safety factor.

All checks run vectorised over many candidate poses at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from scipy import ndimage

from robin_grasp.height_map import HeightMap

CUP_POLICIES = ('all_valid', 'minimal')


class CupState(IntEnum):
    """Why a cup can or cannot be switched on (first failing check wins, in this order)."""

    OK = 0
    UNHEALTHY = 1
    OVER_NEIGHBOUR = 2
    OVER_EDGE = 3
    SURFACE_STEP = 4
    NO_DEPTH = 5


CUP_STATE_TEXT = {
    CupState.OK: 'ok',
    CupState.UNHEALTHY: 'marked unhealthy',
    CupState.OVER_NEIGHBOUR: 'lip over a neighbour',
    CupState.OVER_EDGE: 'lip over the edge',
    CupState.SURFACE_STEP: 'lip over a height step',
    CupState.NO_DEPTH: 'no depth under the lip',
}


@dataclass(frozen=True)
class CupCheckConfig:
    """Tolerances of the footprint and collision checks (units in brackets)."""

    edge_margin: float = 0.004  #: the lip must lie this far inside the target outline [m]
    height_tol: float = 0.006  #: lip samples within this of the contact plane count as on it [m]
    max_unknown_fraction: float = 0.15  #: share of lip samples that may lack depth inside the outline [0..1]
    lip_samples: int = 16  #: samples on the lip circle (plus an inner ring and the centre) [-]
    press_tol: float = 0.008  #: cups may meet nothing higher than the plane + this (bellows travel) [m]
    #: free height under the tool body: plate underside 0.04 above the lips - 0.01 planner clearance [m]
    tool_clearance: float = 0.03
    #: tool body half size along tcp x, y: the plate (0.115, 0.06) + the motion planner's 0.01 clearance [m]
    tool_half_extent: tuple[float, float] = (0.125, 0.07)
    min_collision_samples: int = 2  #: samples above a limit before a collision is believed [-]


@dataclass(frozen=True)
class CupCheck:
    """Footprint and collision result for P poses and C cups.

    Attributes:
        states: (P, C) uint8 :class:`CupState` per cup (UNHEALTHY not set here).
        collision: (P,) the tool would press on or hit something.
        collision_text: (P,) reason for each collision ('' when none).
    """

    states: np.ndarray
    collision: np.ndarray
    collision_text: list[str]


def footprint_offsets(lip_radius: float, margin: float, samples: int) -> np.ndarray:
    """(S, 2) sample offsets covering a lip disc grown by ``margin`` [m]: centre, inner and outer ring."""
    a = np.linspace(0.0, 2 * np.pi, samples, endpoint=False)
    r = lip_radius + margin
    outer = np.column_stack([np.cos(a), np.sin(a)]) * r
    inner = np.column_stack([np.cos(a[::2] + a[1]), np.sin(a[::2] + a[1])]) * (0.55 * r)
    return np.vstack([[0.0, 0.0], inner, outer])


def check_cups(
    hm: HeightMap,
    target_id: int,
    rotations: np.ndarray,
    positions: np.ndarray,
    *,
    cup_xy: np.ndarray,
    lip_radius: float,
    config: CupCheckConfig | None = None,
) -> CupCheck:
    """Check every cup footprint of P candidate tcp poses against the height map.

    Args:
        hm: base_link height map labelled with instance ids.
        target_id: label of the package to pick.
        rotations: (P, 3, 3) tcp orientations in base_link (z into the surface).
        positions: (P, 3) tcp positions in base_link, on the contact plane [m].
        cup_xy: (C, 2) cup lip centres in the tcp frame [m].
        lip_radius: cup lip radius [m].
        config: tolerances.

    Returns:
        Per-cup states and per-pose collision flags.
    """
    cfg = config or CupCheckConfig()
    rot = np.asarray(rotations, np.float64).reshape(-1, 3, 3)
    pos = np.asarray(positions, np.float64).reshape(-1, 3)
    offs = footprint_offsets(lip_radius, cfg.edge_margin, cfg.lip_samples)
    local = cup_xy[:, None, :] + offs[None, :, :]  # (C, S, 2) in the tcp frame, z = 0
    axes = rot[:, :, :2].transpose(0, 2, 1)  # (P, 2, 3): tcp x and y axes in base_link
    c_n, s_n = local.shape[:2]
    world = (pos[:, None, :] + local.reshape(-1, 2) @ axes).reshape(-1, c_n, s_n, 3)  # (P, C, S, 3)
    z, lab = hm.sample(world[..., :2])
    dz = z - world[..., 2]
    known = np.isfinite(z)
    # Unknown cells are tolerated only inside the target's outline (depth dropouts on tape or
    # film); beyond it they are usually the occlusion shadow of its own edge, so they count as edge.
    rows, cols, inside = hm.cells_of(world[..., :2])
    enclosed = _enclosed_unknown(hm, target_id)[rows, cols] & inside
    on_target = (lab == target_id) & known
    step = on_target & (np.abs(dz) > cfg.height_tol)
    neighbour = (lab != target_id) & (lab != 0) & known
    edge = ((lab == 0) & known) | (~known & ~enclosed)
    unknown_frac = (~known & enclosed).mean(axis=-1)
    states = np.full(known.shape[:2], CupState.OK, np.uint8)
    # Assign in reverse priority so the most important reason is written last.
    states[unknown_frac > cfg.max_unknown_fraction] = CupState.NO_DEPTH
    states[step.any(axis=-1)] = CupState.SURFACE_STEP
    states[edge.any(axis=-1)] = CupState.OVER_EDGE
    states[neighbour.any(axis=-1)] = CupState.OVER_NEIGHBOUR
    # Collisions: lips pressing on anything above the plane, or the body hitting a tall neighbour.
    pressed = (known & (dz > cfg.press_tol)).sum(axis=(1, 2))
    hx, hy = cfg.tool_half_extent
    gx, gy = np.meshgrid(np.linspace(-hx, hx, 13), np.linspace(-hy, hy, 7))
    body_local = np.column_stack([gx.ravel(), gy.ravel()])
    body = pos[:, None, :] + body_local @ axes
    bz, _ = hm.sample(body[..., :2])
    hit = (np.isfinite(bz) & (bz - body[..., 2] > cfg.tool_clearance)).sum(axis=1)
    collision = (pressed >= cfg.min_collision_samples) | (hit >= cfg.min_collision_samples)
    text = [
        'a cup would press on something higher than the surface' if p >= cfg.min_collision_samples
        else 'the tool body would hit a taller neighbour' if h >= cfg.min_collision_samples
        else ''
        for p, h in zip(pressed.tolist(), hit.tolist(), strict=True)
    ]  # fmt: skip
    return CupCheck(states, collision, text)


def with_rail_collisions(check: CupCheck, rail: np.ndarray) -> CupCheck:
    """``check`` with the poses whose tool body meets a conveyor rail (``rail``: (P,) bool,
    :func:`robin_grasp.rail_clearance.hits_rails`) marked as collisions."""
    rail = np.asarray(rail, bool)
    text = [t or ('the tool body would hit the conveyor rail' if r else '')
            for t, r in zip(check.collision_text, rail.tolist(), strict=True)]
    return CupCheck(check.states, check.collision | rail, text)


def _enclosed_unknown(hm: HeightMap, target_id: int) -> np.ndarray:
    """(H, W) bool: unknown cells inside holes of the target's mask."""
    mask = hm.labels == target_id
    out = np.zeros(hm.shape, bool)
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return out
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    crop = mask[r0:r1, c0:c1]
    out[r0:r1, c0:c1] = ndimage.binary_fill_holes(crop) & ~crop & ~np.isfinite(hm.height[r0:r1, c0:c1])
    return out


@dataclass(frozen=True)
class CupChoice:
    """The cups to switch on for one pose.

    Attributes:
        mask: bitmask, bit k = cup k on (uint8 for the 8-cup tool).
        states: (C,) :class:`CupState` per cup, with unhealthy cups marked.
        force_available: sum of the on cups' effective holding force [N].
        force_required: force needed for the package [N].
        feasible: the on cups hold the package.
        reason: '' when feasible, else why not.
    """

    mask: int
    states: np.ndarray
    force_available: float
    force_required: float
    feasible: bool
    reason: str

    @property
    def n_cups(self) -> int:
        return int(self.mask).bit_count()


@dataclass(frozen=True)
class CupChoices:
    """:func:`choose_cups_batch` result for P poses.

    Attributes:
        masks: (P,) int64 bitmasks of the on cups.
        on: (P, C) bool on cups.
        states: (P, C) uint8 :class:`CupState`, with unhealthy cups marked.
        force_available: (P,) [N].
        feasible: (P,) the on cups hold the package.
    """

    masks: np.ndarray
    on: np.ndarray
    states: np.ndarray
    force_available: np.ndarray
    feasible: np.ndarray


def choose_cups_batch(
    states: np.ndarray,
    unhealthy: np.ndarray,
    force_per_cup: np.ndarray | float,
    force_required: float,
    *,
    policy: str = 'all_valid',
    cup_xy: np.ndarray | None = None,
    centre_xy: np.ndarray | None = None,
    sufficient: Callable[[np.ndarray], np.ndarray] | None = None,
) -> CupChoices:
    """Pick the on-set for each of P poses among the cups whose footprint check passed.

    Args:
        states: (P, C) :class:`CupState` from :func:`check_cups`.
        unhealthy: (C,) bool, cups the QA node marked unhealthy.
        force_per_cup: effective holding force per cup (rated × seal efficiency) [N], scalar or (C,).
        force_required: force needed to hold the package [N].
        policy: 'all_valid' switches on every valid cup (most margin; a valid lip only touches the
            target); 'minimal' the fewest valid cups nearest ``centre_xy`` that hold the package.
        cup_xy: (C, 2) cup centres in the tcp frame [m] ('minimal' only).
        centre_xy: (P, 2) the package centre in the tcp frame of each pose [m] ('minimal' only).
        sufficient: ('minimal' only) (P, C) on-cups -> (P,) bool, whether a set is enough; default:
            its force reaches ``force_required`` (the planner asks the hold model instead).

    Returns:
        Masks, forces and feasibility per pose.
    """
    if policy not in CUP_POLICIES:
        raise ValueError(f"unknown cup policy '{policy}' (expected one of {', '.join(CUP_POLICIES)})")
    st = np.atleast_2d(np.asarray(states, np.uint8)).copy()
    st[:, np.asarray(unhealthy, bool)] = CupState.UNHEALTHY
    valid = st == CupState.OK
    force = np.broadcast_to(np.asarray(force_per_cup, np.float64), st.shape[-1:])
    on = valid
    if policy == 'minimal':
        if cup_xy is None or centre_xy is None:
            raise ValueError("policy 'minimal' needs cup_xy and centre_xy")
        sets = nearest_cup_sets(valid, cup_xy, np.asarray(centre_xy))  # (C, P, C)
        if sufficient is None:
            enough = (sets * force).sum(axis=-1) >= force_required - 1e-9  # (C, P)
        else:
            enough = np.stack([np.asarray(sufficient(on), bool) for on in sets])
        k = np.where(enough.any(axis=0), enough.argmax(axis=0), st.shape[1] - 1)  # else: all valid
        on = sets[k, np.arange(st.shape[0])]
    available = (on * force).sum(axis=1)
    masks = (on.astype(np.int64) << np.arange(st.shape[1])).sum(axis=1)
    feasible = on.any(axis=1) & (available + 1e-9 >= force_required)
    return CupChoices(masks, on, st, available, feasible)


def nearest_cup_sets(valid: np.ndarray, cup_xy: np.ndarray, centre_xy: np.ndarray) -> np.ndarray:
    """Growing cup sets per pose: set k holds the k + 1 valid cups nearest the package centre.

    Args:
        valid: (P, C) bool, cups that may be switched on.
        cup_xy: (C, 2) cup centres in the tcp frame [m].
        centre_xy: (P, 2) the package centre in each pose's tcp frame [m].

    Returns:
        (C, P, C) bool; once k + 1 exceeds a pose's valid cups, its set is all of them.
    """
    valid = np.atleast_2d(np.asarray(valid, bool))
    dist = np.linalg.norm(cup_xy[None, :, :] - np.asarray(centre_xy).reshape(-1, 1, 2), axis=-1)
    order = np.argsort(np.where(valid, dist, np.inf), axis=1, kind='stable')
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(valid.shape[1])[None, :].repeat(valid.shape[0], 0), 1)
    return np.stack([valid & (rank <= k) for k in range(valid.shape[1])])


def choose_cups(
    states: np.ndarray,
    unhealthy: np.ndarray,
    force_per_cup: np.ndarray | float,
    force_required: float,
    *,
    policy: str = 'all_valid',
    cup_xy: np.ndarray | None = None,
    centre_xy: np.ndarray | None = None,
) -> CupChoice:
    """Single-pose :func:`choose_cups_batch` with a readable reason.

    Args:
        states: (C,) :class:`CupState` for one pose.
        unhealthy: (C,) bool, cups the QA node marked unhealthy.
        force_per_cup: effective holding force per cup [N], scalar or (C,).
        force_required: force needed to hold the package [N].
        policy: see :func:`choose_cups_batch`.
        cup_xy: (C, 2) cup centres in the tcp frame [m] ('minimal' only).
        centre_xy: (2,) package centre in the tcp frame [m] ('minimal' only).

    Returns:
        The choice; ``feasible`` False with a reason when no subset holds the package.
    """
    b = choose_cups_batch(np.asarray(states)[None], unhealthy, force_per_cup, force_required, policy=policy,
                          cup_xy=cup_xy, centre_xy=None if centre_xy is None else np.asarray(centre_xy)[None])
    st, mask, avail = b.states[0], int(b.masks[0]), float(b.force_available[0])
    if not b.on[0].any():
        reasons = sorted({CUP_STATE_TEXT[CupState(s)] for s in st.tolist()})
        return CupChoice(0, st, 0.0, force_required, False, 'no usable cup: ' + ', '.join(reasons))
    if not b.feasible[0]:
        msg = (f'insufficient holding force: {avail:.0f} N from {mask.bit_count()} cup(s) < '
               f'{force_required:.0f} N needed')
        return CupChoice(mask, st, avail, force_required, False, msg)
    return CupChoice(mask, st, avail, force_required, True, '')


def unhealthy_from_flags(flags: np.ndarray | list[int], num_cups: int) -> np.ndarray:
    """(C,) bool from the ``qa/unhealthy_cups`` payload: ``num_cups`` × {0, 1}, 1 = unhealthy.

    Raises:
        ValueError: the payload has the wrong length.
    """
    arr = np.asarray(flags, dtype=np.int64).reshape(-1)
    if arr.size != num_cups:
        raise ValueError(f'unhealthy-cup flags have {arr.size} entries, expected {num_cups}')
    return arr != 0


def mask_to_flags(mask: int, num_cups: int) -> np.ndarray:
    """Bitmask -> (C,) uint8 0/1 in cup order (the ``gripper/cup_command`` layout)."""
    return ((int(mask) >> np.arange(num_cups)) & 1).astype(np.uint8)
