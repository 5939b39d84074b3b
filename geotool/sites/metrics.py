"""Profile metrics of candidate sites: capacity and energy, IT load and emissions, removals, heat.

Per family (see :data:`geotool.sites.options.METRIC_KINDS`):

- **windfarm** — ``capacity_mw``: ``turbines × rated power`` of the profile's ``turbine``,
  with ``turbines = ⌊capacity_density_mw_per_km2 × area_km2 / rated power⌋`` (density mode;
  the unrounded density × area without a turbine type) or the turbines on a 5D × 7D lattice
  inside the polygon (layout mode, :func:`lattice_turbines`); ``capacity_factor``:
  mean of ``wind_capacity_factor`` over the site's pixels; ``energy_gwh_per_yr =
  capacity_mw × capacity_factor × 8,760 h × (1 − wind_losses) / 1,000``, with the study's
  ``[resources] wind_losses`` (wakes, availability, electrical; recorded on the CF layer).
- **solarfarm** — ``capacity_mwp = capacity_density_mw_per_km2 × area_km2``;
  ``energy_gwh_per_yr = capacity_mwp × pv_yield / 1,000`` (``pv_yield`` in kWh/kWp/yr,
  mean over the site).
- **datacenter** — ``it_load_mw = it_load_density_mw_per_km2 × area_km2`` (capped by
  :attr:`SiteOptions.max_it_load_mw`); ``pue``: mean of the ``pue`` layer;
  ``demand_distance_km``: from the polygon's centroid to the nearest demand centre (exact with
  ``vectors["demand_centres"]``, else ``demand_centres_distance_m`` at the centroid's pixel);
  ``latency_ms = geotool.resources.datacenter.latency_ms(demand_distance_km, route_factor)``
  ``= 2 × demand_distance_km × route_factor × 0.0049 ms``; ``distance_to_substation_km``:
  polygon to the nearest substation of ≥ 220 kV; ``green_energy_gwh_per_yr``: the
  ``green_energy_gwh_per_yr_within_radius`` layer at the centroid's pixel (its radius in
  ``green_radius_km``); ``co2_t_per_yr = it_load_mw × pue × 8,760 ×
  grid_emission_factor_tco2_per_mwh`` (location-based, GHG Protocol Scope 2 Guidance 2015);
  ``local_green_share = min(1, 1,000 × green_energy_gwh_per_yr / (it_load_mw × pue × 8,760))``
  and ``co2_t_per_yr_local_green = max(0, it_load_mw × pue × 8,760 − 1,000 ×
  green_energy_gwh_per_yr) × factor``: the best case of meeting the demand from the local
  wind and PV potential first, each site as if it alone used it.
- **carbon_sink** — ``area_ha``, ``tco2e_per_yr`` and ``tco2e_total`` of planting the site
  with :attr:`SiteOptions.carbon` ``.species`` over ``.crediting_years``
  (:func:`geotool.carbon.afforestation_removals`), or at the profile's flat
  ``removal_tco2_per_ha_yr`` when it gives one (:func:`geotool.sites.params.carbon_removals`).
- **geothermal_heat** — ``temperature_c``: mean rock temperature at ``target_depth_m``;
  ``heat_in_place_pj`` of a slab :attr:`SiteOptions.reservoir_thickness_m` thick under the
  site (USGS volumetric method); ``mw_thermal`` recoverable over the project life.

A metric whose input layer is absent is NaN (never guessed).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from rasterio import features

from geotool.errors import InputError
from geotool.grid import Grid
from geotool.resources import datacenter, geothermal
from geotool.sites.layers import metric_layers, substation_variable, wind_cf_layer, wind_losses
from geotool.sites.options import SiteOptions
from geotool.sites.params import (
    GRID_EMISSION_FACTOR_TCO2_PER_MWH,
    HOURS_PER_YEAR,
    capacity_density_mw_per_km2,
    carbon_removals,
    metric_kind,
    param_value,
    profile_turbine,
    required_param,
    wind_capacity_mode,
)
from geotool.sites.proximity import filter_voltage, nearest_distance_m, uncapped
from geotool.sites.zonal import label_stats, sample_pixels
from geotool.suitability.specs import Profile


def lattice_turbines(geoms: np.ndarray, dx_m: float, dy_m: float) -> np.ndarray:
    """Turbine positions of a regular ``dx × dy`` lattice inside each polygon (boundary counts).

    The lattice is anchored at the polygon's lower-left bound; the best of four anchors
    (offsets 0 and ½ cell on each axis) is kept.

    >>> lattice_turbines(np.array([shapely.box(0, 0, 1000, 700)]), 500.0, 700.0).tolist()
    [6]
    """
    counts = np.zeros(len(geoms), dtype=np.int64)
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        shapely.prepare(geom)
        x0, y0, x1, y1 = geom.bounds
        best = 0
        for ox in (0.0, 0.5):
            for oy in (0.0, 0.5):
                xs = np.arange(x0 + ox * dx_m, x1 + 1e-6, dx_m)
                ys = np.arange(y0 + oy * dy_m, y1 + 1e-6, dy_m)
                gx, gy = np.meshgrid(xs, ys)
                best = max(best, int(shapely.intersects_xy(geom, gx.ravel(), gy.ravel()).sum()))
        counts[i] = best
    return counts


def _wind(
    out: pd.DataFrame,
    geoms: np.ndarray,
    stats: pd.DataFrame,
    profile: Profile,
    opt: SiteOptions,
    stack: xr.Dataset | None,
) -> None:
    area = out["area_km2"].to_numpy()
    info = profile_turbine(profile)
    if wind_capacity_mode(profile, opt) == "density":
        capacity = required_param(profile, "capacity_density_mw_per_km2", "windfarm") * area
        turbines = None
        if info is not None:  # whole turbines of the profile's type: 4 × 3 MW, not 13.6 MW
            turbines = np.floor(capacity / info.nominal_power_mw + 1e-9).astype(np.int64)
            capacity = turbines * info.nominal_power_mw
        out["capacity_mw"] = capacity
        if turbines is not None:
            out["turbines"] = turbines
    else:
        capacity_density_mw_per_km2("windfarm", profile, opt)  # raises without a turbine
        assert info is not None
        cross, down = opt.layout_spacing_rotor_diameters
        d = info.rotor_diameter_m
        turbines = lattice_turbines(geoms, cross * d, down * d)
        out["capacity_mw"] = turbines * info.nominal_power_mw
        out["turbines"] = turbines
    cf = _column(stats, "capacity_factor", len(out))
    out["capacity_factor"] = cf
    net = 1.0 - (wind_losses(wind_cf_layer(stack, profile)) if stack is not None else 0.0)
    out["energy_gwh_per_yr"] = out["capacity_mw"].to_numpy() * cf * HOURS_PER_YEAR * net / 1000.0


def _solar(out: pd.DataFrame, stats: pd.DataFrame, profile: Profile) -> None:
    density = required_param(profile, "capacity_density_mw_per_km2", "solarfarm")
    out["capacity_mwp"] = density * out["area_km2"].to_numpy()
    pv = _column(stats, "pv_yield", len(out))
    out["pv_yield_kwh_per_kwp"] = pv
    out["energy_gwh_per_yr"] = out["capacity_mwp"].to_numpy() * pv / 1000.0


def _datacenter(
    out: pd.DataFrame,
    geoms: np.ndarray,
    stats: pd.DataFrame,
    profile: Profile,
    grid: Grid,
    stack: xr.Dataset | None,
    vectors: dict[str, gpd.GeoDataFrame],
    opt: SiteOptions,
) -> None:
    n = len(out)
    it = required_param(profile, "it_load_density_mw_per_km2", "datacenter") * out["area_km2"]
    if opt.max_it_load_mw is not None:
        it = np.minimum(it, opt.max_it_load_mw)
    out["it_load_mw"] = np.asarray(it, dtype=float)
    out["pue"] = _column(stats, "pue", n)
    centroids = shapely.centroid(geoms)
    rows, cols = grid.rowcol(shapely.get_x(centroids), shapely.get_y(centroids))

    if "demand_centres" in vectors:
        dist_m = nearest_distance_m(centroids, vectors["demand_centres"], grid.crs)
    elif stack is not None and "demand_centres_distance_m" in stack:
        layer = stack["demand_centres_distance_m"]
        dist_m = uncapped(sample_pixels(layer, rows, cols), layer)
    else:
        dist_m = np.full(n, np.nan)
    out["demand_distance_km"] = dist_m / 1000.0
    ok = np.isfinite(dist_m)
    latency = np.full(n, np.nan)
    if ok.any():
        latency[ok] = datacenter.latency_ms(dist_m[ok] / 1000.0, route_factor=opt.route_factor)
    out["latency_ms"] = latency

    if "substations" in vectors:
        subs = filter_voltage(vectors["substations"], opt.substation_min_kv, "substations")
        sub_m = nearest_distance_m(geoms, subs, grid.crs)
    elif "substation_distance_m" in stats and stack is not None:
        layer = stack[substation_variable(opt)]
        sub_m = uncapped(stats["substation_distance_m"].to_numpy(), layer)
    else:
        sub_m = np.full(n, np.nan)
    out["distance_to_substation_km"] = sub_m / 1000.0

    green = np.full(n, np.nan)
    radius_km = param_value(profile, "radius_km")
    if stack is not None and "green_energy_gwh_per_yr_within_radius" in stack:
        layer = stack["green_energy_gwh_per_yr_within_radius"]
        green = sample_pixels(layer, rows, cols)
        if layer.attrs.get("radius_m") is not None:
            radius_km = float(layer.attrs["radius_m"]) / 1000.0
    out["green_energy_gwh_per_yr"] = green
    out["green_radius_km"] = np.nan if radius_km is None else radius_km
    factor = param_value(profile, "grid_emission_factor_tco2_per_mwh")
    factor = GRID_EMISSION_FACTOR_TCO2_PER_MWH if factor is None else factor
    demand_mwh = out["it_load_mw"].to_numpy() * out["pue"].to_numpy() * HOURS_PER_YEAR
    out["electricity_gwh_per_yr"] = demand_mwh / 1000.0
    # location-based emissions (GHG Protocol Scope 2 Guidance, 2015: grid-average factor)
    out["co2_t_per_yr"] = demand_mwh * factor
    # the best case: demand met first from the local wind and PV potential (an upper bound on
    # what a green supply contract there could deliver; the site as if built alone)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["local_green_share"] = np.minimum(1.0, 1000.0 * green / demand_mwh)
    out["co2_t_per_yr_local_green"] = np.maximum(0.0, demand_mwh - 1000.0 * green) * factor


def _carbon(out: pd.DataFrame, profile: Profile, opt: SiteOptions) -> None:
    area_ha = out["area_km2"].to_numpy() * 100.0
    per_yr, total, basis = carbon_removals(area_ha, profile, opt)
    out["area_ha"] = area_ha
    out["species"] = basis
    out["crediting_years"] = opt.carbon.crediting_years
    out["tco2e_per_yr"] = per_yr
    out["tco2e_total"] = total


def _geothermal(out: pd.DataFrame, stats: pd.DataFrame, opt: SiteOptions) -> None:
    t = _column(stats, "temperature_c", len(out))
    out["temperature_c"] = t
    heat = np.asarray(
        geothermal.heat_in_place(t, opt.reservoir_thickness_m, area_km2=out["area_km2"].to_numpy()),
        dtype=float,
    )
    out["heat_in_place_pj"] = heat / 1e15
    out["mw_thermal"] = np.asarray(
        geothermal.recoverable_thermal_power_mw(
            heat,
            recovery_factor=opt.recovery_factor,
            project_life_years=opt.project_life_years,
        ),
        dtype=float,
    )


def _column(stats: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name in stats.columns:
        return stats[name].to_numpy(dtype=float)
    return np.full(n, np.nan)


def site_metrics(
    sites: gpd.GeoDataFrame,
    profile: Profile,
    grid: Grid,
    *,
    stack: xr.Dataset | None = None,
    vectors: dict[str, gpd.GeoDataFrame] | None = None,
    options: SiteOptions | None = None,
    stats: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Profile metrics of site polygons (see the module docstring for every formula).

    Parameters
    ----------
    sites
        Site polygons (any CRS; reprojected to the grid's). ``area_km2`` is taken from the
        column when present, else from the polygons in the grid CRS.
    profile
        The profile; its ``[sites]`` params give densities, turbine, depth, factors.
    grid
        The analysis grid of ``stack``.
    stack
        Stack with the derived layers (``wind_capacity_factor``, ``pv_yield``, ``pue``,
        ``temperature_at_depth``, ``green_energy_gwh_per_yr_within_radius``, distance
        layers). Missing layers give NaN metrics.
    vectors
        Optional features for exact distances: ``"demand_centres"``, ``"substations"``
        (with ``voltage_kv``).
    options
        :class:`SiteOptions` (default values when ``None``).
    stats
        Per-site pixel statistics of :func:`metric_layers` in site order (as
        :func:`geotool.sites.extract_sites` computes them in its single pass); when ``None``
        the polygons are rasterised onto the grid (pixel centres) and read here.

    Returns
    -------
    pandas.DataFrame
        One row per site (same index as ``sites``), metric columns only.

    Examples
    --------
    >>> from geotool.suitability import load_profile
    >>> g = Grid.from_bounds((0, 0, 1000, 1000), 100, "EPSG:32649")
    >>> s = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 500)], crs=32649)
    >>> m = site_metrics(s, load_profile("carbon_sink"), g)
    >>> float(m["area_ha"].iloc[0]), bool(m["tco2e_total"].iloc[0] > 0)
    (50.0, True)
    """
    opt = options or SiteOptions()
    kind = metric_kind(profile, opt)
    geoms = sites.geometry.to_crs(grid.crs).to_numpy() if sites.crs else sites.geometry.to_numpy()
    if sites.crs is None and len(sites):
        raise InputError("the sites have no CRS", where="sites", fix="set the sites' CRS")
    out = pd.DataFrame(index=sites.index)
    out["area_km2"] = (
        sites["area_km2"].to_numpy(dtype=float)
        if "area_km2" in sites.columns
        else shapely.area(geoms) / 1e6
    )
    if stats is None:
        layers = metric_layers(kind, profile, stack, opt)
        labels = (
            features.rasterize(
                ((g, i + 1) for i, g in enumerate(geoms) if not g.is_empty),
                out_shape=grid.shape,
                transform=grid.transform,
                fill=0,
                dtype="int32",
            )
            if len(geoms)
            else np.zeros(grid.shape, dtype=np.int32)
        )
        stats = label_stats(layers, labels, len(geoms))
    stats = stats.reset_index(drop=True)
    vecs = vectors or {}
    if kind == "windfarm":
        _wind(out, geoms, stats, profile, opt, stack)
    elif kind == "solarfarm":
        _solar(out, stats, profile)
    elif kind == "datacenter":
        _datacenter(out, geoms, stats, profile, grid, stack, vecs, opt)
    elif kind == "carbon_sink":
        _carbon(out, profile, opt)
    elif kind == "geothermal_heat":
        _geothermal(out, stats, opt)
    return out.drop(columns="area_km2")
