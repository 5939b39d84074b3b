"""The render model: overlay georeferencing, colours, PNG encoding, escaped GeoJSON, errors."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import dask.array as da
import geopandas as gpd
import matplotlib
import numpy as np
import pytest
import rasterio
import xarray as xr
from PIL import Image
from pyproj import Transformer
from rasterio.warp import transform_bounds
from shapely.geometry import Polygon

from geotool.errors import InputError
from geotool.webmap import build_model, load_composition, render_map
from geotool.webmap.assets import assert_offline, make_offline
from geotool.webmap.compositions import ClassStyle
from geotool.webmap.model import MapModel
from geotool.webmap.provenance import summarise
from geotool.webmap.raster import colorize_classes, colorize_continuous, encode_png
from geotool.webmap.vectors import web_geometries
from tests.test_webmap_data import EVIL_REGION, EVIL_SUBSTATION, SITE_SCORE, Output, build_output

TO_MERC = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Output:
    return build_output(tmp_path_factory.mktemp("webmap") / "out")


@pytest.fixture(scope="module")
def model(out: Output) -> MapModel:
    return build_model(out.folder, load_composition("windfarm"), max_size=1600)


def _image(model: MapModel, source: str):  # type: ignore[no-untyped-def]
    return next(img for img in model.images if img.source == source)


def _pixel(img, lon: float, lat: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The overlay pixel under a lon/lat: linear in Web Mercator between the edge bounds."""
    (south, west), (north, east) = img.bounds
    x0, y0 = TO_MERC.transform(west, north)
    x1, y1 = TO_MERC.transform(east, south)
    x, y = TO_MERC.transform(lon, lat)
    h, w = img.rgba.shape[:2]
    col = int((x - x0) / (x1 - x0) * w)
    row = int((y0 - y) / (y0 - y1) * h)
    return img.rgba[row, col]


def test_overlay_bounds_are_the_raster_extent_within_one_pixel(
    out: Output, model: MapModel
) -> None:
    img = _image(model, "score_windfarm.tif")
    with rasterio.open(out.folder / "score_windfarm.tif") as src:
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds, 21)
    (s, w), (n, e) = img.bounds
    h, wid = img.rgba.shape[:2]
    px_lon, px_lat = (e - w) / wid, (n - s) / h
    assert abs(w - west) <= px_lon and abs(e - east) <= px_lon
    assert abs(s - south) <= px_lat and abs(n - north) <= px_lat
    assert max(h, wid) <= 1600


def test_site_pixels_have_the_site_colour_and_nodata_is_transparent(
    out: Output, model: MapModel
) -> None:
    img = _image(model, "score_windfarm.tif")
    # reference colour straight from matplotlib (vmin 0, vmax 1 in the composition)
    ref = np.asarray(matplotlib.colormaps["viridis"](SITE_SCORE, bytes=True), dtype=int)
    pts = out.sites.to_crs("EPSG:4326").geometry.representative_point()
    for p in pts:
        assert np.abs(_pixel(img, p.x, p.y).astype(int) - ref).max() <= 3
    to_ll = Transformer.from_crs(out.sites.crs, "EPSG:4326", always_xy=True)
    # centre of the reservoir (NaN): row 900, col 450
    t = out.transform
    lon, lat = to_ll.transform(t.c + 450.5 * t.a, t.f + 900.5 * t.e)
    assert _pixel(img, lon, lat)[3] == 0
    assert img.rgba[0, 0, 3] == 0 or img.rgba[-1, -1, 3] == 0  # warped corners: no data
    assert (img.rgba[..., 3] == 255).mean() > 0.7


def test_class_raster_is_nearest_and_uses_only_class_colours(model: MapModel) -> None:
    img = _image(model, "land_cover.tif")
    comp = load_composition("windfarm")
    classes = next(r for r in comp.rasters if r.file == "land_cover.tif").classes
    allowed = {tuple(int(v) for v in bytes.fromhex(c.color[1:])) for c in classes}
    opaque = img.rgba[img.rgba[..., 3] == 255].astype(np.uint32)
    packed = np.unique(opaque[:, 0] << 16 | opaque[:, 1] << 8 | opaque[:, 2])
    used = {(int(v >> 16), int(v >> 8 & 255), int(v & 255)) for v in packed}
    assert used <= allowed and len(used) == 3  # cropland, tree cover, water: nothing blended


