"""Type-balanced cross-entropy: rare package types weigh more, the loss scale stays put."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robin_perception.seg_loss import seg_loss, type_class_weights


def test_rare_types_weigh_more_and_the_pixel_weighted_mean_is_one():
    counts = np.array([600, 300, 50, 50])
    w = type_class_weights(counts, 0.5).numpy()
    assert w[2] == pytest.approx(w[3]) and w[2] > w[1] > w[0]
    assert w[2] / w[0] == pytest.approx(np.sqrt(600 / 50))
    assert (w * counts).sum() / counts.sum() == pytest.approx(1.0)
    assert type_class_weights(counts, 0.0).numpy() == pytest.approx(np.ones(4))


def test_a_type_absent_from_the_data_gets_the_largest_weight():
    w = type_class_weights(np.array([100, 0, 25]), 1.0).numpy()
    assert w[1] == pytest.approx(w.max()) and w[1] == pytest.approx(w[2])


@pytest.mark.parametrize('counts,alpha', [([0, 0], 0.5), ([-1, 5], 0.5), ([], 0.5), ([3, 4], -0.1)])
def test_bad_counts_or_alpha_are_refused(counts, alpha):
    with pytest.raises(ValueError):
        type_class_weights(np.array(counts), alpha)


def _batch(type_id: torch.Tensor) -> dict[str, torch.Tensor]:
    shape = type_id.shape
    return {'fg': (type_id >= 0).float(), 'boundary': torch.zeros(shape), 'center': torch.zeros(shape),
            'offset': torch.zeros((shape[0], 2, *shape[1:])), 'type_id': type_id}


def test_weighting_raises_the_cost_of_a_wrong_rare_type():
    # two package pixels: a frequent type typed right, a rare type typed wrong
    type_id = torch.tensor([[[0, 2]]])
    semantic = torch.zeros((1, 6, 1, 2))
    semantic[0, 2, 0, :] = 4.0  # both pixels say type 0
    center, offset = torch.zeros((1, 1, 1, 2)), torch.zeros((1, 2, 1, 2))
    plain, parts = seg_loss(semantic, center, offset, _batch(type_id))
    weight = type_class_weights(np.array([900, 500, 100, 100]), 0.5)
    balanced, parts_w = seg_loss(semantic, center, offset, _batch(type_id), weight)
    assert parts_w['ty'] > parts['ty'] and balanced > plain
    assert parts_w['fg'] == pytest.approx(parts['fg'])  # only the type term changes
