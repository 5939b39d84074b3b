"""Shortcuts that keep large stacks cheap change no value: the coarse skip of pixels beyond a
distance cap, the plain windowed read of a source already on the grid, and computing only the
stack variables some stage reads."""

from __future__ import annotations

import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import xarray as xr
from affine import Affine
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from geotool.catalog import get_layer
from geotool.grid import Grid
from geotool.io.raster import align_raster, open_raster, same_grid_window
from geotool.io.rasterize import beyond_cap, build_index, distance_layer
from geotool.runner import CARBON_LAYERS, needed_variables
from geotool.suitability.specs import (
    Aggregation,
    Criterion,
    DirectWeights,
    Linear,
    Profile,
    RangeConstraint,
    SitesSpec,
    VectorConstraint,
)
from tests.conftest import write_tif

GRID = Grid.from_bounds((600_000, 2_700_000, 640_000, 2_730_000), 100, "EPSG:32649")


def _features(seed: int = 3) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x0, b, r, t = GRID.bounds
    lines = [
        shapely.LineString(np.column_stack([rng.uniform(x0, r, 6), rng.uniform(b, t, 6)]))
        for _ in range(3)
    ]
    pts = list(shapely.points(rng.uniform(x0, r, 5), rng.uniform(b, t, 5)))
    poly = [shapely.Point(x0 + 30_000, b + 8_000).buffer(1_500)]
    return gpd.GeoDataFrame(geometry=lines + pts + poly, crs=GRID.crs)


@pytest.fixture(scope="module")
def shapely_distances():
    """Exact distance from every pixel centre to the features (shapely, the reference)."""
    xs, ys = np.meshgrid(GRID.xs, GRID.ys)
    pts = shapely.points(xs.ravel(), ys.ravel())
    geoms = np.asarray(_features().geometry.values, dtype=object)
    return shapely.distance(pts[:, None], geoms[None, :]).min(axis=1).reshape(GRID.shape)


@pytest.mark.parametrize("cap", [150.0, 700.0, 3_000.0, 50_000.0])
def test_distances_are_exact_near_features_and_bounded_beyond(cap, shapely_distances):
    index = build_index(_features(), GRID)
    fast = distance_layer(index, GRID, cap, name="d", chunk=256).values.astype("float64")
    ref = np.minimum(shapely_distances, cap)
    err = np.abs(fast - ref)
    f32 = 1e-6 * np.maximum(ref, 1.0)  # float32 storage
    # cells solved exactly: float32 rounding only; the per-pixel query (cells far from every
    # feature under a long cap) errs by at most min(s/2, s²/8d), s = a third of a pixel
    s = GRID.res / 3.0
    with np.errstate(divide="ignore"):
        bound = np.minimum(s / 2.0, s**2 / (8.0 * ref))
    assert (err <= bound + f32).all()
    near = ref < 1_000.0  # where setbacks and buffers are decided: exact
    assert (err[near] <= f32[near]).all()


def test_skipped_pixels_are_really_beyond_the_cap():
    gdf = _features()
    index = build_index(gdf, GRID)
    cap = 700.0
    far = beyond_cap(index, GRID, cap)
    assert 0.3 < far.mean() < 0.99  # the pass does skip most of the grid at a short cap
    rows, cols = np.nonzero(far)
    pick = np.random.default_rng(0).choice(rows.size, 3000, replace=False)
    pts = shapely.points(GRID.xs[cols[pick]], GRID.ys[rows[pick]])
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    exact = shapely.distance(pts[:, None], geoms[None, :]).min(axis=1)
    assert (exact >= cap).all()  # shapely is the reference: no skipped pixel is nearer


def test_empty_layer_is_beyond_any_cap():
    index = build_index(gpd.GeoDataFrame(geometry=[], crs=GRID.crs), GRID)
    assert beyond_cap(index, GRID, 10.0).all()