def test_limiting_classes_come_from_the_manifest(model: MapModel) -> None:
    img = _image(model, "limiting_windfarm.tif")
    assert img.legend is not None
    labels = [label for label, _ in img.legend.entries]  # type: ignore[union-attr]
    # code 0 ("none") is in the manifest but not in the raster: the legend leaves it out, and
    # the others keep the colours of the manifest's full list
    assert labels == [
        "excluded: water bodies",
        "excluded: protected areas",
        "limited by wind speed",
        "limited by slope",
    ]
    tab10 = [matplotlib.colors.to_hex(matplotlib.colormaps["tab10"](i)) for i in range(5)]
    assert [color for _, color in img.legend.entries] == tab10[1:]  # type: ignore[union-attr]


def test_max_size_caps_the_overlay(out: Output) -> None:
    small = build_model(out.folder, load_composition("windfarm"), max_size=300)
    assert all(max(img.rgba.shape[:2]) <= 300 for img in small.images)


def test_png_is_lossless_and_palette_when_possible() -> None:
    rng = np.random.default_rng(0)
    few = colorize_continuous(rng.uniform(size=(40, 50)), "magma", 0.0, 1.0)
    many = rng.integers(0, 256, size=(40, 50, 4), dtype=np.uint8)
    for rgba, mode in ((few, "P"), (many, "RGBA")):
        decoded = Image.open(io.BytesIO(encode_png(rgba)))
        assert decoded.mode == mode
        assert np.array_equal(np.asarray(decoded.convert("RGBA")), rgba)


def test_colorize_is_lazy_on_dask_and_matches_numpy() -> None:
    values = np.linspace(-0.2, 1.2, 64 * 48).reshape(64, 48)
    values[3, 4] = np.nan
    arr = xr.DataArray(da.from_array(values, chunks=16), dims=("y", "x"))
    lazy = colorize_continuous(arr, "viridis", 0.0, 1.0)
    assert isinstance(lazy.data, da.Array) and lazy.dims == ("y", "x", "rgba")
    eager = colorize_continuous(values, "viridis", 0.0, 1.0)
    assert np.array_equal(lazy.values, eager)
    assert eager[3, 4, 3] == 0 and np.array_equal(eager[0, 0], eager[0, 1])  # clipped below 0
    classes = (ClassStyle(10, "#006400", "Tree"), ClassStyle(80, "#0064c8", "Water"))
    lazy_c = colorize_classes(xr.DataArray(da.from_array(np.array([[10.0, 80.0, 50.0]]))), classes)
    assert isinstance(lazy_c.data, da.Array)
    assert lazy_c.values[0, :, 3].tolist() == [255, 255, 0]


def test_site_popups_show_rank_score_memberships_metrics_escaped(model: MapModel) -> None:
    sites = next(v for v in model.vectors if v.kind == "sites")
    feats = sites.geojson["features"]
    assert [f["properties"]["rank"] for f in feats] == [1, 2, 3]  # sorted by rank
    top = feats[0]["properties"]
    assert top["site_id"] == 102 and top["score"] == pytest.approx(0.95)
    popup = top["_popup"]
    for text in ("Rank", "Score (0–1)", "Wind speed", "Slope", "Grid distance", "Capacity (MW)"):
        assert text in popup
    assert "26.2" in popup and "0.97" in popup  # capacity_mw 26.25, m_wind_speed 0.97
    note = next(f for f in feats if f["properties"]["site_id"] == 101)["properties"]["_popup"]
    assert "ridge &amp; &lt;valley&gt;" in note and "<valley>" not in note


