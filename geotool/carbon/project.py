"""Parcels, project credits by vintage, and the whole carbon stage for a stack.

``carbon_parcels`` gives each parcel its current stock (from the stock layers or a
per-parcel ``agb_t_ha``) and the removals of planting it; ``project_credits`` runs the credit
chain over all parcels together (uncertainty is a project-level statistic); ``run_carbon``
wires stock -> regions -> parcels -> vintages for the CLI and the pipeline.

Parcel attributes read when present: ``species`` (group name or an alias such as 杉木; or
the column named by ``species_field``), ``agb_t_ha`` (measured AGB, overrides the map),
``baseline_tco2e_per_yr`` (parcel total, overrides the per-hectare default), and the id column
named by ``id_field``. The area is always the polygon's; area columns are only compared.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr

from geotool.carbon.columns import area_notes, column_notes
from geotool.carbon.config import CarbonConfig
from geotool.carbon.credits import CreditInputs, CreditResult, credit_chain
from geotool.carbon.growth import planting_removals_matrix
from geotool.carbon.params import CO2_PER_C, canonical_species, get_rule, get_zone
from geotool.carbon.stock import carbon_stock
from geotool.carbon.uncertainty import half_width_pct, monte_carlo_removals
from geotool.carbon.zonal import (
    carbon_regions,
    parcel_layer_sums,
    pixel_area_ha,
    safe_ratio,
    stock_crs,
)
from geotool.errors import CRSError, InputError, UnknownNameError


def _parcel_species(parcels: gpd.GeoDataFrame, default: str, field: str) -> list[str]:
    """Each parcel's species group name: ``field``'s value (a group name or an alias such as
    杉木, see :func:`~geotool.carbon.params.species_aliases`), ``default`` where empty."""
    if field not in parcels.columns:
        return [canonical_species(default)] * len(parcels)
    out = []
    for i, value in enumerate(parcels[field].tolist()):
        name = default if value is None or (isinstance(value, float) and np.isnan(value)) else value
        try:
            out.append(canonical_species(str(name)))
        except UnknownNameError as exc:
            raise UnknownNameError(
                exc.what, where=f"parcels row {i} {field}", fix=exc.fix
            ) from None
    return out


def _numeric_column(parcels: gpd.GeoDataFrame, name: str) -> np.ndarray | None:
    if name not in parcels.columns:
        return None
    values = pd.to_numeric(parcels[name], errors="coerce").to_numpy(dtype=float)
    bad = parcels[name].notna().to_numpy() & np.isnan(values)
    if bad.any() or np.any(values[~np.isnan(values)] < 0):
        row = int(np.flatnonzero(bad | (values < 0))[0])
        raise InputError(
            f"'{parcels[name].iloc[row]}' is not a non-negative number",
            where=f"parcels row {row} {name}",
            fix=f"give {name} as a number >= 0 or leave it empty",
        )
    return values


OVERLAP_TOLERANCE = 1e-6
"""Overlap of two parcels, as a share of the smaller one, that counts as floating-point
noise of shared boundaries rather than land planted (and credited) twice."""


def _id(value: Any) -> str:
    """A parcel id as the user wrote it: ``'A-1'`` or ``7``, not ``np.int64(7)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


PARCEL_COLUMNS = ("parcel_id", "species", "agb_t_ha", "baseline_tco2e_per_yr")
"""Parcel attributes geotool reads (see :func:`carbon_parcels`)."""


