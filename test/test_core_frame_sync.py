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
