"""A realistic synthetic pipeline output folder for the web-map tests, and checks of it.

``build_output(folder)`` writes what ``geotool run`` leaves behind for the wind-farm and
solar-farm profiles, on a UTM grid (EPSG:32649, 100 m, 1500 x 1700 px) near Shaoguan
(113.6 E, 24.8 N): score rasters with NaN holes, a stability raster, a land-cover class raster,
sites and region GeoPackages (one region is named ``<script>alert(1)</script>``), substations
and a manifest. Site polygons sit on pixel edges and the score inside them is exactly
``SITE_SCORE``, so a test can check that raster and polygons line up on the rendered map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
from affine import Affine
from pyproj import Transformer
from scipy.ndimage import gaussian_filter
from shapely.geometry import Point, Polygon, box

CRS = "EPSG:32649"
RES = 100.0
WIDTH, HEIGHT = 1500, 1700
SITE_SCORE = 0.95
EVIL_REGION = "<script>alert(1)</script>"
EVIL_SUBSTATION = '<img src=x onerror="alert(2)">'
# as json.dumps writes suitability.limiting_codes (int keys become strings)
LIMITING_CODES = {
    "-1": "nodata",
    "0": "none",
    "1": "constraint:water_bodies",
    "2": "constraint:protected_areas",
    "3": "criterion:wind_speed",
    "4": "criterion:slope",
}


@dataclass(frozen=True)
class Output:
    folder: Path
    transform: Affine
    sites: gpd.GeoDataFrame
    regions: gpd.GeoDataFrame


def _origin() -> tuple[float, float]:
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(113.6, 24.8)
    # snap to whole pixels so site rectangles fall on pixel edges
    left = round((x - WIDTH * RES / 2) / RES) * RES
    top = round((y + HEIGHT * RES / 2) / RES) * RES
    return left, top


def _write(path: Path, data: np.ndarray, transform: Affine, nodata: float | int | None) -> None:
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": data.dtype,
        "crs": CRS,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def _sites(left: float, top: float) -> gpd.GeoDataFrame:
    def rect(col: int, row: int, w: int, h: int) -> Polygon:
        x0, y0 = left + col * RES, top - row * RES
        return box(x0, y0 - h * RES, x0 + w * RES, y0)

    ell = rect(1000, 300, 40, 20).union(rect(1000, 320, 15, 25))
    geoms = [rect(300, 400, 30, 20), rect(700, 1100, 25, 35), ell]
    n = len(geoms)
    return gpd.GeoDataFrame(
        {
            "site_id": [101, 102, 103],
            "rank": [2, 1, 3],
            "score": [0.91, 0.95, 0.88],
            "area_km2": [g.area / 1e6 for g in geoms],
            "m_wind_speed": [0.93, 0.97, 0.81],
            "m_slope": [0.88, 1.0, 0.75],
            "m_grid_distance": [0.7, 0.9, 0.95],
            "capacity_mw": [18.0, 26.25, 34.5],
            "energy_gwh_per_yr": [44.2, 61.0, 80.3],
            "note": ["ridge & <valley>", "plateau", "saddle"][:n],
        },
        geometry=geoms,
        crs=CRS,
    )


def _regions(left: float, top: float) -> gpd.GeoDataFrame:
    right, bottom = left + WIDTH * RES, top - HEIGHT * RES
    third = (right - left) / 3
    geoms = [box(left + i * third, bottom, left + (i + 1) * third, top) for i in range(3)]
    return gpd.GeoDataFrame(
        {
            "region": ["Wujiang", "Qujiang", EVIL_REGION],
            "area_km2": [g.area / 1e6 for g in geoms],
            "eligible_km2": [312.5, 48.0, 150.25],
            "score_mean": [0.61, 0.42, 0.55],
            "potential": [937.5, 144.0, 450.75],
        },
        geometry=geoms,
        crs=CRS,
    )


def build_output(folder: Path) -> Output:
    """Write the synthetic output folder and return what a test needs to know about it."""
    folder.mkdir(parents=True, exist_ok=True)
    left, top = _origin()
    transform = Affine(RES, 0.0, left, 0.0, -RES, top)
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    # a smooth trend plus spatially correlated texture, like terrain-driven scores (the texture
    # makes the PNG overlays about as hard to compress as real ones)
    texture = gaussian_filter(np.random.default_rng(7).normal(size=(HEIGHT, WIDTH)), 2.0)
    score = 0.4 + 0.25 * np.sin(cols / 170.0) * np.cos(rows / 230.0) + 0.2 * texture
    score = score.astype(np.float32)
    score[(rows - 900) ** 2 + (cols - 450) ** 2 < 120**2] = np.nan  # a reservoir
    score[1500:1600, :] = np.nan  # an excluded strip
    sites = _sites(left, top)
    inside = rasterio.features.rasterize(
        sites.geometry, out_shape=(HEIGHT, WIDTH), transform=transform, fill=0, default_value=1
    ).astype(bool)
    score[inside] = SITE_SCORE
    _write(folder / "score_windfarm.tif", score, transform, None)
    solar = (0.9 - score).astype(np.float32)
    _write(folder / "score_solarfarm.tif", solar, transform, None)
    stability = np.clip(score + 0.1, 0, 1).astype(np.float32)
    _write(folder / "stability_windfarm.tif", stability, transform, None)
    limiting = np.where(cols < WIDTH / 2, 3, 4).astype(np.int16)  # criteria
    limiting[np.isnan(score)] = 1  # the reservoir: constraint water_bodies
    limiting[1500:1600, :] = 2  # the strip: constraint protected_areas
    _write(folder / "limiting_windfarm.tif", limiting, transform, -32768)
    land = np.full((HEIGHT, WIDTH), 10, np.uint8)
    land[:, : WIDTH // 3] = 40
    land[np.isnan(score)] = 80
    land[:5, :] = 0  # no data
    _write(folder / "land_cover.tif", land, transform, 0)

    sites.to_file(folder / "sites_windfarm.gpkg", driver="GPKG")
    regions = _regions(left, top)
    regions.to_file(folder / "regions_windfarm.gpkg", driver="GPKG")
    subs = gpd.GeoDataFrame(
        {"name": ["Shaoguan 220 kV", EVIL_SUBSTATION]},
        geometry=[Point(left + 20_000, top - 30_000), Point(left + 90_000, top - 120_000)],
        crs=CRS,
    )
    subs.to_file(folder / "substations.gpkg", driver="GPKG")
    manifest = {
        "geotool_manifest": 1,
        "limiting_codes": {"windfarm": LIMITING_CODES},
        "study": {"name": "Test study", "synthetic": False},
        "inputs": {
            "dem": {"path": "dem.tif", "synthetic": True},
            "wind_speed_100m": {"path": "wind.tif", "synthetic": True},
            "regions": {"path": "regions.geojson", "synthetic": False},
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return Output(folder=folder, transform=transform, sites=sites, regions=regions)


def test_fixture_sites_lie_on_site_score(tmp_path: Path) -> None:
    out = build_output(tmp_path / "out")
    with rasterio.open(out.folder / "score_windfarm.tif") as src:
        assert src.crs.to_epsg() == 32649 and src.shape == (HEIGHT, WIDTH)
        c = out.sites.geometry.representative_point()
        vals = [v[0] for v in src.sample(zip(c.x, c.y, strict=True))]
        assert np.allclose(vals, SITE_SCORE)
        lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(
            *src.xy(HEIGHT // 2, WIDTH // 2)
        )
        assert abs(lon - 113.6) < 0.01 and abs(lat - 24.8) < 0.01
        data = src.read(1)
        assert np.isnan(data).any() and np.isfinite(data).mean() > 0.8
