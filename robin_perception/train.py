"""Train RobinSegNet on a pile dataset (universal pretraining or site fine-tuning with replay).

Examples::

    # universal pretraining, resumable, 2 CPU threads, checkpoints every 5 min
    python -m robin_perception.train --data /work/data/universal --ckpt-dir /work/ckpt/universal \
        --hours 1.6 --threads 2
    python -m robin_perception.train --ckpt-dir /work/ckpt/universal --resume
    # site fine-tune from the shipped model with 30 % replay of universal frames
    python -m robin_perception.train --data /work/data/site_b --init models/universal/weights.pt \
        --replay /work/data/universal --replay-ratio 0.3 --ckpt-dir /work/ckpt/site_b --hours 0.3

Checkpoints (``last.pt``, ``best.pt`` by validation loss) hold model, optimiser, step and
elapsed training time; ``--resume`` continues the same run (including its learning-rate
schedule, which is a cosine over the ``--hours`` budget of trained time).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from robin_core.instance_table import PACKAGE_TYPES
from robin_perception.seg_loss import seg_loss, type_class_weights
from robin_perception.seg_model import RobinSegNet, architecture_of
from robin_perception.training_data import SampleCache

#: context branch of a network trained from scratch: the universal model's since v1.1.0
SCRATCH_CONTEXT_WIDTH = 192

log = logging.getLogger('robin_perception.train')
DEFAULT_INPUT_HW = (240, 320)


def _setup_logging(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = logging.FileHandler(path)
    fh.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(message)s'))
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(fh)
    return fh


def _save(path: Path, state: dict) -> None:
    tmp = path.with_suffix('.tmp')
    torch.save(state, tmp)
    tmp.replace(path)  # a kill mid-write never corrupts the previous checkpoint


def load_weights(model: RobinSegNet, path: Path) -> None:
    """Load a checkpoint's model or a weights-only state dict (fp16 allowed) into ``model``.

    ``model`` may be ``path``'s network grown by a :class:`ContextBranch` (a v1.0 net into one with
    a context branch): the branch keeps its initialisation, which leaves the output unchanged.
    Any other mismatch raises.
    """
    state = torch.load(path, map_location='cpu', weights_only=True)
    state = state.get('model', state)
    ref = model.state_dict()
    missing = sorted(set(ref) - set(state))
    grown = missing and all(k.startswith('context.') for k in missing) and 'context.expand.0.weight' not in state
    if grown:
        state = {**state, **{k: ref[k] for k in missing}}
        log.info('grown by a %d-channel context branch: %s', model.context_width, path)
    model.load_state_dict({k: v.to(ref[k].dtype) if k in ref else v for k, v in state.items()})


def init_architecture(path: Path) -> dict[str, float | int]:
    """The architecture of the weights at ``path`` (see :func:`architecture_of`)."""
    state = torch.load(path, map_location='cpu', weights_only=True)
    return architecture_of(state.get('model', state))


def resolve_architecture(a: argparse.Namespace) -> tuple[float, int]:
    """(width, context_width) of the run: asked for, else that of ``--init``, else the scratch defaults.

    Raises:
        ValueError: an architecture ``--init``'s weights cannot be loaded into.
    """
    width, context = getattr(a, 'width', None), getattr(a, 'context_width', None)
    if getattr(a, 'resume', False):  # a checkpoint from before the context branch had none
        return float(width or 1.0), int(context or 0)
    if not a.init:
        return float(width or 1.0), SCRATCH_CONTEXT_WIDTH if context is None else int(context)
    arch = init_architecture(Path(a.init))
    if width is not None and abs(width - arch['width']) > 1e-6:
        raise ValueError(f'--width {width} does not match the --init weights (width {arch["width"]})')
    if context is not None and arch['context_width'] not in (0, context):
        raise ValueError(f'--context-width {context} does not match the --init weights '
                         f'(context width {arch["context_width"]}; only a net without one can be grown)')
    return float(arch['width']), int(arch['context_width'] if context is None else context)


def bf16_is_fast() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16). Where it does, bf16 autocast trains
    about twice as fast as fp32; where it does not, PyTorch emulates it: on a 2-core AVX2 EPYC a step of
    RobinSegNet took 16.6 s in bf16 against 1.2 s in fp32."""
    checks = ('_is_amx_tile_supported', '_is_avx512_bf16_supported')  # private, so looked up defensively
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def use_bf16(mode: str) -> bool:
    """``--bf16`` ``on``/``off``, or ``auto``: on where the CPU computes bf16 natively."""
    return mode == 'on' or (mode == 'auto' and bf16_is_fast())


