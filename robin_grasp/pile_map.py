"""The pile as the motion planner sees it: the grasp planner's fine height map, max-pooled onto a
coarse grid over the pick area and ``pile_map_margin`` around it (``motion/pile_height_map``, 32FC1,
base_link z [m]): a carried package swings over the belt beyond the pick area too.

Grid convention (the motion executor's): cell (row, col) is centred at
``(x0 + col * res, y0 + row * res)`` with ``(x0, x1), (y0, y1)`` the area's ``pile_map_x_range`` /
``pile_map_y_range`` and ``res = (x1 - x0) / (cols - 1)``;
NaN = unknown (treated as empty). Max-pooling keeps every obstacle at least as tall as seen, so
the coarse map never hides a corner the fine map had.
"""

from __future__ import annotations

import numpy as np

from robin_core.cell_description import PickArea
from robin_grasp.height_map import HeightMap


def pile_grid(hm: HeightMap, pick_area: PickArea, resolution: float = 0.01) -> np.ndarray:
    """(rows, cols) float32 heights [m] over the pile-map extent of the pick area, max of the fine
    cells within each coarse cell's footprint (NaN where none is known).

    Raises:
        ValueError: a non-positive resolution or one coarser than the pick area.
    """
    (x0, x1), (y0, y1) = pick_area.pile_map_x_range, pick_area.pile_map_y_range
    if resolution <= 0 or resolution > min(x1 - x0, y1 - y0):
        raise ValueError(f'pile map resolution {resolution} m does not fit the pick area')
    cols = round((x1 - x0) / resolution) + 1
    rows = round((y1 - y0) / resolution) + 1
    res_x = (x1 - x0) / (cols - 1)
    res_y = (y1 - y0) / (rows - 1)
    # fine cell centres -> nearest coarse cell
    h, w = hm.height.shape
    xs = hm.origin[0] + hm.resolution * np.arange(w)
    ys = hm.origin[1] + hm.resolution * np.arange(h)
    ci = np.rint((xs - x0) / res_x).astype(int)
    ri = np.rint((ys - y0) / res_y).astype(int)
    keep_c, keep_r = (ci >= 0) & (ci < cols), (ri >= 0) & (ri < rows)
    fine = hm.height[np.ix_(keep_r, keep_c)]
    rr, cc = np.meshgrid(ri[keep_r], ci[keep_c], indexing='ij')
    out = np.full(rows * cols, -np.inf)
    valid = np.isfinite(fine)
    np.maximum.at(out, (rr * cols + cc)[valid], fine[valid])
    out[~np.isfinite(out)] = np.nan
    return out.reshape(rows, cols).astype(np.float32)
