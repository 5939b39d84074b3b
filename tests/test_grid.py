"""The analysis grid: constructors, arithmetic (property-based) and CRS choice."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geotool.errors import CRSError, InputError
from geotool.grid import Grid, resolve_crs, utm_crs

coords = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
sizes = st.floats(min_value=1.0, max_value=5e4, allow_nan=False)
resolutions = st.sampled_from([1.0, 10.0, 25.0, 30.0, 100.0, 250.0, 1000.0])


@settings(max_examples=300, deadline=None)
@given(x=coords, y=coords, w=sizes, h=sizes, res=resolutions)
def test_from_bounds_covers_bounds_with_aligned_edges(x, y, w, h, res):
    g = Grid.from_bounds((x, y, x + w, y + h), res, "EPSG:32649")
    left, bottom, right, top = g.bounds
    tol = 1e-6 * max(1.0, abs(x), abs(y))
    assert left <= x + tol and bottom <= y + tol
    assert right >= x + w - tol and top >= y + h - tol
    # never more than one extra pixel on each side
    assert right - left < w + 2 * res + tol and top - bottom < h + 2 * res + tol
    # edges on multiples of the resolution (target-aligned pixels)
    assert abs(left / res - round(left / res)) < 1e-6
    assert abs(top / res - round(top / res)) < 1e-6
    assert g.res == res and g.pixel_area == res * res


@settings(max_examples=200, deadline=None)
@given(
    h=st.integers(1, 300),
    w=st.integers(1, 300),
    r=st.integers(0, 299),
    c=st.integers(0, 299),
    n=st.integers(0, 20),
)
def test_xy_rowcol_roundtrip_and_window_pad(h, w, r, c, n):
    g = Grid.from_bounds((510_000, 2_700_000, 510_000 + w * 30, 2_700_000 + h * 30), 30, 32649)
    x, y = g.xy(r, c)
    rr, cc = g.rowcol(x, y)
    assert (int(rr), int(cc)) == (r, c)
    # a window's pixel (0, 0) is the parent's pixel (r, c)
    sub = g.window(r, c, 5, 7)
    assert np.allclose(sub.xy(0, 0), g.xy(r, c))
    # pad then un-pad is the identity; padding keeps pixel centres aligned
    assert g.pad(n).pad(-n) == g
    assert np.allclose(g.pad(n).xy(n, n), g.xy(0, 0))
    assert g.pad(n).shape == (h + 2 * n, w + 2 * n)


@settings(max_examples=100, deadline=None)
@given(h=st.integers(2, 200), w=st.integers(2, 200), block=st.integers(1, 64))
def test_blocks_tile_the_grid_exactly(h, w, block):
    g = Grid.from_bounds((0, 0, w * 10, h * 10), 10, 32649)
    count = np.zeros(g.shape, dtype=int)
    for r, c, bh, bw in g.blocks(block):
        count[r : r + bh, c : c + bw] += 1
    assert (count == 1).all()


def test_crop_is_inverse_of_window():
    g = Grid.from_bounds((0, 0, 1000, 1000), 10, 32649)
    sub = g.window(10, 20, 30, 40)
    assert g.crop(sub.bounds) == sub


def test_centres_and_bounds():
    g = Grid.from_bounds((0, 0, 100, 50), 10, 32649)
    assert g.shape == (5, 10)
    assert g.xs[0] == 5 and g.xs[-1] == 95
    assert g.ys[0] == 45 and g.ys[-1] == 5


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(113.6, 24.8, 32649), (123.4, 41.8, 32651), (-70.6, -33.4, 32719), (2.35, 48.85, 32631)],
)
def test_utm_zone(lon, lat, epsg):
    assert utm_crs(lon, lat).to_epsg() == epsg


def test_from_region_auto_picks_utm_of_shaoguan(shaoguan_counties):
    region = gpd.read_file(shaoguan_counties)
    g = Grid.from_region(region, 100)
    assert g.crs.to_epsg() == 32649
    (south, west), (north, east) = g.latlon_bounds()
    minx, miny, maxx, maxy = region.total_bounds
    # the grid covers the region (edges snapped outward) and not much more
    assert west <= minx and south <= miny and east >= maxx and north >= maxy
    assert east - maxx < 0.05 and north - maxy < 0.05


def test_latlon_bounds_are_edges():
    g = Grid.from_bounds((166_021.44, 0.0, 833_978.56, 100_000), 1000, 32631)
    (south, west), (_north, east) = g.latlon_bounds()
    assert south == pytest.approx(0.0, abs=1e-6)
    assert west < 0.0 < 6.0 < east  # zone 31 spans 0..6°E; its edges bulge outward


def test_bad_grids_raise():
    with pytest.raises(InputError, match="resolution"):
        Grid.from_bounds((0, 0, 10, 10), 0, 32649)
    with pytest.raises(InputError):
        Grid.from_bounds((0, 0, -10, 10), 1, 32649)
    with pytest.raises(CRSError, match="not a metric"):
        resolve_crs("EPSG:4326")
    r = gpd.GeoSeries([shapely.box(0, 0, 1, 1)])  # no CRS
    with pytest.raises(CRSError, match="no CRS"):
        Grid.from_region(r, 100)


def test_grid_is_immutable_and_hashable():
    g = Grid.from_bounds((0, 0, 100, 100), 10, 32649)
    with pytest.raises(AttributeError):
        g.shape = (1, 1)  # type: ignore[misc]
    assert {g: 1}[Grid.from_bounds((0, 0, 100, 100), 10, "EPSG:32649")] == 1


def _lonlat_box(west: float, south: float, east: float, north: float) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.box(west, south, east, north)], crs="EPSG:4326")


def test_web_mercator_is_refused_where_it_inflates_areas() -> None:
    shaoguan = _lonlat_box(113.0, 24.3, 114.3, 25.3)  # worst at 25.3°N: 1/cos²φ = 1.2235
    with pytest.raises(CRSError) as err:
        Grid.from_region(shaoguan, 1000, "EPSG:3857")
    message = str(err.value)
    assert "EPSG:3857" in message and "+22.3 %" in message and "+proj=aea" in message
    assert "\n" not in message and err.value.where == "study.crs"
    # without a region (study check) only the units are validated
    assert resolve_crs("EPSG:3857").to_epsg() == 3857
    # near the equator Web Mercator is (almost) true to area: accepted
    equator = _lonlat_box(9.5, -0.5, 10.5, 0.5)
    assert Grid.from_region(equator, 1000, "EPSG:3857").crs.to_epsg() == 3857


@pytest.mark.parametrize(
    ("box", "crs", "epsg"),
    [
        ((113.0, 24.3, 114.3, 25.3), "auto", 32649),
        ((116.0, 23.0, 118.0, 25.0), "EPSG:32650", 32650),
        ((145.0, -38.0, 150.0, -33.0), "EPSG:3577", 3577),  # Australian Albers (equal area)
        ((5.0, 47.0, 15.0, 53.0), "EPSG:3035", 3035),  # ETRS89-LAEA Europe (equal area)
        # spans UTM zones 49 and 50 (the edge at 114°E): "auto" takes the centre's zone
        ((111.0, 23.0, 117.0, 26.0), "auto", 32650),
    ],
)
def test_true_to_area_crs_pass(box: tuple[float, ...], crs: str, epsg: int) -> None:
    assert Grid.from_region(_lonlat_box(*box), 1000, crs).crs.to_epsg() == epsg


def test_auto_utm_is_refused_for_a_region_far_wider_than_its_zone() -> None:
    # 100-125°E: 12.5° either side of the centre's central meridian (111 or 117°E), where the
    # UTM areal scale (k0 (1 + (Δλ cos φ)² / 2))² exceeds 1.02
    china_east = _lonlat_box(100.0, 20.0, 125.0, 40.0)
    with pytest.raises(CRSError, match=r"UTM zone of the region's centre\) distorts areas"):
        Grid.from_region(china_east, 5000, "auto")
    hint = "+proj=aea +lat_1=23.3 +lat_2=36.7 +lat_0=30.0 +lon_0=112.5 +datum=WGS84 +units=m"
    with pytest.raises(CRSError) as err:
        Grid.from_region(china_east, 5000, "auto")
    assert hint in str(err.value)
    # the suggested equal-area CRS is accepted for the same region
    assert Grid.from_region(china_east, 5000, hint).crs.is_projected


@pytest.mark.parametrize(
    "parts",
    [
        [(177.5, -18.5, 180.0, -16.0), (-180.0, -18.5, -179.0, -16.0)],  # split at 180 (GeoJSON)
        [(177.5, -18.5, 181.0, -16.0)],  # one part in 0..360 longitudes
    ],
)
def test_auto_crs_of_a_region_across_180_is_its_own_utm_zone(parts: list) -> None:
    """Fiji stored split at 180°: its plain bounds span -180..180 and centred on Greenwich
    (UTM 31S, a grid stored upside down); the zone of 179.25°E is 60S (EPSG:32760)."""
    import geopandas as gpd
    import shapely

    region = gpd.GeoDataFrame(geometry=[shapely.box(*b) for b in parts], crs="EPSG:4326")
    grid = Grid.from_region(region, 1000.0, "auto")
    assert grid.crs.to_epsg() == 32760
    # 3.5° of longitude at 17.25°S: 3.5 × 111.32 km × cos(17.25°) = 372 km (+ one pixel)
    assert abs(grid.shape[1] - 3.5 * 111.32 * math.cos(math.radians(17.25))) < 8


def test_an_equatorial_region_too_wide_for_utm_gets_a_crs_that_proj_accepts() -> None:
    """A bbox across the equator (3°W..17°E, 1°S..1°N) is refused for UTM; the suggested
    Albers had parallels symmetric about the equator, which PROJ refuses ("|lat_1 + lat_2|
    should be > 0"); the suggestion must itself pass, and keep areas within 2 %."""
    import re

    import geopandas as gpd
    import shapely
    from pyproj import CRS

    from geotool.errors import CRSError

    region = gpd.GeoDataFrame(geometry=[shapely.box(-3.0, -1.0, 17.0, 1.0)], crs="EPSG:4326")
    with pytest.raises(CRSError) as err:
        resolve_crs("auto", region)
    suggested = re.search(r'crs = "([^"]+)"', str(err.value.fix)).group(1)
    crs = CRS.from_user_input(suggested)
    assert resolve_crs(suggested, region) == crs  # accepted by the 2 % areal-scale check
