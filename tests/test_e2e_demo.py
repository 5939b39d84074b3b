"""`geotool demo` end to end, and every output checked against an independent re-derivation.

One demo run per test module (``pytest --dist loadscope`` keeps the module on one worker).
Constraints are re-derived from the *input files* with shapely and rasterio, not from geotool's
own stack; region totals are compared with exactextract called directly; site metrics with the
documented formulas.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from exactextract import exact_extract
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds

from geotool.grid import Grid
from geotool.io.vector import apply_filter
from geotool.suitability import load_profile
from geotool.suitability.specs import ClassConstraint, RangeConstraint, VectorConstraint

PROFILES = ("datacenter", "windfarm", "solarfarm", "carbon_sink", "geothermal_heat")
SAMPLE = 6000  # scored pixels per profile checked against every constraint

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("e2e") / "demo"
    started = time.perf_counter()
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "geotool",
            "demo",
            "--out",
            str(out),
            "--top",
            "3",
            "--sensitivity",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    print(f"geotool demo took {time.perf_counter() - started:.1f} s")
    return out


def grid_of(path: Path) -> Grid:
    with rasterio.open(path) as ds:
        return Grid(ds.crs, ds.transform, (ds.height, ds.width))


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1, masked=True).astype("float64").filled(np.nan)


def input_on_grid(demo: Path, name: str, grid: Grid, resampling: Resampling) -> np.ndarray:
    """An input raster warped onto the grid with rasterio directly (independent of geotool)."""
    out = np.full(grid.shape, np.nan, dtype="float64")
    with rasterio.open(demo / "inputs" / f"{name}.tif") as src:
        reproject(
            rasterio.band(src, 1),
            out,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            dst_nodata=np.nan,
            resampling=resampling,
        )
    return out


def study_vector(demo: Path, layer: str, crs: Any) -> gpd.GeoDataFrame:
    import tomllib

    study = tomllib.loads((demo / "inputs" / "study.toml").read_text())
    entry = study["layers"][layer]
    gdf = gpd.read_file(demo / "inputs" / entry["path"], layer=entry.get("layer"))
    return gdf.to_crs(crs)


def test_outputs_exist_and_manifest_is_complete(demo: Path) -> None:
    names = {p.name for p in demo.iterdir()}
    for p in PROFILES:
        for f in (
            f"score_{p}.tif",
            f"limiting_{p}.tif",
            f"stability_{p}.tif",
            f"sites_{p}.gpkg",
            f"sites_{p}.parquet",
            f"regions_{p}.csv",
            f"regions_{p}.gpkg",
        ):
            assert f in names, f
    assert {"carbon_regions.csv", "carbon_vintages.csv", "map.html", "manifest.json"} <= names
    assert not [n for n in names if n.startswith(".")]  # no work or temporary files left
    m = json.loads((demo / "manifest.json").read_text())
    assert m["grid"]["crs"] == "EPSG:32649"
    assert all(len(i["sha256"]) == 64 for i in m["inputs"]) and len(m["inputs"]) >= 15
    # one GeoPackage serves three layers: each is listed with the layer it reads, one checksum
    infra = {i["role"]: i for i in m["inputs"] if i["path"].endswith("infrastructure.gpkg")}
    assert {r: i.get("layer") for r, i in infra.items()} == {
        "roads": "roads",
        "power_lines": "power_lines",
        "substations": "substations",
    }
    assert len({i["sha256"] for i in infra.values()}) == 1
    assert set(m["limiting_codes"]) == set(PROFILES)
    assert {"rasterio", "numpy", "gdal"} <= set(m["versions"])
    assert m["timings_s"]["total"] > 0 and "map" in m["timings_s"]
    assert "map.html" in m["outputs"]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_cog_validates(demo: Path, profile: str) -> None:
    for name in (f"score_{profile}.tif", f"limiting_{profile}.tif", f"stability_{profile}.tif"):
        with rasterio.open(demo / name) as ds:
            assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG", name
            assert ds.profile["tiled"] and ds.block_shapes[0] == (512, 512)
            assert len(ds.overviews(1)) >= 1
            assert ds.crs.to_epsg() == 32649
    score = read(demo / f"score_{profile}.tif")
    finite = score[np.isfinite(score)]
    assert finite.size > 1000 and finite.min() >= 0 and finite.max() <= 1
    stab = read(demo / f"stability_{profile}.tif")
    assert np.nanmin(stab) >= 0 and np.nanmax(stab) <= 1
    assert np.array_equal(np.isfinite(stab), np.isfinite(score))


def slope_deg(dem: np.ndarray, res: float) -> np.ndarray:
    """Horn (1981) slope, as gdaldem computes it; NaN on the one-pixel border."""
    z = np.pad(dem, 1, constant_values=np.nan)
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * res)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * res)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy)))


@pytest.mark.parametrize("profile", PROFILES)
def test_no_score_pixel_inside_an_excluding_constraint(demo: Path, profile: str) -> None:
    """Re-derive each constraint from the inputs for a sample of scored pixels."""
    prof = load_profile(profile)
    grid = grid_of(demo / f"score_{profile}.tif")
    score = read(demo / f"score_{profile}.tif")
    rows, cols = np.nonzero(np.isfinite(score))
    pick = np.random.default_rng(0).choice(len(rows), min(SAMPLE, len(rows)), replace=False)
    rows, cols = rows[pick], cols[pick]
    xs, ys = grid.xy(rows, cols)
    pts = shapely.points(xs, ys)
    cache: dict[str, np.ndarray] = {}
    checked = 0
    for c in prof.constraints:
        if isinstance(c, VectorConstraint):
            gdf = apply_filter(study_vector(demo, c.layer, grid.crs), c.where, c.layer)
            d = np.min([shapely.distance(pts, g) for g in gdf.geometry.values], axis=0)
            if c.exclude == "inside":
                # exact circular buffer: a scored pixel centre is farther than the buffer
                assert (d > c.buffer_m - 1e-6).all() if c.buffer_m > 0 else (d > 0).all(), c.name
            else:
                assert (d <= c.buffer_m + 1e-6).all(), c.name
            checked += 1
        elif isinstance(c, ClassConstraint):
            if c.layer not in cache:
                cache[c.layer] = input_on_grid(demo, c.layer, grid, Resampling.nearest)
            values = cache[c.layer][rows, cols]
            codes = list(c.codes)
            if c.mode == "exclude":
                assert not np.isin(values, codes).any(), c.name
            else:
                assert np.isin(values[np.isfinite(values)], codes).all(), c.name
            checked += 1
        elif isinstance(c, RangeConstraint):
            if c.layer == "slope":
                dem = cache.setdefault("dem", input_on_grid(demo, "dem", grid, Resampling.bilinear))
                values, tol = slope_deg(dem, grid.res)[rows, cols], 0.01
            elif c.layer == "dem":
                dem = cache.setdefault("dem", input_on_grid(demo, "dem", grid, Resampling.bilinear))
                values, tol = dem[rows, cols], 1e-3
            else:
                continue  # derived layers (e.g. temperature at depth) are tested in resources
            ok = np.isfinite(values)
            if c.min is not None:
                assert (values[ok] >= c.min - tol).all(), c.name
            if c.max is not None:
                assert (values[ok] <= c.max + tol).all(), c.name
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize("profile", PROFILES)
def test_sites_obey_their_rules(demo: Path, profile: str) -> None:
    prof = load_profile(profile)
    sites = gpd.read_file(demo / f"sites_{profile}.gpkg")
    assert len(sites) >= 1
    assert list(sites["rank"]) == list(range(1, len(sites) + 1))
    assert (np.diff(sites["score"].to_numpy()) <= 1e-9).all()
    # area = whole pixels x pixel area; the outline, simplified by half a pixel, is a little
    # smaller, never larger
    px_km2 = grid_of(demo / f"score_{profile}.tif").res ** 2 / 1e6
    pixels = sites["area_km2"].to_numpy() / px_km2
    np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-6)
    outline = sites.geometry.area.to_numpy() / 1e6
    assert (outline <= sites["area_km2"].to_numpy() + 1e-9).all()
    # simplifying by t = half a pixel moves the boundary by at most t: the area lost is at most
    # the pixel outline's perimeter x t, and a stair-step outline is at most sqrt(2) x longer
    # than the simplified one
    half_px_m = grid_of(demo / f"score_{profile}.tif").res / 2
    lost_max = sites.geometry.length.to_numpy() * np.sqrt(2) * half_px_m / 1e6
    assert (sites["area_km2"].to_numpy() - outline <= lost_max).all()
    spec = prof.sites
    assert (sites["area_km2"] >= spec.min_area_km2 - 1e-9).all()
    if spec.max_area_km2:
        assert (sites["area_km2"] <= spec.max_area_km2 * 1.01).all()
    if spec.min_separation_m and len(sites) > 1:
        geoms = sites.geometry.values
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="dwithin", distance=spec.min_separation_m - 1.0)
        assert (left == right).all()
    # no excluded (NaN score) pixel centre inside any site polygon
    grid = grid_of(demo / f"score_{profile}.tif")
    score = read(demo / f"score_{profile}.tif")
    union = shapely.union_all(sites.geometry.values)
    x0, y0, x1, y1 = union.bounds
    sub = grid.crop((x0, y0, x1, y1))
    r0, c0 = grid.rowcol(sub.xs[0], sub.ys[0])
    xx, yy = np.meshgrid(sub.xs, sub.ys)
    inside = shapely.contains_xy(union, xx, yy)
    window = score[int(r0) : int(r0) + sub.height, int(c0) : int(c0) + sub.width]
    assert np.isfinite(window[inside]).all()


def test_windfarm_energy_and_datacenter_latency(demo: Path) -> None:
    wind = gpd.read_file(demo / "sites_windfarm.gpkg")
    assert np.allclose(
        wind["energy_gwh_per_yr"],
        wind["capacity_mw"] * wind["capacity_factor"] * 8760 / 1000,
        rtol=1e-9,
    )
    dc = gpd.read_file(demo / "sites_datacenter.gpkg")
    cities = study_vector(demo, "demand_centres", dc.crs)
    centroids = dc.geometry.centroid
    d_km = np.array([cities.distance(c).min() for c in centroids]) / 1000
    # documented formula: round trip at 4.9 µs/km one way, route factor 1.5
    assert np.allclose(dc["latency_ms"], 2 * d_km * 1.5 * 0.0049, rtol=1e-3)


@pytest.mark.parametrize("profile", PROFILES)
def test_region_totals_equal_exactextract(demo: Path, profile: str) -> None:
    table = pd.read_csv(demo / f"regions_{profile}.csv")
    regions = gpd.read_file(demo / "inputs" / "regions.geojson")
    assert sorted(table["region"]) == sorted(regions["name"])
    with rasterio.open(demo / f"score_{profile}.tif") as ds:
        grid = Grid(ds.crs, ds.transform, (ds.height, ds.width))
        ref = exact_extract(
            ds,
            regions.to_crs(ds.crs),
            ["count", "mean", "max"],
            include_cols=["name"],
            output="pandas",
        )
    ref = ref.set_index("name")
    got = table.set_index("region")
    eligible = ref["count"] * grid.pixel_area / 1e6
    assert np.allclose(got.loc[ref.index, "eligible_km2"], eligible, rtol=1e-3)
    ok = ref["count"] > 0
    assert np.allclose(got.loc[ref.index[ok], "score_mean"], ref.loc[ok, "mean"], rtol=1e-3)
    assert np.allclose(got.loc[ref.index[ok], "score_max"], ref.loc[ok, "max"], rtol=1e-6)
    # eligible areas sum to the region-wide eligible area
    score = read(demo / f"score_{profile}.tif")
    total = np.isfinite(score).sum() * grid.pixel_area / 1e6
    assert got["eligible_km2"].sum() == pytest.approx(total, rel=0.01)


def test_carbon_tables(demo: Path) -> None:
    regions = pd.read_csv(demo / "carbon_regions.csv")
    assert len(regions) == 10 and (regions["stock_tco2e"] > 0).all()
    vintages = pd.read_csv(demo / "carbon_vintages.csv")
    assert len(vintages) >= 1


def test_overlay_bounds_match_the_score_extent(demo: Path) -> None:
    """The map's score overlay covers the raster's EPSG:4326 extent within one pixel."""
    from geotool.webmap import build_model, load_composition

    model = build_model(demo, load_composition("windfarm"))
    overlay = next(r for r in model.images if r.source.endswith("score_windfarm.tif"))
    (south, west), (north, east) = overlay.bounds
    with rasterio.open(demo / "score_windfarm.tif") as ds:
        w, s, e, n = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=21)
        to_ll = Transformer.from_crs(ds.crs, "EPSG:4326", always_xy=True)
        x, y = ds.transform.c, ds.transform.f
        lon0, lat0 = to_ll.transform(x, y)
        lon1, lat1 = to_ll.transform(x + ds.res[0], y - ds.res[1])
    px_lon, px_lat = abs(lon1 - lon0), abs(lat1 - lat0)
    assert abs(west - w) <= px_lon and abs(east - e) <= px_lon
    assert abs(south - s) <= px_lat and abs(north - n) <= px_lat


@pytest.mark.browser
def test_demo_map_in_headless_chromium(demo: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.test_webmap_browser import ARGS, CHROMIUM, _click_point, _layer, _open

    html = demo / "map.html"
    assert html.stat().st_size <= 15e6
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        started = time.perf_counter()
        page, log = _open(chromium, html)
        ready_s = time.perf_counter() - started
        overlays = page.locator(".leaflet-control-layers-overlays label").count()
        assert overlays >= 10
        assert page.evaluate(
            "[...document.querySelectorAll('img.geotool-image')].every(i => i.naturalWidth > 0)"
        )
        assert page.locator(".geotool-legend").count() >= 1
        # a pixel sampled at the best data-centre site lands inside its polygon on the map
        sites = gpd.read_file(demo / "sites_datacenter.gpkg")
        best = sites.iloc[0]
        inner = (
            gpd.GeoSeries([best.geometry.buffer(-50).representative_point()], crs=sites.crs)
            .to_crs("EPSG:4326")
            .iloc[0]
        )
        page.evaluate(f"geotool.maps[0].setView([{inner.y}, {inner.x}], 13, {{animate: false}})")
        contains = page.evaluate(
            f"""([lat, lon]) => {{
                const map = geotool.maps[0];
                const site = {_layer("Data centre — candidate sites")}.getLayers().find(
                    l => l.feature.properties.rank === 1);
                return site._containsPoint(map.latLngToLayerPoint([lat, lon]));
            }}""",
            [inner.y, inner.x],
        )
        assert contains
        page.mouse.click(*_click_point(page, inner.y, inner.x))
        page.wait_for_selector(".leaflet-popup-content")
        text = page.inner_text(".leaflet-popup-content")
        assert "Rank" in text and f"{best['score']:.3f}" in text
        page.screenshot(path=str(tmp_path / "demo_map.png"))
        log.assert_clean(html.as_uri())
        print(f"demo map.html {html.stat().st_size / 1e6:.1f} MB, ready in {ready_s:.2f} s")
        chromium.close()


def test_profile_map_shows_the_study_input_layers(demo: Path) -> None:
    """The windfarm composition's wind speed and land cover are study inputs, which `run`
    does not write: the map reads them through the manifest, onto the study's extent."""
    from geotool.webmap import build_model, load_composition
    from geotool.webmap.model import _input_raster

    comp = load_composition("windfarm")
    model = build_model(demo, comp, max_size=400)
    assert "wind_speed_100m.tif" not in model.missing and "land_cover.tif" not in model.missing
    layer = next(r for r in comp.rasters if r.file == "wind_speed_100m.tif")
    manifest = json.loads((demo / "manifest.json").read_text())
    found = _input_raster(layer, demo, manifest, [demo / "score_windfarm.tif"], 400)
    assert found is not None
    warped, source = found
    record = next(i for i in manifest["inputs"] if i["role"] == "wind_speed_100m")
    assert source == Path(record["path"]).name
    # the same pixels as rasterio's own reproject of the input onto that Web Mercator grid,
    # with the resampling geotool's loader picks for it (average from a finer source)
    from pyproj import CRS

    from geotool.catalog import get_layer
    from geotool.io.raster import choose_resampling, open_raster

    h, w = warped.values.shape
    target = Grid(CRS.from_user_input("EPSG:3857"), warped.transform, (h, w))
    method = choose_resampling(
        get_layer("wind_speed_100m"), open_raster(demo / record["path"]), target
    )
    ref = np.full(warped.values.shape, np.nan)
    with rasterio.open(demo / record["path"]) as ds:
        reproject(
            rasterio.band(ds, 1),
            ref,
            dst_transform=warped.transform,
            dst_crs="EPSG:3857",
            dst_nodata=np.nan,
            resampling=method,
        )
    both = np.isfinite(ref) & np.isfinite(warped.values)
    assert both.mean() > 0.9
    np.testing.assert_allclose(warped.values[both], ref[both], atol=0.05)
