"""What the map's text claims: the score scale only on maps of scores, "all inputs are
synthetic" only when every input is, and the substation voltage the run's distances counted."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
from affine import Affine
from shapely.geometry import box

from geotool.cli import main
from geotool.webmap import build_model, load_composition
from geotool.webmap.folium_map import render_html
from geotool.webmap.model import folder_composition
from geotool.webmap.provenance import summarise
from tests.conftest import write_tif
from tests.test_webmap_journey import _carbon_folder

CRS = "EPSG:32649"
X0, Y0 = 700_000.0, 2_750_000.0  # near Shaoguan
SCORES = "Scores are 0 (unsuitable) to 1 (best)"


def _datacenter_folder(tmp_path: Path, manifest: dict[str, object]) -> Path:
    """A data-centre run in miniature: a score raster and one site with its substation distance."""
    folder = tmp_path / "out"
    folder.mkdir(parents=True)
    transform = Affine(100.0, 0.0, X0, 0.0, -100.0, Y0)
    ramp = np.linspace(0.0, 1.0, 40 * 30, dtype=np.float32).reshape(30, 40)
    write_tif(folder / "score_datacenter.tif", ramp, crs=CRS, transform=transform)
    gpd.GeoDataFrame(
        {"site_id": ["d-001"], "rank": [1], "score": [0.9], "distance_to_substation_km": [4.5]},
        geometry=[box(X0 + 200, Y0 - 800, X0 + 600, Y0 - 400)],
        crs=CRS,
    ).to_file(folder / "sites_datacenter.gpkg", driver="GPKG")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


# --- 1. the info panel's reading note ---------------------------------------------------------


def test_carbon_map_does_not_explain_a_score_scale_it_does_not_show(tmp_path: Path) -> None:
    carbon = _carbon_folder(tmp_path)
    page = render_html(build_model(carbon, load_composition("carbon"), max_size=64))
    assert SCORES not in page  # was said on every map
    assert "Transparent = no data." in page
    scored = _datacenter_folder(tmp_path, {"study": {"name": "Tiny"}})
    page = render_html(build_model(scored, folder_composition(scored), max_size=64))
    assert f"{SCORES}; grey/transparent = excluded or no data." in page


# --- 2. the synthetic banner with the user's own parcels -------------------------------------


def test_demo_study_with_unflagged_parcels_is_not_all_synthetic() -> None:
    # the manifest of `geotool carbon demo/study.toml --parcels mine.gpkg`: the parcels,
    # given on the command line, carry no flag
    roles = ["study", "region", "land_cover", "forest_cover", "biomass", "growing_stock"]
    inputs = [{"role": r, "synthetic": True} for r in roles] + [{"role": "parcels"}]
    p = summarise({"synthetic": True, "inputs": inputs})
    assert not p.all_synthetic  # was "ALL INPUTS ARE SYNTHETIC (demo data)"
    assert p.warnings == ("Synthetic inputs (not real data): all except parcels.",)
    assert p.notes == ("Inputs not marked real or synthetic: parcels.",)
    # fewer synthetic inputs: named one by one (in the order of their layer names)
    few = summarise({"synthetic": True, "inputs": inputs[3:]})
    assert few.warnings == (
        "Synthetic inputs (not real data): above-ground biomass, tree cover, growing stock volume.",
    )
    # a study flag and inputs none of which is flagged: the flag is said, not extended to them
    bare = summarise({"study": {"synthetic": True}, "inputs": [{"role": "dem"}]})
    assert bare.warnings == (
        "The study is marked synthetic (demo data); its inputs are not marked one by one.",
    )
    assert bare.notes == ("Inputs not marked real or synthetic: elevation (DEM).",)


def test_carbon_run_with_the_users_parcels_names_them_in_the_banner(tmp_path: Path) -> None:
    transform = Affine(100.0, 0.0, X0, 0.0, -100.0, Y0)
    agb = np.full((20, 30), 80.0, dtype=np.float32)
    write_tif(tmp_path / "agb.tif", agb, crs=CRS, transform=transform, nodata=-9999.0)
    gpd.GeoDataFrame(
        {"name": ["East"]}, geometry=[box(X0, Y0 - 2000, X0 + 3000, Y0)], crs=CRS
    ).to_file(tmp_path / "counties.gpkg", driver="GPKG")
    gpd.GeoDataFrame(
        {"parcel_id": ["P1"]}, geometry=[box(X0 + 500, Y0 - 1500, X0 + 1000, Y0 - 1000)], crs=CRS
    ).to_file(tmp_path / "my_parcels.gpkg", driver="GPKG")
    study = tmp_path / "study.toml"
    study.write_text(
        '[study]\nname = "Demo"\nregion = "counties.gpkg"\nregion_id = "name"\n'
        'crs = "EPSG:32649"\nresolution = 100\nsynthetic = true\n\n'
        '[layers]\nbiomass = { path = "agb.tif", synthetic = true }\n\n'
        "[carbon]\nmc_draws = 200\n",
        encoding="utf-8",
    )
    out = tmp_path / "carbon"
    main(["carbon", str(study), "--parcels", str(tmp_path / "my_parcels.gpkg"), "--out", str(out)])
    model = build_model(out, folder_composition(out), max_size=64)
    # biomass, region (the study's flag) and study file are synthetic; the parcels unmarked
    assert model.provenance.warnings == (
        "Synthetic inputs (not real data): above-ground biomass, study region, study file.",
    )
    assert model.provenance.notes == ("Inputs not marked real or synthetic: parcels.",)
    assert "ALL INPUTS ARE SYNTHETIC" not in render_html(model)


# --- 3. the substation voltage in the site popups --------------------------------------------


def _popup(folder: Path) -> str:
    model = build_model(folder, load_composition("datacenter"), max_size=64)
    sites = next(v for v in model.vectors if v.kind == "sites")
    (feature,) = sites.geojson["features"]
    return str(feature["properties"]["_popup"])


def test_site_popup_names_the_substation_voltage_the_run_recorded(tmp_path: Path) -> None:
    recorded = _datacenter_folder(tmp_path / "a", {"sites": {"substation_min_kv": 110.0}})
    assert "<th>Distance to ≥ 110 kV substation (km)</th><td>4.5</td>" in _popup(recorded)
    # a manifest without it (an older run): no voltage is claimed
    older = _datacenter_folder(tmp_path / "b", {"study": {"name": "Tiny"}})
    popup = _popup(older)
    assert "<th>Distance to substation (km)</th><td>4.5</td>" in popup and " kV" not in popup