def test_geometries_are_rounded_and_simplified() -> None:
    # a 10 km square whose edges zig-zag by 5 m: simplify_m=20 removes the zig-zags
    xs = np.linspace(500_000, 510_000, 401)
    zig = np.where(np.arange(401) % 2 == 0, 0.0, 5.0)
    ring = [
        *zip(xs, 2_700_000 + zig, strict=True),
        *zip(xs[::-1], 2_710_000 + zig, strict=True),
    ]
    gdf = gpd.GeoDataFrame(geometry=[Polygon(ring)], crs="EPSG:32649")
    raw = web_geometries(gdf, simplify_m=0.0)[0]
    simple = web_geometries(gdf, simplify_m=20.0)[0]
    assert len(simple["coordinates"][0]) < 10 < len(raw["coordinates"][0])
    for lon, lat in simple["coordinates"][0]:
        assert round(lon, 5) == lon and round(lat, 5) == lat


def test_regions_tooltips_escape_names_and_legend_range(model: MapModel) -> None:
    regions = next(v for v in model.vectors if v.kind == "regions")
    tips = [f["properties"]["_tooltip"] for f in regions.geojson["features"]]
    evil = next(t for t in tips if "alert" in t)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in evil and "<script>" not in evil
    # three significant digits: 150.25 km² and 450.75 (format_number)
    assert "Eligible area (km²): 150<br>" in evil and "Potential: 451" in evil
    assert regions.legend is not None
    assert (regions.legend.vmin, regions.legend.vmax) == (144.0, 937.5)  # type: ignore[union-attr]
    fills = {
        f["properties"]["region"]: f["properties"]["_fill"] for f in regions.geojson["features"]
    }
    table = matplotlib.colormaps["YlGn"]
    assert fills["Qujiang"] == matplotlib.colors.to_hex(table(0.0))
    assert fills["Wujiang"] == matplotlib.colors.to_hex(table(1.0))


def test_regions_without_potential_use_the_next_listed_column(out: Output, tmp_path: Path) -> None:
    """geotool.regions writes eligible_capacity_mw etc.; the composition lists fallbacks."""
    folder = tmp_path / "realcols"
    shutil.copytree(out.folder, folder)
    real = out.regions.drop(columns="potential").assign(eligible_capacity_mw=[3.0, 1.0, 2.0])
    real.to_file(folder / "regions_windfarm.gpkg", driver="GPKG", layer="regions_windfarm")
    m = build_model(folder, load_composition("windfarm"), max_size=200)
    regions = next(v for v in m.vectors if v.kind == "regions")
    assert regions.legend is not None
    assert regions.legend.title == "Potential by county: Technical potential (MW)"
    assert (regions.legend.vmin, regions.legend.vmax) == (1.0, 3.0)  # type: ignore[union-attr]
    tips = " ".join(f["properties"]["_tooltip"] for f in regions.geojson["features"])
    assert "Technical potential (MW): 3" in tips


def test_regions_from_csv_joined_to_a_regions_layer(out: Output, tmp_path: Path) -> None:
    folder = tmp_path / "csvout"
    shutil.copytree(out.folder, folder)
    (folder / "regions_windfarm.gpkg").unlink()
    out.regions.drop(columns="geometry").to_csv(folder / "regions_windfarm.csv", index=False)
    out.regions[["region", "geometry"]].to_file(folder / "regions.gpkg", driver="GPKG")
    m = build_model(folder, load_composition("windfarm"), max_size=200)
    regions = next(v for v in m.vectors if v.kind == "regions")
    assert sorted(f["properties"]["region"] for f in regions.geojson["features"]) == sorted(
        out.regions["region"]
    )
    out.regions.assign(region=["a", "b", "c"])[["region", "geometry"]].to_file(
        folder / "regions.gpkg", driver="GPKG"
    )
    with pytest.raises(InputError, match="no value of column"):
        build_model(folder, load_composition("windfarm"), max_size=200)


def test_missing_required_site_column_names_file_and_column(out: Output, tmp_path: Path) -> None:
    folder = tmp_path / "badsites"
    shutil.copytree(out.folder, folder)
    out.sites.drop(columns="rank").to_file(folder / "sites_windfarm.gpkg", driver="GPKG")
    with pytest.raises(InputError) as info:
        build_model(folder, load_composition("windfarm"), max_size=200)
    assert "sites_windfarm.gpkg" in str(info.value) and '"rank"' in str(info.value)


