"""`geotool demo --region` over the real Shaoguan county boundaries: the county tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

PROFILES = ("datacenter", "windfarm", "solarfarm", "carbon_sink", "geothermal_heat")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, shaoguan_counties: Path) -> Path:
    out = tmp_path_factory.mktemp("sg") / "out"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "geotool",
            "demo",
            "--region",
            str(shaoguan_counties),
            "--out",
            str(out),
            "--no-map",
            "--top",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return out


@pytest.mark.parametrize("profile", PROFILES)
def test_county_table_has_the_ten_real_counties_with_their_areas(
    run: Path, shaoguan_counties: Path, profile: str
) -> None:
    counties = gpd.read_file(shaoguan_counties).to_crs("EPSG:32649")
    table = pd.read_csv(run / f"regions_{profile}.csv").set_index("region")
    assert sorted(table.index) == sorted(counties["name"])  # 10 counties, Chinese names
    expected = counties.set_index("name").area / 1e6
    got = table.loc[expected.index, "area_km2"]
    assert np.allclose(got, expected, rtol=0.005)
    assert table["eligible_km2"].between(0, table["area_km2"] * 1.0001).all()
    gpkg = gpd.read_file(run / f"regions_{profile}.gpkg")
    assert list(gpkg.drop(columns="geometry").columns) == list(
        pd.read_csv(run / f"regions_{profile}.csv").columns
    )


def test_carbon_by_real_county(run: Path, shaoguan_counties: Path) -> None:
    counties = gpd.read_file(shaoguan_counties)
    carbon = pd.read_csv(run / "carbon_regions.csv")
    assert sorted(carbon["region"]) == sorted(counties["name"])
