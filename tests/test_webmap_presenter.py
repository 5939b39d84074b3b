"""What a presenter shows an audience: plain-language text, legends that match the map, layers
placed right anywhere on Earth, nothing embedded that the map does not show.

Expected values come from matplotlib (colours), pyproj (positions) or the test's own inputs.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from matplotlib.colors import to_hex
from pyproj import Transformer
from shapely.geometry import Point, box

from geotool.webmap import build_model, load_composition
from geotool.webmap.legend import legend_html, manifest_classes
from geotool.webmap.model import MapModel
from geotool.webmap.provenance import summarise
from geotool.webmap.vectors import site_features
from tests.test_webmap_data import CRS, Output, build_output

TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Output:
    return build_output(tmp_path_factory.mktemp("presenter") / "out")


def _copy(out: Output, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(out.folder, folder)
    return folder


def _headers(popup: str) -> list[str]:
    return re.findall(r"<th>(.*?)</th>", popup)


# --- colours ---------------------------------------------------------------------------------


def test_more_classes_than_the_palette_still_get_distinct_colours() -> None:
    """13 'what limits the score' classes on tab10: cycling would give 3 pairs one colour."""
    codes = {"-1": "nodata", "0": "none"}
    codes |= {str(i): f"constraint:c{i}" for i in range(1, 9)}
    codes |= {str(i): f"criterion:k{i}" for i in range(9, 13)}
    classes = manifest_classes(
        {"limiting_codes": codes}, "limiting_codes", None, "tab10", np.zeros(1)
    )
    colors = [c.color for c in classes]
    assert len(classes) == 13 and len(set(colors)) == 13
    tab10 = [to_hex(matplotlib.colormaps["tab10"](i)) for i in range(10)]
    assert colors[:10] == tab10


def test_legends_are_drawn_at_their_layers_opacity(out: Output, tmp_path: Path) -> None:
    """An overlay at 75 % over the page is paler than its colormap: so must its legend be."""
    model = build_model(out.folder, load_composition("windfarm"), max_size=200)
    for img in model.images:
        assert img.legend is not None
        assert img.legend.opacity == img.opacity
        assert f"opacity:{img.opacity:.2f}" in legend_html(img.legend)
    regions = next(v for v in model.vectors if v.kind == "regions")
    assert regions.legend is not None
    assert regions.legend.opacity == regions.style["fillOpacity"]
    assert f"opacity:{regions.style['fillOpacity']:.2f}" in legend_html(regions.legend)


def test_legend_ticks_of_millions_are_short(out: Output, tmp_path: Path) -> None:
    folder = _copy(out, tmp_path, "millions")
    regions = out.regions.assign(potential=[4_874_532.0, 23_380_069.0, 9_000_000.0])
    regions.to_file(folder / "regions_windfarm.gpkg", driver="GPKG")
    model = build_model(folder, load_composition("windfarm"), max_size=200)
    legend = next(v for v in model.vectors if v.kind == "regions").legend
    assert legend is not None
    ticks = re.findall(r"<span>(.*?)</span>", legend_html(legend).split("geotool-ticks")[1])
    assert ticks[0] == "4.87 M" and ticks[-1] == "23.4 M"


# --- text ------------------------------------------------------------------------------------


def test_site_popups_use_words_with_units_and_a_centre_to_11_m() -> None:
    geom = box(700_000, 2_740_000, 702_000, 2_741_500)
    lon, lat = TO_LONLAT.transform(geom.centroid.x, geom.centroid.y)
    gdf = gpd.GeoDataFrame(
        {
            "site_id": ["datacenter-001"],
            "rank": [1],
            "score": [0.9],
            "m_pv_yield": [0.5],
            "m_free_cooling": [0.8],
            "limiting": ["pv_yield"],
            "lon": [lon],
            "lat": [lat],
            "demand_distance_km": [185.47],
            "heat_in_place_pj": [1972.3],
            "road_distance_km": [3.2],
            "species": ["chinese_fir"],
        },
        geometry=[geom],
        crs=CRS,
    )
    popup = site_features(gdf, simplify_m=0.0, labels={}, where="x")["features"][0]["properties"][
        "_popup"
    ]
    headers = _headers(popup)
    assert all("_" not in h for h in headers), headers
    assert all(not re.search(r"\b(km|pj|gwh|mw)$", h) for h in headers), headers
    for label in (
        "PV yield",
        "Free cooling",
        "Distance to demand centre (km)",
        "Heat in place (PJ)",
        "Road distance (km)",
        "Centre (lat, lon)",
    ):
        assert label in headers
    assert "lon" not in headers and "lat" not in headers
    assert f"<td>{lat:.4f}, {lon:.4f}</td>" in popup
    assert "<td>PV yield</td>" in popup and "pv_yield" not in popup  # acronym in capitals
    assert "chinese fir" in popup and "chinese_fir" not in popup


def test_info_panel_names_inputs_in_plain_words() -> None:
    roles = ["dem", "ghi", "weibull_k", "wind_speed_100m", "land_cover", "protected_areas"]
    few = summarise({"inputs": [{"role": r, "synthetic": True} for r in roles[:2]]})
    assert few.warnings == (
        "Synthetic inputs (not real data): elevation (DEM), solar irradiation (GHI).",
    )
    demo = summarise(
        {
            "synthetic": True,
            "inputs": [{"role": r, "synthetic": True} for r in roles]
            + [{"role": "demand_centres", "synthetic": False}],
        }
    )
    assert demo.warnings == ("Synthetic inputs (not real data): all except demand centres.",)
    assert demo.notes == ()
    text = " ".join(demo.warnings + demo.notes + few.warnings + few.notes)
    assert "_" not in text


# --- context and size ------------------------------------------------------------------------


def _regions_input(out: Output, folder: Path) -> gpd.GeoDataFrame:
    """The study's own regions file, as `geotool demo` writes it: names in its region id field."""
    shapes = out.regions[["region", "geometry"]].rename(columns={"region": "name"})
    shapes.to_file(folder / "regions.geojson", driver="GeoJSON")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["study"]["region_id"] = "name"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return shapes


