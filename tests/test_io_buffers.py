"""Buffer zones (geotool.io.buffers) against GEOS distances and analytic pixel counts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from geotool.grid import Grid
from geotool.io.buffers import buffer_shapes, within_block, within_layer
from geotool.io.rasterize import build_index, distance_layer

CRS_UTM = CRS.from_epsg(32649)


def _grid(h: int, w: int, res: float = 10.0) -> Grid:
    return Grid(CRS_UTM, Affine(res, 0.0, 500_000.0, 0.0, -res, 2_800_000.0), (h, w))


def _gdf(geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=geoms, crs=CRS_UTM)


def _geos_truth(grid: Grid, geoms: list, b: float) -> tuple[np.ndarray, np.ndarray]:
    """(within, ambiguous): GEOS distance <= b per pixel centre; ambiguous within 1 µm of b."""
    xx, yy = np.meshgrid(grid.xs, grid.ys)
    d = shapely.distance(shapely.points(xx.ravel(), yy.ravel()), shapely.union_all(geoms))
    d = d.reshape(grid.shape)
    return d <= b, np.abs(d - b) < 1e-6


def _random_scene(rng: np.random.Generator, grid: Grid) -> list:
    left, bottom, right, top = grid.bounds
    geoms = []
    for _ in range(4):  # wiggly, self-crossing lines with sharp turns
        n = int(rng.integers(3, 25))
        xy = np.column_stack([rng.uniform(left, right, n), rng.uniform(bottom, top, n)])
        geoms.append(shapely.LineString(xy))
    for _ in range(6):
        geoms.append(shapely.Point(rng.uniform(left - 50, right + 50), rng.uniform(bottom, top)))
    cx, cy = rng.uniform(left, right), rng.uniform(bottom, top)
    outer = shapely.Point(cx, cy).buffer(rng.uniform(150, 400), quad_segs=3)
    hole = shapely.Point(cx, cy).buffer(rng.uniform(40, 120), quad_segs=2)
    geoms.append(shapely.Polygon(outer.exterior.coords, [hole.exterior.coords]))
    return geoms


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("b", [7.0, 35.0, 120.0])
def test_zone_is_exactly_geos_distance_within_buffer(seed: int, b: float) -> None:
    grid = _grid(90, 130)
    rng = np.random.default_rng(seed)
    geoms = _random_scene(rng, grid)
    truth, ambiguous = _geos_truth(grid, geoms, b)
    index = build_index(_gdf(geoms), grid)
    got = within_layer(index, grid, b, name="z", chunk=32).values > 0.5  # seams every 32 px
    wrong = (got != truth) & ~ambiguous
    assert not wrong.any(), np.argwhere(wrong)[:5]
    assert truth.any() and (~truth).any()


def test_zone_matches_the_exact_distance_layer() -> None:
    grid = _grid(120, 100, res=30.0)
    geoms = _random_scene(np.random.default_rng(42), grid)
    index = build_index(_gdf(geoms), grid)
    d = distance_layer(index, grid, 1_000.0, name="d", chunk=48).values
    z = within_layer(index, grid, 500.0, name="z", chunk=48).values > 0.5
    near = np.abs(d - 500.0) < 0.05  # the distance layer's own error bound at 500 m
    np.testing.assert_array_equal(z[~near], (d <= 500.0)[~near])


def test_point_disc_holds_the_gauss_circle_count() -> None:
    # a point on a pixel centre, radius 2.5 px: lattice points with i² + j² <= 6.25 -> 21
    grid = _grid(21, 21)
    x, y = grid.xs[10], grid.ys[10]
    index = build_index(_gdf([shapely.Point(x, y)]), grid)
    zone = within_block(buffer_shapes(index, 25.0), grid)
    assert zone.sum() == 21
    assert zone[10, 10] and zone[10, 12] and zone[12, 11] and not zone[12, 12]


def test_segment_corridor_is_a_stadium() -> None:
    # horizontal segment along a row of centres, buffer 20 m = 2 px: rows ±2 are covered over
    # the segment's length plus the caps; row 2 away only at the segment's own columns
    grid = _grid(15, 30)
    r, c0, c1 = 7, 10, 19
    line = shapely.LineString([(grid.xs[c0], grid.ys[r]), (grid.xs[c1], grid.ys[r])])
    zone = within_block(buffer_shapes(build_index(_gdf([line]), grid), 20.0), grid)
    assert zone[r].nonzero()[0].tolist() == list(range(c0 - 2, c1 + 3))
    assert zone[r + 1].nonzero()[0].tolist() == list(range(c0 - 1, c1 + 2))  # 1² + 1² <= 4
    assert zone[r + 2].nonzero()[0].tolist() == list(range(c0, c1 + 1))
    assert not zone[r + 3].any() and not zone[r - 3].any()


def test_far_block_and_empty_layer_are_empty() -> None:
    grid = _grid(40, 40)
    far = shapely.Point(grid.bounds[2] + 5_000.0, grid.bounds[3])
    shapes = buffer_shapes(build_index(_gdf([far]), grid), 100.0)
    assert not within_block(shapes, grid).any()
    empty = build_index(_gdf([]), grid)
    assert not within_layer(empty, grid, 100.0, name="z").values.any()


def test_buffer_must_be_positive() -> None:
    grid = _grid(4, 4)
    with pytest.raises(ValueError, match="buffer_m > 0"):
        within_layer(build_index(_gdf([]), grid), grid, 0.0, name="z")
