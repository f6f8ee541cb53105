"""Instance confidence: a logistic model over grouping cues, fitted on validation instances.

"Correct" means the instance matches a ground-truth package at IoU >= 0.5 with the right type
assignment not required (type confidence is reported separately). The fitted weights travel in
the model metadata, so the node and ``evaluate`` compute the same score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robin_perception.instance_grouping import FEATURE_NAMES


@dataclass(frozen=True)
class ConfidenceModel:
    """``score = sigmoid(weights . (features - mean) / scale + bias)``."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    feature_names: tuple[str, ...] = FEATURE_NAMES

    @classmethod
    def default(cls) -> ConfidenceModel:
        """Uncalibrated prior: foreground certainty, centre peak and vote consistency."""
        n = len(FEATURE_NAMES)
        w = [0.0] * n
        for name, v in (('fg_mean', 1.0), ('center_peak', 1.0), ('vote_consistency', 1.0), ('boundary_mean', -0.5)):
            w[FEATURE_NAMES.index(name)] = v
        return cls(tuple(w), 0.0, tuple([0.5] * n), tuple([0.25] * n))

    @classmethod
    def from_dict(cls, d: dict) -> ConfidenceModel:
        names = tuple(d.get('feature_names', FEATURE_NAMES))
        if names != FEATURE_NAMES:
            raise ValueError(f'confidence model features {names} do not match this code {FEATURE_NAMES}')
        return cls(tuple(d['weights']), float(d['bias']), tuple(d['mean']), tuple(d['scale']), names)

    def as_dict(self) -> dict:
        return {'weights': list(self.weights), 'bias': self.bias, 'mean': list(self.mean), 'scale': list(self.scale),
                'feature_names': list(self.feature_names)}

    def score(self, features: np.ndarray) -> np.ndarray:
        """(N, F) cues -> (N,) confidence in [0, 1]."""
        z = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        return (1.0 / (1.0 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))).astype(np.float32)


def fit_confidence(features: np.ndarray, correct: np.ndarray, l2: float = 1e-2, iters: int = 25) -> ConfidenceModel:
    """L2-regularised logistic regression by Newton's method (IRLS).

    Args:
        features: (N, F) cues of predicted instances.
        correct: (N,) bool, instance matched ground truth.
        l2: ridge weight on the (standardised) coefficients.
        iters: Newton steps.
    """
    x = np.asarray(features, np.float64)
    y = np.asarray(correct, np.float64)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = np.concatenate(((x - mean) / scale, np.ones((len(x), 1))), 1)
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + reg * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg + 1e-9)
        w -= np.linalg.solve(hess, grad)
    return ConfidenceModel(tuple(w[:-1].tolist()), float(w[-1]), tuple(mean.tolist()), tuple(scale.tolist()))


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (rank statistic, ties averaged); NaN if one class is absent."""
    s = np.asarray(scores, np.float64)
    pos = np.asarray(positive, bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float('nan')
    order = np.argsort(s, kind='mergesort')
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
