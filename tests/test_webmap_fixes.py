"""Web-map defects of the last review: overview of custom profiles, compositions with a BOM,
site outlines simplified by half a pixel, parcel popups, number formatting, skipped layers on
the terminal and the carbon manifest's provenance."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import Transformer
from shapely.geometry import Polygon, box

from geotool.cli import main
from geotool.webmap import build_model, load_composition, render_map
from geotool.webmap.compositions import composition_dir
from geotool.webmap.legend import format_number
from geotool.webmap.model import folder_composition
from geotool.webmap.vectors import DEFAULT_LABELS, region_features, simplify_outlines
from tests.conftest import write_tif
from tests.test_webmap_journey import _carbon_folder

CRS = "EPSG:32649"
X0, Y0 = 700_000.0, 2_750_000.0  # near Shaoguan
TO_UTM = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)


def _folder(tmp_path: Path, profiles: tuple[str, ...], res: float = 100.0) -> Path:
    """A run's folder in miniature: a 40 x 30 pixel score raster and one site per profile."""
    folder = tmp_path / "out"
    folder.mkdir(exist_ok=True)
    transform = Affine(res, 0.0, X0, 0.0, -res, Y0)
    ramp = np.linspace(0.0, 1.0, 40 * 30, dtype=np.float32).reshape(30, 40)
    for name in profiles:
        write_tif(folder / f"score_{name}.tif", ramp, crs=CRS, transform=transform)
        gpd.GeoDataFrame(
            {"site_id": [f"{name}-001"], "rank": [1], "score": [0.9]},
            geometry=[box(X0 + 2 * res, Y0 - 8 * res, X0 + 6 * res, Y0 - 4 * res)],
            crs=CRS,
        ).to_file(folder / f"sites_{name}.gpkg", driver="GPKG")
    manifest = {"study": {"name": "Tiny"}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


# --- 1. the overview of a folder of custom profiles -------------------------------------------


def test_overview_shows_the_profiles_the_folder_holds(tmp_path: Path) -> None:
    # `geotool run study.toml --profile mine.toml` writes score_mine.tif; `geotool map OUT`
    # failed: "none of the score rasters of composition overview"
    folder = _folder(tmp_path, ("mine", "windfarm"))
    assert main(["map", str(folder), "--quiet"]) is None
    model = build_model(folder, folder_composition(folder), max_size=64)
    # the built-in profiles in the overview's order, then the others; the first shown
    assert [img.name for img in model.images] == ["Wind farm — suitability", "mine — suitability"]
    assert [img.name for img in model.images if img.show] == ["Wind farm — suitability"]
    sites = [v.name for v in model.vectors if v.kind == "sites"]
    assert sites == ["Wind farm — candidate sites", "mine — candidate sites"]
    # profiles the run did not score are not listed as skipped layers
    assert not any("datacenter" in m for m in model.missing)


def test_only_a_custom_profile_opens_on_it(tmp_path: Path) -> None:
    folder = _folder(tmp_path, ("mine",))
    render_map(folder, max_size=64)
    model = build_model(folder, folder_composition(folder, "overview"), max_size=64)
    assert [(img.name, img.show) for img in model.images] == [("mine — suitability", True)]


# --- 2. a composition saved with a byte-order mark --------------------------------------------


def test_composition_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    text = (composition_dir() / "windfarm.toml").read_text(encoding="utf-8")
    plain, marked = tmp_path / "plain.toml", tmp_path / "marked.toml"
    plain.write_text(text, encoding="utf-8")
    marked.write_text(text, encoding="utf-8-sig")  # Notepad's "UTF-8 with BOM"
    assert marked.read_bytes()[:3] == b"\xef\xbb\xbf"
    a, b = load_composition(plain), load_composition(marked)
    assert (b.title, b.rasters, b.vectors) == (a.title, a.rasters, a.vectors)


# --- 3. site outlines simplified by half a pixel, for display only ----------------------------


def _notched(res: float, left: float, bottom: float) -> Polygon:
    """A 20 x 10 pixel site whose bottom edge has two notches, 0.4 and 0.6 pixel deep."""
    ring = [
        (0, 0),
        (5, 0),
        (5, 0.4),
        (6, 0.4),
        (6, 0),
        (12, 0),
        (12, 0.6),
        (13, 0.6),
        (13, 0),
        (20, 0),
        (20, 10),
        (0, 10),
    ]
    return Polygon([(left + x * res, bottom + y * res) for x, y in ring])


@pytest.mark.parametrize("res", [100.0, 200.0])
def test_site_outlines_are_simplified_by_half_a_pixel(tmp_path: Path, res: float) -> None:
    folder = _folder(tmp_path, ("windfarm",), res=res)
    left, bottom = X0 + 5 * res, Y0 - 25 * res
    site = _notched(res, left, bottom)
    gpd.GeoDataFrame(
        {"site_id": ["w-1"], "rank": [1], "score": [0.9]}, geometry=[site], crs=CRS
    ).to_file(folder / "sites_windfarm.gpkg", driver="GPKG")
    model = build_model(folder, load_composition("windfarm"), max_size=64)
    sites = next(v for v in model.vectors if v.kind == "sites")
    (geometry,) = [f["geometry"] for f in sites.geojson["features"]]
    lonlat = np.asarray(shapely.get_coordinates(shapely.from_geojson(json.dumps(geometry))))
    drawn = np.column_stack(TO_UTM.transform(lonlat[:, 0], lonlat[:, 1]))
    local = (drawn - [left, bottom]) / res  # in pixels

    def has(x: float, y: float) -> bool:  # within the 5-decimal rounding (1.1 m)
        return bool((np.hypot(local[:, 0] - x, local[:, 1] - y) * res < 1.5).any())

    # the notch 0.4 pixel deep lies within half a pixel of the straight edge: gone
    assert not has(5, 0.4) and not has(6, 0.4)
    # the one 0.6 pixel deep does not: kept, and the outline moved nowhere by more than 0.5 px
    assert has(12, 0.6) and has(13, 0.6)
    outline = shapely.Polygon(drawn)
    moved = shapely.distance(shapely.points(np.asarray(site.exterior.coords)), outline.boundary)
    assert moved.max() <= 0.5 * res + 1.5
    # the GeoPackage keeps the exact outline
    stored = gpd.read_file(folder / "sites_windfarm.gpkg").geometry.iloc[0]
    assert stored.equals(site)


def test_simplified_outline_keeps_the_half_pixel_bound_at_a_ring_start() -> None:
    # found on a demo wind site: GEOS's polygon simplification drops a ring's first vertex
    # together with its neighbour (0, 100), which lies 20000 / sqrt(200² + 300²) = 55.5 m from
    # the edge left in their place — more than the 50 m tolerance
    ring = [(50.0, 100.0), (0.0, 100.0), (0.0, 0.0), (300.0, 300.0), (200.0, 300.0)]
    polygon = Polygon(ring)
    corners = shapely.points(np.asarray(ring))
    assert shapely.distance(corners, shapely.simplify(polygon, 50.0).boundary).max() > 55.0
    (simple,) = simplify_outlines(np.array([polygon]), 50.0)
    assert simple.is_valid and len(simple.exterior.coords) < len(ring) + 1
    # (0, 100) goes: 5000 / sqrt(50² + 100²) = 44.7 m from the edge (50, 100)-(0, 0)
    assert shapely.distance(corners, simple.boundary).max() == pytest.approx(44.72, abs=0.01)
    assert {tuple(c) for c in simple.exterior.coords} <= set(ring)


# --- 4. parcel popups; an area with data shown only when it differs ---------------------------


def test_parcels_have_a_popup_with_stock_and_removals_in_their_units(tmp_path: Path) -> None:
    folder = _carbon_folder(tmp_path)
    gpd.GeoDataFrame(
        {
            "parcel_id": ["P1"],
            "species": ["chinese_fir"],
            "area_ha": [50.0],
            "stock_tco2e": [499.0],
            "removals_tco2e_total": [13_563.17],
            "removals_tco2e_per_yr": [678.158],
        },
        geometry=[box(702_000, 2_740_000, 703_000, 2_740_500)],
        crs=CRS,
    ).to_file(folder / "carbon_parcels.gpkg", driver="GPKG")
    model = build_model(folder, load_composition("carbon"), max_size=64)
    parcels = next(v for v in model.vectors if v.name == "Parcels")
    (props,) = [f["properties"] for f in parcels.geojson["features"]]
    assert props["_tooltip"] == "P1"
    popup = props["_popup"]
    assert popup.startswith('<div class="geotool-popup-title">P1</div>')
    for row in (
        "<th>Species</th><td>chinese fir</td>",
        "<th>Area (ha)</th><td>50</td>",
        "<th>Carbon stock (tCO₂e)</th><td>499</td>",
        "<th>Removals over the crediting period (tCO₂e)</th><td>13,563</td>",
        "<th>Removals, yearly mean (tCO₂e/yr)</th><td>678</td>",
    ):
        assert row in popup


def test_carbon_region_popup_gives_the_area_with_data_only_when_it_differs() -> None:
    gdf = gpd.GeoDataFrame(
        {
            "region": ["whole", "gaps"],
            "area_ha": [350_411.1751731947, 1000.0],
            "data_area_ha": [350_411.17517279484, 600.0],  # as carbon_regions.csv has them
            "stock_tco2e": [17_926_109.0, 1000.0],
        },
        geometry=[box(0, 0, 10_000, 10_000), box(10_000, 0, 20_000, 10_000)],
        crs=CRS,
    )
    fc, _ = region_features(
        gdf,
        value="stock_tco2e",
        cmap="Greens",
        simplify_m=0.0,
        labels=DEFAULT_LABELS,
        legend_title="Stock",
        where="carbon_regions.csv",
    )
    popups = {f["properties"]["region"]: f["properties"]["_popup"] for f in fc["features"]}
    assert "Area (ha)</th><td>350,411" in popups["whole"]
    assert "Area with data" not in popups["whole"]
    assert "Area with data (ha)</th><td>600</td>" in popups["gaps"]


# --- 5. one number format --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (499.0, "499"),  # was "499.0"
        (25.0, "25"),
        (10.0, "10"),
        (937.5, "938"),  # three significant digits
        (12.345, "12.3"),
        (13.952, "14.0"),  # rounded: the zero is a significant digit
        (5.0, "5"),
        (0.5, "0.5"),
        (0.30000001192092896, "0.3"),  # 0.3 stored as float32
        (0.123456, "0.123"),
        (999.7, "1,000"),
        (12_345.678, "12,346"),
        (-2.0, "-2"),
        (0.0, "0"),
        (float("nan"), "–"),
    ],
)
def test_numbers_have_three_significant_digits_and_no_trailing_zero(
    value: float, text: str
) -> None:
    assert format_number(value) == text


