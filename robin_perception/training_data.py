"""In-memory training samples: frames on disk -> network inputs + targets, with augmentation.

Frames are prepared once (belt fit, resize, targets) and kept compactly in RAM; the cache can
be refreshed while a generator is still writing the dataset.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from robin_perception.belt_height import BeltFitError, BeltPlane
from robin_perception.dataset import FrameRecord, load_frame, read_split
from robin_perception.model_input import prepare_input
from robin_perception.training_targets import build_targets

log = logging.getLogger(__name__)


@dataclass
class SampleCache:
    """Prepared samples of one dataset split.

    Attributes:
        root: dataset root.
        split: split name.
        input_hw: network input size (h, w) [px]; targets are at half of it.
        limit: maximum frames kept.
    """

    root: Path
    split: str
    input_hw: tuple[int, int]
    limit: int = 100_000
    rgb: list[np.ndarray] = field(default_factory=list)
    height: list[np.ndarray] = field(default_factory=list)
    targets: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.rgb)

    def refresh(self, max_new: int = 10_000) -> int:
        """Load up to ``max_new`` frames not yet cached; return how many were added."""
        added = 0
        for rec in read_split(self.root, self.split):
            if len(self.rgb) >= self.limit or added >= max_new:
                break
            key = rec.image['file_name']
            if key in self._seen:
                continue
            self._seen.add(key)
            try:
                self._add(rec)
                added += 1
            except (BeltFitError, OSError, ValueError) as exc:
                log.warning('skipping %s: %s', key, exc)
        return added

    def _add(self, rec: FrameRecord) -> None:
        f = load_frame(rec)
        depth = f.depth_mm.astype(np.float32) * 1e-3
        depth[f.depth_mm == 0] = np.nan
        plane = BeltPlane.from_list(f.meta['belt_plane']) if 'belt_plane' in f.meta else None
        prep = prepare_input(f.rgb, depth, f.intrinsics, self.input_hw, plane)
        oh, ow = self.input_hw[0] // 2, self.input_hw[1] // 2
        small = cv2.resize(f.labels, (ow, oh), interpolation=cv2.INTER_NEAREST)
        t = build_targets(small, {p.id: p.type_id for p in f.packages})
        self.rgb.append(prep.rgbh[:3].astype(np.uint8))
        self.height.append(prep.rgbh[3].astype(np.float16))
        self.targets.append((t.fg, t.boundary, t.center.astype(np.float16), t.offset.astype(np.float16),
                             t.type_id.astype(np.int8)))

    def type_pixel_counts(self, n_types: int) -> np.ndarray:
        """Target pixels of each package type over the cached frames, (n_types,) int64."""
        counts = np.zeros(n_types, np.int64)
        for t in self.targets:
            ty = t[4]
            counts += np.bincount(ty[ty >= 0].ravel().astype(np.int64), minlength=n_types)[:n_types]
        return counts

    def batch(self, idx: np.ndarray, rng: np.random.Generator, augment: bool = True) -> dict[str, torch.Tensor]:
        """Stack samples ``idx`` into tensors, with flips and photometric jitter when ``augment``."""
        xs, fgs, bds, cts, ofs, tys = [], [], [], [], [], []
        for i in idx:
            rgb = self.rgb[i].astype(np.float32)
            hgt = self.height[i].astype(np.float32)
            fg, bd, ct, of, ty = self.targets[i]
            of = of.astype(np.float32)
            if augment:
                gain = rng.uniform(0.7, 1.3) * rng.uniform(0.85, 1.15, (3, 1, 1))
                rgb = np.clip(rgb * gain + rng.uniform(-20, 20), 0, 255)
                if rng.random() < 0.1:  # grey frames: do not rely on colour alone
                    rgb[:] = rgb.mean(0, keepdims=True)
                hgt = hgt * rng.uniform(0.95, 1.05) + rng.normal(0, 0.002, hgt.shape).astype(np.float32)
                if rng.random() < 0.5:  # horizontal flip: dx changes sign
                    rgb, hgt, fg, bd, ct, ty = (a[..., ::-1] for a in (rgb, hgt, fg, bd, ct, ty))
                    of = of[..., ::-1] * np.array([1, -1], np.float32)[:, None, None]
                if rng.random() < 0.5:  # vertical flip: dy changes sign
                    rgb, hgt, fg, bd, ct, ty = (a[..., ::-1, :] for a in (rgb, hgt, fg, bd, ct, ty))
                    of = of[..., ::-1, :] * np.array([-1, 1], np.float32)[:, None, None]
            xs.append(np.concatenate((rgb, hgt[None]), 0))
            fgs.append(fg)
            bds.append(bd)
            cts.append(ct.astype(np.float32))
            ofs.append(of)
            tys.append(ty.astype(np.int64))

        def t(a: list[np.ndarray], dtype: torch.dtype) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(np.stack(a))).to(dtype)

        return {
            'rgbh': t(xs, torch.float32), 'fg': t(fgs, torch.float32), 'boundary': t(bds, torch.float32),
            'center': t(cts, torch.float32), 'offset': t(ofs, torch.float32), 'type_id': t(tys, torch.int64),
        }