def _shapefile_names(parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Parcel columns under the 10-character names a Shapefile (dBase) cuts them to
    (``baseline_t``) renamed back to theirs, so that their values are not ignored."""
    renames = {
        name[:10]: name
        for name in PARCEL_COLUMNS
        if len(name) > 10 and name not in parcels.columns and name[:10] in parcels.columns
    }
    return parcels.rename(columns=renames) if renames else parcels


def _check_inside(parcels: gpd.GeoDataFrame, stock: xr.Dataset, ids: pd.Series) -> None:
    """Every parcel must touch the stock's grid: one outside it has neither stock nor land
    data, yet would be credited its whole planting."""
    xs, ys = np.asarray(stock["x"], dtype=float), np.asarray(stock["y"], dtype=float)
    dx = abs(float(xs[1] - xs[0])) / 2 if xs.size > 1 else 0.0
    dy = abs(float(ys[1] - ys[0])) / 2 if ys.size > 1 else 0.0
    grid = shapely.box(xs.min() - dx, ys.min() - dy, xs.max() + dx, ys.max() + dy)
    outside = ~parcels.geometry.intersects(grid).to_numpy()
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise InputError(
            f"parcel {_id(ids.iloc[row])} lies outside the study grid ({int(outside.sum())} "
            f"of {len(parcels)} parcels do): it has no stock or land-cover data to credit",
            where=f"parcels row {row}",
            fix="remove the parcels outside the study region, or run a study whose region "
            "covers them",
        )


def _check_parcels(parcels: gpd.GeoDataFrame, id_field: str | None) -> None:
    """Parcels must be polygons that do not overlap, with distinct ids."""
    ids = parcels[id_field] if id_field else pd.Series(parcels.index, index=parcels.index)
    kinds = parcels.geometry.geom_type.to_numpy()
    bad = [i for i, k in enumerate(kinds) if k not in ("Polygon", "MultiPolygon")]
    if bad:
        raise InputError(
            f"parcel {_id(ids.iloc[bad[0]])} is a {kinds[bad[0]] or 'missing geometry'}, not an area",
            where=f"parcels row {bad[0]}",
            fix="give parcels as polygons (plots, compartments), not points or lines",
        )
    blank = ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy()
    if id_field and blank.any():  # a credit row must say which parcel it is
        row = int(np.flatnonzero(blank)[0])
        raise InputError(
            f"the parcel has no {id_field} ({int(blank.sum())} of {len(ids)} parcels have none)",
            where=f"parcels row {row}",
            fix=f"give every parcel its {id_field}, or choose another column with --parcel-id",
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(
            f"parcel id {_id(dup.iloc[0])} appears more than once",
            where=f"parcels {id_field or 'index'}",
            fix="give every parcel its own id (or dissolve the rows into one parcel)",
        )
    geoms = parcels.geometry.to_numpy()
    left, right = parcels.sindex.query(geoms, predicate="intersects")
    pairs = left < right
    for i, j in zip(left[pairs], right[pairs], strict=True):
        shared = geoms[i].intersection(geoms[j]).area
        if shared > OVERLAP_TOLERANCE * min(geoms[i].area, geoms[j].area):
            raise InputError(
                f"parcels {_id(ids.iloc[i])} and {_id(ids.iloc[j])} overlap by {shared / 1e4:,.2f} ha,"
                " which would be planted and credited twice",
                where="parcels",
                fix="clip the overlap from one of them (e.g. geopandas.overlay how='difference')",
            )


def carbon_parcels(
    stock: xr.Dataset,
    parcels: gpd.GeoDataFrame,
    config: CarbonConfig,
    *,
    id_field: str | None = None,
    species_field: str | None = None,
    notes: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Per-parcel stock and planting removals.

    ``species_field`` names the column holding each parcel's species (default ``species``);
    ``notes`` collects notes on the parcels' columns (a species or 小班号 column not read, an
    area column that differs from the polygons' area).

    Returns
    -------
    geopandas.GeoDataFrame
        The parcels (in the stock CRS) with ``parcel_id``, ``species``, ``area_ha``,
        ``agb_t_ha`` (mean over the parcel's data pixels, or the attribute),
        ``root_shoot`` (BGB/AGB), ``carbon_fraction`` (C / biomass), ``stock_tco2e``
        (parcel total), ``stock_source`` (``layers`` or ``attribute``),
        ``removals_tco2e_per_yr`` (mean over the crediting period of planting the parcel
        with its species), ``removals_tco2e_total`` and ``baseline_tco2e_per_yr``.

    Notes
    -----
    ``stock_tco2e`` from layers counts only pixels with a stock value; from an
    ``agb_t_ha`` attribute it uses the whole parcel area with the zone's IPCC R (Table 4.4
    class lookup) and CF (Table 4.3).
    """
    parcels = _shapefile_names(parcels)
    if id_field is not None and id_field not in parcels.columns:
        raise InputError(
            f"no column '{id_field}' in the parcels",
            where="parcels",
            fix=f"use one of: {', '.join(map(str, parcels.columns))}",
        )
    if species_field is not None and species_field not in parcels.columns:
        raise InputError(
            f"no column '{species_field}' in the parcels",
            where="parcels",
            fix=f"use one of: {', '.join(map(str, parcels.columns))}",
        )
    if id_field is None and "parcel_id" in parcels.columns:
        id_field = "parcel_id"  # the output's own id column name, when the file has it
    found = column_notes(parcels, species_field, id_field, config.species)
    if parcels.crs is None:  # before to_crs, which raises a bare ValueError on naive data
        raise CRSError(
            "the parcels have no CRS",
            where="parcels",
            fix="set the CRS of the file (relabel with set_crs only if you know it)",
        )
    crs = stock_crs(stock)
    px_ha = pixel_area_ha(stock)
    _check_parcels(parcels.to_crs(crs), id_field)
    _check_inside(
        parcels.to_crs(crs),
        stock,
        parcels[id_field] if id_field else pd.Series(parcels.index, index=parcels.index),
    )
    sums = parcel_layer_sums(stock, parcels)
    out = parcels.to_crs(crs).copy()
    ids = out[id_field].to_numpy() if id_field else out.index.to_numpy()
    if "parcel_id" in out.columns:  # replaced by the ids, as the table's first column
        out = out.drop(columns="parcel_id")
    out.insert(0, "parcel_id", ids)
    species = _parcel_species(parcels, config.species, species_field or "species")
    out["species"] = species
    # the polygon's area on the stock's CRS, not an area column: those are rounded, in
    # mu, or adjusted to control totals; a column that disagrees is noted
    area = out.geometry.area.to_numpy() / 1e4
    found += area_notes(parcels, area, ids)
    out["area_ha"] = area

    agb_sum = sums["agb_sum"].to_numpy()
    data_ha = sums["agb_count"].to_numpy() * px_ha
    agb = safe_ratio(agb_sum * px_ha, data_ha)
    root_shoot = safe_ratio(sums["bgb_sum"], agb_sum)
    cf = safe_ratio(sums["carbon_sum"], sums["biomass_sum"])
    stock_t = sums["co2e_sum"].to_numpy() * px_ha
    stock_t = np.where(data_ha > 0, stock_t, np.nan)  # no stock pixel in the parcel: unknown
    source = np.full(len(out), "layers", dtype=object)

    attr_agb = _numeric_column(parcels, "agb_t_ha")
    if attr_agb is not None:
        given = ~np.isnan(attr_agb)
        zone = get_zone(config.ecological_zone)
        r_attr = zone.root_shoot(np.where(given, attr_agb, np.nan))
        agb = np.where(given, attr_agb, agb)
        root_shoot = np.where(given, r_attr, root_shoot)
        cf = np.where(given, zone.carbon_fraction, cf)
        stock_attr = attr_agb * (1.0 + r_attr) * zone.carbon_fraction * CO2_PER_C * area
        stock_t = np.where(given, stock_attr, stock_t)
        source = np.where(given, "attribute", source)
    out["agb_t_ha"] = agb
    out["root_shoot"] = root_shoot
    out["carbon_fraction"] = cf
    out["stock_tco2e"] = stock_t
    out["stock_source"] = source
    # share of the parcel with stock data (0 outside the grid or where every layer is no-data)
    out["stock_data_share"] = np.clip(safe_ratio(data_ha, area), 0.0, 1.0)
    # share of the parcel that is forest already (the study's forest definition), NaN
    # without a forest_cover or land_cover layer: A/R credits assume non-forest land
    out["forest_share"] = (
        np.clip(safe_ratio(sums["forest_sum"], sums["forest_count"]), 0.0, 1.0)
        if "forest_sum" in sums
        else np.nan
    )

    removals = planting_removals_matrix(list(species), area, config.crediting_years)
    out["removals_tco2e_total"] = removals.sum(axis=1)
    out["removals_tco2e_per_yr"] = removals.sum(axis=1) / config.crediting_years
    base = _numeric_column(parcels, "baseline_tco2e_per_yr")
    default_base = config.baseline_tco2e_per_ha_yr * area
    out["baseline_tco2e_per_yr"] = (
        default_base if base is None else np.where(np.isnan(base), default_base, base)
    )
    if notes is not None:
        notes.extend(found)
    return out


FOREST_PARCEL_SHARE = 0.5
"""Forest share above which a parcel is noted as forest already: afforestation and
reforestation credits (CCER-14-001-V01, VCS VM0047 ARR, CDM A/R) are for planting land that
is not forest at the start, so removals credited there as a new planting overstate."""


def parcel_notes(table: pd.DataFrame, config: CarbonConfig) -> list[str]:
    """Notes on parcels that are mostly forest already (see :data:`FOREST_PARCEL_SHARE`)."""
    share = table["forest_share"].to_numpy(dtype=float) if "forest_share" in table else None
    if share is None:
        return []
    with np.errstate(invalid="ignore"):
        forested = share >= FOREST_PARCEL_SHARE
    if not forested.any():
        return []
    ids = ", ".join(_id(v).strip("'") for v in table["parcel_id"].to_numpy()[forested][:5])
    more = f" and {int(forested.sum()) - 5} more" if forested.sum() > 5 else ""
    return [
        f"parcels {ids}{more} are at least {FOREST_PARCEL_SHARE:.0%} forest already (crown "
        f"cover >= {config.forest_threshold_pct:g} % or tree land cover; column forest_share): "
        "their credits are those of a new planting, which A/R standards give only for land "
        "that is not forest at the start"
    ]


def project_credits(
    plantings: list[tuple[str, float]],
    baseline_tco2e_per_yr: float,
    config: CarbonConfig,
) -> CreditResult:
    """Credit chain of a project made of ``(species, area_ha)`` plantings.

    Gross removals per vintage are the deterministic curves. The deduction uses the 90 %
    half-width of the NET removals (gross - baseline - leakage), the quantity it is taken
    from: from the seeded Monte Carlo over the species parameters (``config.mc_draws`` draws,
    ``config.seed``), the baseline being fixed; or from ``config.half_width_pct``, the
    measured half-width of the project's gross removals, which is the same absolute width on
    the net: ``U_net = U x gross / (gross - baseline)``. A vintage whose net is not positive
    has no relative half-width (0 here: it has nothing creditable of its own).
    """
    years = config.crediting_years
    gross = planting_removals_matrix(
        [s for s, _ in plantings], np.array([a for _, a in plantings]), years
    ).sum(axis=0)
    gain = gross - baseline_tco2e_per_yr
    if config.half_width_pct is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            hw: Any = np.where(gain > 0, config.half_width_pct * gross / gain, 0.0)
    else:
        draws = monte_carlo_removals(plantings, years, draws=config.mc_draws, seed=config.seed)
        gains = draws - baseline_tco2e_per_yr
        net_draws = gains - np.maximum(gains, 0.0) * config.leakage_pct / 100.0
        hw = half_width_pct(net_draws, axis=0)
        hw = np.where(np.isnan(hw), 0.0, hw)
    std = config.standard_preset
    rule = get_rule(config.uncertainty_rule) if config.uncertainty_rule else None
    return credit_chain(
        CreditInputs(
            vintages=tuple(range(config.first_vintage, config.first_vintage + years)),
            gross_removals_tco2e=gross,
            baseline_tco2e=baseline_tco2e_per_yr,
            leakage_pct=config.leakage_pct,
            half_width_pct=hw,
            standard=std,
            rule=rule,
            buffer_pct=config.buffer_pct(),
            price_cny_per_t=config.price_cny_per_t,
        )
    )


def run_carbon(
    stack: xr.Dataset,
    regions: gpd.GeoDataFrame | None,
    parcels: gpd.GeoDataFrame | None,
    config: CarbonConfig,
    *,
    region_id: str | None = None,
    parcel_id: str | None = None,
    species_field: str | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The whole carbon stage on a loaded stack (``notes`` collects the parcels' notes, see
    :func:`carbon_parcels`).

    Returns
    -------
    dict
        ``stock`` (lazy Dataset), ``regions`` (DataFrame or None), ``parcels``
        (GeoDataFrame or None), ``vintages`` (DataFrame, one row per vintage: the project
        made of the parcels, or 1 ha of ``config.species`` when no parcels are given, see
        column ``scope``) and ``credits`` (the :class:`CreditResult`).
    """
    stock = carbon_stock(stack, config)
    out: dict[str, Any] = {"stock": stock, "regions": None, "parcels": None}
    if regions is not None:
        out["regions"] = carbon_regions(
            stock, regions, id_field=region_id, ecological_zone=config.ecological_zone
        )
    if parcels is not None:
        table = carbon_parcels(
            stock, parcels, config, id_field=parcel_id, species_field=species_field, notes=notes
        )
        out["parcels"] = table
        plantings = list(zip(table["species"], table["area_ha"], strict=True))
        baseline = float(table["baseline_tco2e_per_yr"].sum())
        scope = "project"
    else:
        plantings = [(config.species, 1.0)]
        baseline = config.baseline_tco2e_per_ha_yr
        scope = "per_ha_reference"
    credits = project_credits(plantings, baseline, config)
    vintages = credits.to_frame()
    vintages.insert(1, "scope", scope)
    out["credits"] = credits
    out["vintages"] = vintages
    return out
