"""The shared stamp synchroniser: exact and nearest streams, bounded buffers, bad input."""

from __future__ import annotations

import pytest

from robin_core.frame_sync import FrameSync


def test_exact_streams_and_nearest_depth_complete_the_newest_frame() -> None:
    s = FrameSync(('table', 'labels', 'color'), ('depth',), tolerance_ns=5, depth=3)
    for stamp in (100, 200):
        assert s.add('table', stamp, f't{stamp}') is None
        assert s.add('labels', stamp, f'l{stamp}') is None
        assert s.add('color', stamp, f'c{stamp}') is None
    stamp, parts = s.add('depth', 203, 'd203')
    assert stamp == 200 and parts == {'table': 't200', 'labels': 'l200', 'color': 'c200', 'depth': 'd203'}
    assert s.stats.emitted == 1 and s.stats.dropped == 3  # frame 100 can never complete now
    assert s.add('depth', 104, 'late') is None


def test_buffers_are_bounded_and_bad_input_is_refused() -> None:
    s = FrameSync(('table',), ('depth',), tolerance_ns=0, depth=2)
    for stamp in range(5):
        s.add('table', stamp, stamp)
    assert s.stats.dropped == 3
    with pytest.raises(KeyError):
        s.add('imu', 1, None)
    with pytest.raises(ValueError, match='exact stream'):
        FrameSync((), ('depth',))
    with pytest.raises(ValueError, match='tolerance'):
        FrameSync(('table',), tolerance_ns=-1)


def test_a_time_bounded_buffer_keeps_depth_until_its_late_table_arrives() -> None:
    """Depth at 30 Hz, the frame's table 1.5 s later (perception under load): a count of 4 parts
    has long dropped the frame's depth; 2 s of history still holds it."""
    ms = 1_000_000
    by_count = FrameSync(('table',), ('depth',), tolerance_ns=5 * ms, depth=4)
    by_time = FrameSync(('table',), ('depth',), tolerance_ns=5 * ms, depth=100, keep_ns=2000 * ms)
    for s in (by_count, by_time):
        for k in range(46):  # 0 .. 1.5 s of depth
            assert s.add('depth', k * 33 * ms, k) is None
    assert by_count.add('table', 0, 'frame 0') is None
    stamp, parts = by_time.add('table', 0, 'frame 0')
    assert stamp == 0 and parts == {'table': 'frame 0', 'depth': 0}
    # older than the history behind the newest part: dropped, even below the count cap
    for k in range(46, 100):
        by_time.add('depth', k * 33 * ms, k)
    assert by_time.add('table', 33 * ms, 'frame 1') is None
    assert by_time.add('table', 40 * 33 * ms, 'frame 40')[1]['depth'] == 40  # 1.95 s behind the newest
    with pytest.raises(ValueError, match='keep_ns'):
        FrameSync(('table',), keep_ns=-1)
