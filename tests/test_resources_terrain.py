"""Slope and aspect against analytic surfaces, metric and geographic (EPSG:4326) grids."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from pyproj import Transformer
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject

from geotool.errors import CRSError, CRSMismatchError, InputError
from geotool.resources import terrain

RES = 30.0


def grid(ny: int = 40, nx: int = 50, x0: float = 500_000.0, y0: float = 2_760_000.0):
    xs = x0 + RES * (np.arange(nx) + 0.5)
    ys = y0 - RES * (np.arange(ny) + 0.5)  # north-up
    return np.meshgrid(xs, ys), xs, ys


def test_plane_slope_and_aspect_are_exact_including_edges():
    (x, y), _, _ = grid()
    gx, gy = 0.12, -0.05  # rises to the east and to the south
    dem = 300.0 + gx * (x - x[0, 0]) + gy * (y - y[0, 0])
    slope = terrain.slope_degrees(dem, spacing_m=(RES, RES))
    np.testing.assert_allclose(slope, np.degrees(np.arctan(np.hypot(gx, gy))), atol=1e-9)
    aspect = terrain.aspect_degrees(dem, spacing_m=(RES, RES))
    # downhill points west-north-west: compass bearing of (-gx, -gy)
    expected = np.degrees(np.arctan2(-gx, -gy)) % 360
    np.testing.assert_allclose(aspect, expected, atol=1e-9)
    assert 270 < expected < 360


@pytest.mark.parametrize(
    ("gx", "gy", "facing"), [(0.1, 0, 270), (-0.1, 0, 90), (0, 0.1, 180), (0, -0.1, 0)]
)
def test_aspect_compass_convention(gx, gy, facing):
    (x, y), _, _ = grid(5, 5)
    dem = gx * x + gy * y
    assert terrain.aspect_degrees(dem, spacing_m=(RES, RES))[2, 2] % 360 == pytest.approx(facing)


def test_cone_slope_within_a_tenth_of_a_degree():
    (x, y), _, _ = grid(81, 81)
    cx, cy = x[40, 40], y[40, 40]
    r = np.hypot(x - cx, y - cy)
    dem = 1000.0 - 0.35 * r  # 19.29° everywhere but the apex
    slope = terrain.slope_degrees(dem, spacing_m=(RES, RES))
    inner = np.zeros(dem.shape, bool)
    inner[1:-1, 1:-1] = True
    # Horn's 3x3 stencil is exact on planes; on a cone its error falls as (pixel / r)²
    far = inner & (r >= 8 * RES)
    assert np.abs(slope[far] - np.degrees(np.arctan(0.35))).max() < 0.1


def test_dataarray_and_dask_inputs_stay_lazy_and_agree():
    (x, y), xs, ys = grid()
    dem = 200 + 50 * np.sin(x / 400.0) * np.cos(y / 300.0)
    plain = terrain.slope_degrees(dem, spacing_m=(RES, RES))
    arr = xr.DataArray(
        da.from_array(dem, chunks=(7, 9)), dims=("y", "x"), coords={"x": xs, "y": ys}
    ).rio.write_crs("EPSG:32649")
    lazy = terrain.slope_degrees(arr)
    assert isinstance(lazy.data, da.Array)
    assert lazy.attrs["units"] == "degree"
    np.testing.assert_allclose(lazy.compute().values, plain, atol=1e-9)
    raw = terrain.aspect_degrees(da.from_array(dem, chunks=(11, 13)), spacing_m=(RES, RES))
    assert isinstance(raw, da.Array)
    np.testing.assert_allclose(
        raw.compute(), terrain.aspect_degrees(dem, spacing_m=(RES, RES)), atol=1e-9
    )


def test_geographic_raster_matches_the_same_surface_in_utm():
    """A DEM made in UTM 49N and reprojected to EPSG:4326 keeps its slope."""
    utm, ll = "EPSG:32649", "EPSG:4326"
    ny, nx, res = 300, 300, 30.0
    x0, y0 = 740_000.0, 2_760_000.0  # near Shaoguan, 24.9 N 113.4 E
    xs = x0 + res * (np.arange(nx) + 0.5)
    ys = y0 - res * (np.arange(ny) + 0.5)
    x, y = np.meshgrid(xs, ys)
    cx, cy, sigma = xs.mean(), ys.mean(), 2000.0

    def hill(px, py):  # a broad Gaussian hill on a tilted plane, metres
        return (
            400
            + 0.08 * (px - x0)
            + 600 * np.exp(-((px - cx) ** 2 + (py - cy) ** 2) / (2 * sigma**2))
        )

    def true_slope(px, py):
        g = np.exp(-((px - cx) ** 2 + (py - cy) ** 2) / (2 * sigma**2))
        gx = 0.08 - 600 * g * (px - cx) / sigma**2
        gy = -600 * g * (py - cy) / sigma**2
        return np.degrees(np.arctan(np.hypot(gx, gy)))

    dem_utm = hill(x, y)
    # destination: a lon/lat grid inside the UTM DEM, ~0.00025° (≈ 25-28 m) pixels
    to_ll = Transformer.from_crs(utm, ll, always_xy=True)
    lon0, lat1 = to_ll.transform(xs[20], ys[20])
    lon1, lat0 = to_ll.transform(xs[-20], ys[-20])
    d = 0.00025
    lons = np.arange(lon0 + d / 2, lon1, d)
    lats = np.arange(lat1 - d / 2, lat0, -d)
    dem_ll = np.full((lats.size, lons.size), np.nan)
    reproject(
        dem_utm,
        dem_ll,
        src_transform=from_origin(x0, y0, res, res),
        src_crs=utm,
        dst_transform=from_origin(lons[0] - d / 2, lats[0] + d / 2, d, d),
        dst_crs=ll,
        resampling=Resampling.cubic,
    )
    arr = xr.DataArray(dem_ll, dims=("y", "x"), coords={"x": lons, "y": lats}).rio.write_crs(ll)
    slope_ll = terrain.slope_degrees(arr).values
    # truth at the same points, evaluated in UTM
    to_utm = Transformer.from_crs(ll, utm, always_xy=True)
    px, py = to_utm.transform(*np.meshgrid(lons, lats))
    expected = true_slope(px, py)
    inner = slope_ll[2:-2, 2:-2]
    assert np.nanmax(np.abs(inner - expected[2:-2, 2:-2])) < 0.1
    # treating degrees as metres would be absurd: near-vertical everywhere
    naive = terrain.slope_degrees(dem_ll, spacing_m=(d, d))
    assert np.nanmedian(naive) > 89.0


def test_missing_or_conflicting_crs_and_bad_shapes_raise():
    (x, _), xs, ys = grid(5, 5)
    arr = xr.DataArray(x * 0.1, dims=("y", "x"), coords={"x": xs, "y": ys})
    with pytest.raises(CRSError, match="no CRS"):
        terrain.slope_degrees(arr)
    with pytest.raises(CRSMismatchError):
        terrain.slope_degrees(arr.rio.write_crs("EPSG:32649"), crs="EPSG:4326")
    assert terrain.slope_degrees(arr, crs="EPSG:32649").shape == (5, 5)
    with pytest.raises(InputError, match="pixel size"):
        terrain.slope_degrees(np.zeros((5, 5)))
    with pytest.raises(InputError, match="2×2"):
        terrain.slope_degrees(np.zeros((1, 5)), spacing_m=(30, 30))


def test_flat_aspect_uses_flat_value():
    flat = np.zeros((4, 4))
    assert np.isnan(terrain.aspect_degrees(flat, spacing_m=(10, 10))).all()
    assert (terrain.aspect_degrees(flat, spacing_m=(10, 10), flat_value=-1.0) == -1.0).all()
