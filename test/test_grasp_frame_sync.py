"""Frame assembly by stamp for the grasp planner node."""

from __future__ import annotations

import pytest

from robin_grasp.frame_sync import FrameSync

MS = 1_000_000


def test_frames_complete_in_any_order_and_depth_matches_nearest():
    s: FrameSync[str, str, str] = FrameSync(tolerance_ns=10 * MS)
    assert s.add_depth(1000 * MS + 3 * MS, 'd1') is None
    assert s.add_table(1000 * MS, 't1') is None
    assert s.add_labels(1000 * MS, 'l1') == (1000 * MS, 't1', 'l1', 'd1')
    assert s.add_labels(2000 * MS, 'l2') is None
    assert s.add_table(2000 * MS, 't2') is None
    assert s.add_depth(2000 * MS - 30 * MS, 'far') is None  # outside the tolerance
    assert s.add_depth(2000 * MS + 1 * MS, 'd2') == (2000 * MS, 't2', 'l2', 'd2')
    assert s.stats.emitted == 2


def test_older_parts_are_dropped_when_a_newer_frame_completes():
    s: FrameSync[str, str, str] = FrameSync(tolerance_ns=0)
    s.add_table(1, 't1')
    s.add_labels(2, 'l2')
    s.add_table(2, 't2')
    assert s.add_depth(2, 'd2') == (2, 't2', 'l2', 'd2')
    assert s.stats.dropped == 1  # t1 can never complete any more
    s.add_labels(1, 'late')  # a late part for an old frame does not complete with new depth
    assert s.add_depth(3, 'd3') is None


def test_buffers_are_bounded():
    s: FrameSync[int, int, int] = FrameSync(tolerance_ns=0, depth=3)
    for k in range(10):
        s.add_table(k, k)
    assert s.stats.dropped == 7
    with pytest.raises(ValueError):
        FrameSync(tolerance_ns=-1)
