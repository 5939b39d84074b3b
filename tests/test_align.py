"""Load and align rasters: correctness against analytic functions, categories, checks, laziness."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine
from pyproj import Transformer

from geotool.catalog import get_layer
from geotool.errors import (
    CRSError,
    ExtentError,
    MissingFileError,
    UnreadableFileError,
    ValueRangeError,
)
from geotool.grid import Grid
from geotool.io.raster import align_raster, check_overlap, open_raster, scan_values

# A UTM 49N grid near Shaoguan and a lon/lat raster covering it with margin.
GRID = Grid.from_bounds((740_000, 2_720_000, 770_000, 2_750_000), 250, "EPSG:32649")
DEG = 0.005
LL_TRANSFORM = Affine(DEG, 0, 113.2, 0, -DEG, 25.0)
LL_SHAPE = (140, 160)  # 113.2..114.0 E, 24.3..25.0 N


def linear(lon, lat):
    return 3.0 + 0.8 * (lon - 113.2) + 2.5 * (lat - 24.3)  # m/s, inside 0..20


def lonlat_centres():
    rows, cols = np.mgrid[0 : LL_SHAPE[0], 0 : LL_SHAPE[1]]
    lon = LL_TRANSFORM.c + DEG * (cols + 0.5)
    lat = LL_TRANSFORM.f - DEG * (rows + 0.5)
    return lon, lat


def test_linear_function_in_lonlat_matches_on_utm_grid(tif_writer):
    lon, lat = lonlat_centres()
    path = tif_writer(
        "wind.tif", linear(lon, lat).astype("float32"), crs="EPSG:4326", transform=LL_TRANSFORM
    )
    spec = get_layer("wind_speed_100m")
    src = open_raster(path)
    out = align_raster(src, spec, GRID, chunk=64)
    assert isinstance(out.data, da.Array)
    values = out.values
    xs, ys = np.meshgrid(GRID.xs, GRID.ys)
    plon, plat = Transformer.from_crs(GRID.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    expected = linear(plon, plat)
    # bilinear interpolation of a linear function is exact up to float32 rounding
    assert np.nanmax(np.abs(values - expected)) < 1e-4
    assert not np.isnan(values).any()
    assert out.attrs["resampling"] == "bilinear"


def test_categorical_layer_keeps_only_its_codes(tif_writer):
    rng = np.random.default_rng(0)
    codes = np.array([10, 20, 30, 40, 50, 80], dtype="uint8")
    data = codes[rng.integers(0, len(codes), LL_SHAPE)]
    path = tif_writer("lc.tif", data, crs="EPSG:4326", transform=LL_TRANSFORM, nodata=0)
    spec = get_layer("land_cover")
    for grid in (GRID, Grid.from_bounds(GRID.bounds, 1000, GRID.crs)):  # nearest, then mode
        out = align_raster(open_raster(path), spec, grid, chunk=64).values
        assert set(np.unique(out[np.isfinite(out)]).astype(int)) <= set(codes.tolist())
        assert np.isfinite(out).all()


def test_finer_source_is_averaged(tif_writer):
    # 100 m source checkerboard 0/10 aggregated onto a 1 km grid averages to 5.
    g100 = Grid.from_bounds((740_000, 2_720_000, 750_000, 2_730_000), 100, "EPSG:32649")
    rows, cols = np.mgrid[0:100, 0:100]
    data = (((rows + cols) % 2) * 10).astype("float32")
    path = tif_writer("t.tif", data, crs="EPSG:32649", transform=g100.transform)
    g1k = Grid.from_bounds(g100.bounds, 1000, g100.crs)
    out = align_raster(open_raster(path), get_layer("air_temperature"), g1k).values
    assert np.allclose(out, 5.0)


def test_nodata_becomes_nan_and_does_not_bleed(tif_writer):
    lon, lat = lonlat_centres()
    data = linear(lon, lat).astype("float32")
    data[:, :80] = -9999.0  # western half missing
    path = tif_writer("w.tif", data, crs="EPSG:4326", transform=LL_TRANSFORM, nodata=-9999.0)
    out = align_raster(open_raster(path), get_layer("wind_speed_100m"), GRID).values
    finite = out[np.isfinite(out)]
    assert np.isnan(out).any() and finite.size
    assert finite.min() >= 0.0  # no -9999 blended into neighbours


def test_wind_in_kmh_is_caught_and_units_fix_it(tif_writer):
    lon, lat = lonlat_centres()
    kmh = (linear(lon, lat) * 3.6 + 10).astype("float32")  # up to ~29 km/h
    path = tif_writer("kmh.tif", kmh, crs="EPSG:4326", transform=LL_TRANSFORM)
    spec = get_layer("wind_speed_100m")
    with pytest.raises(ValueRangeError, match=r'units = "km/h"'):
        scan_values(open_raster(path), spec)
    with pytest.raises(ValueRangeError):
        align_raster(open_raster(path), spec, GRID).compute()
    ok = align_raster(open_raster(path, units="km/h"), spec, GRID).values
    assert np.nanmin(ok) > 0 and np.nanmax(ok) < 20


def test_temperature_in_kelvin_converts_with_offset(tif_writer):
    data = np.full(LL_SHAPE, 293.15, dtype="float32")
    path = tif_writer("t.tif", data, crs="EPSG:4326", transform=LL_TRANSFORM)
    out = align_raster(open_raster(path, units="K"), get_layer("air_temperature"), GRID).values
    assert np.allclose(out, 20.0, atol=1e-4)


def test_raster_without_crs_is_refused_unless_assigned(tif_writer):
    path = tif_writer("nocrs.tif", np.ones(LL_SHAPE, "float32"), crs=None, transform=LL_TRANSFORM)
    with pytest.raises(CRSError, match="no CRS"):
        open_raster(path)
    src = open_raster(path, crs="EPSG:4326")
    out = align_raster(src, get_layer("wind_speed_100m"), GRID).values
    assert np.allclose(out, 1.0)


def test_crs_contradicting_coordinates_is_refused(tif_writer):
    t = Affine(30, 0, 740_000, 0, -30, 2_750_000)
    path = tif_writer("bad.tif", np.ones((10, 10), "float32"), crs="EPSG:4326", transform=t)
    with pytest.raises(CRSError, match="not degrees"):
        open_raster(path)


def test_no_overlap_missing_and_corrupt_files(tif_writer, tmp_path):
    far = Affine(DEG, 0, 10.0, 0, -DEG, 50.0)
    path = tif_writer("far.tif", np.ones(LL_SHAPE, "float32"), crs="EPSG:4326", transform=far)
    with pytest.raises(ExtentError, match="does not overlap"):
        check_overlap(open_raster(path), GRID, str(path))
    with pytest.raises(MissingFileError):
        open_raster(tmp_path / "nope.tif")
    broken = tmp_path / "broken.tif"
    broken.write_bytes(path.read_bytes()[:300])
    with pytest.raises(UnreadableFileError):
        open_raster(broken)


def test_netcdf_variable(tmp_path):
    lon, lat = lonlat_centres()
    ds = xr.Dataset(
        {"t2m": (("lat", "lon"), (linear(lon, lat) + 273.15).astype("float32"))},
        coords={"lat": lat[:, 0], "lon": lon[0]},
    )
    ds["lat"].attrs.update(units="degrees_north", standard_name="latitude")
    ds["lon"].attrs.update(units="degrees_east", standard_name="longitude")
    path = tmp_path / "era.nc"
    ds.to_netcdf(path)
    src = open_raster(path, variable="t2m", crs="EPSG:4326", units="K")
    out = align_raster(src, get_layer("air_temperature"), GRID).values
    xs, ys = np.meshgrid(GRID.xs, GRID.ys)
    plon, plat = Transformer.from_crs(GRID.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    assert np.nanmax(np.abs(out - linear(plon, plat))) < 1e-3


def test_align_is_lazy_and_chunked(tif_writer, monkeypatch):
    lon, lat = lonlat_centres()
    path = tif_writer(
        "w.tif", linear(lon, lat).astype("float32"), crs="EPSG:4326", transform=LL_TRANSFORM
    )
    opened = []
    real_open = rasterio.open

    def spy(*args, **kw):
        opened.append(args[0])
        return real_open(*args, **kw)

    src = open_raster(path)
    monkeypatch.setattr(rasterio, "open", spy)
    out = align_raster(src, get_layer("wind_speed_100m"), GRID, chunk=32)
    assert opened == []  # building the graph reads nothing
    assert out.data.chunks == ((32, 32, 32, 24), (32, 32, 32, 24))
    out[:32, :32].compute()
    assert len(opened) == 1  # one block computed -> one window read


def test_a_netcdf_replaced_on_disk_is_read_anew(tmp_path):
    """Open source datasets are cached per thread, keyed by the file's identity: a NetCDF
    variable (opened through a ``NETCDF:"file":var`` string) rewritten in place must not be
    served from the old handle."""
    import os

    import dask

    lon, lat = lonlat_centres()

    def write(offset):
        ds = xr.Dataset(
            {"t2m": (("lat", "lon"), (linear(lon, lat) + offset).astype("float32"))},
            coords={"lat": lat[:, 0], "lon": lon[0]},
        )
        ds["lat"].attrs.update(units="degrees_north", standard_name="latitude")
        ds["lon"].attrs.update(units="degrees_east", standard_name="longitude")
        ds.to_netcdf(tmp_path / "new.nc")
        os.replace(tmp_path / "new.nc", tmp_path / "era.nc")

    spec = get_layer("air_temperature")
    with dask.config.set(scheduler="sync"):  # the same (main) thread reads both times
        write(273.15)
        first = align_raster(
            open_raster(tmp_path / "era.nc", variable="t2m", crs="EPSG:4326", units="K"), spec, GRID
        )
        a = first.values
        write(278.15)
        second = align_raster(
            open_raster(tmp_path / "era.nc", variable="t2m", crs="EPSG:4326", units="K"), spec, GRID
        )
        b = second.values
    np.testing.assert_allclose(b - a, 5.0, atol=1e-3)
