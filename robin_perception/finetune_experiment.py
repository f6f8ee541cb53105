"""The site-adaptation experiment in one command: universal vs fine-tuned vs from-scratch.

    python -m robin_perception.finetune_experiment --site /work/data/site_b \
        --universal-data /work/data/universal --minutes 8

Trains (a) the universal model fine-tuned on the site's train split with replay of universal
frames and (b) the same network from scratch on the same site frames for the same time, then
evaluates the universal model, (a) and (b) on the site test split and on the universal test
split. Prints one table and writes ``eval/results/finetune.json``. Done means: (a) beats both
others on the site, and keeps >= 95 % of the universal model's AP50 on the universal test set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from robin_perception import evaluate, export_onnx, train


def _eval(model: Path, data: Path, out: Path, limit: int, threads: int) -> dict:
    evaluate.main(['--model', str(model), '--data', str(data), '--split', 'test', '--limit', str(limit),
                   '--out', str(out), '--threads', str(threads)])
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog='python -m robin_perception.finetune_experiment',
                                 description=__doc__.split('\n')[0])
    ap.add_argument('--universal-model', type=Path, default=Path('models/universal'),
                    help='directory with package_seg.onnx and weights.pt')
    ap.add_argument('--site', type=Path, required=True, help='site dataset root (train/ val/ test/)')
    ap.add_argument('--universal-data', type=Path, required=True, help='universal dataset root (replay + test)')
    ap.add_argument('--minutes', type=float, default=8.0, help='training time of each of the two runs')
    ap.add_argument('--site-frames', type=int, default=1000, help='site training frames used')
    ap.add_argument('--replay-ratio', type=float, default=0.3)
    ap.add_argument('--limit', type=int, default=150, help='test frames per evaluation')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--work', type=Path, default=Path('/tmp/robin_finetune'))
    ap.add_argument('--out', type=Path, default=Path('eval/results/finetune.json'))
    a = ap.parse_args(argv)
    hours = a.minutes / 60.0
    common = ['--data', str(a.site), '--hours', f'{hours}', '--threads', str(a.threads),
              '--max-frames', str(a.site_frames), '--ckpt-minutes', '1000']
    weights = a.universal_model / 'weights.pt'
    arch = train.init_architecture(weights)  # from scratch means the same network, untrained
    runs = {
        'fine-tuned': [*common, '--ckpt-dir', str(a.work / 'finetuned'), '--init', str(weights),
                       '--replay', str(a.universal_data), '--replay-ratio', str(a.replay_ratio), '--lr', '5e-4'],
        'scratch': [*common, '--ckpt-dir', str(a.work / 'scratch'), '--width', str(arch['width']),
                    '--context-width', str(arch['context_width'])],
    }
    models = {'universal': a.universal_model / export_onnx.ONNX_NAME}
    for name, args in runs.items():
        if train.main(args) != 0:
            return 1
        ckpt_dir = a.work / ('finetuned' if name == 'fine-tuned' else 'scratch')
        export_onnx.main(['--ckpt', str(ckpt_dir / 'last.pt'), '--out-dir', str(ckpt_dir / 'model'),
                          '--data', str(a.site), '--version', f'site-{name}'])
        models[name] = ckpt_dir / 'model' / export_onnx.ONNX_NAME
    rows = {}
    for name, path in models.items():
        site = _eval(path, a.site, a.work / f'{name}_site.json', a.limit, a.threads)
        univ = _eval(path, a.universal_data, a.work / f'{name}_universal.json', a.limit, a.threads)
        rows[name] = {'site': {k: site[k] for k in ('ap50_all', 'ap_all', 'recall_pickable', 'type_accuracy')},
                      'universal': {k: univ[k] for k in ('ap50_all', 'ap_all', 'recall_pickable', 'type_accuracy')}}
    base = rows['universal']['universal']['ap50_all']
    for r in rows.values():
        r['universal_retention'] = r['universal']['ap50_all'] / base if base else float('nan')
    ft, sc, un = rows['fine-tuned'], rows['scratch'], rows['universal']
    verdict = {
        'beats_scratch_on_site': ft['site']['ap50_all'] > sc['site']['ap50_all'],
        'beats_universal_on_site': ft['site']['ap50_all'] > un['site']['ap50_all'],
        'keeps_95pct_universal': ft['universal_retention'] >= 0.95,
    }
    print(f"\n{'model':<12}{'site AP50':>10}{'site AP':>9}{'site rec.pick':>14}{'site type':>10}"
          f"{'univ AP50':>10}{'retention':>10}")
    for name, r in rows.items():
        s, u = r['site'], r['universal']
        print(f"{name:<12}{s['ap50_all']:>10.3f}{s['ap_all']:>9.3f}{s['recall_pickable']:>14.3f}"
              f"{s['type_accuracy']:>10.3f}{u['ap50_all']:>10.3f}{r['universal_retention']:>10.3f}")
    print('verdict:', ', '.join(f'{k}={v}' for k, v in verdict.items()))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({'minutes_per_run': a.minutes, 'site': str(a.site), 'rows': rows,
                                 'verdict': verdict}, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
