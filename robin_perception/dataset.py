"""Synthetic pile dataset: generate (CLI), store as COCO + 16UC1 depth PNGs, and read back.

Layout of ``<root>/<split>/``: ``rgb/<seed>.png``, ``depth/<seed>.png`` (uint16 mm, 0 invalid),
``labels/<seed>.png`` (uint16 instance ids), ``meta/<seed>.json`` (per-frame sidecar written as
frames are made, so training can start on a growing set) and ``annotations.json`` (COCO,
compiled from the sidecars by ``--compile`` and at the end of every run).

Splits are seed ranges, so test seeds are never used in training::

    python -m robin_perception.dataset --out /work/data/universal --train 4000 --val 200 --test 300
    python -m robin_perception.dataset --out /work/data/site_b --domain site_b --train 1000 --test 300
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
from tqdm import tqdm

from robin_perception.camera_intrinsics import Intrinsics
from robin_perception.coco_format import categories, frame_annotations
from robin_perception.pile_scene import PackageTruth, PileFrame

SPLIT_SEED_BASE = {'train': 0, 'val': 1_000_000, 'test': 2_000_000}
DOMAIN_SEED_OFFSET = {'universal': 0, 'site_b': 10_000_000}
SPLITS = tuple(SPLIT_SEED_BASE)


def split_seeds(split: str, domain: str, count: int, start: int = 0) -> range:
    """Seeds of ``split`` in ``domain``: disjoint ranges per split and per domain."""
    base = SPLIT_SEED_BASE[split] + DOMAIN_SEED_OFFSET.get(domain, 20_000_000)
    return range(base + start, base + start + count)


def renderer(backend: str) -> Callable[[int, str], PileFrame]:
    """The frame source ``backend`` ('procedural' or 'sim') as ``f(seed, domain) -> PileFrame``."""
    if backend == 'procedural':
        from robin_perception.procedural_piles import render_pile  # noqa: PLC0415 - backends load on demand

        return render_pile
    if backend == 'sim':
        from robin_perception.sim_piles import render_sim_pile  # noqa: PLC0415 - needs mujoco + GL

        return render_sim_pile
    raise ValueError(f"unknown backend '{backend}' (procedural, sim)")


def write_frame(root: Path, split: str, frame: PileFrame) -> None:
    """Write one frame's images and sidecar under ``root/split``."""
    d = root / split
    name = f'{frame.seed:08d}'
    for sub in ('rgb', 'depth', 'labels', 'meta'):
        (d / sub).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(d / 'rgb' / f'{name}.png'), cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(d / 'depth' / f'{name}.png'), frame.depth_mm)
    cv2.imwrite(str(d / 'labels' / f'{name}.png'), frame.labels)
    h, w = frame.labels.shape
    meta = {
        'image': {
            'id': frame.seed, 'file_name': f'rgb/{name}.png', 'depth_file': f'depth/{name}.png',
            'label_file': f'labels/{name}.png', 'width': w, 'height': h, 'domain': frame.domain,
            'intrinsics': frame.intrinsics.as_dict(), **frame.meta,
        },
        'annotations': frame_annotations(frame, frame.seed * 1000),
    }
    tmp = d / 'meta' / f'{name}.json.tmp'
    tmp.write_text(json.dumps(meta))
    tmp.replace(d / 'meta' / f'{name}.json')  # atomic: readers never see half a sidecar


def compile_coco(root: Path, split: str) -> Path:
    """Gather the sidecars of ``split`` into one COCO ``annotations.json``; return its path."""
    d = root / split
    images, anns = [], []
    for p in sorted((d / 'meta').glob('*.json')):
        m = json.loads(p.read_text())
        images.append(m['image'])
        anns.extend(m['annotations'])
    out = d / 'annotations.json'
    out.write_text(json.dumps({'images': images, 'annotations': anns, 'categories': categories()}))
    return out


