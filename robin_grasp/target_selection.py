"""Choose which package to pick next: top of the pile first, fully visible, most likely to succeed.

Hard rules reject an instance with a reason (something rests on it, it is cut by the image or the
pick area, it is out of reach, too small, too tilted, too uncertain). The survivors are ranked by
a weighted mean of per-term scores in [0, 1], each reported so a decision can be audited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from robin_core.cell_description import PickArea
from robin_core.instance_table import PACKAGE_TYPES
from robin_grasp.height_map import HeightMap
from robin_grasp.instance_geometry import (
    InstanceStats,
    above_relations,
    instance_stats,
    neighbour_clearance,
    support_height,
)

TERMS = ('confidence', 'height', 'flatness', 'tilt', 'size', 'reach', 'clearance')


@dataclass(frozen=True)
class SelectionConfig:
    """Thresholds and weights of target selection (units in brackets)."""

    min_score: float = 0.5  #: instance confidence below this is rejected [0..1]
    min_cells: int = 40  #: visible top cells below this is rejected [cells]
    min_area: float = 0.0025  #: visible top area below this is rejected [m²]
    max_tilt: float = math.radians(35.0)  #: steeper top surfaces cannot be sealed [rad]
    reach_min: float = 0.25  #: planar distance from base_link z axis the arm reaches from [m]
    reach_max: float = 0.85  #: planar distance the arm reaches to [m]
    reach_margin: float = 0.08  #: reach score ramps from 0 to 1 over this far inside the limits [m]
    step_tol: float = 0.004  #: a boundary height step above this means "lies above" [m]
    min_step_votes: int = 4  #: boundary cell pairs needed to believe a step [-]
    flatness_tol: float = 0.006  #: plane RMS giving a zero flatness score [m]
    size_ref: float = 0.0195  #: top area giving a full size score (the 8-cup footprint) [m²]
    clearance_ref: float = 0.03  #: neighbour clearance giving a full clearance score [m]
    clearance_band: float = 0.03  #: neighbours this far below the top do not count [m]
    weights: dict[str, float] = field(
        default_factory=lambda: {
            'confidence': 1.0, 'height': 1.5, 'flatness': 1.0, 'tilt': 0.5, 'size': 1.0, 'reach': 0.5,
            'clearance': 1.0,
        }
    )  # fmt: skip


@dataclass(frozen=True)
class TargetScore:
    """One pickable instance with its score breakdown.

    Attributes:
        instance_id: label of the instance.
        type_name: predicted package type.
        type_score: confidence of the type [0..1].
        score: weighted mean of ``terms`` [0..1].
        terms: per-term scores [0..1], keys in :data:`TERMS`.
        centroid: top-surface centroid in base_link [m].
        top: top height in base_link z [m].
        length: top extent along the long side [m].
        width: top extent along the short side [m].
        thickness: height above what it rests on [m], NaN when unseen.
        clearance: distance to the nearest relevant neighbour [m].
    """

    instance_id: int
    type_name: str
    type_score: float
    score: float
    terms: dict[str, float]
    centroid: np.ndarray
    top: float
    length: float
    width: float
    thickness: float
    clearance: float


@dataclass(frozen=True)
class SelectionResult:
    """Ranked pickable instances (best first) and a reason for every rejected one.

    ``entering``: instances cut by the view or the planning map on the upstream side of the pick
    area — the belt brings them fully in, so running it (not waiting) makes them pickable.
    """

    ranked: list[TargetScore]
    rejected: dict[int, str]
    stats: InstanceStats | None  # None: the target was not chosen from a height map (naive baseline)
    entering: list[int] = field(default_factory=list)


def select_targets(
    instances: np.ndarray,
    hm: HeightMap,
    pick_area: PickArea,
    *,
    config: SelectionConfig | None = None,
    type_names: tuple[str, ...] = PACKAGE_TYPES,
    exclude: frozenset[int] = frozenset(),
) -> SelectionResult:
    """Rank the instances of one frame for picking.

    Args:
        instances: rows of :data:`robin_core.instance_table.INSTANCE_DTYPE`.
        hm: base_link height map of the same frame, labelled with the instance ids.
        pick_area: region the arm may pick from; ``belt_z`` bounds thickness.
        config: thresholds and weights.
        type_names: class names indexed by ``type_id``.
        exclude: instance ids the caller rules out (e.g. failed on the previous attempt).

    Returns:
        The ranking and the rejection reasons.
    """
    cfg = config or SelectionConfig()
    ids = instances['id'].astype(np.int64)
    stats = instance_stats(hm, ids)
    rejected: dict[int, str] = {}
    above: dict[int, list[str]] = {}
    for rel in above_relations(hm, cfg.step_tol, cfg.min_step_votes):
        above.setdefault(rel.lower, []).append(f'{rel.upper} (step {rel.step * 1000:.0f} mm)')
    res2 = hm.resolution**2
    keep: list[int] = []
    for k, row in enumerate(instances):
        iid = int(row['id'])
        reason = _hard_reject(row, k, stats, above=above.get(iid), area=pick_area, cfg=cfg, res2=res2,
                              excluded=iid in exclude)
        if reason:
            rejected[iid] = reason
        else:
            keep.append(k)
    ranked = [_score(instances[k], k, stats, hm=hm, area=pick_area, cfg=cfg, type_names=type_names) for k in keep]
    if ranked:
        tops = np.array([t.top for t in ranked])
        span = float(tops.max() - tops.min())
        for t in ranked:  # height term is relative to this frame's candidates
            t.terms['height'] = (t.top - float(tops.min())) / span if span > 1e-6 else 1.0
        ranked = [_with_total(t, cfg.weights) for t in ranked]
        ranked.sort(key=lambda t: -t.score)
    return SelectionResult(ranked, rejected, stats, entering_instances(instances, stats, pick_area))


def entering_instances(instances: np.ndarray, stats: InstanceStats, area: PickArea) -> list[int]:
    """Ids of the instances only partly seen (image border or planning-map edge) whose visible
    part lies upstream of the pick area's centre: packages the belt is still bringing in."""
    centre = np.array([sum(area.x_range) / 2.0, sum(area.y_range) / 2.0])
    flow = np.asarray(area.flow_direction, float)[:2]
    cut = instances['touches_border'].astype(bool) | np.asarray(stats.touches_edge, bool)
    upstream = (np.asarray(stats.centroid, float)[:, :2] - centre) @ flow < 0.0
    return [int(i) for i in instances['id'][cut & upstream]]


