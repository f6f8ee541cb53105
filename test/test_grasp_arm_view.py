"""The arm's silhouette in the overhead camera (robin_grasp.arm_silhouette / arm_view)."""

from __future__ import annotations

import numpy as np
import pytest

from robin_core.cell_description import default_cell
from robin_grasp.arm_silhouette import OrientedBox, carried_column, instances_under, silhouette
from robin_grasp.arm_view import ArmView
from robin_grasp.carry_state import NOTHING, UNKNOWN, CarriedPackage
from robin_grasp.motion.builtin_factory import build_builtin_backend

HOME = np.array([0.0, -np.pi / 2, np.pi / 2, -np.pi / 2, -np.pi / 2, 0.0])
CELL = default_cell()
INTR = CELL.camera.intrinsics


def pixel_of(point: np.ndarray) -> tuple[int, int]:
    """(row, col) of a base_link point in the cell's camera."""
    t = np.linalg.inv(CELL.camera.T_base_optical)
    p = t[:3, :3] @ point + t[:3, 3]
    return round(float(INTR.fy * p[1] / p[2] + INTR.cy)), round(float(INTR.fx * p[0] / p[2] + INTR.cx))


def test_a_box_covers_its_projection_and_nothing_behind_the_camera_is_drawn():
    centre = np.array([0.5, 0.0, CELL.pick_area.belt_z + 0.1])
    box = OrientedBox(centre, np.eye(3), np.array([0.05, 0.05, 0.05]))
    mask = silhouette([box], CELL.camera.T_base_optical, INTR)
    r, c = pixel_of(centre)
    assert mask[r, c] and not mask[pixel_of(centre + np.array([0.0, 0.2, 0.0]))]
    assert 0.0 < mask.mean() < 0.1
    grown = silhouette([box], CELL.camera.T_base_optical, INTR, dilate_px=10)
    assert grown.sum() > mask.sum() and (grown | ~mask).all()  # the band only adds
    cam = CELL.camera.T_base_optical[:3, 3]
    behind = OrientedBox(cam + np.array([0.0, 0.0, 0.5]), np.eye(3), np.array([0.05, 0.05, 0.05]))
    assert not silhouette([behind], CELL.camera.T_base_optical, INTR).any()


def test_instances_under_a_mask_need_enough_pixels():
    labels = np.zeros((10, 10), np.uint16)
    labels[0:3, 0:3], labels[5:8, 5:8] = 4, 7
    mask = np.zeros((10, 10), bool)
    mask[2:6, 2:6] = True  # one pixel of 4, one of 7
    assert instances_under(mask, labels, [4, 7]) == {4, 7}
    assert instances_under(mask, labels, [4, 7], min_pixels=2) == set()
    assert instances_under(np.zeros_like(mask), labels, [4, 7]) == set()


def test_the_carried_column_reaches_from_the_tool_to_the_belt():
    tcp = np.eye(4)
    tcp[:3, 3] = (0.5, 0.1, CELL.pick_area.belt_z + 0.4)
    col = carried_column(tcp, CELL.pick_area.belt_z, 0.2)
    z = col.corners()[:, 2]
    assert z.max() == pytest.approx(tcp[2, 3]) and z.min() == pytest.approx(CELL.pick_area.belt_z)


def test_the_arm_over_the_pile_hides_the_spot_it_lifts_from_and_parked_it_hides_none_of_it():
    view = ArmView(CELL)
    assert view.mask(0, INTR) is None  # no joint state yet: unknown, not "no arm"
    spot = np.array([0.5, -0.1, CELL.pick_area.belt_z + 0.05])
    lift = np.diag([1.0, -1.0, -1.0, 1.0])
    lift[:3, 3] = spot + np.array([0.0, 0.0, 0.35])
    q_lift = build_builtin_backend(CELL).solve_ik(HOME, lift)
    view.add(1_000_000_000, q_lift)
    over = view.mask(1_000_000_000, INTR)
    assert over is not None and over[pixel_of(spot)]
    assert view.mask(2_000_000_000, INTR) is None  # nothing near that stamp
    parked = ArmView(CELL)
    parked.add(0, HOME)
    home = parked.mask(0, INTR)
    assert home is not None and not home.any()  # over the station: nothing of the pick area is hidden
    with pytest.raises(ValueError, match='finite'):
        parked.add(1, np.full(6, np.nan))


def test_a_carried_package_of_known_size_hides_its_footprint_not_the_whole_square():
    """Over the pile after a lift: the 0.4 m square of an unknown carry hides a neighbour 0.17 m
    from the tool axis; the carried 0.15 x 0.10 m package's own footprint does not, and with
    nothing carried only the arm is drawn."""
    view = ArmView(CELL)
    tool = np.array([0.42, -0.15, CELL.pick_area.belt_z + 0.4])
    over = np.diag([1.0, -1.0, -1.0, 1.0])
    over[:3, 3] = tool
    q = build_builtin_backend(CELL).solve_ik(HOME, over)
    unknown = view.mask_of([q], INTR, UNKNOWN)
    package = view.mask_of([q], INTR, CarriedPackage(0.15, 0.10))
    nothing = view.mask_of([q], INTR, NOTHING)
    assert (nothing <= package).all() and (package <= unknown).all()
    assert nothing.sum() < package.sum() < unknown.sum()
    neighbour = pixel_of(np.array([0.42, 0.03, CELL.pick_area.belt_z + 0.05]))
    assert unknown[neighbour] and not package[neighbour]
    below = pixel_of(np.array([0.42 + 0.06, -0.15, CELL.pick_area.belt_z + 0.02]))  # the package hangs here
    assert package[below]
    # the package's offset and heading in the tool frame move its footprint with it
    shifted = view.mask_of([q], INTR, CarriedPackage(0.15, 0.10, 0.0, 0.12, 0.0))
    assert (shifted != package).any()
    # the view's own timeline: a frame taken while the package was carried gets its footprint
    view.add(1_000_000_000, q)
    view.carry.set(900_000_000, CarriedPackage(0.15, 0.10))
    assert (view.mask(1_000_000_000, INTR) == package).all()


def test_a_package_carried_high_over_the_pile_is_hidden_where_it_shows_beyond_the_belt_area():
    """Seen from the overhead camera, a package swung 0.65 m above the belt at the pick area's edge
    shows outside the pick area's image at belt level (perspective). In a session-13 run the planner
    offered such a padded mailer, carried through a frame mid-transfer, as the next target 0.69 m
    above the belt, and the cell reached for it in the air (QA: missed)."""
    view = ArmView(CELL)
    tool = np.array([0.34, -0.14, CELL.pick_area.belt_z + 0.7])
    over = np.diag([1.0, -1.0, -1.0, 1.0])
    over[:3, 3] = tool
    q = build_builtin_backend(CELL).solve_ik(HOME, over)
    mask = view.mask_of([q], INTR, CarriedPackage(0.30, 0.22))
    for dx, dy in ((0.0, 0.0), (-0.1, 0.0), (0.0, 0.08), (0.1, 0.0), (0.0, -0.08)):  # the package's underside
        assert mask[pixel_of(tool + np.array([dx, dy, -0.05]))], (dx, dy)