def test_study_region_outline_is_shown_and_lets_clicks_through(out: Output, tmp_path: Path) -> None:
    folder = _copy(out, tmp_path, "outline")
    shapes = _regions_input(out, folder)
    model = build_model(folder, load_composition("windfarm"), max_size=200)
    outline = next(v for v in model.vectors if v.name == "County boundaries")
    assert outline.show and outline.style["fill"] is False
    feats = outline.geojson["features"]
    assert len(feats) == len(shapes)
    coords = np.array([xy for f in feats for xy in f["geometry"]["coordinates"][0]])
    west, south, east, north = shapes.to_crs("EPSG:4326").total_bounds
    assert np.allclose(coords.min(axis=0), [west, south], atol=1e-4)
    assert np.allclose(coords.max(axis=0), [east, north], atol=1e-4)


def test_forestry_map_shows_carbon_density_and_stock_by_county(out: Output, tmp_path: Path) -> None:
    folder = _copy(out, tmp_path, "carbon")
    _regions_input(out, folder)
    shutil.copy(folder / "score_windfarm.tif", folder / "score_carbon_sink.tif")
    shutil.copy(folder / "stability_windfarm.tif", folder / "carbon_t_ha.tif")
    stock = {"Wujiang": 18_123_182.0, "Qujiang": 4_874_532.0, out.regions["region"][2]: 9.5e6}
    pd.DataFrame({"region": list(stock), "stock_tco2e": list(stock.values())}).to_csv(
        folder / "carbon_regions.csv", index=False
    )
    model = build_model(folder, load_composition("carbon_sink"), max_size=200)
    assert any(img.source == "carbon_t_ha.tif" for img in model.images)
    layer = next(v for v in model.vectors if v.name == "Forest carbon stock by county")
    fills = {f["properties"]["region"]: f["properties"]["_fill"] for f in layer.geojson["features"]}
    greens = matplotlib.colormaps["Greens"]
    assert fills["Wujiang"] == to_hex(greens(1.0)) and fills["Qujiang"] == to_hex(greens(0.0))
    assert layer.legend is not None
    assert (layer.legend.vmin, layer.legend.vmax) == (4_874_532.0, 18_123_182.0)  # type: ignore[union-attr]
    popup = layer.geojson["features"][0]["properties"]["_popup"]
    assert "Carbon stock (tCO₂e)" in _headers(popup)


