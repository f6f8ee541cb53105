"""Rolling latency percentiles for diagnostics and benchmarks."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np


class LatencyWindow:
    """The last ``size`` samples [ms]; percentiles over them."""

    def __init__(self, size: int = 200) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, ms: float) -> None:
        with self._lock:
            self._samples.append(float(ms))

    def percentile(self, q: float) -> float:
        """``q`` in [0, 100]; NaN when empty."""
        with self._lock:
            if not self._samples:
                return float('nan')
            return float(np.percentile(np.fromiter(self._samples, float), q))

    def __len__(self) -> int:
        return len(self._samples)
