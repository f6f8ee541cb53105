"""Belt workspace mask: rails, robots and floor are not packages."""

from __future__ import annotations

import numpy as np

from robin_core.cell_description import default_cell
from robin_perception.workspace_mask import BeltWorkspace, WorkspaceMasker, restrict_labels


def _masker() -> tuple[WorkspaceMasker, object]:
    cell = default_cell()
    pa = cell.pick_area
    ws = BeltWorkspace(pa.belt_x_range, pa.belt_y_range, pa.belt_z)
    return WorkspaceMasker(cell.camera.intrinsics.K, cell.camera.T_base_optical, ws), cell


def _depth_of_plane(cell, z_base: float) -> np.ndarray:
    """Depth image of a horizontal plane at base height ``z_base`` seen by the cell camera."""
    k, t = cell.camera.intrinsics.K, cell.camera.T_base_optical
    h, w = cell.camera.intrinsics.height, cell.camera.intrinsics.width
    u, v = np.meshgrid(np.arange(w), np.arange(h))
    rays = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones((h, w))], -1) @ t[:3, :3].T
    return ((z_base - t[2, 3]) / rays[..., 2]).astype(np.float32)


def test_belt_surface_is_inside_and_the_area_beyond_the_rails_is_not() -> None:
    m, cell = _masker()
    depth = _depth_of_plane(cell, cell.pick_area.belt_z)
    inside = m.mask(depth)
    k, t = cell.camera.intrinsics.K, cell.camera.T_base_optical
    centre = np.linalg.inv(t) @ [0.5, 0.0, cell.pick_area.belt_z, 1.0]
    u, v = (k @ (centre[:3] / centre[2]))[:2].astype(int)
    assert inside[v, u]
    # belt 0.5 m wide seen from ~1.35 m: a band, not the whole image
    assert 0.2 < inside.mean() < 0.8
    assert not inside[0].any() and not inside[-1].any()  # image top/bottom rows are beyond the rails


def test_a_package_top_near_the_rail_stays_inside_while_the_rail_top_does_not() -> None:
    m, cell = _masker()
    k, t = cell.camera.intrinsics.K, cell.camera.T_base_optical
    t_inv = np.linalg.inv(t)

    def pixel_and_depth(p: list[float]) -> tuple[int, int, float]:
        c = t_inv @ [*p, 1.0]
        u, v = (k @ (c[:3] / c[2]))[:2]
        return round(u), round(v), float(c[2])

    h, w = cell.camera.intrinsics.height, cell.camera.intrinsics.width
    depth = np.full((h, w), np.nan, np.float32)
    u1, v1, d1 = pixel_and_depth([0.72, 0.1, cell.pick_area.belt_z + 0.3])  # tall box at the edge
    u2, v2, d2 = pixel_and_depth([0.77, -0.1, cell.pick_area.belt_z + 0.06])  # rail top
    depth[v1, u1], depth[v2, u2] = d1, d2
    inside = m.mask(depth)
    assert inside[v1, u1] and not inside[v2, u2]


def test_restrict_labels_clears_outside_pixels_and_drops_mostly_outside_instances() -> None:
    labels = np.zeros((4, 6), np.uint16)
    labels[:, :3] = 1  # a third inside
    labels[:, 3:] = 2  # two thirds inside
    inside = np.zeros((4, 6), bool)
    inside[:, 2:5] = True
    out = restrict_labels(labels, inside)
    assert set(np.unique(out)) == {0, 2}
    assert (out[:, 5] == 0).all() and (out[:, 3:5] == 2).all()