def test_popup_numbers_use_the_one_format() -> None:
    gdf = gpd.GeoDataFrame(
        {"site_id": ["s"], "rank": [1], "score": [0.9], "capacity_mw": [499.0]},
        geometry=[box(0, 0, 100, 100)],
        crs=CRS,
    )
    from geotool.webmap.vectors import site_features

    (feature,) = site_features(gdf, simplify_m=0.0, labels={}, where="x")["features"]
    assert "<th>Capacity (MW)</th><td>499</td>" in feature["properties"]["_popup"]


# --- 7. skipped layers on the terminal ---------------------------------------------------------


def test_map_prints_a_note_per_skipped_layer_and_none_when_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path, ("windfarm",))
    (folder / "sites_windfarm.gpkg").unlink()
    comp = load_composition("windfarm")
    absent = {r.file for r in comp.rasters} | {v.file for v in comp.vectors}
    absent -= {"score_windfarm.tif"}
    main(["map", str(folder), "--composition", "windfarm"])
    err = capsys.readouterr().err.splitlines()
    notes = [line for line in err if line.startswith("note: ")]
    assert len(notes) == len(absent) == len(err)
    assert {n.split("skipped ")[1].split(" (")[0] for n in notes} == absent
    assert all(n.endswith("(not in the output folder)") for n in notes)
    main(["map", str(folder), "--composition", "windfarm", "--quiet"])
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


