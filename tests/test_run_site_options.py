"""``geotool run`` hands the study's choices to the site metrics: the ``[carbon]`` species and
crediting period reach the carbon-sink sites and region totals, and a windfarm profile's hub
height reaches the derived wind layers (recomputed here from the species table and the run's
own outputs, not from the code under test)."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geotool.cli import main
from geotool.demo import build_demo
from tests.conftest import planted_stock_tco2e_per_ha


@pytest.fixture(scope="module")
def run_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site_options")
    # two counties near Shaoguan (WGS 84): ~40 × 39 km in all
    regions = gpd.GeoDataFrame(
        {"name": ["West", "East"]},
        geometry=[
            shapely.box(113.40, 24.70, 113.60, 25.05),
            shapely.box(113.60, 24.70, 113.80, 25.05),
        ],
        crs=4326,
    )
    regions.to_file(folder / "counties.geojson", driver="GeoJSON")
    study = build_demo(folder / "inputs", region_file=folder / "counties.geojson")
    with open(study, "a", encoding="utf-8") as fh:
        fh.write(
            '\n[carbon]\nspecies = "eucalyptus"\ncrediting_years = 10\n'
            'standard = "vcs"\nbuffer_risk_pct = 12\nuncertainty_rule = "none"\n'
            "\n[profiles.windfarm.sites]\nhub_height_m = 149\n"
        )
    out = folder / "out"
    args = ["run", str(study), "--out", str(out), "--no-map", "--quiet"]
    main([*args, "--profile", "carbon_sink", "--profile", "windfarm"])
    return out


def test_carbon_sink_sites_and_regions_plant_the_study_species(run_out):
    per_ha = planted_stock_tco2e_per_ha("eucalyptus", 10)
    sites = gpd.read_file(run_out / "sites_carbon_sink.gpkg")
    assert len(sites) > 0
    assert set(sites["species"]) == {"eucalyptus"} and set(sites["crediting_years"]) == {10}
    pd.testing.assert_series_equal(
        sites["tco2e_total"], sites["area_ha"] * per_ha, check_names=False, rtol=1e-9
    )
    regions = pd.read_csv(run_out / "regions_carbon_sink.csv")
    pd.testing.assert_series_equal(
        regions["eligible_tco2e_per_yr"],
        regions["eligible_km2"] * 100.0 * per_ha / 10.0,
        check_names=False,
        rtol=1e-9,
    )


def test_windfarm_hub_height_reaches_the_derived_wind(run_out):
    manifest = json.loads((run_out / "manifest.json").read_text())
    assert manifest["resources"]["hub_height_m"] == 149.0
    assert manifest["resources"]["turbine"] == "E-115/3000"


def test_run_records_the_substation_voltage_its_sites_measured_to(run_out):
    # the study cannot change it: the SiteOptions default, 220 kV (geotool map shows it)
    manifest = json.loads((run_out / "manifest.json").read_text())
    assert manifest["sites"] == {"substation_min_kv": 220.0}


def test_run_records_the_carbon_notes_and_least_deduction_as_geotool_carbon_does(run_out):
    # VCS, rule "none", 10 years: outside VCS's 20-100 years, and VM0047's 10 % least
    # deduction kept; `geotool run` wrote neither (only `geotool carbon` did)
    manifest = json.loads((run_out / "manifest.json").read_text())
    assert manifest["carbon"] == {
        "standard": "vcs",
        "uncertainty_rule": "none",
        "min_deduction_pct": 10.0,
    }
    notes = " ".join(manifest["notes"])
    assert "crediting_years = 10 is outside vcs crediting periods of 20-100 years" in notes
    assert "least deduction of 10 %" in notes
    vintages = pd.read_csv(run_out / "carbon_vintages.csv")
    positive = vintages["creditable_tco2e"] > 0
    assert positive.any() and (vintages.loc[positive, "deduction_pct"] == 10.0).all()
