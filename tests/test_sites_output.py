"""Writing sites (GeoPackage, GeoParquet) and the text table of the best sites."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geotool.io.outputs import OutputDir
from geotool.sites import format_top, write_sites

CRS = "EPSG:32649"


def _sites(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(5)
    score = np.sort(rng.random(n))[::-1]
    gdf = gpd.GeoDataFrame(
        {
            "site_id": [f"windfarm-{i:03d}" for i in range(1, n + 1)],
            "rank": np.arange(1, n + 1),
            "score": score,
            "area_km2": rng.uniform(2, 50, n),
            "m_wind": rng.random(n),
            "limiting": ["wind"] * n,
            "region": ["乳源瑶族自治县" if i % 2 else "南雄市" for i in range(n)],
            "lon": np.full(n, 113.3),
            "lat": np.full(n, 24.8),
            "capacity_mw": rng.uniform(6, 150, n),
            "energy_gwh_per_yr": rng.uniform(10, 400, n),
        },
        geometry=[shapely.box(i * 1000.0, 0, i * 1000.0 + 500, 500) for i in range(n)],
        crs=CRS,
    )
    gdf.attrs["metric_kind"] = "windfarm"
    return gdf


def test_write_sites_round_trips(tmp_path: Path) -> None:
    sites = _sites(6)
    paths = write_sites(sites, tmp_path, "windfarm")
    assert [p.name for p in paths] == ["sites_windfarm.gpkg", "sites_windfarm.parquet"]
    for back in (gpd.read_file(paths[0]), gpd.read_parquet(paths[1])):
        assert back.crs == sites.crs
        assert list(back.columns) == list(sites.columns)
        assert back["region"].tolist() == sites["region"].tolist()
        np.testing.assert_allclose(back.area, sites.area)
        np.testing.assert_allclose(back["energy_gwh_per_yr"], sites["energy_gwh_per_yr"])
    assert not list(tmp_path.glob(".tmp-*"))


def test_write_sites_into_an_output_dir_and_empty_tables(tmp_path: Path) -> None:
    empty = _sites(0)
    empty["region"] = pd.Series([], dtype=object)
    with OutputDir(tmp_path / "out") as od:
        write_sites(empty, od, "windfarm")
    back = gpd.read_file(tmp_path / "out" / "sites_windfarm.gpkg")
    assert len(back) == 0 and "site_id" in back.columns


def test_format_top_lists_the_best_n_in_rank_order() -> None:
    sites = _sites(8).sample(frac=1.0, random_state=1)  # shuffled rows
    text = format_top(sites, 3)
    lines = text.splitlines()
    assert len(lines) == 4  # header + 3
    assert "capacity_mw" in lines[0] and "energy_gwh_per_yr" in lines[0]
    assert [ln.split()[1] for ln in lines[1:]] == ["windfarm-001", "windfarm-002", "windfarm-003"]
    assert "windfarm-004" not in text
    assert format_top(_sites(0), 5).startswith("no candidate sites: ")


@pytest.mark.parametrize(
    ("threshold", "reason"),
    [
        (float("inf"), "no eligible pixel (every pixel of the region is excluded"),
        (0.0, "the best eligible pixels score 0"),
        (0.62, "no area scoring 0.62 or more (and > 0) is as large as the profile's [sites]"),
    ],
)
def test_no_sites_says_why(threshold: float, reason: str) -> None:
    """A run in Ruyuan printed a bare "no candidate sites": its 146 eligible pixels all
    scored 0 (more than 5 km from a road)."""
    empty = _sites(0)
    empty.attrs["threshold"] = threshold
    assert format_top(empty, 5).startswith(f"no candidate sites: {reason}")


@pytest.mark.parametrize("n", [0, 1, 20])
def test_format_top_never_shows_more_rows_than_sites(n: int) -> None:
    text = format_top(_sites(3), n)
    assert len(text.splitlines()) == 1 + min(n, 3)