@torch.no_grad()
def validation_loss(model: RobinSegNet, cache: SampleCache, *, batch: int = 8, limit: int = 96,
                    bf16: bool = True, type_weight: torch.Tensor | None = None) -> float:
    """Mean loss over (up to ``limit``) validation samples, no augmentation."""
    if len(cache) == 0:
        return float('nan')
    model.eval()
    rng = np.random.default_rng(0)
    idx = np.arange(min(limit, len(cache)))
    losses = []
    for k in range(0, len(idx), batch):
        b = cache.batch(idx[k : k + batch], rng, augment=False)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            out = model(b['rgbh'].contiguous(memory_format=torch.channels_last))
        loss, _ = seg_loss(*(o.float() for o in out), b, type_weight)
        losses.append(loss.item())
    model.train()
    return float(np.mean(losses))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog='python -m robin_perception.train', description=__doc__.split('\n')[0])
    ap.add_argument('--data', type=Path, help='dataset root (train/ and val/ splits)')
    ap.add_argument('--ckpt-dir', type=Path, required=True)
    ap.add_argument('--resume', action='store_true', help='continue from <ckpt-dir>/last.pt with its arguments')
    ap.add_argument('--init', type=Path, help='start from these weights (fine-tuning)')
    ap.add_argument('--replay', type=Path, help='dataset root whose train frames are mixed in (anti-forgetting)')
    ap.add_argument('--replay-ratio', type=float, default=0.3, help='share of each batch drawn from --replay')
    ap.add_argument('--hours', type=float, default=None,
                    help='training-time budget (sets the LR schedule); default 1.0, or the resumed run\'s')
    ap.add_argument('--max-steps', type=int, default=0, help='stop after this many steps (0: time budget only)')
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--width', type=float, default=None, help='network channel multiplier (default: that of '
                    '--init, else 1.0)')
    ap.add_argument('--context-width', type=int, default=None,
                    help='channels of the stride-16 context branch, 0 = none (default: that of --init, else '
                    f'{SCRATCH_CONTEXT_WIDTH}); larger than --init\'s grows it (the v1.0 net has none)')
    ap.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    ap.add_argument('--ckpt-minutes', type=float, default=5.0, help='checkpoint period [min]')
    ap.add_argument('--max-frames', type=int, default=8000, help='frames kept in RAM per split')
    ap.add_argument('--refresh-steps', type=int, default=200, help='steps between scans for new frames')
    ap.add_argument('--preload', type=int, default=400,
                    help='frames loaded before the first step (the rest join 100 per refresh); continuing from '
                         'trained weights wants the whole set at once, or it over-fits the first few hundred')
    ap.add_argument('--type-balance', type=float, default=0.0,
                    help='weigh each type\'s pixels by its training frequency ** -ALPHA in the type loss '
                         '(0: all pixels alike; 0.5: rare types count more)')
    ap.add_argument('--val-frames', type=int, default=96, help='validation frames scored at each checkpoint')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--bf16', choices=('auto', 'on', 'off'), default='auto',
                    help='bf16 autocast: ~2x faster on CPUs with AMX or AVX512-BF16, >10x slower on others '
                         '(auto: only where it is fast)')
    ap.add_argument('--no-bf16', dest='bf16', action='store_const', const='off', help='same as --bf16 off')
    a = ap.parse_args(argv)

    a.ckpt_dir.mkdir(parents=True, exist_ok=True)
    last = a.ckpt_dir / 'last.pt'
    resume_state = None
    if a.resume:
        if not last.exists():
            print(f'nothing to resume: {last} does not exist', file=sys.stderr)
            return 2
        resume_state = torch.load(last, map_location='cpu', weights_only=False)
        keep = {'resume': True, 'threads': a.threads, 'max_steps': a.max_steps, 'hours': a.hours}
        a = argparse.Namespace(**{**resume_state['args'], **{k: v for k, v in keep.items() if v}})
        a.ckpt_dir, a.data = Path(a.ckpt_dir), Path(a.data)
        a.replay = Path(a.replay) if a.replay else None
        if not hasattr(a, 'bf16'):  # a checkpoint from before --bf16 had a no_bf16 flag
            a.bf16 = 'off' if getattr(a, 'no_bf16', False) else 'auto'
    if a.data is None:
        ap.error('--data is required')
    if getattr(a, 'type_balance', 0.0) < 0:
        ap.error(f'--type-balance must be >= 0, got {a.type_balance}')
    if getattr(a, 'val_frames', 96) < 1:
        ap.error(f'--val-frames must be >= 1, got {a.val_frames}')
    a.hours = a.hours or 1.0
    try:
        a.width, a.context_width = resolve_architecture(a)
    except (ValueError, OSError, KeyError) as exc:
        print(f'cannot build the network: {exc}', file=sys.stderr)
        return 2
    handler = _setup_logging(a.ckpt_dir / 'train.log')
    try:
        return _train(a, resume_state)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _train(a: argparse.Namespace, resume_state: dict | None) -> int:
    last = a.ckpt_dir / 'last.pt'
    torch.set_num_threads(a.threads)
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed + (resume_state['step'] if resume_state else 0))

    model = RobinSegNet(len(PACKAGE_TYPES), a.width, a.context_width).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    step, trained_s, best = 0, 0.0, math.inf
    if resume_state:
        model.load_state_dict(resume_state['model'])
        opt.load_state_dict(resume_state['opt'])
        step, trained_s, best = resume_state['step'], resume_state['trained_s'], resume_state['best_val']
        log.info('resumed at step %d after %.1f min of training', step, trained_s / 60)
    elif a.init:
        load_weights(model, a.init)
        log.info('initialised from %s', a.init)

    hw = DEFAULT_INPUT_HW
    train = SampleCache(a.data, 'train', hw, a.max_frames)
    val_frames = getattr(a, 'val_frames', 96)  # a checkpoint from before --val-frames scored 96
    val = SampleCache(a.data, 'val', hw, max(200, val_frames))
    replay = SampleCache(a.replay, 'train', hw, a.max_frames // 2) if a.replay else None
    train.refresh(a.preload)
    val.refresh()
    if replay is not None:
        replay.refresh(a.preload)
    if len(train) == 0:
        print(f'no training frames under {a.data}/train', file=sys.stderr)
        return 2
    bf16 = use_bf16(a.bf16)
    type_weight = None
    if getattr(a, 'type_balance', 0.0):
        type_weight = type_class_weights(train.type_pixel_counts(len(PACKAGE_TYPES)), a.type_balance)
        log.info('type loss weights %s', dict(zip(PACKAGE_TYPES, np.round(type_weight.numpy(), 3).tolist(),
                                                   strict=True)))
    log.info('start: %d train, %d val, %d replay frames; bf16 %s; args %s', len(train), len(val),
             len(replay) if replay else 0, bf16, json.dumps({k: str(v) for k, v in vars(a).items()}))

    budget_s = a.hours * 3600.0
    warmup = 200 if not a.init else 50
    last_ckpt = time.monotonic()
    bar = tqdm(initial=step, desc='train', unit='step', file=sys.stderr, mininterval=5.0)
    model.train()
    while True:
        t0 = time.monotonic()
        # with a step budget the cosine runs over steps: the same schedule whatever the machine's load
        frac = min(step / a.max_steps if a.max_steps else trained_s / budget_s, 1.0)
        lr = a.lr * min(1.0, (step + 1) / warmup) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g['lr'] = lr
        n_rep = round(a.batch * a.replay_ratio) if replay is not None and len(replay) else 0
        b = train.batch(rng.integers(0, len(train), a.batch - n_rep), rng)
        if n_rep:
            r = replay.batch(rng.integers(0, len(replay), n_rep), rng)
            b = {k: torch.cat((b[k], r[k])) for k in b}
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            out = model(b['rgbh'].contiguous(memory_format=torch.channels_last))
        loss, parts = seg_loss(*(o.float() for o in out), b, type_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        trained_s += time.monotonic() - t0
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f'{loss.item():.3f}', lr=f'{lr:.1e}', n=len(train))
        if step % 100 == 0:
            log.info('step %d loss %.4f %s lr %.2e trained %.1f min frames %d', step, loss.item(),
                     ' '.join(f'{k}={v:.3f}' for k, v in parts.items()), lr, trained_s / 60, len(train))
        if step % a.refresh_steps == 0:
            train.refresh(100)
            val.refresh(50)
            if replay is not None:
                replay.refresh(100)
        done = trained_s >= budget_s or (a.max_steps and step >= a.max_steps)
        if done or time.monotonic() - last_ckpt >= a.ckpt_minutes * 60:
            vl = validation_loss(model, val, limit=val_frames, bf16=bf16, type_weight=type_weight)
            state = {'model': model.state_dict(), 'opt': opt.state_dict(), 'step': step, 'trained_s': trained_s,
                     'best_val': min(best, vl) if math.isfinite(vl) else best, 'val_loss': vl,
                     'args': {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
                     'train_frames': len(train), 'width': a.width, 'context_width': a.context_width,
                     'input_hw': hw}
            _save(last, state)
            if math.isfinite(vl) and vl < best:
                best = vl
                _save(a.ckpt_dir / 'best.pt', state)
            log.info('checkpoint step %d val_loss %.4f best %.4f (%.1f min trained)', step, vl, best, trained_s / 60)
            last_ckpt = time.monotonic()
        if done:
            break
    bar.close()
    log.info('finished: %d steps, %.1f min', step, trained_s / 60)
    return 0


if __name__ == '__main__':
    sys.exit(main())