def test_vector_found_through_the_manifest(out: Output, tmp_path: Path) -> None:
    folder = tmp_path / "viamanifest"
    shutil.copytree(out.folder, folder)
    elsewhere = tmp_path / "inputs" / "infrastructure.gpkg"
    elsewhere.parent.mkdir()
    gpd.read_file(folder / "substations.gpkg").to_file(elsewhere, layer="substations")
    out.regions.to_file(elsewhere, layer="roads")  # a second layer in the same file
    (folder / "substations.gpkg").unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["study"]["layers"] = {"substations": str(elsewhere)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    m = build_model(folder, load_composition("windfarm"), max_size=200)
    subs = next(v for v in m.vectors if v.kind == "points")
    assert len(subs.geojson["features"]) == 2 and "substations.gpkg" not in m.missing


def test_provenance_lines() -> None:
    assert "unknown" in summarise(None).notes[0]
    demo = summarise({"study": {"synthetic": True}, "inputs": [{"role": "dem", "synthetic": True}]})
    assert demo.all_synthetic and "ALL INPUTS ARE SYNTHETIC" in demo.warnings[0]
    mixed = summarise({"inputs": [{"role": "dem", "synthetic": True}, {"role": "x"}]})
    assert mixed.warnings == ("Synthetic inputs (not real data): elevation (DEM).",)
    assert mixed.notes == ("Inputs not marked real or synthetic: x.",)


def test_missing_folder_and_folder_without_scores(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        render_map(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "sites_windfarm.gpkg").write_bytes(b"")
    with pytest.raises(InputError) as info:
        render_map(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(info.value) and "score" in str(info.value)


def test_stale_temporary_maps_of_dead_processes_are_swept(out: Output, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "swept"
    shutil.copytree(out.folder, folder)

    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = folder / f".map.html.{done.stdout.strip()}.abc123.tmp"
    legacy = folder / ".map.html.k2j4h1.tmp"  # name written before temp files carried a pid
    live = folder / f".map.html.{os.getpid()}.xyz789.tmp"
    for p in (dead, legacy, live):
        p.write_text("partial", encoding="utf-8")
    render_map(folder)
    assert not dead.exists() and not legacy.exists()
    assert live.exists()  # this process is alive: a map it is writing is left alone
    assert (folder / "map.html").exists()
    assert not [p for p in folder.glob(".map.html.*.tmp") if p != live]


def test_profile_composition_without_its_score_fails(out: Output) -> None:
    with pytest.raises(InputError, match=r"score_datacenter\.tif"):
        render_map(out.folder, composition="datacenter")


def test_render_map_writes_one_offline_file_atomically(out: Output, tmp_path: Path) -> None:
    folder = tmp_path / "render"
    shutil.copytree(out.folder, folder)
    (folder / "map.html").write_text("old", encoding="utf-8")
    path = render_map(folder, composition="windfarm", max_size=400, title="Shaoguan <b>2024</b>")
    assert path == folder / "map.html"
    page = path.read_text(encoding="utf-8")
    assert_offline(page)
    assert "<title>Shaoguan &lt;b&gt;2024&lt;/b&gt;</title>" in page
    assert EVIL_REGION not in page and EVIL_SUBSTATION not in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    assert page.count("data:image/png;base64,") >= 4  # score, limiting, stability, land cover


def test_offline_inlining_rejects_unknown_cdn_resources() -> None:
    import folium
    from folium.plugins import MiniMap

    m = folium.Map(tiles=None)
    MiniMap().add_to(m)
    before = list(folium.Map.default_js)
    with pytest.raises(RuntimeError, match="no offline copy"):
        make_offline(m.get_root())
    assert folium.Map.default_js == before  # class-level lists are never mutated
    with pytest.raises(RuntimeError, match="would load"):
        assert_offline('<html><script src="https://cdn.example/x.js"></script></html>')


def test_cli_exit_codes(out: Output, tmp_path: Path) -> None:
    from geotool.cli import main

    folder = tmp_path / "cli"
    shutil.copytree(out.folder, folder)
    main(["map", str(folder), "--composition", "windfarm", "--max-size", "200", "-q"])
    assert (folder / "map.html").is_file()
    with pytest.raises(SystemExit) as info:
        main(["map", str(tmp_path / "missing")])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["map", str(folder), "--composition", "no-such-map"])
    assert info.value.code == 2
