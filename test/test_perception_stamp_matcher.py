"""Colour/depth pairing by stamp with stale-frame dropping."""

from __future__ import annotations

import pytest

from robin_perception.stamp_matcher import StampMatcher

MS = 1_000_000


def test_exact_and_nearest_pairs():
    m: StampMatcher[str, str] = StampMatcher(tolerance_ns=5 * MS)
    assert m.add_color(100 * MS, 'c100') is None
    assert m.add_depth(100 * MS, 'd100') == (100 * MS, 'c100', 'd100')
    assert m.add_depth(133 * MS, 'd133') is None
    assert m.add_color(130 * MS, 'c130') == (130 * MS, 'c130', 'd133')
    assert m.stats.matched == 2


def test_out_of_tolerance_never_pairs():
    m: StampMatcher[str, str] = StampMatcher(tolerance_ns=2 * MS)
    m.add_color(100 * MS, 'c')
    assert m.add_depth(110 * MS, 'd') is None


def test_nearest_partner_wins_and_older_frames_are_dropped():
    m: StampMatcher[str, str] = StampMatcher(tolerance_ns=20 * MS)
    for t in (100, 110, 120):
        m.add_color(t * MS, f'c{t}')
    assert m.add_depth(118 * MS, 'd118') == (120 * MS, 'c120', 'd118')
    assert m.stats.dropped_color == 2  # c100 and c110 can never be used any more
    assert m.add_depth(119 * MS, 'd119') is None  # c120 already consumed


def test_buffers_are_bounded():
    m: StampMatcher[int, int] = StampMatcher(tolerance_ns=0, depth=3)
    for t in range(10):
        m.add_color(t, t)
    assert m.stats.dropped_color == 7
    assert m.add_depth(9, 9) == (9, 9, 9)
    assert m.add_depth(5, 5) is None  # colour 5 was evicted as stale


def test_bad_arguments():
    with pytest.raises(ValueError):
        StampMatcher(tolerance_ns=-1)
