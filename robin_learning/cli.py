"""robin-learn: the learning loop from the command line.

    robin-learn queue stats --db runs/learning/queue.db
    robin-learn export --db Q --format coco|label-studio --budget 50 --strategy active --out DIR
    robin-learn import --db Q --format coco|label-studio FILE
    robin-learn gt-annotate --db Q                       # simulation: answer the queue from ground truth
    robin-learn registry list|register|promote|rollback|resolve|verify|seed ...
    robin-learn gate --current A.json --candidate B.json --current-hard C.json --candidate-hard D.json --out DIR
    robin-learn retrain --db Q --base production --frozen-test DATA --replay DATA --out runs/retrain
    robin-learn rollout-demo --out runs/rollout_demo          # real simulated cells (minutes)
    robin-learn rollout-synthetic --out runs/rollout_synthetic  # synthetic traffic (seconds; test path)
    robin-learn fleet-aggregate --db sqlite:///runs/picks.db --out runs/fleet   # pick store -> Parquet
    robin-learn fleet-demo-data --out runs/fleet_demo --picks 5000
    robin-learn fleet-report --fleet runs/fleet --out runs/fleet_report

Exit codes: 0 done, 1 refused (gate refused, import rejected, model refused), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from robin_learning.annotation_import import AnnotationImportError
from robin_learning.learning_config import ConfigError, load_learning_config
from robin_learning.queue_status import TransitionError
from robin_learning.queue_store import AnnotationQueue, QueueError
from robin_learning.registry import ALIASES, ModelRefusedError, ModelRegistry, RegistryError

DEFAULT_CONFIG = Path('config/learning.yaml')


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='robin-learn', description=__doc__.split('\n')[0])
    p.add_argument('--config', type=Path, default=DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    sub = p.add_subparsers(dest='command', required=True)

    q = sub.add_parser('queue', help='queue status')
    q.add_argument('action', choices=('stats', 'list'))
    q.add_argument('--db', type=Path, required=True)
    q.add_argument('--status', default=None)
    q.add_argument('--limit', type=int, default=20)

    e = sub.add_parser('export', help='select a budget of queued frames and export them')
    e.add_argument('--db', type=Path, required=True)
    e.add_argument('--format', choices=('coco', 'label-studio'), default='coco')
    e.add_argument('--budget', type=int, required=True)
    e.add_argument('--strategy', choices=('active', 'random'), default='active')
    e.add_argument('--seed', type=int, default=0)
    e.add_argument('--out', type=Path, required=True, help='COCO file or Label Studio directory')

    i = sub.add_parser('import', help='import corrected annotations (all or nothing)')
    i.add_argument('--db', type=Path, required=True)
    i.add_argument('--format', choices=('coco', 'label-studio'), default='coco')
    i.add_argument('file', type=Path)

    g = sub.add_parser('gt-annotate', help='answer queued/exported frames from simulation ground truth')
    g.add_argument('--db', type=Path, required=True)
    g.add_argument('--limit', type=int, default=None)

    r = sub.add_parser('registry', help='model registry')
    r.add_argument('action', choices=('list', 'register', 'promote', 'rollback', 'resolve', 'verify', 'seed',
                                      'internalize'))
    r.add_argument('ref', nargs='?', help='register: ONNX file; promote: version; resolve, internalize: alias or '
                   'version')
    r.add_argument('--root', type=Path, default=None)
    r.add_argument('--alias', choices=ALIASES)
    r.add_argument('--version')
    r.add_argument('--parent')
    r.add_argument('--metrics', type=Path, help='eval JSON')
    r.add_argument('--model-card', type=Path)
    r.add_argument('--weights', type=Path)
    r.add_argument('--model-dir', type=Path, default=Path('models/universal'), help='seed: the shipped model')
    r.add_argument('--copy', action='store_true', help='seed: copy the files instead of referencing them in place')

    gt = sub.add_parser('gate', help='decide register-or-refuse from eval JSONs; writes a report')
    for name in ('current', 'candidate', 'current-hard', 'candidate-hard'):
        gt.add_argument(f'--{name}', type=Path, required=True)
    gt.add_argument('--out', type=Path, required=True)

    rt = sub.add_parser('retrain', help='fine-tune on the annotated queue, evaluate, gate, register')
    rt.add_argument('--db', type=Path, required=True)
    rt.add_argument('--root', type=Path, default=None, help='registry root')
    rt.add_argument('--base', default='production')
    rt.add_argument('--frozen-test', type=Path, required=True, help='dataset root of the frozen test set')
    rt.add_argument('--frozen-split', default='test')
    rt.add_argument('--replay', type=Path, default=None)
    rt.add_argument('--out', type=Path, default=Path('runs/retrain'))
    rt.add_argument('--hours', type=float, default=0.3)
    rt.add_argument('--max-steps', type=int, default=0)
    rt.add_argument('--threads', type=int, default=2)
    rt.add_argument('--eval-limit', type=int, default=0)
    rt.add_argument('--holdout-percent', type=int, default=20)

    rd = sub.add_parser('rollout-demo', help='canary stages on a fleet of real simulated cells (separate processes '
                        'and ROS domains): a degraded model rolled back, an equal/better one promoted; then the '
                        'correlation report of the same run')
    rd.add_argument('--out', type=Path, default=Path('runs/rollout_demo'))
    rd.add_argument('--cells', type=int, default=None, help='fleet size (default: config rollout_fleet.stage)')
    rd.add_argument('--stage-seconds', type=float, default=None, help='longest canary stage [wall s]')
    rd.add_argument('--worse-noise', type=float, default=None, help='weight noise of the degraded candidate')
    rd.add_argument('--better', type=Path, default=None, help='ONNX of the second candidate (default: production '
                    'weights re-registered, an equal candidate)')

    rs = sub.add_parser('rollout-synthetic', help='SYNTHETIC traffic (no cells, stand-in ONNX graphs): the fast '
                        'test path of the rollout mechanics')
    rs.add_argument('--out', type=Path, default=Path('runs/rollout_synthetic'))
    rs.add_argument('--cells', type=int, default=4)

    fa = sub.add_parser('fleet-aggregate', help='pick store(s) -> partitioned Parquet')
    fa.add_argument('--db', action='append', required=True, help='pick store URL (repeat per cell)')
    fa.add_argument('--scenes', type=Path, help='JSONL of {record_id, instance_count, lighting_lux, ...}')
    fa.add_argument('--out', type=Path, required=True)

    fd = sub.add_parser('fleet-demo-data', help='synthetic multi-cell records with planted effects -> Parquet')
    fd.add_argument('--out', type=Path, required=True)
    fd.add_argument('--picks', type=int, default=5000)
    fd.add_argument('--cells', type=int, default=4)

    fr = sub.add_parser('fleet-report', help='correlation report with plots (markdown + JSON + PNG)')
    fr.add_argument('--fleet', type=Path, required=True)
    fr.add_argument('--out', type=Path, default=Path('runs/fleet_report'))
    return p


def _queue(path: Path) -> AnnotationQueue:
    if not path.exists():
        raise QueueError(f'no queue at {path}')
    return AnnotationQueue.at(path)


def _cmd_queue(a: argparse.Namespace) -> int:
    q = _queue(a.db)
    if a.action == 'stats':
        print(json.dumps(q.counts(), indent=2))
        return 0
    for it in q.items(a.status, a.limit):
        print(f'{it.image_id:>6} {it.status:<17} {it.priority:6.3f} {",".join(it.reasons):<45} {it.frame_key}')
    return 0


def _cmd_export(a: argparse.Namespace) -> int:
    import numpy as np  # noqa: PLC0415

    from robin_learning.coco_io import export_coco  # noqa: PLC0415
    from robin_learning.label_studio import export_label_studio  # noqa: PLC0415
    from robin_learning.selection import select  # noqa: PLC0415

    q = _queue(a.db)
    chosen = select(q.items('queued'), a.budget, a.strategy, np.random.default_rng(a.seed))
    if not chosen:
        print('nothing queued to export', file=sys.stderr)
        return 0
    batch = time.strftime(f'{a.strategy}-%Y%m%d-%H%M%S')
    out = (export_coco(q, chosen, a.out, batch) if a.format == 'coco'
           else export_label_studio(q, chosen, a.out, batch))
    print(f'exported {len(chosen)} frames ({a.strategy}) as batch {batch}: {out}')
    return 0


def _cmd_import(a: argparse.Namespace) -> int:
    from robin_learning.coco_io import import_coco  # noqa: PLC0415
    from robin_learning.label_studio import import_label_studio  # noqa: PLC0415

    q = _queue(a.db)
    res = import_coco(q, a.file) if a.format == 'coco' else import_label_studio(q, a.file)
    print(f'imported {res.instances} instances on {res.images} images')
    for s in res.skipped:
        print(f'skipped {s}')
    return 0


def _cmd_gt(a: argparse.Namespace) -> int:
    from robin_learning.ground_truth_annotator import annotate_from_ground_truth  # noqa: PLC0415

    q = _queue(a.db)
    items = [it for it in q.items(['queued', 'exported'], a.limit) if it.gt_ref]
    print(f'annotated {annotate_from_ground_truth(q, items)} frames from ground truth')
    return 0


def _cmd_registry(a: argparse.Namespace) -> int:
    reg = ModelRegistry(a.root)
    if a.action == 'list':
        aliases = reg.aliases()
        for v in reg.versions():
            tags = [k for k, x in aliases.items() if x == v.version]
            print(f'{v.version:<28} {v.sha256[:12]} parent={v.parent} created={v.created} {" ".join(tags)}')
        return 0
    if a.action == 'verify':
        problems = reg.verify()
        print('\n'.join(problems) or 'registry consistent')
        return 1 if problems else 0
    if a.action == 'rollback':
        print(reg.rollback(a.alias or 'production'))
        return 0
    if a.action == 'seed':
        from robin_learning.registry_seed import seed_shipped_model  # noqa: PLC0415

        mv = seed_shipped_model(reg, a.model_dir, a.metrics or Path('eval/results/latest.json'),
                                a.model_card or Path('docs/model_card.md'), in_place=not a.copy,
                                alias=a.alias or 'production', parent=a.parent)
        print(f'registered {mv.version} sha256 {mv.sha256} as {a.alias or "production"} in {reg.root}')
        return 0
    if not a.ref:
        raise RegistryError(f'registry {a.action} needs a model reference')
    if a.action == 'resolve':
        print(reg.resolve(a.ref))
    elif a.action == 'internalize':
        mv = reg.internalize(a.ref)
        print(f'{mv.version}: {mv.onnx}' + (f', {mv.weights}' if mv.weights else ''))
    elif a.action == 'promote':
        print(reg.promote(a.alias or 'production', a.ref))
    else:
        metrics = json.loads(a.metrics.read_text()) if a.metrics else {}
        mv = reg.register(Path(a.ref), version=a.version, parent=a.parent, metrics=metrics,
                          model_card=a.model_card, weights=a.weights, alias=a.alias)
        print(f'registered {mv.version} sha256 {mv.sha256}')
    return 0


def _cmd_gate(a: argparse.Namespace) -> int:
    from robin_learning.retraining_gate import decide, write_report  # noqa: PLC0415

    gate, _, _ = load_learning_config(a.config)
    ev = {k: json.loads(getattr(a, k).read_text()) for k in ('current', 'candidate', 'current_hard',
                                                              'candidate_hard')}
    d = decide(ev['current'], ev['candidate'], ev['current_hard'], ev['candidate_hard'], gate)
    _, md = write_report(d, a.out, {k: str(getattr(a, k)) for k in ev})
    print(md.read_text())
    return 0 if d.register else 1


def _cmd_retrain(a: argparse.Namespace) -> int:
    from robin_learning.perception_backend import RobinPerceptionBackend  # noqa: PLC0415
    from robin_learning.retrain import RetrainConfig, run_retrain  # noqa: PLC0415

    gate, _, _ = load_learning_config(a.config)
    cfg = RetrainConfig(base=a.base, frozen_test=a.frozen_test, frozen_split=a.frozen_split, replay=a.replay,
                        out_dir=a.out, holdout_percent=a.holdout_percent, gate=gate)
    backend = RobinPerceptionBackend(hours=a.hours, max_steps=a.max_steps, threads=a.threads,
                                     eval_limit=a.eval_limit)
    res = run_retrain(cfg, _queue(a.db), ModelRegistry(a.root), backend)
    print(res.report_md.read_text())
    return 0 if res.decision.register else 1


def _cmd_rollout_demo(a: argparse.Namespace) -> int:
    import dataclasses  # noqa: PLC0415

    from robin_learning.fleet_rollout_demo import WORSE_NOISE, fleet_rollout_demo  # noqa: PLC0415
    from robin_learning.learning_config import load_fleet_rollout_config  # noqa: PLC0415

    _, _, report_cfg = load_learning_config(a.config)
    policy, cfg = load_fleet_rollout_config(a.config)
    if a.cells is not None:
        cfg = dataclasses.replace(cfg, n_cells=a.cells)
    if a.stage_seconds is not None:
        cfg = dataclasses.replace(cfg, max_stage_s=a.stage_seconds)
    fleet_rollout_demo(a.out, cfg=cfg, policy=policy, report_cfg=report_cfg,
                       worse_noise=WORSE_NOISE if a.worse_noise is None else a.worse_noise, better=a.better)
    print((a.out / 'rollout_report.md').read_text())
    return 0


def _cmd_rollout_synthetic(a: argparse.Namespace) -> int:
    from robin_learning.rollout_demo import rollout_demo  # noqa: PLC0415

    _, policy, _ = load_learning_config(a.config)
    rollout_demo(a.out, a.cells, policy)
    print((a.out / 'rollout_report.md').read_text())
    return 0


def _cmd_fleet_aggregate(a: argparse.Namespace) -> int:
    from robin_learning.fleet_table import write_records  # noqa: PLC0415
    from robin_learning.pick_store_reader import read_pick_store  # noqa: PLC0415

    scenes = {}
    if a.scenes:
        for line in a.scenes.read_text().splitlines():
            if line.strip():
                d = json.loads(line)
                scenes[d.pop('record_id')] = d
    total = 0
    for url in a.db:
        total += write_records(read_pick_store(url), a.out, scenes)
    print(f'wrote {total} records to {a.out}')
    return 0


def _cmd_fleet_demo(a: argparse.Namespace) -> int:
    from robin_learning.fleet_synthetic import synthetic_fleet  # noqa: PLC0415
    from robin_learning.fleet_table import write_records  # noqa: PLC0415

    recs, scenes = synthetic_fleet(a.picks, a.cells)
    print(f'wrote {write_records(recs, a.out, scenes)} synthetic records to {a.out}')
    return 0


def _cmd_fleet_report(a: argparse.Namespace) -> int:
    from robin_learning.fleet_report import write_report  # noqa: PLC0415

    _, _, cfg = load_learning_config(a.config)
    doc = write_report(a.fleet, a.out, cfg)
    print(f"{doc['picks']} picks, {len(doc['findings'])} finding(s); report: {a.out / 'report.md'}")
    for f in doc['findings']:
        print(f"  {f['factor']} vs {f['target']}: effect {f['effect']:.3f}, p {f['p']:.2g}")
    return 0


COMMANDS = {'queue': _cmd_queue, 'export': _cmd_export, 'import': _cmd_import, 'gt-annotate': _cmd_gt,
            'registry': _cmd_registry, 'gate': _cmd_gate, 'retrain': _cmd_retrain,
            'rollout-demo': _cmd_rollout_demo, 'rollout-synthetic': _cmd_rollout_synthetic,
            'fleet-aggregate': _cmd_fleet_aggregate,
            'fleet-demo-data': _cmd_fleet_demo, 'fleet-report': _cmd_fleet_report}


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    try:
        return COMMANDS[a.command](a)
    except (AnnotationImportError, ModelRefusedError) as exc:
        print(f'robin-learn: {exc}', file=sys.stderr)
        return 1
    except (QueueError, TransitionError, RegistryError, ConfigError, FileNotFoundError) as exc:
        print(f'robin-learn: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
