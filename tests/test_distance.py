"""Exact distance layers and masks from vector features, checked against shapely."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geotool.grid import Grid
from geotool.io.rasterize import build_index, distance_layer, mask_layer
from geotool.io.vector import reach_bounds, read_vector

GRID = Grid.from_bounds((600_000, 2_700_000, 630_000, 2_724_000), 100, "EPSG:32649")
CAP = 15_000.0


def features():
    """Points, lines and polygons — some inside, some just outside the grid."""
    x0, b, r, t = GRID.bounds
    return {
        "points": [shapely.Point(x0 + 5_000, b + 7_000), shapely.Point(r + 2_000, t - 3_000)],
        "lines": [
            shapely.LineString(
                [(x0 - 4_000, b + 2_000), (x0 + 12_000, b + 15_000), (x0 + 20_000, b + 9_000)]
            ),
            shapely.LineString([(r + 1_500, b - 5_000), (r + 1_500, t + 5_000)]),  # outside, east
        ],
        "polygons": [
            shapely.Point(x0 + 22_000, b + 18_000).buffer(2_500),
            shapely.box(x0 + 3_000, t + 800, x0 + 9_000, t + 4_000),  # outside, north
        ],
    }


def sample_pixels(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, GRID.height, n)
    cols = rng.integers(0, GRID.width, n)
    return rows, cols


@pytest.mark.parametrize("kind", ["points", "lines", "polygons"])
def test_distance_equals_shapely_within_tolerance(tmp_path, kind):
    geoms = features()[kind]
    path = tmp_path / f"{kind}.gpkg"
    gpd.GeoDataFrame(geometry=geoms, crs=GRID.crs).to_crs("EPSG:4326").to_file(path)
    gdf = read_vector(path, bbox=reach_bounds(GRID.bounds, CAP), bbox_crs=GRID.crs)
    assert len(gdf) == 2  # features just outside the region are read too
    dist = distance_layer(build_index(gdf, GRID), GRID, CAP, name="d", chunk=128).values
    rows, cols = sample_pixels()
    xs, ys = GRID.xy(rows, cols)
    # reference: shapely distance from pixel centres to the features (in the file's CRS round trip)
    ref_geoms = gdf.to_crs(GRID.crs).geometry.values
    ref = np.min([shapely.distance(shapely.points(xs, ys), g) for g in ref_geoms], axis=0)
    ref = np.minimum(ref, CAP)
    got = dist[rows, cols]
    err = np.abs(got - ref)
    ok = (err <= 0.01 * ref) | (err <= GRID.res / 2)
    assert ok.all(), f"max error {err.max():.2f} m"
    # in practice the method is exact to well under a metre
    assert np.percentile(err, 99) < 1.0


def test_outside_features_change_distances_inside():
    # Only the outside east line: pixels at the east edge are ~1.5 km from it.
    line = features()["lines"][1]
    gdf = gpd.GeoDataFrame(geometry=[line], crs=GRID.crs)
    dist = distance_layer(build_index(gdf, GRID), GRID, CAP, name="d").values
    assert dist[:, -1] == pytest.approx(1_550.0, abs=1e-3)
    assert dist[:, 0] == pytest.approx(CAP)


def test_polygon_interior_is_zero_and_mask_matches_centres():
    poly = features()["polygons"][0]
    gdf = gpd.GeoDataFrame(geometry=[poly], crs=GRID.crs)
    idx = build_index(gdf, GRID)
    dist = distance_layer(idx, GRID, CAP, name="d").values
    mask = mask_layer(idx, GRID, name="m").values
    xs, ys = np.meshgrid(GRID.xs, GRID.ys)
    inside = shapely.contains_xy(poly, xs, ys)
    assert (dist[inside] == 0).all()
    assert (mask[inside] == 1).all()
    # mask area ≈ polygon area within the pixels along its edge
    area = mask.sum() * GRID.pixel_area
    assert abs(area - poly.area) < poly.length * GRID.res


def test_empty_layer_gives_cap_everywhere():
    gdf = gpd.GeoDataFrame(geometry=[], crs=GRID.crs)
    dist = distance_layer(build_index(gdf, GRID), GRID, CAP, name="d").values
    assert (dist == CAP).all()


def test_mask_marks_lines_and_points():
    x0, b, _, _ = GRID.bounds
    gdf = gpd.GeoDataFrame(
        geometry=[
            shapely.Point(x0 + 550, b + 550),
            shapely.LineString([(x0 + 50, b + 5_050), (x0 + 9_950, b + 5_050)]),
        ],
        crs=GRID.crs,
    )
    mask = mask_layer(build_index(gdf, GRID), GRID, name="m").values
    r, c = GRID.rowcol(x0 + 550, b + 550)
    assert mask[int(r), int(c)] == 1
    r, _ = GRID.rowcol(x0 + 50, b + 5_050)
    assert mask[int(r), :100].sum() == 100


def test_polygons_and_lines_nested_in_a_geometry_collection(tmp_path):
    """A GeometryCollection holding a MultiPolygon and a LineString, read from a real file."""
    x0, b, _, _ = GRID.bounds
    squares = shapely.MultiPolygon(
        [
            shapely.box(x0 + 2_000, b + 2_000, x0 + 4_000, b + 4_000),
            shapely.box(x0 + 10_000, b + 2_000, x0 + 12_000, b + 4_000),
        ]
    )
    line = shapely.LineString([(x0 + 50, b + 8_050), (x0 + 9_950, b + 8_050)])  # a centre row
    path = tmp_path / "gc.gpkg"
    gc = shapely.GeometryCollection([squares, line])
    gpd.GeoDataFrame({"name": ["gc"]}, geometry=[gc], crs=GRID.crs).to_file(path)
    gdf = read_vector(path)
    assert gdf.geom_type.iloc[0] == "GeometryCollection"
    idx = build_index(gdf, GRID)
    dist = distance_layer(idx, GRID, CAP, name="d", chunk=128).values
    mask = mask_layer(idx, GRID, name="m", chunk=128).values
    xs, ys = np.meshgrid(GRID.xs, GRID.ys)
    inside = shapely.contains_xy(squares, xs, ys)
    assert inside.sum() == 2 * 20 * 20
    assert (dist[inside] == 0).all() and (mask[inside] == 1).all()
    # the line: distance 0 along its row, 300 m three rows north, and masked
    r, c = (int(v) for v in GRID.rowcol(x0 + 5_050, b + 8_050))
    assert dist[r, c] == pytest.approx(0.0, abs=1e-3)
    assert dist[r - 3, c] == pytest.approx(300.0, abs=1e-3)
    assert mask[r, :100].sum() == 100
    # between the squares, the distance is to the nearer square's edge: 2,950 m
    r, c = (int(v) for v in GRID.rowcol(x0 + 7_050, b + 3_050))
    assert dist[r, c] == pytest.approx(2_950.0, abs=1e-3)
