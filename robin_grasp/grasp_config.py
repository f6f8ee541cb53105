"""The grasp planner's ROS parameters: one spec per parameter (name, default, description, range).

Plain Python: the node declares every spec with :func:`robin_core.params.declare` and turns the
values into a :class:`~robin_grasp.grasp_planner.PlannerConfig` with :func:`config_from_values`.
Defaults come from the dataclasses, so code, node and ``config/grasp.yaml`` cannot drift apart
silently (a test compares the YAML with these specs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from robin_grasp.cup_selection import CUP_POLICIES, CupCheckConfig
from robin_grasp.grasp_candidates import POSE_TERMS
from robin_grasp.grasp_planner import PlannerConfig
from robin_grasp.mass_prior import DEFAULT_PRIORS
from robin_grasp.suction_pose import PLANE_METHODS
from robin_grasp.target_selection import TERMS, SelectionConfig


@dataclass(frozen=True)
class ParamSpec:
    """One ROS parameter."""

    name: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None


_P, _S, _C = PlannerConfig(), SelectionConfig(), CupCheckConfig()

#: grasp strategies the node can run: the planner, or the naive benchmark baseline
#: (robin_grasp/baseline_planner.py: largest visible instance, all cups on)
STRATEGIES = ('planner', 'naive')

NODE_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec('strategy', 'planner', 'planner: the grasp planner; naive: the benchmark baseline (largest visible '
              'instance at its centroid, all cups on) — never for production', choices=STRATEGIES),
    ParamSpec('stamp_tolerance_s', 0.02, 'largest depth-to-colour stamp difference accepted [s]', 0.0, 1.0),
    ParamSpec('frame_history_s', 3.0, "aligned depth kept for perception's late outputs of its frame (its "
              'latency under load) [s]', 0.1, 10.0),
    ParamSpec('camera_info_timeout_s', 5.0, 'after this without camera_info the node reports STALE [s]', 0.1, 600.0),
    ParamSpec('pile_map_resolution', 0.01, 'cell of the pile height map published for the motion planner [m]',
              0.002, 0.1),
    ParamSpec('arm_mask.enabled', True, 'mask the arm (from /joint_states) out of frames it is in, so they '
              'can be planned on; packages under it are not offered'),
    ParamSpec('arm_mask.column_half_size', 0.2, 'half width of the column under the tool a carried package of '
              'unknown size may hide [m]', 0.0, 1.0),
    ParamSpec('arm_mask.carried_margin', 0.03, 'a carried package of known size (from cell/pick_phase) hides its '
              'footprint grown by this [m]', 0.0, 0.5),
    ParamSpec('arm_mask.dilate_px', 12, 'safety band around the arm silhouette [px]', 0, 200),
    ParamSpec('arm_mask.window_s', 0.06, 'joint states this close to a frame stamp are drawn [s]', 0.0, 1.0),
)

PLANNER_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec('map_resolution', _P.map_resolution, 'height map cell size [m]', 0.001, 0.02),
    ParamSpec('map_margin', _P.map_margin, 'height map extends this far beyond the pick area [m]', 0.0, 0.5),
    ParamSpec('max_scene_height', _P.max_scene_height, 'highest pile above the belt considered [m]', 0.05, 2.0),
    ParamSpec('rail_clearance', _P.rail_clearance, 'tool body to conveyor rail clearance (the motion planner\'s); '
              'negative = no rail check [m]', -1.0, 0.2),
    ParamSpec('plane_method', _P.plane_method, 'top-surface plane fit backend', choices=PLANE_METHODS),
    ParamSpec('plane_inlier_tol', _P.plane_inlier_tol, 'distance that counts as on the top surface [m]', 0.0005, 0.05),
    ParamSpec('suction_point_count', _P.suction_point_count, 'suction points tried per target [-]', 1, 32),
    ParamSpec('edge_ref', _P.edge_ref, 'edge distance giving a full edge score [m]', 0.005, 0.5),
    ParamSpec('yaw_offsets_deg', [math.degrees(y) for y in _P.yaw_offsets],
              'tcp yaw variants relative to the long side [deg]'),
    ParamSpec('max_targets', _P.max_targets, 'best-ranked targets planned per frame [-]', 1, 50),
    ParamSpec('candidates_per_target', _P.candidates_per_target, 'candidates published per target [-]', 1, 100),
    ParamSpec('cup_policy', _P.cup_policy, 'all_valid: every cup fully on the target; minimal: fewest that hold it',
              choices=CUP_POLICIES),
    ParamSpec('max_acceleration', _P.max_acceleration, 'peak tool acceleration during transfer [m/s^2]', 0.0, 50.0),
    ParamSpec('min_transfer_acceleration', _P.min_transfer_acceleration,
              'grasps whose cups hold the package only through less tool acceleration are refused (their '
              'transfer would be slowed too much) [m/s^2]', 0.1, 50.0),
    ParamSpec('safety_factor', _P.safety_factor, 'margin on every holding load: force, slip and peel [-]', 1.0, 10.0),
    ParamSpec('min_type_score', _P.min_type_score, 'type confidence needed to use its mass prior [0..1]', 0.0, 1.0),
    ParamSpec('mass_upper_factor', _P.mass_upper_factor, 'conservative / central mass estimate [-]', 1.0, 10.0),
    ParamSpec('target_weight', _P.target_weight, 'share of the target score in the candidate score [0..1]', 0.0, 1.0),
    ParamSpec('probe_weight', _P.probe_weight,
              'share of the pose score for poses that test a cup QA suspects (its force not counted) [0..1]', 0.0, 1.0),
    # target selection
    ParamSpec('selection.min_score', _S.min_score, 'instance confidence below this is rejected [0..1]', 0.0, 1.0),
    ParamSpec('selection.min_cells', _S.min_cells, 'fewer visible height-map cells is rejected [-]', 0, 1_000_000),
    ParamSpec('selection.min_area', _S.min_area, 'smaller visible top area is rejected [m^2]', 0.0, 1.0),
    ParamSpec('selection.max_tilt_deg', round(math.degrees(_S.max_tilt), 6), 'steeper top surfaces are rejected [deg]',
              0.0, 90.0),
    ParamSpec('selection.reach_min', _S.reach_min, 'closest planar distance from the base axis reached [m]', 0.0, 5.0),
    ParamSpec('selection.reach_max', _S.reach_max, 'farthest planar distance from the base axis reached [m]', 0.0, 5.0),
    ParamSpec('selection.reach_margin', _S.reach_margin, 'reach score ramps to 1 over this [m]', 0.001, 1.0),
    ParamSpec('selection.step_tol', _S.step_tol, 'boundary height step meaning "lies above" [m]', 0.0005, 0.1),
    ParamSpec('selection.min_step_votes', _S.min_step_votes, 'boundary cell pairs needed for a step [-]', 1, 10_000),
    ParamSpec('selection.flatness_tol', _S.flatness_tol, 'plane RMS giving a zero flatness score [m]', 0.0005, 0.1),
    ParamSpec('selection.size_ref', _S.size_ref, 'top area giving a full size score [m^2]', 0.0001, 1.0),
    ParamSpec('selection.clearance_ref', _S.clearance_ref, 'neighbour clearance giving a full score [m]', 0.001, 0.5),
    ParamSpec('selection.clearance_band', _S.clearance_band, 'neighbours this far below the top are ignored [m]',
              0.0, 1.0),
    *(ParamSpec(f'selection.weight_{t}', _S.weights[t], f'weight of the {t} term in the target score [-]', 0.0, 100.0)
      for t in TERMS),
    # cups
    ParamSpec('cups.edge_margin', _C.edge_margin, 'lip must lie this far inside the target outline [m]', 0.0, 0.05),
    ParamSpec('cups.height_tol', _C.height_tol, 'lip samples within this of the contact plane are on it [m]',
              0.0005, 0.05),
    ParamSpec('cups.max_unknown_fraction', _C.max_unknown_fraction,
              'share of lip samples that may lack depth inside the outline [0..1]', 0.0, 1.0),
    ParamSpec('cups.press_tol', _C.press_tol, 'cups may meet nothing higher than the plane + this [m]', 0.0, 0.1),
    ParamSpec('cups.tool_clearance', _C.tool_clearance, 'tool body height above the lip plane [m]', 0.0, 1.0),
    ParamSpec('cups.tool_half_extent_x', _C.tool_half_extent[0], 'tool body half size along tcp x [m]', 0.0, 1.0),
    ParamSpec('cups.tool_half_extent_y', _C.tool_half_extent[1], 'tool body half size along tcp y [m]', 0.0, 1.0),
    *(ParamSpec(f'pose_weight.{t}', _P.pose_weights[t], f'weight of the {t} term in the pose score [-]', 0.0, 100.0)
      for t in POSE_TERMS),
    *(ParamSpec(f'density.{t}', p.density, f'bulk density prior of {t} [kg/m^3]', 1.0, 20_000.0)
      for t, p in DEFAULT_PRIORS.items()),
    *(ParamSpec(f'lip_friction.{t}', p.lip_friction, f'cup lip friction coefficient on {t}, low end [-]', 0.05, 2.0)
      for t, p in DEFAULT_PRIORS.items()),
)  # fmt: skip


def config_from_values(values: Mapping[str, Any]) -> PlannerConfig:
    """Build the planner configuration from parameter values (missing names keep their defaults).

    Raises:
        ValueError: inconsistent values (e.g. reach_min > reach_max).
    """
    v = {s.name: s.default for s in PLANNER_SPECS} | dict(values)
    if v['selection.reach_min'] > v['selection.reach_max']:
        raise ValueError('selection.reach_min must not exceed selection.reach_max')
    selection = SelectionConfig(
        min_score=v['selection.min_score'], min_cells=int(v['selection.min_cells']), min_area=v['selection.min_area'],
        max_tilt=math.radians(v['selection.max_tilt_deg']), reach_min=v['selection.reach_min'],
        reach_max=v['selection.reach_max'], reach_margin=v['selection.reach_margin'],
        step_tol=v['selection.step_tol'], min_step_votes=int(v['selection.min_step_votes']),
        flatness_tol=v['selection.flatness_tol'], size_ref=v['selection.size_ref'],
        clearance_ref=v['selection.clearance_ref'], clearance_band=v['selection.clearance_band'],
        weights={t: float(v[f'selection.weight_{t}']) for t in TERMS},
    )  # fmt: skip
    cups = CupCheckConfig(
        edge_margin=v['cups.edge_margin'], height_tol=v['cups.height_tol'],
        max_unknown_fraction=v['cups.max_unknown_fraction'], press_tol=v['cups.press_tol'],
        tool_clearance=v['cups.tool_clearance'],
        tool_half_extent=(v['cups.tool_half_extent_x'], v['cups.tool_half_extent_y']),
    )  # fmt: skip
    priors = {t: replace(p, density=float(v[f'density.{t}']), lip_friction=float(v[f'lip_friction.{t}']))
              for t, p in DEFAULT_PRIORS.items()}
    return PlannerConfig(
        selection=selection, cups=cups, priors=priors, map_resolution=v['map_resolution'],
        map_margin=v['map_margin'], max_scene_height=v['max_scene_height'], rail_clearance=v['rail_clearance'],
        plane_method=v['plane_method'],
        plane_inlier_tol=v['plane_inlier_tol'], suction_point_count=int(v['suction_point_count']),
        edge_ref=v['edge_ref'], yaw_offsets=tuple(math.radians(float(a)) for a in v['yaw_offsets_deg']),
        max_targets=int(v['max_targets']), candidates_per_target=int(v['candidates_per_target']),
        cup_policy=v['cup_policy'], max_acceleration=v['max_acceleration'],
        min_transfer_acceleration=v['min_transfer_acceleration'], safety_factor=v['safety_factor'],
        min_type_score=v['min_type_score'], mass_upper_factor=v['mass_upper_factor'],
        target_weight=v['target_weight'], probe_weight=v['probe_weight'],
        pose_weights={t: float(v[f'pose_weight.{t}']) for t in POSE_TERMS},
    )  # fmt: skip