# --- 8. the carbon stage's manifest: the study record and synthetic flags ----------------------


def test_carbon_manifest_flags_synthetic_inputs_for_the_map(tmp_path: Path) -> None:
    transform = Affine(100.0, 0.0, X0, 0.0, -100.0, Y0)
    agb = np.full((20, 30), 80.0, dtype=np.float32)
    write_tif(tmp_path / "agb.tif", agb, crs=CRS, transform=transform, nodata=-9999.0)
    gpd.GeoDataFrame(
        {"name": ["East", "West"]},
        geometry=[box(X0, Y0 - 2000, X0 + 1500, Y0), box(X0 + 1500, Y0 - 2000, X0 + 3000, Y0)],
        crs=CRS,
    ).to_file(tmp_path / "counties.gpkg", driver="GPKG")
    study = tmp_path / "study.toml"
    study.write_text(
        '[study]\nname = "Forestry office"\nregion = "counties.gpkg"\nregion_id = "name"\n'
        'crs = "EPSG:32649"\nresolution = 100\n\n'
        '[layers]\nbiomass = { path = "agb.tif", synthetic = true }\n\n'
        "[carbon]\nmc_draws = 200\n",
        encoding="utf-8",
    )
    out = tmp_path / "carbon"
    main(["carbon", str(study), "--out", str(out)])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is False
    assert manifest["study"]["name"] == "Forestry office"  # the record, not a path
    assert manifest["study"]["region_id"] == "name"
    flags = {rec["role"]: rec["synthetic"] for rec in manifest["inputs"]}
    assert flags == {"study": False, "region": False, "biomass": True}
    model = build_model(out, folder_composition(out), max_size=64)
    assert model.title == "Forest carbon — Forestry office"
    assert model.provenance.warnings == ("Synthetic inputs (not real data): above-ground biomass.",)
    assert model.provenance.notes == ("Real inputs: study region, study file.",)  # by role