@dataclass(frozen=True)
class FrameRecord:
    """Where one stored frame lives and its truth (from the sidecar)."""

    split_dir: Path
    image: dict
    annotations: list[dict]


def read_split(root: Path, split: str) -> list[FrameRecord]:
    """All frames of ``split`` currently on disk (from sidecars, so a growing set is fine)."""
    d = Path(root) / split
    out = []
    for p in sorted((d / 'meta').glob('*.json')):
        m = json.loads(p.read_text())
        out.append(FrameRecord(d, m['image'], m['annotations']))
    return out


def load_frame(rec: FrameRecord) -> PileFrame:
    """Read the images of a record back into a PileFrame."""
    img = rec.image
    rgb = cv2.cvtColor(cv2.imread(str(rec.split_dir / img['file_name']), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    depth = cv2.imread(str(rec.split_dir / img['depth_file']), cv2.IMREAD_UNCHANGED)
    labels = cv2.imread(str(rec.split_dir / img['label_file']), cv2.IMREAD_UNCHANGED)
    pkgs = [
        PackageTruth(a['label_id'], a['category_id'] - 1, tuple(a['tags']), a['visible_fraction'], a['occluded_by'])
        for a in rec.annotations
    ]
    intr = Intrinsics(**img['intrinsics'])
    meta = {k: v for k, v in img.items() if k in ('backend', 'camera_height_m', 'belt_plane')}
    return PileFrame(rgb, depth, labels, pkgs, intr, int(img['id']), img['domain'], meta)


def dataset_hash(root: Path, splits: tuple[str, ...] = ('train',)) -> str:
    """sha256 over the sorted sidecars of ``splits``: identifies the data a model was trained on."""
    h = hashlib.sha256()
    for split in splits:
        for p in sorted((Path(root) / split / 'meta').glob('*.json')):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _make(args: tuple[str, str, str, int]) -> int:
    root, split, backend, seed = args
    domain = _make.domain  # type: ignore[attr-defined]
    write_frame(Path(root), split, renderer(backend)(seed, domain))
    return seed


def _jobs(root: Path, counts: dict[str, int], domain: str, backend: str, start: int) -> Iterator[tuple]:
    for split, n in counts.items():
        for seed in split_seeds(split, domain, n, start):
            if not (root / split / 'meta' / f'{seed:08d}.json').exists():  # resumable
                yield (str(root), split, backend, seed)


def _init(domain: str) -> None:
    _make.domain = domain  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog='python -m robin_perception.dataset', description=__doc__.split('\n')[0])
    ap.add_argument('--out', type=Path, required=True, help='dataset root directory')
    ap.add_argument('--domain', default='universal', help='randomisation profile (universal, site_b)')
    ap.add_argument('--backend', default='procedural', choices=('procedural', 'sim'))
    for split in SPLITS:
        ap.add_argument(f'--{split}', type=int, default=0, help=f'frames in the {split} split')
    ap.add_argument('--start', type=int, default=0, help='first seed index within each split range')
    ap.add_argument('--workers', type=int, default=1)
    ap.add_argument('--compile', action='store_true', help='only (re)compile annotations.json')
    a = ap.parse_args(argv)
    counts = {s: getattr(a, s) for s in SPLITS if getattr(a, s) > 0}
    if not a.compile:
        jobs = list(_jobs(a.out, counts, a.domain, a.backend, a.start))
        if a.workers > 1:
            with ProcessPoolExecutor(a.workers, initializer=_init, initargs=(a.domain,)) as pool:
                for _ in tqdm(pool.map(_make, jobs, chunksize=4), total=len(jobs), file=sys.stderr):
                    pass
        else:
            _init(a.domain)
            for job in tqdm(jobs, file=sys.stderr):
                _make(job)
    for split in counts or [s for s in SPLITS if (a.out / s / 'meta').is_dir()]:
        print(f'{split}: {compile_coco(a.out, split)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