def test_input_vectors_are_cut_to_the_map_extent(out: Output, tmp_path: Path) -> None:
    """A country's substations file: only those on (or just around) the map are embedded."""
    folder = _copy(out, tmp_path, "national")
    subs = gpd.read_file(folder / "substations.gpkg")
    left, top = out.transform.c, out.transform.f
    far = [Point(left + 600_000 + 1_000 * i, top - 1_000 * i) for i in range(2_000)]
    national = pd.concat(
        [subs, gpd.GeoDataFrame({"name": ["far"] * len(far)}, geometry=far, crs=CRS)]
    )
    national.to_file(folder / "substations.gpkg", driver="GPKG")
    model = build_model(folder, load_composition("windfarm"), max_size=200)
    points = next(v for v in model.vectors if v.kind == "points")
    assert len(points.geojson["features"]) == len(subs)


# --- placement anywhere on Earth -------------------------------------------------------------


def _marker_output(folder: Path, crs: str, lon: float, lat: float, res: float) -> tuple:
    """A 200 x 150 score raster centred on lon/lat with a 3 x 3 pixel block of score 1 (else
    0.2) and a site polygon exactly on the block; returns the block centre's lon/lat."""
    folder.mkdir(parents=True)
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    transform = Affine(res, 0.0, x - 100 * res, 0.0, -res, y + 75 * res)
    score = np.full((150, 200), 0.2, np.float32)
    score[100:103, 50:53] = 1.0
    with rasterio.open(
        folder / "score_windfarm.tif", "w", driver="GTiff", width=200, height=150, count=1,
        dtype="float32", crs=crs, transform=transform,
    ) as dst:  # fmt: skip
        dst.write(score, 1)
    x0, y0 = transform @ (50, 100)
    x1, y1 = transform @ (53, 103)
    gpd.GeoDataFrame(
        {"site_id": [1], "rank": [1], "score": [1.0]}, geometry=[box(x0, y1, x1, y0)], crs=crs
    ).to_file(folder / "sites_windfarm.gpkg", driver="GPKG")
    cx, cy = transform @ (51.5, 101.5)
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(cx, cy)


def _marker_lonlat(model: MapModel) -> tuple[float, float, float, float]:
    """Lon/lat of the marker block's centre on the overlay, and one overlay pixel in degrees."""
    img = model.images[0]
    yellow = np.asarray(matplotlib.colormaps["viridis"](1.0, bytes=True))
    rows, cols = np.nonzero(np.all(img.rgba == yellow, axis=-1))
    (south, west), (north, east) = img.bounds
    h, w = img.rgba.shape[:2]
    merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    _, y_top = merc.transform(0.0, north)
    _, y_bottom = merc.transform(0.0, south)
    y = y_top + (rows.mean() + 0.5) / h * (y_bottom - y_top)
    _, lat = merc.transform(0.0, y, direction="INVERSE")
    lon = west + (cols.mean() + 0.5) / w * (east - west)  # Mercator x is linear in longitude
    return lon, lat, (east - west) / w, (north - south) / h


@pytest.mark.parametrize(
    ("crs", "lon", "lat", "res"),
    [
        ("EPSG:32756", 151.2, -33.9, 100.0),  # UTM south (Sydney)
        ("EPSG:3857", -70.6, -33.4, 200.0),  # Web Mercator itself (Santiago)
        ("EPSG:4326", 10.0, 60.0, 0.001),  # lon/lat degrees at 60° N (Norway)
        ("EPSG:32760", 179.95, -16.5, 100.0),  # UTM 60 S across the antimeridian (Fiji)
    ],
)
def test_rasters_and_sites_land_where_pyproj_puts_them(
    tmp_path: Path, crs: str, lon: float, lat: float, res: float
) -> None:
    want_lon, want_lat = _marker_output(tmp_path / "out", crs, lon, lat, res)
    model = build_model(tmp_path / "out", load_composition("windfarm"), max_size=400)
    got_lon, got_lat, px_lon, px_lat = _marker_lonlat(model)
    (_, west), (_, east) = model.bounds
    if want_lon < west:  # across the antimeridian the map runs past 180°
        want_lon += 360.0
    assert abs(got_lon - want_lon) <= px_lon and abs(got_lat - want_lat) <= px_lat
    sites = next(v for v in model.vectors if v.kind == "sites")
    ring = np.array(sites.geojson["features"][0]["geometry"]["coordinates"][0])
    assert west <= ring[:, 0].min() and ring[:, 0].max() <= east  # no piece at the far end
    assert abs(ring[:, 0].mean() - want_lon) <= 2 * px_lon
    assert abs(ring[:, 1].mean() - want_lat) <= 2 * px_lat


