"""The hold model: slip and peel limits of a cup set on a swinging package (plain numpy)."""

from __future__ import annotations

import numpy as np
import pytest
from grasp_fixtures import CUP_XY, LIP

from robin_grasp.hold_model import HoldModel, max_hold_acceleration
from robin_grasp.mass_prior import GRAVITY

F = 33.0  # [N] per on cup
ALL, BLOCK, PAIR = list(range(8)), [1, 2, 5, 6], [1, 2]
EXACT = HoldModel(1.0)  # no margin: the bare physics


def _acc(cups, *, mass=2.0, depth=0.05, friction=0.5, centre=(0.0, 0.0), model=EXACT, xy=CUP_XY):
    force = np.zeros((1, len(xy)))
    force[0, cups] = F
    return float(max_hold_acceleration(xy, force, np.array([centre]), mass=mass, com_depth=depth, friction=friction,
                                       lip_radius=LIP, model=model)[0])


def test_more_cups_spread_wider_hold_through_more():
    assert _acc(ALL) > _acc(BLOCK) > _acc(PAIR)


def test_a_flat_centred_package_is_limited_by_slip():
    # no lever (depth 0) and centred on all 8 cups: only friction at the lips limits it
    mass, mu = 3.0, 0.4
    expected = mu * (8 * F / mass - GRAVITY)
    assert _acc(ALL, mass=mass, depth=0.0, friction=mu) == pytest.approx(expected)


def test_a_taller_heavier_or_off_centre_package_is_held_through_less():
    base = _acc(BLOCK)
    assert _acc(BLOCK, depth=0.15) < base
    assert _acc(BLOCK, mass=4.0) < base
    assert _acc(BLOCK, centre=(0.06, 0.0)) < base
    assert _acc(BLOCK, model=HoldModel(1.5)) < base  # the margin applies to every load


def test_weight_alone_peels_a_package_hanging_far_off_its_cups():
    # a single cup 20 cm from a 1 kg package's centre: m g d >> F * lip radius
    assert _acc([0], mass=1.0, centre=(0.2, 0.0)) < 0.0


def test_the_limit_does_not_depend_on_which_way_the_cup_grid_is_turned():
    turned = CUP_XY @ np.array([[0.0, 1.0], [-1.0, 0.0]])  # 90° about the tool axis
    for cups in (ALL, BLOCK, PAIR):
        assert _acc(cups, xy=turned) == pytest.approx(_acc(cups))


def test_vectorised_over_candidates_and_no_cup_holds_nothing():
    force = np.zeros((3, 8))
    force[0, ALL], force[1, PAIR] = F, F
    acc = max_hold_acceleration(CUP_XY, force, np.zeros((3, 2)), mass=np.array([2.0, 2.0, 2.0]), com_depth=0.05,
                                friction=0.5, lip_radius=LIP, model=HoldModel(1.0))
    assert acc[0] == pytest.approx(_acc(ALL)) and acc[1] == pytest.approx(_acc(PAIR)) and acc[2] == -np.inf


@pytest.mark.parametrize('kwargs', [{'mass': 0.0}, {'depth': -0.01}, {'friction': 0.0}])
def test_non_physical_inputs_are_refused(kwargs):
    with pytest.raises(ValueError):
        _acc(ALL, **kwargs)


@pytest.mark.parametrize('kwargs', [{'safety_factor': 0.9}, {'directions': 2}])
def test_a_bad_model_is_refused(kwargs):
    with pytest.raises(ValueError):
        HoldModel(**kwargs)