def _write(path, data, transform, nodata=-9999.0):
    data = np.asarray(data, dtype="float32")
    tiles = {"tiled": True, "blockxsize": 128, "blockysize": 128}
    return write_tif(path, data, crs="EPSG:32649", transform=transform, nodata=nodata, **tiles)


def test_source_on_the_grid_reads_what_the_warper_gives(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.uniform(3.0, 12.0, (300, 400)).astype("float32")
    data[50:60, 40:60] = -9999.0  # no data, inside the window read below
    src_t = Affine(100.0, 0, 600_000.0, 0, -100.0, 2_730_000.0)
    path = tmp_path / "wind.tif"
    _write(path, data, src_t)
    src = open_raster(path)
    # a grid that is a whole-pixel window of the source
    grid = Grid("EPSG:32649", src_t @ Affine.translation(25, 40), (200, 300))
    with rasterio.open(path) as ds:
        assert same_grid_window(ds, src, grid) is not None
        with WarpedVRT(
            ds,
            crs=grid.crs,
            transform=grid.transform,
            width=grid.width,
            height=grid.height,
            resampling=Resampling.bilinear,
            dtype="float32",
            nodata=np.nan,
            src_nodata=-9999.0,
        ) as vrt:
            reference = vrt.read(1)
    ours = align_raster(src, get_layer("wind_speed_100m"), grid, chunk=128).values
    assert np.array_equal(ours, reference, equal_nan=True)
    assert np.isnan(ours).sum() == 10 * 20


@pytest.mark.parametrize(
    "shift",
    [Affine.translation(0.5, 0), Affine.translation(-3, 0), Affine.translation(200, 0)],
    ids=["half-pixel", "outside-left", "outside-right"],
)
def test_grids_that_are_not_windows_are_warped(tmp_path, shift):
    src_t = Affine(100.0, 0, 600_000.0, 0, -100.0, 2_730_000.0)
    path = tmp_path / "w.tif"
    _write(path, np.full((300, 400), 5.0), src_t)
    src = open_raster(path)
    grid = Grid("EPSG:32649", src_t @ shift, (100, 250))
    with rasterio.open(path) as ds:
        assert same_grid_window(ds, src, grid) is None


def _profile() -> Profile:
    return Profile(
        "p",
        "",
        (
            RangeConstraint("steep", "slope", max=20.0),
            VectorConstraint("roads", "roads", buffer_m=500.0),
        ),
        (Criterion("wind", Linear(4.0, 8.0), layer="wind_speed_hub"),),
        DirectWeights({"wind": 1.0}),
        Aggregation(),
        SitesSpec(threshold=0.5),
    )


def test_only_variables_some_stage_reads_are_computed():
    shape = (64, 64)
    base = da.random.default_rng(0).uniform(3, 9, shape, chunks=32).astype("float32")
    wind100 = xr.DataArray(base, dims=("y", "x"))
    ds = xr.Dataset(
        {
            "wind_speed_100m": wind100,
            "wind_speed_hub": wind100 * 1.1,  # derived from the raster: both needed
            "slope": xr.DataArray(base * 2, dims=("y", "x")),
            "roads_distance_m": xr.DataArray(base * 100, dims=("y", "x")),
            "roads_mask": xr.DataArray(base * 0, dims=("y", "x")),  # nobody reads it
            "aspect": xr.DataArray(base + 1, dims=("y", "x")),  # nobody reads it
            "biomass": xr.DataArray(base + 2, dims=("y", "x")),  # a carbon layer
        }
    )
    ds.attrs["grid"] = Grid.from_bounds((0, 0, 6400, 6400), 100, "EPSG:32649")
    keep = needed_variables(ds, [_profile()], carbon=True)
    assert keep == ["wind_speed_100m", "wind_speed_hub", "slope", "roads_distance_m", "biomass"]
    assert "biomass" in CARBON_LAYERS
    assert "biomass" not in needed_variables(ds, [_profile()], carbon=False)
