"""Per-region summaries of a profile: areas, scores, candidate sites and potential.

Zonal statistics use ``exactextract`` (exact fractional pixel coverage): a pixel half inside
a county counts half. Columns of :func:`summarise_regions`:

- ``region`` — the unit's id; ``area_km2`` — the polygon's area in the (metric) grid CRS;
  ``covered_km2`` — Σ coverage fraction × pixel area over the grid (= ``area_km2`` when the
  grid covers the unit);
- ``eligible_km2`` / ``excluded_km2`` — coverage-weighted area of pixels with a score / removed
  by a constraint; ``no_data_km2`` — coverage-weighted area of the pixels (centre in the
  unit) that are neither: an input has no data there (e.g. a layer that covers part of the
  unit; not the border pixels whose centre is outside the region, which a run leaves
  unscored); ``score_mean`` (coverage-weighted) and
  ``score_max`` of eligible pixels;
- ``sites``, ``site_area_km2`` and the site metrics that add up (``capacity_mw``,
  ``energy_gwh_per_yr``, ``it_load_mw``, ``electricity_gwh_per_yr``, ``tco2e_per_yr``,
  ``co2_t_per_yr``, ``mw_thermal`` ...), summed over the sites whose ``region`` is the unit
  (not a data centre's ``co2_t_per_yr_local_green``, which nets each site against the same
  green supply);
- ``eligible_<metric>`` — technical potential of *all* eligible land of the unit: wind
  ``capacity_mw`` (density × area) and ``energy_gwh_per_yr`` (Σ pixel capacity × CF × 8.76 ×
  (1 − wind_losses)),
  solar ``capacity_mwp`` and ``energy_gwh_per_yr`` (× PV yield), carbon sink
  ``tco2e_per_yr`` (afforestation of the eligible hectares), geothermal ``mw_thermal``.

Lazy (dask) rasters are first written once, in one pass over their shared graph, to
temporary GeoTIFFs that exactextract then reads window by window; in-memory rasters are read
directly.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor exactextract relies on)
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import RasterioRasterSource, XArrayRasterSource
from pyproj import CRS

from geotool.errors import CRSError, GeometryError, InputError
from geotool.grid import Grid
from geotool.io.outputs import CSV_ENCODING, OutputDir, RasterOutput, write_cogs
from geotool.io.rasterize import build_index, mask_layer
from geotool.resources import geothermal
from geotool.sites.layers import temperature_layer, wind_cf_layer, wind_losses
from geotool.sites.options import SiteOptions
from geotool.sites.output import output_path, write_atomic
from geotool.sites.params import (
    HOURS_PER_YEAR,
    additive_columns,
    capacity_density_mw_per_km2,
    carbon_removals,
    metric_kind,
)
from geotool.suitability.specs import Profile

REGION_COLUMN = "region"
_UNIT = "_geotool_unit"


def region_ids(regions: gpd.GeoDataFrame, id_field: str | None = None) -> np.ndarray:
    """Unit ids as text: ``id_field``, else the ``region`` column, else the row index."""
    if id_field is not None:
        if id_field not in regions.columns:
            cols = [c for c in regions.columns if c != regions.geometry.name]
            raise InputError(
                f"no column {id_field!r} in the regions",
                where="regions",
                fix=f"use one of: {', '.join(map(str, cols))}",
            )
        values = regions[id_field]
    elif REGION_COLUMN in regions.columns:
        values = regions[REGION_COLUMN]
    else:
        values = pd.Series(regions.index, index=regions.index)
    return np.array([str(v) for v in values], dtype=object)


def regions_in_crs(regions: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """Validated region polygons reprojected to ``crs`` (rows kept in order)."""
    if regions.crs is None:
        raise CRSError(
            "the regions have no CRS",
            where="regions",
            fix="set the CRS of the boundary file (relabel with set_crs only if you know it)",
        )
    if len(regions) == 0:
        raise InputError("no region units given", where="regions", fix="give at least one unit")
    geom = regions.geometry
    if geom.isna().any() or geom.is_empty.any() or (~geom.is_valid).any():
        raise GeometryError(
            "the regions contain empty, missing or invalid geometries",
            where="regions",
            fix="repair them (e.g. shapely.make_valid) or drop them",
        )
    return regions.to_crs(crs)


def _as_dataarray(data: Any, grid: Grid) -> xr.DataArray:
    arr = data.transpose("y", "x").data if isinstance(data, xr.DataArray) else data
    da_ = xr.DataArray(arr, dims=("y", "x"), coords={"x": grid.xs, "y": grid.ys})
    return da_.astype("float32").rio.write_crs(grid.crs)


def zonal_table(
    rasters: Mapping[str, Any],
    units: gpd.GeoDataFrame,
    grid: Grid,
    ops: tuple[str, ...] = ("sum", "mean", "max"),
    *,
    workdir: Path | None = None,
) -> pd.DataFrame:
    """exactextract ``ops`` of each raster (on ``grid``) over each unit (in ``grid.crs``).

    Columns ``<raster>_<op>``; rows in unit order. Lazy rasters are written to temporary
    GeoTIFFs in one pass (``workdir`` or the system temp folder) and read from there.
    """
    feats = gpd.GeoDataFrame(
        {_UNIT: np.arange(len(units))}, geometry=units.geometry.values, crs=units.crs
    )
    lazy = any(
        isinstance(v.data if isinstance(v, xr.DataArray) else v, da.Array) for v in rasters.values()
    )
    if not lazy:
        sources = [
            XArrayRasterSource(_as_dataarray(np.asarray(v), grid), name=k)
            for k, v in rasters.items()
        ]
        df = exact_extract(sources, feats, list(ops), include_cols=[_UNIT], output="pandas")
        return df.sort_values(_UNIT).reset_index(drop=True)
    with tempfile.TemporaryDirectory(prefix="geotool-zonal-", dir=workdir) as tmp:
        outs = [
            RasterOutput(
                v.transpose("y", "x").data if isinstance(v, xr.DataArray) else v,
                Path(tmp) / f"{i}.tif",
            )
            for i, v in enumerate(rasters.values())
        ]
        write_cogs(outs, grid, cog=False)  # read once, here: no overviews, fast ZSTD
        handles = [rasterio.open(o.path) for o in outs]
        try:
            sources = [
                RasterioRasterSource(h, 1, name=k) for h, k in zip(handles, rasters, strict=True)
            ]
            df = exact_extract(sources, feats, list(ops), include_cols=[_UNIT], output="pandas")
        finally:
            for h in handles:
                h.close()
    return df.sort_values(_UNIT).reset_index(drop=True)


def _potential_rasters(
    evaluated: xr.Dataset,
    profile: Profile,
    grid: Grid,
    stack: xr.Dataset | None,
    opt: SiteOptions,
) -> dict[str, xr.DataArray]:
    """Per-pixel potential (GWh/yr or MWth per pixel) on eligible pixels."""
    kind = metric_kind(profile, opt)
    eligible = evaluated["score"].notnull()
    px_km2 = grid.pixel_area / 1e6
    out: dict[str, xr.DataArray] = {}
    if stack is None:
        return out
    if kind == "windfarm":
        cf = wind_cf_layer(stack, profile)
        density = capacity_density_mw_per_km2(kind, profile, opt)
        if cf is not None and density is not None:
            net = 1.0 - wind_losses(cf)
            out["eligible_energy_gwh_per_yr"] = (
                cf * (density * px_km2 * HOURS_PER_YEAR * net / 1000.0)
            ).where(eligible)
    elif kind == "solarfarm":
        pv = stack.get("pv_yield", stack.get("pvout"))
        density = capacity_density_mw_per_km2(kind, profile, opt)
        if pv is not None and density is not None:
            out["eligible_energy_gwh_per_yr"] = (pv * (density * px_km2 / 1000.0)).where(eligible)
    elif kind == "geothermal_heat":
        t = temperature_layer(stack, profile)
        if t is not None:
            heat = geothermal.heat_in_place(t, opt.reservoir_thickness_m, area_km2=px_km2)
            mw = geothermal.recoverable_thermal_power_mw(
                heat, recovery_factor=opt.recovery_factor, project_life_years=opt.project_life_years
            )
            out["eligible_mw_thermal"] = mw.where(eligible)
    return out


def summarise_regions(
    evaluated: xr.Dataset,
    sites: gpd.GeoDataFrame | None,
    regions: gpd.GeoDataFrame,
    grid: Grid,
    *,
    profile: Profile,
    stack: xr.Dataset | None = None,
    id_field: str | None = None,
    options: SiteOptions | None = None,
    workdir: Path | None = None,
) -> gpd.GeoDataFrame:
    """One row per region unit (see the module docstring for the columns).

    Parameters
    ----------
    evaluated
        :func:`geotool.suitability.evaluate` output on ``grid``: ``score`` and ``excluded``
        (or ``limiting``, whose codes 1..n_constraints mark excluded pixels).
    sites
        :func:`geotool.sites.extract_sites` output (its ``region`` column is matched to the
        unit ids) for ``sites`` and the site totals; ``None`` gives 0 sites.
    regions
        Region units (any CRS); units sharing an id are merged into one.
    grid
        The analysis grid (metric CRS); areas are measured in its CRS.
    profile
        The evaluated profile.
    stack
        Stack with derived layers for the ``eligible_*`` potentials.
    id_field
        Column with the unit id (default ``region``, else the row index).
    options
        :class:`geotool.sites.SiteOptions` (turbine layout, species, geothermal slab).
    workdir
        Folder for temporary rasters of lazy inputs (default: the system temp folder).

    Returns
    -------
    geopandas.GeoDataFrame
        In the grid CRS, units in input order.

    Examples
    --------
    >>> import shapely
    >>> from geotool.suitability import load_profile
    >>> g = Grid.from_bounds((0, 0, 400, 400), 100, "EPSG:32649")
    >>> s = np.full(g.shape, 0.5, dtype="float32"); s[:, :2] = np.nan
    >>> ev = xr.Dataset({"score": (("y", "x"), s)})
    >>> units = gpd.GeoDataFrame({"region": ["west", "east"]}, crs=32649,
    ...     geometry=[shapely.box(0, 0, 200, 400), shapely.box(200, 0, 400, 400)])
    >>> t = summarise_regions(ev, None, units, g, profile=load_profile("geothermal_heat"))
    >>> t[["region", "area_km2", "eligible_km2", "score_mean"]].values.tolist()
    [['west', 0.08, 0.0, nan], ['east', 0.08, 0.08, 0.5]]
    """
    opt = options or SiteOptions()
    kind = metric_kind(profile, opt)
    if tuple(evaluated["score"].shape) != tuple(grid.shape):
        raise InputError(
            f"score shape {tuple(evaluated['score'].shape)} does not match the grid {grid.shape}",
            where=f"profile {profile.name}",
            fix="evaluate the profile on the stack of this analysis grid",
        )
    units = _units(regions, grid.crs, id_field)
    score = evaluated["score"].transpose("y", "x")
    lazy = isinstance(score.data, da.Array)
    ones: Any = (
        da.ones(score.shape, dtype="float32", chunks=score.data.chunks)
        if lazy
        else np.ones(score.shape, dtype="float32")
    )
    rasters: dict[str, Any] = {
        "cover": xr.DataArray(ones, dims=("y", "x")),
        "eligible": score.notnull().astype("float32"),
        "score": score.astype("float32"),
    }
    excluded = _excluded(evaluated, profile)
    if excluded is not None:
        rasters["excluded"] = excluded.astype("float32")
        rasters["no_data"] = _no_data(score, excluded, units, grid)
    potentials = _potential_rasters(evaluated, profile, grid, stack, opt)
    rasters.update(potentials)
    z = zonal_table(rasters, units, grid, workdir=workdir)

    px_km2 = grid.pixel_area / 1e6
    table = pd.DataFrame(
        {
            REGION_COLUMN: units[REGION_COLUMN].to_numpy(),
            "area_km2": units.geometry.area.to_numpy() / 1e6,
            "covered_km2": z["cover_sum"].to_numpy() * px_km2,
            "eligible_km2": z["eligible_sum"].to_numpy() * px_km2,
            "excluded_km2": (
                z["excluded_sum"].to_numpy() * px_km2 if "excluded" in rasters else np.nan
            ),
            "score_mean": z["score_mean"].to_numpy(),
            "score_max": z["score_max"].to_numpy(),
        }
    )
    # neither scored nor excluded: some input has no data there (the gap check does not show)
    table.insert(
        table.columns.get_loc("excluded_km2") + 1,
        "no_data_km2",
        z["no_data_sum"].to_numpy() * px_km2 if "no_data" in rasters else np.nan,
    )
    _site_totals(table, sites, additive_columns(kind))
    density = capacity_density_mw_per_km2(kind, profile, opt) if kind else None
    if kind == "windfarm" and density is not None:
        table["eligible_capacity_mw"] = density * table["eligible_km2"]
    if kind == "solarfarm" and density is not None:
        table["eligible_capacity_mwp"] = density * table["eligible_km2"]
    for name in potentials:
        table[name] = z[f"{name}_sum"].to_numpy()
    if kind == "carbon_sink":
        per_yr, _, _ = carbon_removals(table["eligible_km2"].to_numpy() * 100.0, profile, opt)
        table["eligible_tco2e_per_yr"] = per_yr
    gdf = gpd.GeoDataFrame(table, geometry=units.geometry.values, crs=grid.crs)
    gdf.attrs.update(profile=profile.name)
    return gdf


def _no_data(
    score: xr.DataArray, excluded: xr.DataArray, units: gpd.GeoDataFrame, grid: Grid
) -> Any:
    """float32 0/1: pixels neither scored nor excluded whose centre lies in a unit. The run
    blanks pixels whose centre is outside the region the same way (``clip_to_region``): the
    border pixels a unit only partly covers are not without data."""
    lazy = isinstance(score.data, da.Array)
    chunk = max(score.data.chunksize) if lazy else max(grid.shape)
    # one polygon, no inner edges; the 0.1 mm buffer closes the slivers a reprojection leaves
    # between units that share a border (pixel centres on that border are inside)
    outline = units.union_all().buffer(1e-6 * grid.res)
    union = gpd.GeoDataFrame(geometry=[outline], crs=units.crs)
    centre: Any = mask_layer(build_index(union, grid), grid, name="unit_centres", chunk=chunk).data
    if not lazy:
        centre = np.asarray(centre.compute())
    ex = excluded.transpose("y", "x").data
    return (score.isnull().data & ~(ex > 0) & (centre > 0)).astype("float32")


def _excluded(evaluated: xr.Dataset, profile: Profile) -> xr.DataArray | None:
    """Excluded pixels: the ``excluded`` variable, else ``limiting`` codes 1..n_constraints."""
    if "excluded" in evaluated:
        return evaluated["excluded"].transpose("y", "x")
    if "limiting" in evaluated:
        code = evaluated["limiting"].transpose("y", "x")
        return (code >= 1) & (code <= len(profile.constraints))
    return None


def _units(regions: gpd.GeoDataFrame, crs: CRS, id_field: str | None) -> gpd.GeoDataFrame:
    ids = region_ids(regions, id_field)
    units = gpd.GeoDataFrame(
        {REGION_COLUMN: ids}, geometry=regions_in_crs(regions, crs).geometry.values, crs=crs
    )
    if len(set(ids)) < len(ids):  # one unit per id, in first-appearance order
        order = list(dict.fromkeys(ids))
        units = units.dissolve(by=REGION_COLUMN, sort=False).reset_index()
        units = units.set_index(REGION_COLUMN).loc[order].reset_index()
    return units


def _site_totals(
    table: pd.DataFrame, sites: gpd.GeoDataFrame | None, columns: tuple[str, ...]
) -> None:
    n = len(table)
    if sites is None or len(sites) == 0 or "region" not in sites.columns:
        table["sites"] = np.zeros(n, dtype=np.int64)
        table["site_area_km2"] = np.zeros(n)
        for c in columns:
            table[c] = np.zeros(n)
        return
    key = sites["region"].astype(object).where(sites["region"].notna(), None)
    grouped = pd.DataFrame(sites.drop(columns="geometry")).assign(_key=key).groupby("_key")
    ids = table[REGION_COLUMN]
    table["sites"] = ids.map(grouped.size()).fillna(0).astype(np.int64).to_numpy()
    table["site_area_km2"] = ids.map(grouped["area_km2"].sum()).fillna(0.0).to_numpy()
    for c in columns:
        if c in sites.columns:
            # 0 without sites; NaN when the unit's sites lack the metric (missing input layer)
            total = ids.map(grouped[c].sum(min_count=1)).to_numpy(dtype=float)
            table[c] = np.where(table["sites"].to_numpy() == 0, 0.0, total)


def write_regions(
    table: gpd.GeoDataFrame, outdir: OutputDir | Path, profile_name: str
) -> list[Path]:
    """Write ``regions_<profile>.csv`` (UTF-8 with a BOM, no geometry) and ``regions_<profile>.gpkg``.

    Both hold the same columns; each file appears atomically (temporary name, then rename).
    """
    name = f"regions_{profile_name}"
    frame = pd.DataFrame(table.drop(columns=table.geometry.name))
    csv = write_atomic(
        output_path(outdir, f"{name}.csv"),
        lambda p: frame.to_csv(p, index=False, encoding=CSV_ENCODING),
    )
    gpkg = write_atomic(
        output_path(outdir, f"{name}.gpkg"),
        lambda p: table.to_file(p, driver="GPKG", layer=name, promote_to_multi=True),
    )
    return [csv, gpkg]
