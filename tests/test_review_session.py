"""Review session: defects found in the batch of changes since 97846e7."""

from __future__ import annotations

import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr

from geotool.grid import Grid
from geotool.regions import summarise_regions
from geotool.runner import clip_to_region, region_mask
from geotool.suitability import load_profile

GRID = Grid.from_bounds((400_000, 2_600_000, 408_000, 2_606_000), 100, "EPSG:32649")


@pytest.mark.parametrize("lazy", [False, True])
def test_no_data_km2_is_not_the_region_edge(lazy: bool) -> None:
    """``run`` blanks the pixels whose centre lies outside the region (``clip_to_region``):
    they are neither scored nor excluded, yet have all their data. A unit whose border
    cuts pixels must not report them as "no data" (~ perimeter × pixel / 8: 0.2 km² on this
    20 km² disc, several km² on a county) — only the real gap, here a 4 × 5 pixel hole."""
    units = gpd.GeoDataFrame(
        {"region": ["a"]},
        geometry=[shapely.Point(404_030.0, 2_603_020.0).buffer(2_555.0)],
        crs="EPSG:32649",
    )
    score = np.full(GRID.shape, 0.5, dtype="float32")
    score[28:32, 38:43] = np.nan  # 20 pixels deep inside the disc: 0.2 km² without data
    excluded = np.zeros(GRID.shape, dtype=bool)
    excluded[10:12, 30:40] = True  # 20 excluded pixels, inside too

    def wrap(v: np.ndarray) -> object:
        return da.from_array(v, chunks=20) if lazy else v

    ev = xr.Dataset(
        {"score": (("y", "x"), wrap(score)), "excluded": (("y", "x"), wrap(excluded))},
        coords={"x": GRID.xs, "y": GRID.ys},
    )
    score[excluded] = np.nan
    ev["score"] = (("y", "x"), wrap(score))
    ev = clip_to_region(ev, region_mask(units, GRID, 20))
    if not lazy:
        ev = ev.compute()
    table = summarise_regions(ev, None, units, GRID, profile=load_profile("geothermal_heat"))
    row = table.iloc[0]
    assert row["excluded_km2"] == pytest.approx(0.2)
    assert row["no_data_km2"] == pytest.approx(0.2, abs=1e-6)


def test_no_sites_without_any_eligible_pixel_does_not_blame_the_scores() -> None:
    """``threshold = inf`` means the score has no finite pixel at all (``candidate_bits``:
    an empty histogram): every pixel is excluded or lacks data. "No eligible pixel scores
    above 0" sends the user to the criteria (the reason for threshold 0) instead."""
    import math

    from geotool.sites import format_top
    from tests.test_sites_output import _sites

    empty = _sites(0)
    empty.attrs["threshold"] = math.inf
    text = format_top(empty, 5)
    assert text.startswith("no candidate sites: no eligible pixel")
    assert "above 0" not in text
    assert "excluded" in text and "no data" in text
