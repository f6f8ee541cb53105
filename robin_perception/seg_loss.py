"""Multi-task loss of RobinSegNet (weights follow Panoptic-DeepLab, rescaled to this output size)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - conventional alias


def seg_loss(
    semantic: torch.Tensor, center: torch.Tensor, offset: torch.Tensor, batch: dict[str, torch.Tensor],
    type_weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts.

    Foreground and boundary: BCE (boundary up-weighted, it is rare and decides separation);
    centre: MSE on the heatmap (x200, as the heatmap is mostly zeros); offset: L1 on package
    pixels [px]; type: cross-entropy on package pixels, per-class weighted by ``type_weight`` (T,)
    when given (see :func:`type_class_weights`).
    """
    fg_t = batch['fg']
    l_fg = F.binary_cross_entropy_with_logits(semantic[:, 0], fg_t)
    l_bd = F.binary_cross_entropy_with_logits(semantic[:, 1], batch['boundary'], pos_weight=torch.tensor(4.0))
    l_ct = F.mse_loss(center[:, 0], batch['center']) * 200.0
    n_fg = fg_t.sum().clamp(min=1.0)
    l_of = (torch.abs(offset - batch['offset']).sum(1) * fg_t).sum() / n_fg * 0.05
    l_ty = F.cross_entropy(semantic[:, 2:], batch['type_id'], weight=type_weight, ignore_index=-1)
    if not torch.isfinite(l_ty):  # a batch with no packages
        l_ty = semantic.sum() * 0.0
    total = l_fg + l_bd + l_ct + l_of + l_ty
    parts = {'fg': l_fg.item(), 'bd': l_bd.item(), 'ct': l_ct.item(), 'of': l_of.item(), 'ty': l_ty.item()}
    return total, parts


def type_class_weights(pixel_counts: np.ndarray, alpha: float) -> torch.Tensor:
    """Per-type cross-entropy weights ``count ** -alpha``, scaled so the pixel-weighted mean is 1.

    ``alpha`` 0 weighs every pixel alike (the frequent box and poly mailer then set the decision
    boundary); 0.5 halves the log-ratio between frequent and rare types; 1 balances them fully.
    A type with no pixels gets the largest weight of the others (it cannot affect this data's loss).
    """
    counts = np.asarray(pixel_counts, np.float64)
    if counts.ndim != 1 or counts.size == 0 or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError(f'need non-negative per-type pixel counts with a positive sum, got {pixel_counts!r}')
    if alpha < 0:
        raise ValueError(f'alpha must be >= 0, got {alpha}')
    present = counts > 0
    w = np.ones_like(counts)
    w[present] = counts[present] ** -alpha
    w /= (w * counts).sum() / counts.sum()
    w[~present] = w[present].max()
    return torch.tensor(w, dtype=torch.float32)
