"""Region summaries checked against exactextract called directly, and on real county borders."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import xarray as xr
from exactextract import exact_extract
from rasterio.io import MemoryFile

from geotool.errors import CRSError, GeometryError, InputError
from geotool.grid import Grid
from geotool.regions import summarise_regions, write_regions
from geotool.suitability import load_profile
from geotool.suitability.specs import Profile

CRS = "EPSG:32649"
GRID = Grid.from_bounds((400_000, 2_600_000, 408_000, 2_606_000), 100, CRS)  # 60 x 80 px
COUNTIES = Path("/work/shared/data/real/shaoguan_counties.geojson")


def _wind_profile() -> Profile:
    base = load_profile("windfarm")
    params = {"capacity_density_mw_per_km2": 3.0, "turbine": "E-141/4200"}
    return replace(base, sites=replace(base.sites, params=params))


def _fields(grid: Grid) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0 : grid.height, 0 : grid.width]
    score = (0.5 + 0.5 * np.sin(xx / 6.0) * np.cos(yy / 5.0)).astype("float32")
    excluded = (xx + 2 * yy) % 11 == 0
    nodata = rng.random(grid.shape) < 0.05
    score[excluded | nodata] = np.nan
    cf = (0.2 + 0.2 * rng.random(grid.shape)).astype("float32")
    return {"score": score, "excluded": excluded, "cf": cf}


def _datasets(f: dict[str, np.ndarray], grid: Grid, lazy: bool) -> tuple[xr.Dataset, xr.Dataset]:
    def wrap(v: np.ndarray) -> Any:
        return da.from_array(v, chunks=25) if lazy else v

    coords = {"x": grid.xs, "y": grid.ys}
    ev = xr.Dataset(
        {"score": (("y", "x"), wrap(f["score"])), "excluded": (("y", "x"), wrap(f["excluded"]))},
        coords=coords,
    )
    stack = xr.Dataset({"wind_capacity_factor": (("y", "x"), wrap(f["cf"]))}, coords=coords)
    stack["wind_capacity_factor"].attrs["turbine"] = "E-141/4200"
    return ev, stack


def _units() -> gpd.GeoDataFrame:
    """Three units tiling the grid exactly; the cuts are not on pixel edges."""
    left, bottom, right, top = GRID.bounds
    cut = left + 2_550.0
    west = shapely.box(left, bottom, cut, top)
    north_east = shapely.Polygon(
        [(cut, top), (right, top), (right, bottom + 1_730.0), (cut, bottom + 4_120.0)]
    )
    south_east = shapely.box(cut, bottom, right, top).difference(north_east)
    return gpd.GeoDataFrame(
        {"region": ["west", "north-east", "south-east"]},
        geometry=[west, north_east, south_east],
        crs=CRS,
    ).to_crs("EPSG:4326")


def _direct(values: np.ndarray, grid: Grid, polys: gpd.GeoDataFrame, op: str) -> np.ndarray:
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
            res = exact_extract(ds, polys.to_crs(grid.crs), op, output="pandas")
    return res[op].to_numpy()


@pytest.fixture(scope="module")
def fields() -> dict[str, np.ndarray]:
    return _fields(GRID)


def test_region_wind_potential_is_net_of_the_recorded_losses(fields: dict[str, np.ndarray]) -> None:
    """The CF layer records the study's ``wind_losses`` (geotool.resources.derive): the
    technical potential deducts them (0.8 of the gross energy at 20 % losses)."""
    ev, stack = _datasets(fields, GRID, lazy=True)
    units = _units()
    gross = summarise_regions(ev, None, units, GRID, profile=_wind_profile(), stack=stack)
    stack["wind_capacity_factor"].attrs["wind_losses"] = 0.2
    net = summarise_regions(ev, None, units, GRID, profile=_wind_profile(), stack=stack)
    np.testing.assert_allclose(
        net["eligible_energy_gwh_per_yr"], 0.8 * gross["eligible_energy_gwh_per_yr"], rtol=1e-6
    )
    np.testing.assert_allclose(net["eligible_capacity_mw"], gross["eligible_capacity_mw"])


@pytest.mark.parametrize("lazy", [False, True])
def test_region_totals_equal_exactextract(fields: dict[str, np.ndarray], lazy: bool) -> None:
    ev, stack = _datasets(fields, GRID, lazy)
    units = _units()
    table = summarise_regions(ev, None, units, GRID, profile=_wind_profile(), stack=stack)
    assert table["region"].tolist() == ["west", "north-east", "south-east"]
    eligible = np.isfinite(fields["score"]).astype("float32")
    rel = 1e-3
    np.testing.assert_allclose(
        table["eligible_km2"], _direct(eligible, GRID, units, "sum") * 0.01, rtol=rel
    )
    np.testing.assert_allclose(
        table["excluded_km2"],
        _direct(fields["excluded"].astype("float32"), GRID, units, "sum") * 0.01,
        rtol=rel,
    )
    no_data = np.isnan(fields["score"]) & ~fields["excluded"]  # the fixture's 5 % gaps
    np.testing.assert_allclose(
        table["no_data_km2"],
        _direct(no_data.astype("float32"), GRID, units, "sum") * 0.01,
        rtol=rel,
    )
    np.testing.assert_allclose(
        table["score_mean"], _direct(fields["score"], GRID, units, "mean"), rtol=rel
    )
    np.testing.assert_allclose(
        table["score_max"], _direct(fields["score"], GRID, units, "max"), rtol=rel
    )
    energy = np.where(eligible > 0, fields["cf"] * 3.0 * 0.01 * 8.76, np.nan)  # GWh/yr per pixel
    np.testing.assert_allclose(
        table["eligible_energy_gwh_per_yr"], _direct(energy, GRID, units, "sum"), rtol=rel
    )
    np.testing.assert_allclose(
        table["eligible_capacity_mw"], 3.0 * table["eligible_km2"], rtol=1e-12
    )
    polygon_km2 = units.to_crs(CRS).area.to_numpy() / 1e6
    np.testing.assert_allclose(table["area_km2"], polygon_km2, rtol=1e-9)
    np.testing.assert_allclose(table["covered_km2"], polygon_km2, rtol=1e-6)


def test_excluded_area_from_limiting_codes(fields: dict[str, np.ndarray]) -> None:
    """Scores read back from files carry ``limiting`` (1..n = constraint), not ``excluded``."""
    ev, _ = _datasets(fields, GRID, lazy=True)
    profile = _wind_profile()
    n = len(profile.constraints)
    code = np.where(fields["excluded"], 1 + (np.arange(GRID.width) % n), n + 1).astype("float32")
    ev = ev.drop_vars("excluded").assign(limiting=(("y", "x"), da.from_array(code, chunks=25)))
    table = summarise_regions(ev, None, _units(), GRID, profile=profile)
    direct = _direct(fields["excluded"].astype("float32"), GRID, _units(), "sum") * 0.01
    np.testing.assert_allclose(table["excluded_km2"], direct, rtol=1e-3)


def test_eligible_areas_add_up_to_the_whole(fields: dict[str, np.ndarray]) -> None:
    ev, stack = _datasets(fields, GRID, lazy=False)
    table = summarise_regions(ev, None, _units(), GRID, profile=_wind_profile(), stack=stack)
    whole = np.isfinite(fields["score"]).sum() * GRID.pixel_area / 1e6
    assert table["eligible_km2"].sum() == pytest.approx(whole, rel=1e-6)
    assert table["covered_km2"].sum() == pytest.approx(GRID.height * GRID.width * 0.01, rel=1e-6)


def test_site_counts_and_totals_per_region(fields: dict[str, np.ndarray]) -> None:
    ev, stack = _datasets(fields, GRID, lazy=False)
    sites = gpd.GeoDataFrame(
        {
            "region": ["west", "west", "south-east", None],
            "area_km2": [2.0, 3.0, 4.0, 1.0],
            "capacity_mw": [6.0, 9.0, 12.0, 3.0],
            "energy_gwh_per_yr": [15.0, 20.0, 30.0, 7.0],
        },
        geometry=[shapely.Point(0, 0).buffer(1)] * 4,
        crs=CRS,
    )
    table = summarise_regions(ev, sites, _units(), GRID, profile=_wind_profile(), stack=stack)
    by = table.set_index("region")
    assert by["sites"].to_dict() == {"west": 2, "north-east": 0, "south-east": 1}
    assert by["capacity_mw"].to_dict() == {"west": 15.0, "north-east": 0.0, "south-east": 12.0}
    assert by["energy_gwh_per_yr"]["west"] == 35.0
    assert by["site_area_km2"]["south-east"] == 4.0


def test_units_sharing_an_id_are_merged(fields: dict[str, np.ndarray]) -> None:
    ev, _ = _datasets(fields, GRID, lazy=False)
    units = _units()
    units["county"] = ["A", "B", "A"]
    table = summarise_regions(
        ev, None, units, GRID, profile=load_profile("datacenter"), id_field="county"
    )
    assert table["region"].tolist() == ["A", "B"]
    assert table["area_km2"].sum() == pytest.approx(48.0)


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    if not COUNTIES.exists():
        pytest.skip("shared real boundaries not available")
    return gpd.read_file(COUNTIES)


def test_shaoguan_counties_by_name_with_their_areas(
    counties: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    grid = Grid.from_region(counties, 500.0)  # auto: UTM 49N
    assert grid.crs.to_epsg() == 32649
    yy, xx = np.mgrid[0 : grid.height, 0 : grid.width]
    score = (0.5 + 0.4 * np.sin(xx / 17.0) * np.cos(yy / 13.0)).astype("float32")
    score[(xx * 7 + yy * 3) % 10 == 0] = np.nan
    ev = xr.Dataset({"score": (("y", "x"), da.from_array(score, chunks=128))})
    table = summarise_regions(
        ev, None, counties, grid, profile=load_profile("carbon_sink"), id_field="name"
    )
    assert sorted(table["region"]) == sorted(counties["name"])
    assert len(table) == 10
    utm = counties.to_crs("EPSG:32649").set_index("name").area / 1e6
    by = table.set_index("region")
    np.testing.assert_allclose(by["area_km2"], utm[by.index], rtol=0.005)
    np.testing.assert_allclose(by["covered_km2"], utm[by.index], rtol=0.005)
    union = gpd.GeoDataFrame(geometry=[counties.to_crs(grid.crs).union_all()], crs=grid.crs)
    whole = _direct(np.isfinite(score).astype("float32"), grid, union, "sum")[0] * 0.25
    assert table["eligible_km2"].sum() == pytest.approx(whole, rel=1e-3)
    assert (table["eligible_tco2e_per_yr"] > 0).all()

    paths = write_regions(table, tmp_path, "carbon_sink")
    assert [p.name for p in paths] == ["regions_carbon_sink.csv", "regions_carbon_sink.gpkg"]
    csv = pd.read_csv(paths[0])
    gpkg = gpd.read_file(paths[1])
    assert list(csv.columns) == [c for c in gpkg.columns if c != "geometry"]
    assert list(csv.columns) == [c for c in table.columns if c != "geometry"]
    assert csv["region"].tolist() == table["region"].tolist()  # 乳源瑶族自治县 etc. intact
    np.testing.assert_allclose(csv["eligible_km2"], table["eligible_km2"])


def test_bad_regions_raise(fields: dict[str, np.ndarray]) -> None:
    ev, _ = _datasets(fields, GRID, lazy=False)
    p = load_profile("datacenter")
    units = _units()
    with pytest.raises(CRSError):
        summarise_regions(ev, None, units.set_crs(None, allow_override=True), GRID, profile=p)
    with pytest.raises(InputError, match="no column 'adcode'"):
        summarise_regions(ev, None, units, GRID, profile=p, id_field="adcode")
    bow = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(GeometryError):
        summarise_regions(ev, None, gpd.GeoDataFrame(geometry=[bow], crs=CRS), GRID, profile=p)
    with pytest.raises(InputError, match="does not match the grid"):
        summarise_regions(ev, None, units, GRID.pad(2), profile=p)


def test_lazy_rasters_go_to_plain_temporary_geotiffs(monkeypatch: pytest.MonkeyPatch) -> None:
    # the per-region sums read each lazy raster once: writing it as a COG (overviews and a
    # DEFLATE copy) for that was a third of the regions stage at 30 m
    import geotool.io.outputs as outputs
    from geotool.regions import zonal_table

    copies: list[Any] = []
    monkeypatch.setattr(outputs.rasterio.shutil, "copy", lambda *a, **k: copies.append(a))
    grid = Grid.from_bounds((0.0, 0.0, 4_000.0, 3_000.0), 100.0, "EPSG:32649")
    values = da.ones(grid.shape, chunks=16, dtype="float32")
    units = gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 2_000, 3_000), shapely.box(2_000, 0, 4_000, 3_000)],
        crs="EPSG:32649",
    )
    df = zonal_table({"v": values, "w": values * 2.0}, units, grid, ("sum",))
    assert copies == []
    assert df["v_sum"].tolist() == pytest.approx([600.0, 600.0])  # 20 x 30 pixels of 1 each
    assert df["w_sum"].tolist() == pytest.approx([1_200.0, 1_200.0])
