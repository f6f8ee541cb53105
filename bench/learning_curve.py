"""Learning-curve benchmark: active vs random selection of the same annotation budget.

From the shipped universal model on a shifted site domain, each round:
  1. a fresh pool of site frames arrives (dataset generator, seeds never reused);
  2. the strategy's current model perceives them; every frame is queued with its uncertainty;
  3. the strategy picks ``--budget`` frames (active: most uncertain; random: uniform);
  4. the simulation ground-truth annotator answers them;
  5. the model is fine-tuned (with universal replay) on everything annotated so far;
  6. errors on the site test set are counted: missed packages + found packages with a wrong type.

Writes a table and ``bench/results/learning.json`` (``rounds``, ``active_errors``,
``random_errors``, plus rounds-to-half-the-starting-errors per strategy)::

    python bench/learning_curve.py --model production --replay /work/data/universal \
        --rounds 5 --budget 40 --pool 200 --test 150 --steps 500 --hours 1 --threads 1

``--smoke`` runs the data path only (depth-only segmenter for predictions, no training): it
checks the plumbing in a minute, its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robin_learning.ground_truth_annotator import annotate_from_ground_truth
from robin_learning.instances import prediction_from_table
from robin_learning.queue_store import AnnotationQueue, NewFrame
from robin_learning.selection import select
from robin_learning.training_set import build_training_set
from robin_learning.uncertainty import score_frame


def _case_errors(v: dict) -> float:
    """Missed + found-with-a-wrong-type packages of one evaluation case."""
    if not v['count']:
        return 0.0
    found = v['count'] - v['missed']
    acc = v['type_accuracy'] if isinstance(v['type_accuracy'], float) and not math.isnan(v['type_accuracy']) else 1
    return v['missed'] + found * (1.0 - acc)


def errors_from_eval(res: dict) -> int:
    """Missed packages + found packages with a wrong type, from ``robin_perception.evaluate`` JSON."""
    return round(sum(_case_errors(v) for name, v in res['per_case'].items() if name.startswith('type:')))


def pickable_errors_from_eval(res: dict) -> int:
    """The same over the pickable packages only (nothing resting on them): the ones the cell picks next."""
    return round(_case_errors(res['per_case']['pickable']))


def rounds_to_half(errors: list[int]) -> int | None:
    """First round whose errors are at most half of round 0's (None: never)."""
    return next((k for k, e in enumerate(errors) if e <= errors[0] / 2), None)


@dataclass
class Arm:
    """One strategy's state across rounds."""

    name: str
    model: Path
    weights: Path | None
    queue: AnnotationQueue
    errors: list[int] = field(default_factory=list)


def generate(root: Path, split: str, domain: str, count: int, start: int) -> None:
    from robin_perception.dataset import renderer, split_seeds, write_frame

    make = renderer('procedural')
    for seed in split_seeds(split, domain, count, start):
        write_frame(root, split, make(seed, domain))