def _hard_reject(
    row: np.void,
    k: int,
    stats: InstanceStats,
    *,
    above: list[str] | None,
    area: PickArea,
    cfg: SelectionConfig,
    res2: float,
    excluded: bool,
) -> str | None:
    if excluded:
        return 'excluded by the caller'
    if int(row['occluded_by']) > 0:
        return f'{int(row["occluded_by"])} instance(s) lie on it (perception)'
    if above:
        return f'lies under instance {", ".join(above)}'
    if int(row['touches_border']):
        return 'not fully visible (touches the image border)'
    if float(row['score']) < cfg.min_score:
        return f'confidence {float(row["score"]):.2f} < {cfg.min_score:.2f}'
    if stats.n_cells[k] < cfg.min_cells or not np.isfinite(stats.rms[k]):
        return f'too few top-surface cells in the height map ({int(stats.n_cells[k])})'
    if stats.touches_edge[k]:
        return 'extends beyond the planning map (pick area + margin)'
    if stats.n_cells[k] * res2 < cfg.min_area:
        return f'top area {stats.n_cells[k] * res2 * 1e4:.1f} cm² < {cfg.min_area * 1e4:.1f} cm²'
    c = stats.centroid[k]
    if not bool(area.contains(c[:2])):
        return f'centroid ({c[0]:.2f}, {c[1]:.2f}) m outside the pick area'
    r = float(np.hypot(c[0], c[1]))
    if not cfg.reach_min <= r <= cfg.reach_max:
        return f'out of reach ({r:.2f} m from the base axis)'
    if stats.tilt[k] > cfg.max_tilt:
        return f'top tilted {np.degrees(stats.tilt[k]):.0f}° > {np.degrees(cfg.max_tilt):.0f}°'
    return None


def _score(
    row: np.void,
    k: int,
    stats: InstanceStats,
    *,
    hm: HeightMap,
    area: PickArea,
    cfg: SelectionConfig,
    type_names: tuple[str, ...],
) -> TargetScore:
    iid = int(row['id'])
    c = stats.centroid[k]
    r = float(np.hypot(c[0], c[1]))
    clearance = neighbour_clearance(hm, iid, cfg.clearance_band, cfg.clearance_ref)
    support = support_height(hm, iid, ring=0.02, min_step=cfg.step_tol)
    top = float(stats.top[k])
    thickness = top - (support if np.isfinite(support) else area.belt_z)
    thickness = min(thickness, top - area.belt_z)
    tid = int(row['type_id'])
    terms = {
        'confidence': float(row['score']),
        'height': 1.0,
        'flatness': 1.0 - min(float(stats.rms[k]) / cfg.flatness_tol, 1.0),
        'tilt': 1.0 - min(float(stats.tilt[k]) / cfg.max_tilt, 1.0),
        'size': min(float(stats.n_cells[k]) * hm.resolution**2 / cfg.size_ref, 1.0),
        'reach': float(np.clip(min(r - cfg.reach_min, cfg.reach_max - r) / cfg.reach_margin, 0.0, 1.0)),
        'clearance': clearance / cfg.clearance_ref,
    }
    return TargetScore(
        instance_id=iid,
        type_name=type_names[tid] if tid < len(type_names) else f'type_{tid}',
        type_score=float(row['type_score']),
        score=0.0,
        terms=terms,
        centroid=c.copy(),
        top=top,
        length=float(stats.length[k]),
        width=float(stats.width[k]),
        thickness=float(thickness),
        clearance=clearance,
    )


def _with_total(t: TargetScore, weights: dict[str, float]) -> TargetScore:
    total_w = sum(weights.get(n, 0.0) for n in TERMS)
    score = sum(weights.get(n, 0.0) * t.terms[n] for n in TERMS) / total_w if total_w > 0 else 0.0
    return TargetScore(**{**t.__dict__, 'score': float(score)})
