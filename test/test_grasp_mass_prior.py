"""Mass priors and holding force."""

from __future__ import annotations

import pytest

from robin_grasp.mass_prior import DEFAULT_PRIORS, GRAVITY, estimate_mass, required_holding_force


def test_box_mass_is_volume_times_density_within_bounds():
    est = estimate_mass(0.4, 0.3, 0.2, 'box', 0.9)
    p = DEFAULT_PRIORS['box']
    assert est.mass == pytest.approx(0.4 * 0.3 * 0.2 * p.density)
    assert est.mass_upper == pytest.approx(1.5 * est.mass)
    assert est.type_name == 'box' and est.seal_efficiency == p.seal_efficiency


def test_thickness_is_clipped_to_the_type_and_defaulted_when_unknown():
    p = DEFAULT_PRIORS['flat_envelope']
    assert estimate_mass(0.3, 0.2, 0.5, 'flat_envelope', 0.9).thickness == p.thickness_max
    assert estimate_mass(0.3, 0.2, None, 'flat_envelope', 0.9).thickness == p.thickness_default
    assert estimate_mass(0.3, 0.2, float('nan'), 'box', 0.9).thickness == DEFAULT_PRIORS['box'].thickness_default


def test_uncertain_type_takes_the_worst_case():
    # Thickness unseen: an envelope's default is thin, a box's is not.
    sure = estimate_mass(0.3, 0.2, None, 'flat_envelope', 0.9)
    unsure = estimate_mass(0.3, 0.2, None, 'flat_envelope', 0.3)
    unknown = estimate_mass(0.3, 0.2, None, 'pallet', 0.99)
    assert unsure.mass_upper > sure.mass_upper
    assert unsure.type_name == unknown.type_name == 'any'
    assert unsure.seal_efficiency == min(p.seal_efficiency for p in DEFAULT_PRIORS.values())


def test_mass_is_bounded_by_the_prior():
    assert estimate_mass(2.0, 2.0, 0.6, 'box', 0.9).mass == DEFAULT_PRIORS['box'].mass_max
    assert estimate_mass(0.01, 0.01, 0.01, 'box', 0.9).mass == DEFAULT_PRIORS['box'].mass_min


def test_required_force():
    assert required_holding_force(2.0, 5.0, 1.5) == pytest.approx(2.0 * (GRAVITY + 5.0) * 1.5)
    assert required_holding_force(0.0, 5.0, 1.5) == 0.0
