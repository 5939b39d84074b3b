"""Raster inputs that GDAL reads as they are but that a naive reader gets wrong.

Packed values (scale/offset), global lon/lat rasters (-180..180 and 0..360) under a small UTM
grid, and south-up rasters. Expected values come from ``rasterio.warp.reproject`` on the same
file (GDAL's warper outside the pipeline) or are analytic.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.warp import reproject

from geotool.catalog import get_layer
from geotool.errors import ExtentError
from geotool.grid import Grid
from geotool.io.raster import (
    _res_in_grid_units,
    align_raster,
    check_overlap,
    choose_resampling,
    open_raster,
    same_grid_window,
    scan_values,
)
from geotool.io.scan import preflight_values
from tests.conftest import write_tif

UTM49 = "EPSG:32649"
# A UTM 49N grid near Shaoguan and a lon/lat raster covering it with margin.
GRID = Grid.from_bounds((740_000, 2_720_000, 770_000, 2_750_000), 250, UTM49)
DEG = 0.005
LL_TRANSFORM = Affine(DEG, 0, 113.2, 0, -DEG, 25.0)
LL_SHAPE = (140, 160)  # 113.2..114.0 E, 24.3..25.0 N


def utm_grid(bbox: tuple[float, float, float, float], res: float, crs: str) -> Grid:
    """Grid over a lon/lat bbox in the given projected CRS."""
    to = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0, x1, y1 = to.transform_bounds(*bbox, densify_pts=21)
    return Grid.from_bounds((x0, y0, x1, y1), res, crs)


def reference(path, grid: Grid, resampling: str) -> np.ndarray:
    """The source on ``grid`` by GDAL's warper called directly (NaN for no data)."""
    out = np.full(grid.shape, np.nan, dtype="float32")
    with rasterio.open(path) as ds:
        reproject(
            rasterio.band(ds, 1),
            out,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            resampling=Resampling[resampling],
            dst_nodata=np.nan,
        )
    return out


def assert_same(out: np.ndarray, expected: np.ndarray, atol: float = 1e-4) -> None:
    assert np.array_equal(np.isnan(out), np.isnan(expected))
    assert np.isfinite(out).any()
    np.testing.assert_allclose(out[np.isfinite(out)], expected[np.isfinite(expected)], atol=atol)


# ----------------------------------------------------------------------------- scale / offset
def write_packed_dem(path, transform: Affine, crs: str, shape: tuple[int, int]) -> np.ndarray:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    raw = (200 + 3 * cols + 2 * rows).astype("int16")
    raw[:5, :7] = -32768  # no data, a raw code
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=shape[1],
        height=shape[0],
        count=1,
        dtype="int16",
        crs=crs,
        transform=transform,
        nodata=-32768,
        tiled=True,
        blockxsize=64,
        blockysize=64,
    ) as ds:
        ds.write(raw, 1)
        ds.scales = (0.5,)
        ds.offsets = (10.0,)
    return raw


def unpacked(raw: np.ndarray) -> np.ndarray:
    return np.where(raw == -32768, np.nan, raw * 0.5 + 10).astype("float32")


def test_scale_and_offset_apply_on_the_same_grid_fast_path(tmp_path):
    grid = Grid.from_bounds((740_000, 2_720_000, 760_000, 2_740_000), 100, UTM49)
    path = tmp_path / "dem.tif"
    raw = write_packed_dem(path, grid.transform, UTM49, grid.shape)
    src = open_raster(path)
    with rasterio.open(path) as ds:
        assert same_grid_window(ds, src, grid) is not None  # a plain windowed read
    out = align_raster(src, get_layer("dem"), grid, chunk=64).values
    assert_same(out, unpacked(raw), atol=0)
    stats = scan_values(src, get_layer("dem"), grid)
    expected = unpacked(raw)
    assert stats["min"] == pytest.approx(np.nanmin(expected))
    assert stats["max"] == pytest.approx(np.nanmax(expected))
    assert (src.scale, src.offset) == (0.5, 10.0)