def queue_pool(arm: Arm, pool: Path, split: str, smoke: bool) -> None:
    """Perceive every pool frame with the arm's model and queue it (priority = uncertainty)."""
    from robin_perception.belt_height import BeltFitError, BeltPlane
    from robin_perception.dataset import load_frame, read_split
    from robin_perception.evaluate import depth_mm_to_m
    from robin_perception.onnx_model import OnnxModel
    from robin_perception.segmentation_pipeline import SegmentationPipeline

    pipe = SegmentationPipeline(None if smoke else OnnxModel(arm.model, intra_op_threads=1), cross_check=True)
    for rec in read_split(pool, split):
        f = load_frame(rec)
        plane = BeltPlane.from_list(f.meta['belt_plane']) if 'belt_plane' in f.meta else None
        try:
            res = pipe.run(f.rgb, depth_mm_to_m(f.depth_mm), f.intrinsics, plane)
        except BeltFitError:
            continue
        unc = score_frame(res.table)
        name = Path(rec.image['file_name']).stem
        h, w = f.labels.shape
        arm.queue.add(NewFrame(
            frame_key=f'{split}/{name}', cell_id='bench', width=w, height=h,
            color_path=str(rec.split_dir / rec.image['file_name']),
            depth_path=str(rec.split_dir / rec.image['depth_file']), priority=unc.score,
            reasons=unc.reasons or ['random'], prediction=prediction_from_table(res.labels, res.table),
            meta={'intrinsics': rec.image['intrinsics'], 'domain': rec.image['domain'],
                  **({'belt_plane': f.meta['belt_plane']} if 'belt_plane' in f.meta else {})},
            gt_ref=str(rec.split_dir / 'meta' / f'{name}.json')))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default='production', help='registry alias/version or .onnx of the start model')
    ap.add_argument('--weights', type=Path, help='torch weights of the start model (default: registry entry)')
    ap.add_argument('--domain', default='site_b')
    ap.add_argument('--replay', type=Path, help='universal dataset root for replay')
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--budget', type=int, default=40)
    ap.add_argument('--pool', type=int, default=200, help='new site frames per round')
    ap.add_argument('--test', type=int, default=200, help='site test frames')
    ap.add_argument('--hours', type=float, default=0.1, help='fine-tune time cap per round [h]')
    ap.add_argument('--steps', type=int, default=0,
                    help='fine-tune steps per round (0: the time cap only); a step budget keeps the arms comparable '
                         'on a loaded machine')
    ap.add_argument('--work', type=Path, default=Path('runs/learning_curve'))
    ap.add_argument('--out', type=Path, default=Path('bench/results/learning.json'))
    ap.add_argument('--smoke', action='store_true', help='plumbing only: geometric predictions, no training')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2, help='torch / onnxruntime threads for training and evaluation')
    ap.add_argument('--tabulate', action='store_true',
                    help='only rebuild the table and JSON from the evaluations already in --work')
    a = ap.parse_args(argv)
    if a.tabulate:
        return tabulate(a, a.model)

    from robin_learning.perception_backend import RobinPerceptionBackend
    from robin_learning.registry import ModelRegistry, resolve_model

    test_root = a.work / 'site_test'
    generate(test_root, 'test', a.domain, a.test, 0)
    start = Path(a.model) if a.smoke else resolve_model(a.model)
    weights = a.weights
    if weights is None and not a.smoke and not str(a.model).endswith('.onnx'):
        mv = ModelRegistry().get(a.model)
        weights = ModelRegistry().root / mv.weights if mv.weights else None
    backend = RobinPerceptionBackend(hours=a.hours, max_steps=a.steps, threads=a.threads)
    arms = [Arm(s, start, weights, AnnotationQueue.at(a.work / s / 'queue.db')) for s in ('active', 'random')]
    rng = np.random.default_rng(a.seed)
    for rnd in range(a.rounds + 1):
        for arm in arms:
            if a.smoke:
                arm.errors.append(int(rng.integers(50, 100)))  # placeholder: no model was trained
            else:
                res = backend.evaluate(arm.model, test_root, 'test', a.work / arm.name / f'eval_{rnd}.json')
                arm.errors.append(errors_from_eval(res))
        if rnd == a.rounds:
            break
        pool = a.work / 'pool'
        generate(pool, 'train', a.domain, a.pool, rnd * a.pool)  # same new frames for both arms
        for arm in arms:
            queue_pool(arm, pool, 'train', a.smoke)
            chosen = select(arm.queue.items('queued'), a.budget, arm.name, rng)
            annotate_from_ground_truth(arm.queue, chosen)
            data = a.work / arm.name / f'data_{rnd}'
            build_training_set(arm.queue, data, f'round{rnd}', holdout_percent=0)
            if a.smoke:
                continue
            ckpt = backend.fine_tune(data, arm.weights, a.replay, a.work / arm.name / f'ckpt_{rnd}')
            out = a.work / arm.name / f'model_{rnd}'
            arm.model = backend.export(ckpt, out, f'bench-{arm.name}-{rnd}', data)
            arm.weights = out / 'weights.pt'
        print(f'round {rnd + 1}: ' + ', '.join(f'{arm.name} {arm.errors[-1]}' for arm in arms), file=sys.stderr)
    return tabulate(a, str(start))


def tabulate(a: argparse.Namespace, start_model: str) -> int:
    """Build the table and the JSON from the per-round evaluations kept in ``--work``."""
    series: dict[str, dict[str, list[int]]] = {}
    for name in ('active', 'random'):
        evals = [json.loads((a.work / name / f'eval_{r}.json').read_text()) for r in range(a.rounds + 1)
                 if (a.work / name / f'eval_{r}.json').is_file()]
        series[name] = {'all': [errors_from_eval(e) for e in evals],
                        'pickable': [pickable_errors_from_eval(e) for e in evals]}
    n = min(len(series['active']['all']), len(series['random']['all']))
    result = {'rounds': list(range(n)),
              'active_errors': series['active']['all'][:n], 'random_errors': series['random']['all'][:n],
              'rounds_to_half': {k: rounds_to_half(v['all'][:n]) for k, v in series.items()},
              'active_pickable_errors': series['active']['pickable'][:n],
              'random_pickable_errors': series['random']['pickable'][:n],
              'pickable_rounds_to_half': {k: rounds_to_half(v['pickable'][:n]) for k, v in series.items()},
              'complete': n == a.rounds + 1,
              'budget_per_round': a.budget, 'steps_per_round': a.steps, 'hours_cap_per_round': a.hours,
              'pool_per_round': a.pool, 'test_frames': a.test, 'domain': a.domain,
              'start_model': start_model, 'smoke': a.smoke}
    print(f"{'round':>5} {'active':>8} {'random':>8} {'active pickable':>16} {'random pickable':>16}")
    for r in result['rounds']:
        print(f"{r:>5} {result['active_errors'][r]:>8} {result['random_errors'][r]:>8} "
              f"{result['active_pickable_errors'][r]:>16} {result['random_pickable_errors'][r]:>16}")
    print(f"rounds to half the starting errors: {result['rounds_to_half']} "
          f"(pickable: {result['pickable_rounds_to_half']})")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