def test_region_table_joins_codes_with_leading_zeros_and_keeps_missing_values(
    tmp_path: Path,
) -> None:
    # admin codes such as "0101" were read as the number 101 and dropped from the join; an
    # empty stock cell stays a missing number
    from geotool.webmap.compositions import VectorLayer
    from geotool.webmap.model import _Found, _regions

    gpd.GeoDataFrame(
        {"code": ["0101", "0102", "NA"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs="EPSG:4326",
    ).to_file(tmp_path / "regions.gpkg")
    (tmp_path / "carbon_regions.csv").write_text("region,stock_tco2e\n0101,1.5\n0102,\nNA,3\n")
    layer = VectorLayer(
        name="stock",
        file="carbon_regions.gpkg",
        kind="regions",
        color="#000000",
        fill_color="#000000",
        fill_opacity=0.6,
        weight=1.0,
        radius=3.0,
        show=True,
        show_for_profile=False,
        simplify_m=0.0,
        label_field="",
        csv="carbon_regions.csv",
        geometry="regions.gpkg",
        join="region",
        value=("stock_tco2e",),
        colormap="Greens",
        labels=(),
        legend=True,
        profile=None,
    )
    joined = _regions(layer, tmp_path, (), _Found(tmp_path / "carbon_regions.gpkg"), "code")
    assert list(joined["region"]) == ["0101", "0102", "NA"]
    assert joined["stock_tco2e"].dtype.kind == "f" and np.isnan(joined["stock_tco2e"].iloc[1])


def test_a_map_around_180_moves_whole_parts_not_single_vertices() -> None:
    # an Aleutians map (lon0 = 180): a park across Greenwich was wrapped vertex by vertex
    # into a band 0.1..359.9° wide, kept and drawn across the map; a refuge split at 180° in
    # its file draws as one piece around 180°
    from shapely.geometry import MultiPolygon

    from geotool.webmap.model import _Extent, _within
    from geotool.webmap.vectors import shift_longitudes

    extent = _Extent(bounds=((51.0, 172.0), (55.0, 190.0)), lon0=180.0)
    split = MultiPolygon([box(179.0, 52.0, 180.0, 53.0), box(-180.0, 52.0, -179.0, 53.0)])
    gdf = gpd.GeoDataFrame(
        {"name": ["refuge", "essex", "split"]},
        geometry=[box(175, 52, 177, 53), box(-0.1, 51.6, 0.1, 51.7), split],
        crs="EPSG:4326",
    )
    kept = _within(gdf, extent)
    assert list(kept["name"]) == ["refuge", "split"]
    moved = shift_longitudes(np.asarray(kept.geometry.values), 180.0)
    assert moved[0].bounds == (175.0, 52.0, 177.0, 53.0)
    assert moved[1].bounds == (179.0, 52.0, 181.0, 53.0)
    assert shift_longitudes(np.asarray([box(-0.1, 51.6, 0.1, 51.7)]), 180.0)[0].bounds == (
        pytest.approx((-0.1, 51.6, 0.1, 51.7))
    )


def test_region_popup_gives_the_area_once_when_the_grid_covers_the_region() -> None:
    """`covered_km2` repeats `area_km2` for a region inside the grid: shown once; a region
    the grid cuts (here 40 % of it) shows both figures."""
    from geotool.webmap.vectors import DEFAULT_LABELS, region_features

    gdf = gpd.GeoDataFrame(
        {
            "region": ["inside", "cut"],
            "area_km2": [100.0, 100.0],
            "covered_km2": [99.9, 60.0],
            "eligible_km2": [10.0, 5.0],
            "potential": [30.0, 15.0],
        },
        geometry=[box(0, 0, 10_000, 10_000), box(10_000, 0, 20_000, 10_000)],
        crs=CRS,
    )
    fc, _ = region_features(
        gdf,
        value="potential",
        cmap="viridis",
        simplify_m=0.0,
        labels=DEFAULT_LABELS,
        legend_title="Potential",
        where="regions.csv",
    )
    popups = {f["properties"]["region"]: f["properties"]["_popup"] for f in fc["features"]}
    assert "Area on the grid" not in popups["inside"] and "Area (km²)" in popups["inside"]
    assert "Area on the grid" in popups["cut"] and "Area (km²)" in popups["cut"]
