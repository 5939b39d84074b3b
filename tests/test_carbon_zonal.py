"""Region and parcel totals with exactextract, checked against exactextract called directly."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from exactextract import exact_extract
from rasterio.io import MemoryFile
from shapely.geometry import box

from geotool.carbon import (
    CarbonConfig,
    carbon_parcels,
    carbon_regions,
    carbon_stock,
    removals_by_year,
    run_carbon,
)
from geotool.errors import CRSError, InputError, UnknownNameError
from geotool.grid import Grid

COUNTIES = Path("/work/shared/data/real/shaoguan_counties.geojson")
CRS = "EPSG:32649"
RES = 1000.0


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    if not COUNTIES.exists():
        pytest.skip("shared real boundaries not available")
    return gpd.read_file(COUNTIES)


@pytest.fixture(scope="module")
def grid(counties: gpd.GeoDataFrame) -> Grid:
    left, bottom, right, top = counties.to_crs(CRS).total_bounds
    pad = 3 * RES
    return Grid.from_bounds((left - pad, bottom - pad, right + pad, top + pad), RES, CRS)


def _stack(grid: Grid) -> xr.Dataset:
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    agb = 60.0 + 80.0 * np.sin(rows / 9.0) ** 2 + 0.3 * cols  # crosses the 125 t R break
    agb[rows % 17 == 3] = np.nan  # stripes without an AGB map value
    cover = np.where((rows + cols) % 5 == 0, 10.0, 70.0)
    layers = {"biomass": agb, "forest_cover": cover}
    return xr.Dataset(
        {k: (("y", "x"), da.from_array(v.astype("float32"), chunks=64)) for k, v in layers.items()},
        coords={"x": grid.xs, "y": grid.ys},
        attrs={"grid": grid},
    )


def _direct_sum(values: np.ndarray, grid: Grid, polys: gpd.GeoDataFrame) -> np.ndarray:
    """exactextract on an in-memory GeoTIFF (rasterio source), independent of our code."""
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": "float32",
        "crs": grid.crs.to_wkt(),
        "transform": grid.transform,
        "nodata": np.nan,
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(values.astype("float32"), 1)
        with mem.open() as ds:
            assert isinstance(ds, rasterio.io.DatasetReader)
            res = exact_extract(ds, polys.to_crs(CRS), "sum", output="pandas")
    return res["sum"].to_numpy()


def test_region_totals_match_exactextract_directly(counties: gpd.GeoDataFrame, grid: Grid) -> None:
    stock = carbon_stock(_stack(grid), CarbonConfig())
    table = carbon_regions(stock, counties, id_field="name", ecological_zone="subtropical_humid")
    px_ha = RES * RES / 1e4
    carbon = stock["carbon_t_ha"].values
    direct = _direct_sum(carbon, grid, counties) * px_ha
    assert list(table["region"]) == list(counties["name"])
    np.testing.assert_allclose(table["stock_tc"], direct, rtol=1e-3)
    np.testing.assert_allclose(table["stock_tco2e"], direct * 44 / 12, rtol=1e-3)
    # every pixel has a value (AGB map or Tier 1 where forest, stripes of 10 % cover: none),
    # the covered area is the polygon area minus those stripes; shares add to 100 %
    shares = table[["share_agb_map_pct", "share_volume_pct", "share_tier1_pct"]].sum(axis=1)
    np.testing.assert_allclose(shares, 100.0, rtol=1e-9)
    assert (table["data_area_ha"] <= table["area_ha"] * 1.001).all()
    assert (table["tier1_forest_removals_tco2e_per_yr"] > 0).all()


def test_region_area_is_exact_fractional_coverage(counties: gpd.GeoDataFrame, grid: Grid) -> None:
    ones = xr.full_like(_stack(grid)["biomass"], 50.0).fillna(50.0)
    stock = carbon_stock(xr.Dataset({"biomass": ones}, attrs={"grid": grid}), CarbonConfig())
    table = carbon_regions(stock, counties)
    # a full-coverage layer: covered area == polygon area (exact cell fractions)
    np.testing.assert_allclose(table["data_area_ha"], table["area_ha"], rtol=1e-3)
    # 50 t AGB x 1.2 x 0.47 = 28.2 t C/ha everywhere
    np.testing.assert_allclose(table["carbon_density_tc_ha"], 28.2, rtol=1e-5)


def test_regions_without_crs_are_rejected(counties: gpd.GeoDataFrame, grid: Grid) -> None:
    stock = carbon_stock(_stack(grid), CarbonConfig())
    with pytest.raises(CRSError):
        carbon_regions(stock, counties.set_crs(None, allow_override=True))


def _parcels(grid: Grid) -> gpd.GeoDataFrame:
    x0, y0 = grid.bounds[0] + 20 * RES, grid.bounds[1] + 20 * RES
    return gpd.GeoDataFrame(
        {
            "pid": ["A", "B", "C"],
            "species": ["chinese_fir", None, "eucalyptus"],
            "agb_t_ha": [np.nan, 40.0, np.nan],
            "baseline_tco2e_per_yr": [np.nan, 12.0, np.nan],
        },
        geometry=[
            box(x0, y0, x0 + 3300, y0 + 2500),
            box(x0 + 5000, y0, x0 + 6000, y0 + 1000),
            box(x0 + 8000, y0 + 400, x0 + 9500, y0 + 2100),
        ],
        crs=CRS,
    )


def test_parcels_columns_attributes_and_totals(grid: Grid) -> None:
    cfg = CarbonConfig(species="masson_pine", baseline_tco2e_per_ha_yr=0.5, crediting_years=20)
    stock = carbon_stock(_stack(grid), cfg)
    parcels = _parcels(grid)
    out = carbon_parcels(stock, parcels, cfg, id_field="pid")
    for col in (
        "area_ha",
        "agb_t_ha",
        "root_shoot",
        "carbon_fraction",
        "stock_tco2e",
        "removals_tco2e_per_yr",
        "parcel_id",
        "species",
        "baseline_tco2e_per_yr",
    ):
        assert col in out.columns, col
    assert list(out["species"]) == ["chinese_fir", "masson_pine", "eucalyptus"]
    np.testing.assert_allclose(out["area_ha"], [825.0, 100.0, 255.0])
    # parcel B: AGB attribute 40 t/ha (<125: R 0.20), CF 0.47, 100 ha
    b = out.iloc[1]
    assert b["stock_source"] == "attribute"
    assert b["stock_tco2e"] == pytest.approx(40 * 1.2 * 0.47 * 44 / 12 * 100)
    assert b["baseline_tco2e_per_yr"] == 12.0
    assert out.iloc[0]["baseline_tco2e_per_yr"] == pytest.approx(0.5 * 825)
    # parcel A from the layers: stock = exactextract sum of CO2e x pixel area
    direct = _direct_sum(stock["co2e_t_ha"].values, grid, parcels.iloc[[0]]) * 100.0
    assert out.iloc[0]["stock_tco2e"] == pytest.approx(direct[0], rel=1e-3)
    fir = removals_by_year("chinese_fir", 20)["removals_tco2e_per_ha"].sum()
    assert out.iloc[0]["removals_tco2e_per_yr"] == pytest.approx(fir * 825 / 20)


def test_unknown_parcel_species_names_the_row(grid: Grid) -> None:
    parcels = _parcels(grid)
    parcels.loc[2, "species"] = "teak"
    stock = carbon_stock(_stack(grid), CarbonConfig())
    with pytest.raises(UnknownNameError, match="row 2"):
        carbon_parcels(stock, parcels, CarbonConfig())


def test_run_carbon_end_to_end(counties: gpd.GeoDataFrame, grid: Grid) -> None:
    cfg = CarbonConfig.from_dict(
        {
            "standard": "gold_standard",
            "crediting_years": 30,
            "price_cny_per_t": [60, 100],
            "mc_draws": 500,
            "seed": 5,
        }
    )
    out = run_carbon(_stack(grid), counties, _parcels(grid), cfg, region_id="name", parcel_id="pid")
    vint = out["vintages"]
    assert len(vint) == 30 and (vint["scope"] == "project").all()
    assert vint["vintage"].tolist() == list(range(2025, 2055))
    assert vint["gross_removals_tco2e"].sum() == pytest.approx(
        out["parcels"]["removals_tco2e_total"].sum()
    )
    assert (vint["buffer_pct"] == 20.0).all()
    np.testing.assert_allclose(vint["value_high_cny"], vint["issuable_tco2e"] * 100)
    assert len(out["regions"]) == len(counties)
    ref = run_carbon(_stack(grid), None, None, cfg)
    assert ref["regions"] is None and (ref["vintages"]["scope"] == "per_ha_reference").all()


def test_parcel_file_with_its_own_parcel_id_column(grid: Grid) -> None:
    parcels = _parcels(grid).rename(columns={"pid": "parcel_id"})
    stock = carbon_stock(_stack(grid), CarbonConfig())
    named = carbon_parcels(stock, parcels, CarbonConfig(), id_field="parcel_id")
    implied = carbon_parcels(stock, parcels, CarbonConfig())
    assert list(named["parcel_id"]) == ["A", "B", "C"] == list(implied["parcel_id"])
    assert list(named.columns).count("parcel_id") == 1


def test_parcels_that_overlap_or_are_not_areas_are_refused(grid: Grid) -> None:
    stock = carbon_stock(_stack(grid), CarbonConfig())
    parcels = _parcels(grid)
    twice = pd.concat([parcels, parcels.iloc[[0]].assign(pid="A2")], ignore_index=True)
    with pytest.raises(InputError, match=r"'A' and 'A2' overlap by 825\.00 ha"):
        carbon_parcels(stock, gpd.GeoDataFrame(twice, crs=CRS), CarbonConfig(), id_field="pid")
    dup = parcels.assign(pid=["A", "B", "A"])
    with pytest.raises(InputError, match="'A' appears more than once"):
        carbon_parcels(stock, dup, CarbonConfig(), id_field="pid")
    point = parcels.copy()
    point.loc[1, "geometry"] = parcels.geometry.iloc[1].centroid
    with pytest.raises(InputError, match="'B' is a Point"):
        carbon_parcels(stock, point, CarbonConfig(), id_field="pid")
    # sharing a boundary is not an overlap
    x0, y0 = grid.bounds[0] + 20 * RES, grid.bounds[1] + 20 * RES
    touching = gpd.GeoDataFrame(
        {"pid": ["L", "R"]},
        geometry=[box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 1000, y0, x0 + 2000, y0 + 1000)],
        crs=CRS,
    )
    assert len(carbon_parcels(stock, touching, CarbonConfig(), id_field="pid")) == 2


def test_parcel_half_outside_the_grid_reports_its_data_share(grid: Grid) -> None:
    stock = carbon_stock(_stack(grid), CarbonConfig())
    left, bottom, _, _ = grid.bounds
    parcels = gpd.GeoDataFrame(
        {"pid": ["in", "half"]},
        geometry=[
            box(left + 20 * RES, bottom + 20 * RES, left + 22 * RES, bottom + 22 * RES),
            box(left - 2 * RES, bottom + 30 * RES, left + 2 * RES, bottom + 31 * RES),
        ],
        crs=CRS,
    )
    out = carbon_parcels(stock, parcels, CarbonConfig(), id_field="pid").set_index("parcel_id")
    assert out.loc["half", "stock_data_share"] == pytest.approx(0.5)  # 2 of its 4 km² on the grid
    assert out.loc["in", "stock_data_share"] == pytest.approx(1.0)


def test_parcel_outside_the_grid_is_refused_not_credited(grid: Grid) -> None:
    """A parcel of another county has no stock or land data here, yet would be credited its
    whole planting (a user ran Nanxiong parcels with a Ruyuan study: 5,459 t issuable)."""
    stock = carbon_stock(_stack(grid), CarbonConfig())
    _, _, right, top = grid.bounds
    parcels = pd.concat(
        [
            _parcels(grid),
            gpd.GeoDataFrame(
                {"pid": ["far"]},
                geometry=[box(right + 10 * RES, top + 10 * RES, right + 12 * RES, top + 12 * RES)],
                crs=CRS,
            ),
        ],
        ignore_index=True,
    )
    with pytest.raises(InputError, match=r"parcel 'far' lies outside the study grid \(1 of 4"):
        carbon_parcels(stock, gpd.GeoDataFrame(parcels, crs=CRS), CarbonConfig(), id_field="pid")


def test_shapefile_cut_column_names_are_read(grid: Grid) -> None:
    """A Shapefile stores ``baseline_tco2e_per_yr`` as ``baseline_t`` (10 characters): its
    values count, as from a GeoPackage (they were ignored: baseline 0)."""
    stock = carbon_stock(_stack(grid), CarbonConfig())
    full = _parcels(grid)
    cut = full.rename(columns={"baseline_tco2e_per_yr": "baseline_t"})
    a = carbon_parcels(stock, full, CarbonConfig(), id_field="pid")
    b = carbon_parcels(stock, cut, CarbonConfig(), id_field="pid")
    assert b["baseline_tco2e_per_yr"].iloc[1] == 12.0
    np.testing.assert_array_equal(a["baseline_tco2e_per_yr"], b["baseline_tco2e_per_yr"])


def test_integer_parcel_ids_read_as_written_in_messages(grid: Grid) -> None:
    stock = carbon_stock(_stack(grid), CarbonConfig())
    parcels = _parcels(grid).drop(columns="pid")
    twice = gpd.GeoDataFrame(pd.concat([parcels, parcels.iloc[[0]]], ignore_index=True), crs=CRS)
    with pytest.raises(InputError, match=r"parcels 0 and 3 overlap") as err:
        carbon_parcels(stock, twice, CarbonConfig())
    assert "np.int64" not in str(err.value)


def test_stock_in_a_geographic_crs_is_refused(grid: Grid) -> None:
    stock = carbon_stock(_stack(grid), CarbonConfig())
    geo = stock.copy()
    geo.attrs = {"crs": "EPSG:4326"}
    with pytest.raises(CRSError, match="geographic"):
        carbon_parcels(geo, _parcels(grid).to_crs("EPSG:4326"), CarbonConfig(), id_field="pid")


def test_region_parts_with_one_id_are_one_row(counties: gpd.GeoDataFrame, grid: Grid) -> None:
    # the profiles' region summaries dissolve the parts of a unit: carbon does the same
    stock = carbon_stock(_stack(grid), CarbonConfig())
    two = counties.iloc[:3].copy()
    two["name"] = [two["name"].iloc[0], "other", two["name"].iloc[0]]
    merged = carbon_regions(stock, two, id_field="name")
    assert list(merged["region"]) == [two["name"].iloc[0], "other"]
    parts = carbon_regions(stock, counties.iloc[[0, 2]], id_field="name")
    assert merged["stock_tco2e"].iloc[0] == pytest.approx(parts["stock_tco2e"].sum(), rel=1e-9)
    assert merged["area_ha"].iloc[0] == pytest.approx(parts["area_ha"].sum(), rel=1e-9)


def test_parcels_that_are_forest_already_are_noted(grid: Grid) -> None:
    """forest_share is the share of a parcel's pixels that are forest (crown cover >= 20 %),
    by exactextract independently; a parcel at >= 50 % is noted: A/R credits are for
    planting land that is not forest at the start."""
    from geotool.carbon.project import parcel_notes

    base = _stack(grid)
    _, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    cover = np.where(cols < grid.width // 2, 70.0, 5.0).astype("float32")  # west half forest
    stack = base.assign(forest_cover=(("y", "x"), da.from_array(cover, chunks=64)))
    config = CarbonConfig()
    left, bottom, right, _ = grid.bounds
    mid = (left + right) / 2
    parcels = gpd.GeoDataFrame(
        {"pid": ["west", "east"]},
        geometry=[
            box(left + 10 * RES, bottom + 10 * RES, left + 20 * RES, bottom + 20 * RES),
            box(mid + 10 * RES, bottom + 10 * RES, mid + 20 * RES, bottom + 20 * RES),
        ],
        crs=CRS,
    )
    table = carbon_parcels(carbon_stock(stack, config), parcels, config, id_field="pid")
    expected = _direct_sum((cover >= 20.0).astype("float32"), grid, parcels) / 100.0  # 10x10 px
    np.testing.assert_allclose(table["forest_share"], expected, atol=1e-6)
    assert table["forest_share"].tolist() == [1.0, 0.0]
    notes = parcel_notes(table, config)
    assert len(notes) == 1 and notes[0].startswith("parcels west are at least 50% forest")
