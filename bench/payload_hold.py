"""Drops in transfer: full-speed transfers vs transfers slowed to what the grasp holds (the hold model).

The simulator's suction test box (26 × 16 × 10 cm) is given masses from 1 to 6 kg and carried from
the belt to the drive robot on 2, 4 or 8 cups (the sealed cups nearest its centre). Each case is
run twice from the same state:

- ``full speed`` (the baseline: a force-only budget never slows a transfer);
- ``hold-limited``: the pick planned with the payload acceleration the grasp planner's hold model
  gives that cup set (robin_grasp/hold_model.py, with the planner's margins: rated cup force × seal
  efficiency, safety factor, conservative mass = true mass × mass_upper_factor, the box prior's lip
  friction); below ``min_transfer_acceleration`` the planner refuses the cup set, so it is not run.

Prints a table (held at the tray or dropped, transfer time) and writes JSON with ``drops_full_speed``,
``drops_hold_limited``, ``refused`` and the mean transfer times.

    python bench/payload_hold.py [--masses 1 2 3 4 6] [--cups 2 4 8] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from robin_grasp.grasp_planner import PlannerConfig
from robin_grasp.hold_model import estimate_hold
from robin_grasp.mass_prior import DEFAULT_PRIORS, MassEstimate
from robin_grasp.motion.builtin_factory import BuiltinSettings, build_builtin_backend
from robin_grasp.motion.interface import PlanFailure
from robin_grasp.motion.pick_sequence import PickPlan, PickRequest, PickSequencePlanner
from robin_sim.arm import trajectory_from_lists
from robin_sim.arm_ik import tool_down
from robin_sim.scenarios import pick_point
from robin_sim.simulation import SimConfig, Simulation

PACKAGE = 1  #: the suction test's light box, level on the belt
SETTLE_S = 0.15  #: [s] after each segment's nominal end
SUCTION_S = 0.3  #: [s] for the cups to seal


def planner_hold(cfg: PlannerConfig, sim: Simulation, cups: np.ndarray, mass: float, thickness: float) -> float:
    """The hold acceleration the grasp planner computes for ``cups`` on the box [m/s²], with its
    estimate of the box exact but for the conservative factor."""
    g = sim.cell.gripper
    prior = DEFAULT_PRIORS['box']
    estimate = MassEstimate(mass, mass * cfg.mass_upper_factor, thickness, 'box', prior.seal_efficiency,
                            prior.lip_friction)
    force = cups[None, :] * g.rated_force_per_cup * prior.seal_efficiency
    cup_xy = np.asarray(g.cup_positions, np.float64)[:, :2]
    return float(estimate_hold(cup_xy, force, np.zeros((1, 2)), estimate, lip_radius=g.lip_radius,
                               safety_factor=cfg.safety_factor)[0])


def run_case(mass: float, n_cups: int, limited: bool, cfg: PlannerConfig) -> dict[str, object]:
    """One pick of the box on ``n_cups`` cups; ``limited``: at the hold model's payload acceleration."""
    sim = Simulation(SimConfig(seed=1, scenario='suction_test'))
    sim.set_package_mass(PACKAGE, mass)
    planner = PickSequencePlanner(build_builtin_backend(sim.cell, BuiltinSettings()))
    pkg = sim.packages[PACKAGE]
    grasp = tool_down(pick_point(pkg) + np.array([0.0, 0.0, -0.003]), -np.pi / 2)
    names = sim.cell.joint_names

    def go(plan: PickPlan, segment: str) -> float:
        tr = plan.segment(segment).trajectory
        sim.follow_trajectory(trajectory_from_lists(names, tr.times, tr.positions, tr.velocities))
        sim.step(tr.duration + SETTLE_S)
        return tr.duration

    tray = sim.cell.place_station.T_base_tray
    size = tuple(pkg.size)
    probe = planner.plan(sim.joint_state().position, PickRequest(grasp, tray, sim.cell.place_station.tray_size, size),
                         timeout_s=30.0)
    if isinstance(probe, PlanFailure):
        raise RuntimeError(f'the suction test pick does not plan: {probe}')
    go(probe, 'approach')
    go(probe, 'descend')
    sim.command_cups([1] * 8)
    sim.step(SUCTION_S)
    sealed = np.flatnonzero(sim.gripper_reading().sealed)
    lips = np.array([sim.data.site_xpos[i] for i in sim.gripper.lip_site_ids])
    nearest = [int(i) for i in np.argsort(np.linalg.norm(lips[:, :2] - pkg.pos[:2], axis=1)) if i in set(sealed)]
    on = np.zeros(8)
    on[nearest[:n_cups]] = 1
    hold = planner_hold(cfg, sim, on, mass, size[2])
    row: dict[str, object] = {'mass_kg': mass, 'cups': int(on.sum()), 'hold_mps2': round(hold, 2),
                              'mode': 'hold-limited' if limited else 'full speed'}
    if limited and hold < cfg.min_transfer_acceleration:
        return {**row, 'outcome': 'refused', 'transfer_s': None}
    plan = probe
    if limited:  # the same pick, its loaded segments slowed to what the cups hold
        plan = planner.plan(sim.joint_state().position, PickRequest(grasp, tray, sim.cell.place_station.tray_size,
                                                                    size, payload_acceleration=hold), timeout_s=30.0)
        if isinstance(plan, PlanFailure):
            raise RuntimeError(f'the limited pick does not plan: {plan}')
    sim.command_cups(list(on.astype(int)))
    sim.step(SUCTION_S)
    go(plan, 'lift')
    transfer_s = go(plan, 'transfer')
    held = PACKAGE in sim.ground_truth().by_state('held')
    return {**row, 'outcome': 'held' if held else 'dropped', 'transfer_s': round(transfer_s, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--masses', type=float, nargs='+', default=[1.0, 2.0, 3.0, 4.0, 6.0], help='[kg]')
    ap.add_argument('--cups', type=int, nargs='+', default=[2, 4, 8])
    ap.add_argument('--json', type=Path)
    a = ap.parse_args()
    cfg = PlannerConfig()
    rows = [run_case(m, n, limited, cfg) for m in a.masses for n in a.cups for limited in (False, True)]
    print(f'{"mass kg":>8} {"cups":>5} {"hold m/s2":>10}  {"full speed":>12} {"s":>5}  {"hold-limited":>12} {"s":>5}')
    for full, lim in zip(rows[::2], rows[1::2], strict=True):
        print(f'{full["mass_kg"]:>8.1f} {full["cups"]:>5} {full["hold_mps2"]:>10.1f}  {full["outcome"]:>12} '
              f'{full["transfer_s"]:>5.2f}  {lim["outcome"]:>12} {lim["transfer_s"] or float("nan"):>5.2f}')

    def summary(mode: str) -> dict[str, object]:
        rs = [r for r in rows if r['mode'] == mode]
        times = [r['transfer_s'] for r in rs if r['transfer_s'] is not None]
        return {'runs': len(rs), 'drops': sum(r['outcome'] == 'dropped' for r in rs),
                'refused': sum(r['outcome'] == 'refused' for r in rs),
                'mean_transfer_s': round(float(np.mean(times)), 3) if times else None}

    out = {'benchmark': 'payload_hold', 'package_size_m': [0.26, 0.16, 0.10],
           'full_speed': summary('full speed'), 'hold_limited': summary('hold-limited'), 'rows': rows}
    out.update(drops_full_speed=out['full_speed']['drops'], drops_hold_limited=out['hold_limited']['drops'],
               refused=out['hold_limited']['refused'])
    print(f"drops: full speed {out['drops_full_speed']}/{len(rows) // 2}, hold-limited "
          f"{out['drops_hold_limited']}/{len(rows) // 2} ({out['refused']} cup sets refused by the planner); "
          f"mean transfer {out['full_speed']['mean_transfer_s']} s vs {out['hold_limited']['mean_transfer_s']} s")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=2) + '\n')


if __name__ == '__main__':
    main()
