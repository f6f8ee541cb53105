"""Per-cup vacuum/seal readings turned into "this cup holds something", with input validation.

Masks are 8-bit integers (bit i = cup i) on the wire and boolean arrays here.
"""

from __future__ import annotations

import numpy as np

GRAVITY = 9.80665  #: [m/s²] payloads are wrench / g

NUM_CUPS = 8


def mask_to_bools(mask: int, num_cups: int = NUM_CUPS) -> np.ndarray:
    """Bit mask (bit i = cup i) -> (num_cups,) bool array."""
    return np.array([(int(mask) >> i) & 1 == 1 for i in range(num_cups)], dtype=bool)


def bools_to_mask(flags: np.ndarray) -> int:
    """(N,) bool array -> bit mask."""
    return int(sum(1 << i for i, f in enumerate(np.asarray(flags, dtype=bool)) if f))


def cup_array(values: object, num_cups: int = NUM_CUPS) -> np.ndarray | None:
    """A finite (num_cups,) float array, or None when ``values`` is missing or malformed."""
    if values is None:
        return None
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.shape != (num_cups,) or not np.all(np.isfinite(arr)):
        return None
    return arr


def holding(
    sealed: np.ndarray | None, vacuum_kpa: np.ndarray | None, seal_vacuum_kpa: float
) -> np.ndarray | None:
    """Which cups hold a surface: sealed flag and vacuum agree (either alone when the other is missing).

    Requiring both rejects a torn cup whose lip touches (sealed geometry, no vacuum) and a blocked
    cup (vacuum, no surface).

    Args:
        sealed: (N,) seal flags, or None.
        vacuum_kpa: (N,) vacuum below ambient [kPa], or None.
        seal_vacuum_kpa: vacuum at or above which a cup counts as holding [kPa].

    Returns:
        (N,) bool, or None when both inputs are missing.
    """
    if sealed is None and vacuum_kpa is None:
        return None
    if sealed is None:
        return np.asarray(vacuum_kpa) >= seal_vacuum_kpa
    if vacuum_kpa is None:
        return np.asarray(sealed, dtype=bool)
    return np.asarray(sealed, dtype=bool) & (np.asarray(vacuum_kpa) >= seal_vacuum_kpa)
