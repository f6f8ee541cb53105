"""Resident memory of every node process of a running graph, and its growth (plain Python, psutil).

:meth:`MemorySampler.sample` is called every few seconds with the graph's ``{node: pid}``; a
node's RSS includes its child processes. :meth:`MemorySampler.summary` gives, per node, the RSS
at the first sample after ``warmup_s`` (model loading, caches and DDS discovery are start-up, not
growth), the last and the largest RSS, and the growth rate: the least-squares slope of RSS over
time after warm-up, in MB per hour, of the node's current process (a respawned node starts over).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import psutil

MB = 1024.0 * 1024.0


def process_tree_rss(pid: int) -> int | None:
    """RSS [bytes] of ``pid`` and its descendants; None when the process is gone."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):  # a child may exit between listing and reading
            total += p.memory_info().rss
    return total


@dataclass
class _Series:
    pid: int
    t0: float  # when this process was first seen
    times: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    restarts: int = 0
    max_mb: float = 0.0


@dataclass
class MemorySampler:
    """Per-node RSS samples of the current process of each node."""

    warmup_s: float = 60.0
    rss_of: Callable[[int], int | None] = process_tree_rss
    _series: dict[str, _Series] = field(default_factory=dict)

    def sample(self, pids: Mapping[str, int], now: float) -> None:
        for name, pid in pids.items():
            rss = self.rss_of(pid)
            if rss is None:
                continue
            s = self._series.get(name)
            if s is None or s.pid != pid:
                restarts = 0 if s is None else s.restarts + 1
                s = self._series[name] = _Series(pid=pid, t0=now, restarts=restarts,
                                                 max_mb=0.0 if s is None else s.max_mb)
            mb = rss / MB
            s.times.append(now)
            s.rss_mb.append(mb)
            s.max_mb = max(s.max_mb, mb)

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """Per node: ``rss_start_mb`` (first sample after warm-up, else the first), ``rss_end_mb``,
        ``rss_max_mb`` (over all its processes), ``growth_mb`` (end − start), ``growth_mb_per_h``
        (None with fewer than 3 samples after warm-up), ``samples``, ``restarts``."""
        out: dict[str, dict[str, float | int | None]] = {}
        for name, s in sorted(self._series.items()):
            t, m = np.asarray(s.times), np.asarray(s.rss_mb)
            warm = t >= s.t0 + self.warmup_s
            tw, mw = (t[warm], m[warm]) if warm.any() else (t, m)
            slope = float(np.polyfit(tw - tw[0], mw, 1)[0]) * 3600.0 if warm.sum() >= 3 and tw[-1] > tw[0] else None
            out[name] = {
                'rss_start_mb': round(float(mw[0]), 1),
                'rss_end_mb': round(float(m[-1]), 1),
                'rss_max_mb': round(s.max_mb, 1),
                'growth_mb': round(float(m[-1] - mw[0]), 1),
                'growth_mb_per_h': None if slope is None else round(slope, 2),
                'samples': len(m),
                'restarts': s.restarts,
            }
        return out

    def total_mb(self) -> float:
        """Sum of the latest RSS of every node."""
        return round(sum(s.rss_mb[-1] for s in self._series.values() if s.rss_mb), 1)
