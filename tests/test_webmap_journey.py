"""The presenter's journey: maps of a one-profile run, of ``geotool carbon``, of a study without
``[layers] regions``, and legends that say what the map draws."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from geotool.cli import main
from geotool.webmap import build_model, load_composition, render_map
from geotool.webmap.legend import legend_html
from tests.conftest import write_tif
from tests.test_webmap_data import CRS, Output, build_output


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Output:
    return build_output(tmp_path_factory.mktemp("journey") / "out")


def _copy(out: Output, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(out.folder, folder)
    return folder


def test_overview_of_a_one_profile_run_opens_on_that_profile(out: Output) -> None:
    # `geotool run --profile windfarm` writes the overview map; it showed only the first
    # profile of the composition (datacenter), which the run did not score: an empty map
    model = build_model(out.folder, load_composition("overview"), max_size=200)
    assert [img.name for img in model.images if img.show] == ["Wind farm — suitability"]
    shown = [v.name for v in model.vectors if v.show]
    assert "Wind farm — candidate sites" in shown and "Solar farm — candidate sites" not in shown


def test_county_outline_comes_from_the_runs_region_summaries(out: Output) -> None:
    # the manifest lists no regions file that exists: a study with only `region = ...` (no
    # `[layers] regions`) had no county outlines; the run's regions_<profile>.gpkg holds them
    model = build_model(out.folder, load_composition("windfarm"), max_size=200)
    assert "regions.gpkg" not in model.missing
    outline = next(v for v in model.vectors if v.name == "County boundaries")
    feats = outline.geojson["features"]
    assert len(feats) == len(out.regions)
    coords = np.array([xy for f in feats for xy in f["geometry"]["coordinates"][0]])
    west, south, east, north = out.regions.to_crs("EPSG:4326").total_bounds
    assert np.allclose(coords.min(axis=0), [west, south], atol=1e-4)
    assert np.allclose(coords.max(axis=0), [east, north], atol=1e-4)


def test_class_legends_list_only_the_classes_drawn(out: Output) -> None:
    # the fixture's land cover holds tree cover, cropland and water: not the 11 WorldCover
    # classes (snow, mangroves, moss ...) the composition knows
    model = build_model(out.folder, load_composition("windfarm"), max_size=400)
    land = next(img for img in model.images if img.source == "land_cover.tif")
    assert land.legend is not None
    assert [label for label, _ in land.legend.entries] == [  # type: ignore[union-attr]
        "Tree cover",
        "Cropland",
        "Permanent water bodies",
    ]


RAMP = np.tile(np.linspace(0.0, 100.0, 201, dtype=np.float32), (150, 1))
"""Columns 0..100 in steps of 0.5: its 2nd and 98th percentiles are 2 and 98."""


def test_legend_end_ticks_mark_values_beyond_the_colour_range(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    transform = Affine(100.0, 0.0, 700_000.0, 0.0, -100.0, 2_750_000.0)
    write_tif(folder / "score_windfarm.tif", RAMP / 100.0, crs=CRS, transform=transform)
    write_tif(folder / "ramp.tif", RAMP, crs=CRS, transform=transform)
    comp = tmp_path / "ramp.toml"
    comp.write_text(
        '[map]\ntitle = "t"\nprofiles = ["windfarm"]\n\n'
        '[[rasters]]\nname = "Stretched"\nfile = "ramp.tif"\nunits = "m/s"\n\n'
        '[[rasters]]\nname = "Whole range"\nfile = "ramp.tif"\nvmin = 0\nvmax = 100\n',
        encoding="utf-8",
    )
    model = build_model(folder, load_composition(comp), max_size=400)
    stretched, whole = (img.legend for img in model.images)
    assert stretched is not None and whole is not None
    # the robust stretch: 2nd–98th percentile; the data runs on to 0 and 100
    assert stretched.vmin == pytest.approx(2.0, abs=0.5)  # type: ignore[union-attr]
    assert stretched.vmax == pytest.approx(98.0, abs=0.5)  # type: ignore[union-attr]
    ticks = re.findall(r"<span>([^<]*)</span>", legend_html(stretched))
    assert ticks[0].startswith("≤ ") and ticks[-1].startswith("≥ ")
    assert all(t[0].isdigit() for t in ticks[1:-1])
    # whole numbers without a decimal (were "25.0", ..., "100.0")
    assert re.findall(r"<span>([^<]*)</span>", legend_html(whole)) == [
        "0",
        "25",
        "50",
        "75",
        "100",
    ]


def test_solar_map_shows_irradiation_when_the_study_has_no_pvout(
    out: Output, tmp_path: Path
) -> None:
    folder = _copy(out, tmp_path, "solar")
    write_tif(
        folder / "ghi.tif",
        (1200.0 + 1.6 * RAMP).astype(np.float32),  # 1,200..1,360 kWh/m²/yr
        crs=CRS,
        transform=out.transform * Affine.scale(7.5, 11.0),
        nodata=-9999.0,
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["inputs"] = [{"role": "ghi", "path": "ghi.tif", "synthetic": True}]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    model = build_model(folder, load_composition("solarfarm"), max_size=300)
    ghi = next(img for img in model.images if img.source == "ghi.tif")
    assert ghi.legend is not None and ghi.legend.title == (
        "Solar irradiation (GHI, annual) (kWh/m²/yr)"
    )
    assert 1200.0 <= ghi.legend.vmin < ghi.legend.vmax <= 1360.0  # type: ignore[union-attr]


# --- the output folder of `geotool carbon` -----------------------------------------------------

COUNTIES = ["浈江区", "武江区"]  # Zhenjiang, Wujiang (Shaoguan)
STOCK = [4_874_532.0, 18_123_182.0]
DENSITY = [6.2, 18.7]


def _carbon_folder(tmp_path: Path) -> Path:
    """What `geotool carbon` writes: no score raster, a manifest whose study is a path and
    whose region is a UTF-8 GeoJSON naming its counties in Chinese (in `name`)."""
    folder = tmp_path / "carbon"
    folder.mkdir()
    transform = Affine(100.0, 0.0, 700_000.0, 0.0, -100.0, 2_750_000.0)
    density = RAMP / 4.0  # 0..25 t C/ha
    write_tif(folder / "carbon_t_ha.tif", density, crs=CRS, transform=transform)
    source = np.where(np.arange(201) < 100, 1, 3).astype(np.uint8)  # biomass map | Tier 1
    write_tif(
        folder / "carbon_stock_source.tif",
        np.tile(source, (150, 1)),
        crs=CRS,
        transform=transform,
        nodata=0,
    )
    halves = [
        box(700_000, 2_735_000, 710_000, 2_750_000),
        box(710_000, 2_735_000, 720_100, 2_750_000),
    ]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    gpd.GeoDataFrame(
        {"adcode": ["440204", "440203"], "name": COUNTIES}, geometry=halves, crs=CRS
    ).to_crs("EPSG:4326").to_file(inputs / "counties.geojson", driver="GeoJSON")
    pd.DataFrame(
        {"region": COUNTIES, "stock_tco2e": STOCK, "carbon_density_tc_ha": DENSITY}
    ).to_csv(folder / "carbon_regions.csv", index=False, encoding="utf-8")
    manifest = {
        "command": "carbon",
        "study": str(inputs / "study.toml"),
        "inputs": {"region": {"path": str(inputs / "counties.geojson")}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_carbon_stage_folder_maps_with_chinese_county_names(tmp_path: Path) -> None:
    folder = _carbon_folder(tmp_path)
    assert main(["map", str(folder), "--quiet"]) is None  # was exit 2: "no score rasters"
    assert (folder / "map.html").stat().st_size > 10_000
    model = build_model(folder, load_composition("carbon"), max_size=300)
    density = next(img for img in model.images if img.source == "carbon_t_ha.tif")
    assert density.show and density.legend is not None
    assert density.legend.title == "Forest carbon density (live biomass) (t C/ha)"
    source = next(img for img in model.images if img.source == "carbon_stock_source.tif")
    assert [label for label, _ in source.legend.entries] == [  # type: ignore[union-attr]
        "Biomass map",
        "IPCC Tier 1 default (no local data)",
    ]
    outline = next(v for v in model.vectors if v.name == "County boundaries")
    assert len(outline.geojson["features"]) == 2
    # carbon_regions.csv joined to the counties by the column naming them (the manifest of
    # `geotool carbon` does not say which): Chinese names in tooltips and popup titles
    stock = next(v for v in model.vectors if v.name == "Forest carbon stock by county")
    props = {f["properties"]["region"]: f["properties"] for f in stock.geojson["features"]}
    assert set(props) == set(COUNTIES)
    assert props["武江区"]["_tooltip"].startswith("<b>武江区</b>")
    assert '<div class="geotool-popup-title">浈江区</div>' in props["浈江区"]["_popup"]
    assert (stock.legend.vmin, stock.legend.vmax) == (min(STOCK), max(STOCK))  # type: ignore[union-attr]


def test_score_composition_on_a_carbon_folder_names_the_carbon_one(tmp_path: Path) -> None:
    folder = _carbon_folder(tmp_path)
    with pytest.raises(Exception, match="--composition carbon"):
        render_map(folder, composition="windfarm")
    assert not (folder / "map.html").exists()


def test_region_table_without_the_mapped_column_is_skipped_with_a_note(tmp_path: Path) -> None:
    # carbon_regions.csv without carbon_density_tc_ha (written by an older geotool, or edited)
    # failed the whole map; now that one layer is left out and named in the info panel
    folder = _carbon_folder(tmp_path)
    table = pd.read_csv(folder / "carbon_regions.csv")
    table.drop(columns="carbon_density_tc_ha").to_csv(folder / "carbon_regions.csv", index=False)
    model = build_model(folder, load_composition("carbon"), max_size=200)
    names = [v.name for v in model.vectors]
    assert "Forest carbon stock by county" in names
    assert "Forest carbon density by county" not in names
    assert "carbon_regions.csv (no column carbon_density_tc_ha)" in model.missing


def test_gbk_shapefile_region_without_cpg_keeps_its_chinese_names(tmp_path: Path) -> None:
    # a county Shapefile saved by Chinese GIS software in GBK, its .cpg lost: the map reads a
    # study input as the pipeline does (encoding guessed), not as Latin-1 mojibake
    folder = _carbon_folder(tmp_path)
    shp = tmp_path / "inputs" / "counties.shp"
    gpd.read_file(tmp_path / "inputs" / "counties.geojson").to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["inputs"]["region"]["path"] = str(shp)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    model = build_model(folder, load_composition("carbon"), max_size=200)
    stock = next(v for v in model.vectors if v.name == "Forest carbon stock by county")
    assert {f["properties"]["region"] for f in stock.geojson["features"]} == set(COUNTIES)
