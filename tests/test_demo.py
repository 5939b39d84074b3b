"""The embedded demo region: stated ranges, consistency between layers, determinism, CLI."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from pyproj import Transformer

from geotool.demo import build_demo
from geotool.demo.build import region_area_km2
from geotool.stack import check_study
from geotool.study import load_study


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "inputs"
    build_demo(folder)
    return folder


def read(folder, name):
    with rasterio.open(folder / f"{name}.tif") as ds:
        a = ds.read(1, masked=True).astype("float64").filled(np.nan)
        return a, ds


def test_demo_layers_meet_stated_ranges(demo_inputs):
    dem, ds = read(demo_inputs, "dem")
    assert ds.crs.to_epsg() == 32649 and ds.res == (100.0, 100.0)
    h, w = dem.shape
    assert 140 <= w * 0.1 <= 160 and 160 <= h * 0.1 <= 180  # ~150 × 170 km
    assert 1700 <= np.nanmax(dem) <= 2000 and np.nanmin(dem) >= 0
    lc, _ = read(demo_inputs, "land_cover")
    assert set(np.unique(lc[np.isfinite(lc)]).astype(int)) <= {10, 20, 30, 40, 50, 60, 80}
    land = np.isfinite(lc) & (lc > 0)
    forest_share = float(np.mean(lc[land] == 10))
    assert 0.66 <= forest_share <= 0.76  # Shaoguan: 1.274 of 1.84 Mha stocked forest (69 %)
    # forestry land not stocked (sparse, shrub, unstocked: 1.42 - 1.274 Mha = 8 %) as shrub
    # and grass, where afforestation and solar farms can go
    assert 0.05 <= float(np.isin(lc[land], (20, 30)).mean()) <= 0.11
    cover, _ = read(demo_inputs, "forest_cover")
    agb, _ = read(demo_inputs, "biomass")
    gs, _ = read(demo_inputs, "growing_stock")
    forest = lc == 10
    assert np.nanmean(cover[forest]) > 50 and np.nanmean(cover[~forest]) < 20
    assert np.nanmean(agb[forest]) > 5 * np.nanmean(agb[~forest])
    assert np.corrcoef(cover[forest], agb[forest])[0, 1] > 0.5
    assert (gs[forest] > 0).all() and np.nanmean(gs[forest]) == pytest.approx(
        np.nanmean(agb[forest]) / 0.5
    )
    for name, lo, hi in [("wind_speed_100m", 4.0, 8.0), ("ghi", 1200.0, 1400.0)]:
        a, ds = read(demo_inputs, name)
        assert ds.crs.to_epsg() == 4326
        assert lo - 0.01 <= np.nanmin(a) and np.nanmax(a) <= hi + 0.01, name


def test_wind_rises_with_elevation_and_temperature_follows_lapse(tmp_path, demo_inputs):
    from geotool.stack import load_stack

    study = load_study(demo_inputs / "study.toml")
    ds = load_stack(
        study,
        layers=["dem", "wind_speed_100m", "air_temperature", "heat_flow", "geothermal_gradient"],
    )
    dem = ds.dem.values[::4, ::4].ravel()
    wind = ds.wind_speed_100m.values[::4, ::4].ravel()
    temp = ds.air_temperature.values[::4, ::4].ravel()
    ok = np.isfinite(dem) & np.isfinite(wind) & np.isfinite(temp)
    assert np.corrcoef(dem[ok], wind[ok])[0, 1] > 0.6
    slope, intercept = np.polyfit(dem[ok], temp[ok], 1)
    assert slope == pytest.approx(-0.0065, abs=0.0007)  # 6.5 °C/km lapse rate
    assert intercept + slope * 100 == pytest.approx(20.0, abs=0.7)  # ≈20 °C at 100 m
    q = ds.heat_flow.values
    g = ds.geothermal_gradient.values
    assert np.nanmax(q) > 90 and 55 < np.nanmedian(q) < 80  # background + hot-spring anomalies
    assert np.allclose(g, q / 2.5, rtol=0.02, equal_nan=True)  # Fourier: gradient = q / k


def test_demo_vectors(demo_inputs):
    counties = gpd.read_file(demo_inputs / "regions.geojson")
    assert len(counties) == 10 and counties["name"].is_unique
    lines = gpd.read_file(demo_inputs / "infrastructure.gpkg", layer="power_lines")
    assert set(lines["voltage_kv"]) == {220.0, 500.0}
    subs = gpd.read_file(demo_inputs / "infrastructure.gpkg", layer="substations")
    assert len(subs) >= 3
    for layer in ("roads",):
        assert len(gpd.read_file(demo_inputs / "infrastructure.gpkg", layer=layer)) >= 10
    assert len(gpd.read_file(demo_inputs / "protected_areas.gpkg")) >= 3
    water = gpd.read_file(demo_inputs / "water_bodies.gpkg")
    assert {"river", "reservoir"} <= set(water["kind"])
    demand = gpd.read_file(demo_inputs / "demand_centres.geojson")
    assert demand.geometry.y.max() < counties.total_bounds[1]  # all to the south
    problems, _ = check_study(load_study(demo_inputs / "study.toml"))
    assert problems == []


def test_demo_is_deterministic(tmp_path, demo_inputs):
    build_demo(tmp_path / "again")
    for name in ("dem.tif", "land_cover.tif", "wind_speed_100m.tif", "regions.geojson"):
        a = hashlib.sha256((demo_inputs / name).read_bytes()).hexdigest()
        b = hashlib.sha256((tmp_path / "again" / name).read_bytes()).hexdigest()
        assert a == b, name


def test_demo_over_real_shaoguan_counties(tmp_path, shaoguan_counties):
    folder = tmp_path / "inputs"
    build_demo(folder, region_file=shaoguan_counties)
    counties = gpd.read_file(folder / "regions.geojson")
    assert len(counties) == 10 and "乳源瑶族自治县" in set(counties["name"])
    study = load_study(folder / "study.toml")
    problems, report = check_study(study)
    assert problems == [] and report["grid"]["crs"] == "EPSG:32649"
    assert 17_500 < region_area_km2(counties) < 19_500  # Shaoguan ≈ 18,400 km²
    with rasterio.open(folder / "dem.tif") as ds:
        west, south, east, north = rasterio.warp.transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
    minx, miny, maxx, maxy = counties.total_bounds
    assert west <= minx and south <= miny and east >= maxx and north >= maxy
    lon, lat = Transformer.from_crs("EPSG:32649", "EPSG:4326", always_xy=True).transform(
        *np.mean([[ds.bounds.left, ds.bounds.bottom], [ds.bounds.right, ds.bounds.top]], axis=0)
    )
    assert 113 < lon < 114.5 and 24 < lat < 25.5


@pytest.mark.slow
def test_geotool_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    res = subprocess.run(
        [sys.executable, "-m", "geotool", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert (out / "inputs" / "study.toml").exists() and (out / "manifest.json").exists()
    assert not list(tmp_path.glob(".geotool-staging-*"))


def test_demo_inputs_build_for_a_region_across_180(tmp_path: Path) -> None:
    """`demo --region` on Fiji stored split at 180° crashed ("negative dimensions" in the
    lon/lat inputs); its lon/lat layers now run past 180° and the study checks clean."""
    import shapely

    from geotool.cli import main

    region = tmp_path / "fiji.geojson"
    gpd.GeoDataFrame(
        {"name": ["Viti", "Lau"]},
        geometry=[
            shapely.box(179.2, -17.9, 180.0, -17.5),
            shapely.box(-180.0, -17.9, -179.7, -17.5),
        ],
        crs="EPSG:4326",
    ).to_file(region, driver="GeoJSON")
    study = build_demo(tmp_path / "inputs", region_file=region)
    with rasterio.open(tmp_path / "inputs" / "ghi.tif") as ds:
        west, _, east, _ = ds.bounds
    assert west < 179.2 and east > 180.3  # one continuous lon/lat raster across 180°
    assert main(["check", str(study)]) in (0, None)
