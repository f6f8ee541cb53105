"""Bounded, time-stamped buffers of sensor samples with window queries (plain Python)."""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import numpy as np

T = TypeVar('T')


class TimeSeries(Generic[T]):
    """The last ``max_samples`` samples of one signal, in arrival order.

    Times are in the node's clock (ROS time, sim time under ``use_sim_time``) [s].
    """

    def __init__(self, max_samples: int = 2000) -> None:
        self._t: deque[float] = deque(maxlen=max_samples)
        self._v: deque[T] = deque(maxlen=max_samples)

    def __len__(self) -> int:
        return len(self._t)

    def add(self, t: float, value: T) -> None:
        self._t.append(float(t))
        self._v.append(value)

    def latest(self) -> tuple[float, T] | None:
        return (self._t[-1], self._v[-1]) if self._t else None

    def age(self, now: float) -> float | None:
        """Seconds since the latest sample, None when nothing arrived yet."""
        return now - self._t[-1] if self._t else None

    def window(self, t0: float, t1: float) -> tuple[np.ndarray, list[T]]:
        """Samples with ``t0 <= t <= t1`` as (times (n,), values)."""
        times, values = [], []
        for t, v in zip(self._t, self._v, strict=True):
            if t0 <= t <= t1:
                times.append(t)
                values.append(v)
        return np.asarray(times, dtype=float), values

    def at_or_before(self, t: float) -> tuple[float, T] | None:
        """The latest sample not after ``t``."""
        best = None
        for ti, v in zip(self._t, self._v, strict=True):
            if ti <= t:
                best = (ti, v)
        return best

    def first_at_or_after(self, t: float) -> tuple[float, T] | None:
        for ti, v in zip(self._t, self._v, strict=True):
            if ti >= t:
                return ti, v
        return None
