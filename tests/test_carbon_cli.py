"""``geotool carbon STUDY.toml [--parcels FILE] --out DIR`` end to end on a tiny study."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from geotool.cli import main
from tests.conftest import write_tif

COUNTIES = Path("/work/shared/data/real/shaoguan_counties.geojson")


@pytest.fixture()
def study(tmp_path: Path) -> Path:
    if not COUNTIES.exists():
        pytest.skip("shared real boundaries not available")
    # AGB map in lon/lat over Shaoguan (0.02 deg), 40-140 t/ha; the loader reprojects it
    w, n, res = 112.8, 25.6, 0.02
    width, height = 110, 90
    agb = 40.0 + 100.0 * np.random.default_rng(0).random((height, width))
    write_tif(
        tmp_path / "agb.tif",
        agb.astype("float32"),
        crs="EPSG:4326",
        transform=Affine(res, 0.0, w, 0.0, -res, n),
        nodata=-9999.0,
    )
    parcels = gpd.GeoDataFrame(
        {"pid": ["p1", "p2"], "species": ["chinese_fir", "other_broadleaf"]},
        geometry=[box(113.55, 24.75, 113.58, 24.78), box(113.60, 24.70, 113.62, 24.72)],
        crs="EPSG:4326",
    )
    parcels.to_file(tmp_path / "parcels.geojson", driver="GeoJSON")
    path = tmp_path / "study.toml"
    path.write_text(
        f"""
[study]
name = "Shaoguan carbon"
region = "{COUNTIES}"
region_id = "name"
crs = "EPSG:32649"
resolution = 2000

[layers]
biomass = "agb.tif"

[carbon]
standard = "ccer"
crediting_years = 20
price_cny_per_t = [60, 100]
mc_draws = 400
""",
        encoding="utf-8",
    )
    return path


def test_carbon_command_writes_the_contract_files(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    main(
        [
            "carbon",
            str(study),
            "--parcels",
            str(tmp_path / "parcels.geojson"),
            "--parcel-id",
            "pid",
            "--out",
            str(out),
        ]
    )
    for name in (
        "carbon_regions.csv",
        "carbon_vintages.csv",
        "carbon_parcels.gpkg",
        "carbon_parcels.csv",
        "carbon_t_ha.tif",
        "carbon_stock_source.tif",
        "manifest.json",
    ):
        assert (out / name).exists(), name
    regions = pd.read_csv(out / "carbon_regions.csv")
    assert len(regions) == 10 and (regions["stock_tco2e"] > 0).all()
    vint = pd.read_csv(out / "carbon_vintages.csv")
    assert len(vint) == 20 and set(vint["scope"]) == {"project"}
    parcels = gpd.read_file(out / "carbon_parcels.gpkg")
    assert list(parcels["parcel_id"]) == ["p1", "p2"]


def test_carbon_command_bad_key_is_a_one_line_error(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study.write_text(study.read_text().replace("mc_draws = 400", "mc_drawz = 400"))
    with pytest.raises(SystemExit) as exc:
        main(["carbon", str(study), "--out", str(tmp_path / "o2")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "mc_drawz" in err and "\n" not in err
    assert not (tmp_path / "o2").exists()


def test_carbon_command_overlapping_parcels_name_the_file(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "overlap.geojson"
    gpd.GeoDataFrame(
        {"parcel_id": ["a", "b"]},
        geometry=[box(113.55, 24.75, 113.58, 24.78), box(113.56, 24.76, 113.59, 24.79)],
        crs="EPSG:4326",
    ).to_file(bad, driver="GeoJSON")
    with pytest.raises(SystemExit) as exc:
        main(["carbon", str(study), "--parcels", str(bad), "--out", str(tmp_path / "o3")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert str(bad) in err and "'a' and 'b' overlap" in err and "\n" not in err
    assert not (tmp_path / "o3").exists()
    # the same file without the overlap: its own parcel_id column is the id
    gpd.GeoDataFrame(
        {"parcel_id": ["a", "b"]},
        geometry=[box(113.55, 24.75, 113.58, 24.78), box(113.60, 24.70, 113.62, 24.72)],
        crs="EPSG:4326",
    ).to_file(bad, driver="GeoJSON")
    main(["carbon", str(study), "--parcels", str(bad), "--out", str(tmp_path / "o4")])
    out = pd.read_csv(tmp_path / "o4" / "carbon_parcels.csv")
    assert list(out["parcel_id"]) == ["a", "b"]


def test_carbon_manifest_records_the_floor_an_overriding_rule_keeps(
    study: Path, tmp_path: Path
) -> None:
    # VCS with uncertainty_rule = "none": VM0047's 10 % least deduction still applies; the
    # manifest says so next to the rule, and a note explains it
    import json

    study.write_text(
        study.read_text().replace(
            'standard = "ccer"',
            'standard = "vcs"\nbuffer_risk_pct = 12\nuncertainty_rule = "none"',
        )
    )
    out = tmp_path / "vcs"
    main(["carbon", str(study), "--out", str(out)])
    manifest = json.loads((out / "manifest.json").read_text())
    params = manifest["parameters"]
    assert params["uncertainty_rule"] == "none" and params["min_deduction_pct"] == 10.0
    assert any("least deduction of 10 %" in n for n in manifest["notes"])
    vint = pd.read_csv(out / "carbon_vintages.csv")
    positive = vint["creditable_tco2e"] > 0
    assert positive.any() and (vint.loc[positive, "deduction_pct"] == 10.0).all()


def test_carbon_notes_a_crediting_period_outside_the_standards_range(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    study.write_text(study.read_text().replace("crediting_years = 20", "crediting_years = 10"))
    out = tmp_path / "short"
    main(["carbon", str(study), "--out", str(out)])
    note = "crediting_years = 10 is outside ccer crediting periods of 20-40 years"
    assert note in capsys.readouterr().err
    assert any(note in n for n in json.loads((out / "manifest.json").read_text())["notes"])
    assert len(pd.read_csv(out / "carbon_vintages.csv")) == 10  # still computed


def test_carbon_notes_parcels_that_are_forest_already(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a forest_cover layer (80 % crown cover everywhere) both parcels are forest:
    `carbon` notes it (A/R credits are for non-forest land) and writes forest_share."""
    write_tif(
        tmp_path / "cover.tif",
        np.full((90, 110), 80.0, dtype="float32"),
        crs="EPSG:4326",
        transform=Affine(0.02, 0.0, 112.8, 0.0, -0.02, 25.6),
    )
    text = study.read_text(encoding="utf-8")
    study.write_text(
        text.replace('biomass = "agb.tif"', 'biomass = "agb.tif"\nforest_cover = "cover.tif"'),
        encoding="utf-8",
    )
    out = tmp_path / "o5"
    main(["carbon", str(study), "--parcels", str(tmp_path / "parcels.geojson"), "--out", str(out)])
    assert "parcels 0, 1 are at least 50% forest already" in capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any("forest already" in n for n in manifest["notes"])
    assert pd.read_csv(out / "carbon_parcels.csv")["forest_share"].tolist() == [1.0, 1.0]