def test_scale_and_offset_apply_after_warping(tmp_path):
    path = tmp_path / "dem_ll.tif"
    raw = write_packed_dem(path, LL_TRANSFORM, "EPSG:4326", LL_SHAPE)
    out = align_raster(open_raster(path), get_layer("dem"), GRID, chunk=1024)
    assert out.attrs["resampling"] == "bilinear"
    warped_raw = reference(path, GRID, "bilinear")  # reproject does not unpack
    assert_same(out.values, warped_raw * 0.5 + 10, atol=1e-3)
    assert np.nanmax(out.values) <= raw.max() * 0.5 + 10  # not the doubled raw values


def test_packed_netcdf_is_unpacked(tmp_path):
    """ERA5-style int16 with scale_factor 0.001 and add_offset 295 K."""
    lon = LL_TRANSFORM.c + DEG * (np.arange(LL_SHAPE[1]) + 0.5)
    lat = LL_TRANSFORM.f - DEG * (np.arange(LL_SHAPE[0]) + 0.5)
    lon2, lat2 = np.meshgrid(lon, lat)

    def kelvin(x, y):
        return 290.0 + 0.8 * (x - 113.2) + 2.5 * (y - 24.3)

    ds = xr.Dataset({"t2m": (("lat", "lon"), kelvin(lon2, lat2))}, coords={"lat": lat, "lon": lon})
    ds["lat"].attrs.update(units="degrees_north", standard_name="latitude")
    ds["lon"].attrs.update(units="degrees_east", standard_name="longitude")
    path = tmp_path / "t2m.nc"
    encoding = {"dtype": "int16", "scale_factor": 0.001, "add_offset": 295.0, "_FillValue": -32767}
    ds.to_netcdf(path, encoding={"t2m": encoding})
    src = open_raster(path, variable="t2m", crs="EPSG:4326", units="K")
    spec = get_layer("air_temperature")
    preflight_values(src, spec, GRID)
    stats = scan_values(src, spec, GRID)
    assert 16 < stats["min"] < stats["max"] < 19
    out = align_raster(src, spec, GRID).values
    xs, ys = np.meshgrid(GRID.xs, GRID.ys)
    plon, plat = Transformer.from_crs(GRID.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    # packing keeps 0.001 K; bilinear interpolation of a linear field is exact
    assert np.nanmax(np.abs(out - (kelvin(plon, plat) - 273.15))) < 2e-3
    assert not np.isnan(out).any()
    assert src.scale == pytest.approx(0.001) and src.offset == pytest.approx(295.0)


# ----------------------------------------------------------------------------- global rasters
GLOBAL_RES = 0.1


def global_field(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Air temperature, degC: smooth, not linear (so the resampling shows)."""
    return (10 + 8 * np.sin(np.radians(lon) * 20) + 10 * np.cos(np.radians(lat) * 15)).astype(
        "float32"
    )


def write_global(path, west: float) -> None:
    """A 0.1° EPSG:4326 raster from ``west`` (-180 or 0) over 360° of longitude."""
    w, h = round(360 / GLOBAL_RES), round(180 / GLOBAL_RES)
    lon = west + GLOBAL_RES * (np.arange(w) + 0.5)
    lon = np.where(lon > 180, lon - 360, lon)  # the same field whatever the longitude range
    lat = 90 - GLOBAL_RES * (np.arange(h) + 0.5)
    lon2, lat2 = np.meshgrid(lon, lat)
    transform = Affine(GLOBAL_RES, 0, west, 0, -GLOBAL_RES, 90)
    values = global_field(lon2, lat2)
    write_tif(path, values, crs="EPSG:4326", transform=transform, nodata=-9999, tiled=True)


@pytest.fixture(scope="module")
def global_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("global")
    write_global(folder / "global_180.tif", -180.0)
    write_global(folder / "global_360.tif", 0.0)
    return folder / "global_180.tif", folder / "global_360.tif"


def test_global_rasters_align_under_a_small_utm_grid(global_files):
    # west of UTM 49N's central meridian (111° E)
    grid = utm_grid((110.2, 24.1, 110.5, 24.4), 1000, UTM49)
    spec = get_layer("air_temperature")
    expected = reference(global_files[0], grid, "bilinear")
    for path in global_files:
        src = open_raster(path)
        assert check_overlap(src, grid, str(path)) == pytest.approx(1.0)
        out = align_raster(src, spec, grid, chunk=1024)
        assert out.attrs["resampling"] == "bilinear"  # 0.1° (~10 km) onto 1 km
        assert_same(out.values, expected)
        assert_same(out.values, reference(path, grid, "bilinear"))
        scan_values(src, spec, grid)


def test_a_0_360_raster_aligns_west_of_greenwich(global_files):
    """Longitudes -70.9..-70.4 are 289.1..289.6 in a 0..360 file."""
    grid = utm_grid((-70.9, -33.6, -70.4, -33.2), 1000, "EPSG:32719")
    spec = get_layer("air_temperature")
    expected = reference(global_files[0], grid, "bilinear")
    src = open_raster(global_files[1])
    assert check_overlap(src, grid, "global_360.tif") == pytest.approx(1.0)
    # the same source pixels as the -180..180 file's
    assert scan_values(src, spec, grid) == scan_values(open_raster(global_files[0]), spec, grid)
    assert_same(align_raster(src, spec, grid, chunk=1024).values, expected)
    # block by block (each block placed on its own) too: as the -180..180 file's blocks
    blocks = align_raster(src, spec, grid, chunk=16).values
    same = align_raster(open_raster(global_files[0]), spec, grid, chunk=16).values
    assert_same(blocks, same, atol=1e-6)


def grid_lonlat(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of every pixel centre of ``grid``."""
    to = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    cols, rows = np.meshgrid(np.arange(grid.width) + 0.5, np.arange(grid.height) + 0.5)
    xs, ys = grid.transform * (cols, rows)
    return to.transform(xs, ys)


@pytest.mark.parametrize(
    ("which", "bbox", "crs"),
    [
        (1, (-1.5, 51.0, 1.5, 52.0), "EPSG:32631"),  # London across 0° under a 0..360 file
        (0, (179.0, -18.5, 181.0, -17.5), "EPSG:32760"),  # Fiji across 180° under -180..180
    ],
)
def test_a_region_across_a_global_file_seam_reads_both_sides(global_files, which, bbox, crs):
    # the file is read re-centred on the region (a VRT swapping its column blocks): both
    # sides of the seam carry the field, within bilinear interpolation's error of the
    # analytic values (h²/8 · max|f''| < 0.003 °C at 0.1°), and no pixel is empty
    grid = utm_grid(bbox, 2000, crs)
    spec = get_layer("air_temperature")
    src = open_raster(global_files[which])
    assert check_overlap(src, grid, "global") == pytest.approx(1.0)
    out = align_raster(src, spec, grid, chunk=16).values  # blocks on both sides and across
    lon, lat = grid_lonlat(grid)
    assert np.isfinite(out).all()
    east = np.where(lon < 0, lon + 360, lon) > (0.5 if which == 1 else 180.5)
    assert east.any() and (~east).any()  # both sides of the seam are in the grid
    np.testing.assert_allclose(out, global_field(lon, lat), atol=0.005)
    # the other file (no seam there) gives the same pixels
    other = align_raster(open_raster(global_files[1 - which]), spec, grid, chunk=16).values
    np.testing.assert_allclose(out, other, atol=1e-4)
    stats = scan_values(src, spec, grid)
    assert stats["valid_share"] == 1.0


def write_lonlat(
    path,
    res: float,
    width: int,
    value: float = 15.0,
    *,
    west: float = 0.0,
    north: float = 90.0,
    height: int | None = None,
    nodata: float | None = -9999,
) -> None:
    """A constant EPSG:4326 raster from ``west`` eastwards, ``width`` columns of ``res``°
    (down to the South Pole unless ``height`` rows are given)."""
    h = height or round((north + 90) / res)
    values = np.full((h, width), value, dtype="float32")
    write_tif(
        path, values, crs="EPSG:4326", transform=Affine(res, 0, west, 0, -res, north), nodata=nodata
    )


def rolled_reference(path, grid: Grid, centre: float, resampling: str) -> np.ndarray:
    """The file's array rolled (np.roll) to span centre-180..centre+180, then reprojected by
    rasterio onto ``grid``: an independent re-centring to compare the VRT with."""
    with rasterio.open(path) as ds:
        a = ds.read(1).astype("float32")
        t, nodata = ds.transform, ds.nodata
    if nodata is not None:
        a[a == nodata] = np.nan
    k = round((centre - 180 - t.c) / t.a)
    out = np.full(grid.shape, np.nan, dtype="float32")
    reproject(
        np.roll(a, -k, axis=1),
        out,
        src_transform=Affine(t.a, 0, t.c + k * t.a, 0, t.e, t.f),
        src_crs="EPSG:4326",
        src_nodata=np.nan,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=np.nan,
        resampling=Resampling[resampling],
    )
    return out


@pytest.mark.parametrize(
    ("bbox", "res", "crs", "method"),
    [
        ((176.0, -20.0, 182.0, -15.0), 10_000, "EPSG:32760", "bilinear"),  # Fiji, 10 km
        ((165.0, 60.0, 200.0, 72.0), 20_000, "EPSG:3571", "average"),  # Chukotka, polar
    ],
)
def test_coarse_blocks_across_180_read_neighbouring_columns(global_files, bbox, res, crs, method):
    # a block straddling 180° must read the columns either side of it, not both ends of the
    # file: found by review, 0.87 °C off at 20 km and NaN holes with `average`
    grid = utm_grid(bbox, res, crs)
    for path in global_files:
        out = align_raster(open_raster(path), get_layer("air_temperature"), grid)
        assert out.attrs["resampling"] == method  # 0.1° pixels: ~10 km, ~4.5 km wide at 66° N
        assert np.isfinite(out.values).all()
        np.testing.assert_allclose(
            out.values, rolled_reference(global_files[1], grid, 180.0, method), atol=1e-4
        )


def test_a_regional_file_past_180_without_nodata_is_empty_beyond_its_edge(tmp_path):
    # 170..200°E, float32, no nodata value: the VRT's uncovered columns are no data (they
    # read as valid zeros before), under a region that reaches past the file's east edge
    path = tmp_path / "pacific.tif"
    write_lonlat(path, 0.25, 120, 12.0, west=170.0, north=0.0, height=80, nodata=None)
    grid = utm_grid((-162.0, -20.0, -156.0, -18.0), 5000, "EPSG:32703")
    lon, lat = grid_lonlat(grid)
    out = align_raster(open_raster(path), get_layer("air_temperature"), grid).values
    inside = (lon < -160.3) & (lat > -19.7)  # the file ends at 160° W and 20° S
    assert np.isnan(out[lon > -159.9]).all() and (out[inside] == 12.0).all()
    stats = scan_values(open_raster(path), get_layer("air_temperature"), grid)
    assert stats["min"] == stats["max"] == 12.0


def test_a_global_file_short_of_360_degrees_leaves_its_gap_empty(tmp_path):
    # 359.5° wide at 0.5°: repeated every 360° all the same; the half degree west of
    # Greenwich it does not hold is no data, and its coverage says so
    path = tmp_path / "gap.tif"
    write_lonlat(path, 0.5, 719)
    greenwich = utm_grid((-1.5, 51.0, 1.5, 52.0), 2000, "EPSG:32631")
    src = open_raster(path)
    share = check_overlap(src, greenwich, "gap.tif")
    lon, _ = grid_lonlat(greenwich)
    out = align_raster(src, get_layer("air_temperature"), greenwich, chunk=16).values
    gap = (lon > -0.5 + 0.02) & (lon < -0.02)
    held = (lon < -0.5 - 0.02) | (lon > 0.02)
    assert np.isnan(out[gap]).all() and (out[held] == 15.0).all()
    assert share == pytest.approx(np.isnan(out).mean() * -1 + 1, abs=0.05)


def test_a_global_file_of_no_whole_columns_per_turn_names_its_seam(tmp_path):
    # 0.7° pixels: 360° is 514.3 columns, no copy lines up with the file: the seam is named
    path = tmp_path / "odd.tif"
    write_lonlat(path, 0.7, 514)
    greenwich = utm_grid((-1.5, 51.0, 1.5, 52.0), 2000, "EPSG:32631")
    with pytest.raises(ExtentError, match=r"crosses the file.s 0/359\.8° longitude seam"):
        check_overlap(open_raster(path), greenwich, "odd.tif")


def test_resampling_compares_pixel_sizes_where_the_grid_is(global_files):
    """0.1° is ~10 km at 24° N: bilinear onto 5 km, average onto 50 km."""
    src = open_raster(global_files[0])
    spec = get_layer("air_temperature")
    assert _res_in_grid_units(src, utm_grid((110.2, 24.1, 110.5, 24.4), 5000, UTM49)) == (
        pytest.approx(10_150, rel=0.02)
    )
    for res, method in ((5000, "bilinear"), (50_000, "average")):
        grid = utm_grid((110.2, 24.1, 111.2, 25.1), res, UTM49)
        assert choose_resampling(spec, src, grid).name == method
    out = align_raster(src, spec, grid)
    assert out.attrs["resampling"] == "average"
    assert_same(out.values, reference(global_files[0], grid, "average"))


# ----------------------------------------------------------------------------- south-up rasters
def smooth(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return (100 + 0.5 * cols + 0.8 * rows + 30 * np.sin(cols / 7.0)).astype("float32")


def test_south_up_lonlat_raster_aligns(tif_writer):
    rows, cols = np.mgrid[0 : LL_SHAPE[0], 0 : LL_SHAPE[1]]
    north_up = smooth(rows, cols)
    # first row is the southern edge: a positive y pixel size
    south_up_t = Affine(DEG, 0, 113.2, 0, DEG, 25.0 - DEG * LL_SHAPE[0])
    path = tif_writer(
        "su.tif", north_up[::-1].copy(), crs="EPSG:4326", transform=south_up_t, nodata=-9999.0
    )
    ref_path = tif_writer(
        "nu.tif", north_up, crs="EPSG:4326", transform=LL_TRANSFORM, nodata=-9999.0
    )
    src = open_raster(path)
    assert src.bounds == pytest.approx((113.2, 24.3, 114.0, 25.0))
    spec = get_layer("dem")
    assert check_overlap(src, GRID, str(path)) == pytest.approx(1.0)
    out = align_raster(src, spec, GRID, chunk=1024)
    assert_same(out.values, reference(path, GRID, out.attrs["resampling"]))
    assert_same(out.values, reference(ref_path, GRID, out.attrs["resampling"]))
    stats = scan_values(src, spec, GRID)
    assert stats["min"] <= np.nanmin(out.values) and stats["max"] >= np.nanmax(out.values)


def test_south_up_utm_raster_aligns_and_skips_the_fast_path(tif_writer):
    grid = Grid.from_bounds((710_000, 2_670_000, 740_000, 2_700_000), 50, UTM49)
    x0, y0, shape = 700_000, 2_660_000, (1000, 1000)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    south_up = smooth(rows, cols)
    path = tif_writer(
        "su.tif", south_up, crs=UTM49, transform=Affine(50, 0, x0, 0, 50, y0), nodata=-9999.0
    )
    src = open_raster(path)
    assert src.bounds == (700_000, 2_660_000, 750_000, 2_710_000)
    assert src.res == (50.0, 50.0)
    with rasterio.open(path) as ds:
        assert same_grid_window(ds, src, grid) is None  # rows run the other way
    spec = get_layer("dem")
    out = align_raster(src, spec, grid, chunk=128)
    assert out.attrs["resampling"] == "bilinear"  # same pixel size: not "finer"
    assert_same(out.values, reference(path, grid, "bilinear"))
    # analytic: the grid is a window of the source, rows flipped
    r0 = (2_660_000 + 50 * shape[0] - 2_700_000) // 50  # grid's top row in north-up order
    c0 = (710_000 - x0) // 50
    north_up = south_up[::-1]
    np.testing.assert_allclose(
        out.values, north_up[r0 : r0 + grid.height, c0 : c0 + grid.width], atol=1e-3
    )
    coarse = Grid.from_bounds(grid.bounds, 200, UTM49)
    out = align_raster(src, spec, coarse)
    assert out.attrs["resampling"] == "average"
    assert_same(out.values, reference(path, coarse, "average"))
