"""All derived physical layers a stack's inputs allow, computed lazily.

``derive(stack)`` looks at which catalog layers the stack holds and returns a new
``xarray.Dataset`` with every derived layer it can build (see :data:`DERIVED_LAYERS`); a layer
whose inputs are missing is simply absent. Nothing is computed until the caller asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from pyproj import CRS, Transformer

from geotool.errors import CRSError, InputError
from geotool.resources import datacenter, geothermal, solar, terrain, turbines, wind
from geotool.resources._array import apply_pointwise
from geotool.resources.atmosphere import ISA_LAPSE_K_PER_M, ISA_RHO0
from geotool.resources.config import ResourceConfig

# name -> (units, long_name)
DERIVED_LAYERS: dict[str, tuple[str, str]] = {
    "wind_speed_hub": ("m/s", "annual mean wind speed at hub height"),
    "air_density": ("kg/m3", "annual mean air density at hub height"),
    "wind_capacity_factor": ("1", "gross wind turbine capacity factor"),
    "wind_power_density": ("W/m2", "mean wind power density at hub height"),
    "wind_energy_mwh_per_mw": ("MWh/MW/yr", "annual wind energy per installed MW"),
    "pv_yield": ("kWh/kWp/yr", "PV specific yield"),
    "slope": ("degree", "terrain slope"),
    "aspect": ("degree", "terrain aspect (downslope direction, clockwise from grid north)"),
    "pole_facing_slope": (
        "degree",
        "terrain slope towards the nearer pole (negative: towards the equator)",
    ),
    "temperature_at_depth": ("degC", "rock temperature at the geothermal target depth"),
    "geothermal_use_class": ("1", "geothermal use class (0 heat pump .. 4 power)"),
    "free_cooling_hours": ("h/yr", "hours per year suitable for economiser cooling"),
    "pue": ("1", "estimated annual power usage effectiveness"),
    "latency_ms": ("ms", "round-trip fibre latency to the nearest demand centre"),
    "green_energy_gwh_per_yr_within_radius": (
        "GWh/yr",
        "wind + PV technical potential within the green-power radius",
    ),
}
"""Every layer :func:`derive` can produce, with its units and long name."""

RECORDED_PARAMETERS: dict[str, dict[str, str]] = {
    "wind_speed_hub": {"hub_height_m": "hub_height_m"},
    "wind_capacity_factor": {
        "turbine": "turbine",
        "weibull_k": "weibull_k",
        "wind_losses": "wind_losses",
    },
    "temperature_at_depth": {
        "depth_m": "geothermal_depth_m",
        "conductivity_w_mk": "conductivity_w_mk",
        "surface_temp_c": "surface_temp_c",
    },
}
"""Derived layer -> {attribute: ResourceConfig field}: the parameters :func:`derive` records
on a layer (when they were used), which :func:`recorded_config` reads back."""

# WorldCover classes where neither wind nor PV farms are built for the green-energy
# potential: built-up (50), snow/ice (70), water (80), wetland (90), mangroves (95).
NOT_BUILDABLE_LAND_COVER = (50, 70, 80, 90, 95)


def derive(stack: xr.Dataset, config: ResourceConfig | None = None) -> xr.Dataset:
    """Compute every derived layer the stack's variables allow, lazily.

    Parameters
    ----------
    stack
        The analysis stack: dims ``("y", "x")``, x/y pixel centres in the grid CRS (from
        ``attrs["grid"]`` or ``stack.rio.crs``), catalog variable names.
    config
        Parameters (turbine, hub height, depth, PR, radius, ...); defaults when ``None``.

    Returns
    -------
    A Dataset of float32 layers named as in :data:`DERIVED_LAYERS`, each with ``units`` and
    ``long_name`` attributes; ``attrs["resource_config"]`` records the parameters.

    Examples
    --------
    >>> ds = xr.Dataset({"air_temperature": (("y", "x"), np.full((2, 2), 12.0))},
    ...                 coords={"x": [500.0, 600.0], "y": [1100.0, 1000.0]})
    >>> sorted(derive(ds).data_vars)
    ['free_cooling_hours', 'pue']
    """
    cfg = config or ResourceConfig()
    if "x" not in stack.dims or "y" not in stack.dims:
        raise InputError(
            f"stack dims are {tuple(stack.dims)}, not ('y', 'x')",
            where="stack",
            fix="build the stack with geotool.stack.load_stack",
        )
    have = {str(name) for name in stack.data_vars}
    out: dict[str, Any] = {}
    notes: list[str] = []

    _wind(stack, cfg, have, out, notes)
    _solar(stack, cfg, have, out, notes)
    if "dem" in have:
        crs = _stack_crs(stack)
        out["slope"] = terrain.slope_degrees(stack["dem"], crs=crs)
        out["aspect"] = terrain.aspect_degrees(stack["dem"], crs=crs)
        out["pole_facing_slope"] = _pole_facing_slope(stack, out["slope"], out["aspect"])
    _geothermal(stack, cfg, have, out, notes)
    _datacenter(stack, cfg, have, out, notes)
    _green_energy(stack, cfg, have, out, notes)

    result = xr.Dataset(coords={"y": stack["y"], "x": stack["x"]})
    for name, arr in out.items():
        units, long_name = DERIVED_LAYERS[name]
        layer = arr.astype(np.float32).rename(name)
        layer.attrs = {"units": units, "long_name": long_name, **_extra_attrs(arr)}
        result[name] = layer.transpose("y", "x")
    result.attrs = {k: v for k, v in stack.attrs.items() if k == "grid"}
    result.attrs["resource_config"] = cfg.to_dict()
    result.attrs["notes"] = notes
    return result


def _extra_attrs(arr: Any) -> dict[str, Any]:
    keep = {"flag_meanings", "radius_m", "source"}.union(*RECORDED_PARAMETERS.values())
    return {k: v for k, v in getattr(arr, "attrs", {}).items() if k in keep}


def recorded_config(stack: xr.Dataset) -> ResourceConfig:
    """The :class:`ResourceConfig` the stack's derived layers were built with.

    ``attrs["resource_config"]`` of a :func:`derive` result when the stack still has it, else
    the parameters recorded on the derived layers (:data:`RECORDED_PARAMETERS`; they survive
    ``xr.merge``), defaults for the rest.

    Examples
    --------
    >>> ds = xr.Dataset({"heat_flow": (("y", "x"), np.full((2, 2), 70.0))},
    ...                 coords={"x": [500.0, 600.0], "y": [1100.0, 1000.0]})
    >>> merged = ds.merge(derive(ds, ResourceConfig(conductivity_w_mk=3.5, surface_temp_c=10.0)))
    >>> recorded_config(merged).conductivity_w_mk
    3.5
    """
    whole = stack.attrs.get("resource_config")
    if isinstance(whole, Mapping):
        return ResourceConfig.from_dict(whole)
    values: dict[str, Any] = {}
    for layer, fields in RECORDED_PARAMETERS.items():
        if layer not in stack:
            continue
        for attr, field in fields.items():
            value = stack[layer].attrs.get(attr)
            if value is not None:
                values.setdefault(field, value.item() if hasattr(value, "item") else value)
    return ResourceConfig.from_dict(values, where="recorded resources")


def capacity_factor_from_stack(
    stack: xr.Dataset,
    cfg: ResourceConfig,
    *,
    hub: Any = None,
    air_density: Any = None,
) -> Any:
    """``wind_capacity_factor`` of ``cfg.turbine`` as :func:`derive` builds it.

    ``hub`` (wind at ``cfg.hub_height_m``) and ``air_density`` default to the stack's
    ``wind_speed_hub`` and ``air_density`` (ISA 1.225 kg/m³ without it); k is the stack's
    ``weibull_k`` layer, else ``cfg.weibull_k`` (recorded in the result's attrs, as is
    ``cfg.wind_losses``, which energy computed from this gross CF must deduct).
    """
    hub = stack["wind_speed_hub"] if hub is None else hub
    if air_density is None:
        air_density = stack.get("air_density", ISA_RHO0)
    k = stack.get("weibull_k", cfg.weibull_k)
    cf = turbines.capacity_factor(
        hub, cfg.turbine, weibull_k=k, air_density=air_density, hub_height_m=cfg.hub_height_m
    )
    if isinstance(cf, xr.DataArray):
        if "weibull_k" not in stack:
            cf.attrs["weibull_k"] = cfg.weibull_k
        # the CF is gross; energy from it (site and region potentials) is net of these losses
        cf.attrs["wind_losses"] = cfg.wind_losses
    return cf


def temperature_from_stack(stack: xr.Dataset, cfg: ResourceConfig) -> xr.DataArray | None:
    """``temperature_at_depth`` at ``cfg.geothermal_depth_m`` as :func:`derive` builds it.

    Surface: ``air_temperature``, else ``cfg.surface_temp_c``; gradient: the
    ``geothermal_gradient`` layer, else ``heat_flow`` / ``cfg.conductivity_w_mk``. ``None``
    when the stack lacks the inputs. The depth and the parameters used are in the attrs.
    """
    extra: dict[str, float] = {}
    if "air_temperature" in stack:
        surface: Any = stack["air_temperature"]
    elif cfg.surface_temp_c is not None:
        surface = cfg.surface_temp_c
        extra["surface_temp_c"] = cfg.surface_temp_c
    else:
        return None
    if "geothermal_gradient" in stack:
        t = geothermal.temperature_at_depth(
            surface, cfg.geothermal_depth_m, gradient_c_per_km=stack["geothermal_gradient"]
        )
    elif "heat_flow" in stack:
        t = geothermal.temperature_at_depth(
            surface,
            cfg.geothermal_depth_m,
            heat_flow_mw_m2=stack["heat_flow"],
            conductivity_w_mk=cfg.conductivity_w_mk,
        )
        extra["conductivity_w_mk"] = cfg.conductivity_w_mk
    else:
        return None
    if not isinstance(t, xr.DataArray):  # scalar surface and no raster: nothing spatial
        return None
    t.attrs.update({"depth_m": cfg.geothermal_depth_m, **extra})
    return t


def _stack_crs(stack: xr.Dataset) -> CRS:
    grid = stack.attrs.get("grid")
    if grid is not None and getattr(grid, "crs", None) is not None:
        return CRS.from_user_input(grid.crs)
    try:
        import rioxarray  # noqa: F401

        found = stack.rio.crs
    except Exception:
        found = None
    if found is None:
        raise CRSError(
            "the stack has no CRS, so slopes and latitudes cannot be computed",
            where="stack",
            fix='set stack.attrs["grid"] (geotool.grid.Grid) or stack.rio.write_crs(...)',
        )
    return CRS.from_user_input(found)


def _latitude(stack: xr.Dataset, like: xr.DataArray) -> xr.DataArray:
    """Latitude of every pixel centre, lazily and chunked like ``like``."""
    return _per_pixel(stack, like, _latitude_kernel)


def _pole_facing_slope(
    stack: xr.Dataset, slope: xr.DataArray, aspect: xr.DataArray
) -> xr.DataArray:
    """:func:`geotool.resources.solar.pole_facing_slope` of the DEM: the aspect (from grid
    north) is first turned to true north, which on a polar or rotated grid can be any bearing."""
    bearing = _per_pixel(stack, stack["dem"], _true_north_kernel)
    true_aspect = (aspect - bearing) % 360.0
    return solar.pole_facing_slope(slope, true_aspect, _latitude(stack, stack["dem"]))


def _true_north_kernel(x: np.ndarray, y: np.ndarray, *, crs_wkt: str) -> np.ndarray:
    """Bearing of true north at each pixel centre, degrees clockwise from grid north: the
    direction in the grid of a step of 1e-4° of latitude towards the north pole (towards the
    south pole, turned round, within 1e-4° of the north pole)."""
    crs = CRS.from_wkt(crs_wkt)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    from_ll = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xb, yb = (np.asarray(a, dtype=float) for a in np.broadcast_arrays(x, y))
    lon, lat = to_ll.transform(xb, yb)
    step = np.where(lat < 90.0 - 2e-4, 1e-4, -1e-4)
    x2, y2 = from_ll.transform(lon, lat + step)
    bearing = np.degrees(np.arctan2(x2 - xb, y2 - yb)) + np.where(step < 0, 180.0, 0.0)
    return np.asarray(bearing % 360.0)


def _per_pixel(stack: xr.Dataset, like: xr.DataArray, kernel: Any) -> xr.DataArray:
    """``kernel(x, y, crs_wkt=...)`` at every pixel centre, lazily and chunked like ``like``."""
    crs = _stack_crs(stack)
    xs, ys = stack["x"].values, stack["y"].values
    if isinstance(like.data, da.Array):
        # 2-D coordinates in the blocks of ``like`` (views, no memory): an outer product of
        # 1-D chunked coordinates has 10x more blocks than either input, which dask warns
        # about on every large grid ("Increasing number of chunks by factor of 12")
        chunks = dict(zip(like.dims, like.data.chunks, strict=True))
        shape, blocks = (ys.size, xs.size), (chunks["y"], chunks["x"])
        x2 = da.broadcast_to(da.from_array(xs, chunks=(chunks["x"],))[None, :], shape, blocks)
        y2 = da.broadcast_to(da.from_array(ys, chunks=(chunks["y"],))[:, None], shape, blocks)
        coords = {"y": ys, "x": xs}
        x = xr.DataArray(x2, dims=("y", "x"), coords=coords)
        y = xr.DataArray(y2, dims=("y", "x"), coords=coords)
    else:
        x = xr.DataArray(xs, dims="x", coords={"x": xs})
        y = xr.DataArray(ys, dims="y", coords={"y": ys})
    out = apply_pointwise(kernel, x, y, kwargs={"crs_wkt": crs.to_wkt()})
    return out.transpose("y", "x")


def _latitude_kernel(x: np.ndarray, y: np.ndarray, *, crs_wkt: str) -> np.ndarray:
    to_ll = Transformer.from_crs(CRS.from_wkt(crs_wkt), "EPSG:4326", always_xy=True)
    xb, yb = np.broadcast_arrays(x, y)
    _, lat = to_ll.transform(xb, yb)
    return np.asarray(lat, dtype=float)


def _wind(
    stack: xr.Dataset, cfg: ResourceConfig, have: set[str], out: dict[str, Any], notes: list[str]
) -> None:
    if "dem" in have:
        temp = None
        if "air_temperature" in have:  # 2 m air temperature lapsed to hub height (ISA rate)
            temp = stack["air_temperature"] - ISA_LAPSE_K_PER_M * cfg.hub_height_m
        out["air_density"] = wind.air_density(stack["dem"] + cfg.hub_height_m, temp)
    if "wind_speed_100m" not in have:
        return
    v_ref = stack["wind_speed_100m"]
    h_ref, h_hub = cfg.wind_reference_height_m, cfg.hub_height_m
    if cfg.shear_alpha is not None:
        hub = wind.wind_at_height(v_ref, h_ref, h_hub, alpha=cfg.shear_alpha)
    elif "land_cover" in have:
        hub = wind.wind_at_height(v_ref, h_ref, h_hub, land_cover=stack["land_cover"])
        notes.append("wind shear: log law with WorldCover roughness (Wieringa 1992 classes)")
    else:
        hub = wind.wind_at_height(v_ref, h_ref, h_hub)
        notes.append("wind shear: power law, alpha = 1/7")
    hub.attrs["hub_height_m"] = h_hub
    out["wind_speed_hub"] = hub
    k = stack["weibull_k"] if "weibull_k" in have else cfg.weibull_k
    rho = out.get("air_density", ISA_RHO0)
    if "air_density" not in out:
        notes.append("no dem: wind capacity factor at standard air density 1.225 kg/m3")
    out["wind_capacity_factor"] = capacity_factor_from_stack(stack, cfg, hub=hub, air_density=rho)
    out["wind_power_density"] = turbines.power_density(hub, k, rho)
    energy = out["wind_capacity_factor"] * (turbines.HOURS_PER_YEAR * (1.0 - cfg.wind_losses))
    energy.attrs = {"turbine": cfg.turbine}
    out["wind_energy_mwh_per_mw"] = energy


def _solar(
    stack: xr.Dataset, cfg: ResourceConfig, have: set[str], out: dict[str, Any], notes: list[str]
) -> None:
    if "pvout" in have:
        pv = stack["pvout"].copy()
        pv.attrs = {"source": "pvout layer (used as given)"}
        out["pv_yield"] = pv
    elif "ghi" in have:
        temp = stack["air_temperature"] if "air_temperature" in have else None
        if temp is None:
            notes.append("no air_temperature: PV yield without temperature losses")
        out["pv_yield"] = solar.pv_specific_yield(
            stack["ghi"],
            _latitude(stack, stack["ghi"]),
            temperature_c=temp,
            tilt="optimal" if cfg.pv_tilt == "optimal" else float(cfg.pv_tilt),
            azimuth=cfg.pv_azimuth,
            performance_ratio=cfg.performance_ratio,
        )
        out["pv_yield"].attrs["source"] = "ghi via pvlib synthetic-year model"
        south, north = _latitude_range(stack)
        limit = float(solar.LATITUDE_AXIS[-1])
        if north > limit or south < -limit:
            notes.append(
                f"pv_yield: no data beyond ±{limit:g}° latitude (the solar model's range); "
                f"the grid reaches {south:.1f}..{north:.1f}°"
            )


def _latitude_range(stack: xr.Dataset) -> tuple[float, float]:
    """Southernmost and northernmost latitude of the stack's pixel centres (from its outline,
    densified, so nothing is computed)."""
    xs, ys = np.asarray(stack["x"], dtype=float), np.asarray(stack["y"], dtype=float)
    to_ll = Transformer.from_crs(_stack_crs(stack), "EPSG:4326", always_xy=True)
    _, south, _, north = to_ll.transform_bounds(
        xs.min(), ys.min(), xs.max(), ys.max(), densify_pts=21
    )
    return float(south), float(north)


def _geothermal(
    stack: xr.Dataset, cfg: ResourceConfig, have: set[str], out: dict[str, Any], notes: list[str]
) -> None:
    t = temperature_from_stack(stack, cfg)
    if t is None:
        return
    out["temperature_at_depth"] = t
    out["geothermal_use_class"] = geothermal.use_class(t)


def _datacenter(
    stack: xr.Dataset, cfg: ResourceConfig, have: set[str], out: dict[str, Any], notes: list[str]
) -> None:
    if "air_temperature" in have:
        hours = datacenter.free_cooling_hours(
            stack["air_temperature"],
            annual_amplitude_c=cfg.annual_amplitude_c,
            daily_amplitude_c=cfg.daily_amplitude_c,
            supply_temp_c=cfg.supply_temp_c,
            approach_c=cfg.approach_c,
        )
        out["free_cooling_hours"] = hours
        out["pue"] = datacenter.pue_estimate(
            hours, pue_free_cooling=cfg.pue_free_cooling, pue_mechanical=cfg.pue_mechanical
        )
    if "demand_centres_distance_m" in have:
        out["latency_ms"] = datacenter.latency_ms(
            stack["demand_centres_distance_m"] / 1000.0, route_factor=cfg.route_factor
        )
        notes.append("latency_ms is capped where demand_centres_distance_m is capped")


def _green_energy(
    stack: xr.Dataset, cfg: ResourceConfig, have: set[str], out: dict[str, Any], notes: list[str]
) -> None:
    parts = []
    if "wind_energy_mwh_per_mw" in out:  # MWh/MW/yr × MW/km² = MWh/km²/yr
        parts.append(
            out["wind_energy_mwh_per_mw"].fillna(0.0) * cfg.wind_capacity_density_mw_per_km2
        )
    if "pv_yield" in out:  # kWh/kWp/yr = MWh/MW/yr
        parts.append(out["pv_yield"].fillna(0.0) * cfg.pv_capacity_density_mw_per_km2)
    if not parts:
        return
    density = sum(parts[1:], parts[0])  # MWh per km² per year
    if "land_cover" in have:
        density = density.where(~stack["land_cover"].isin(NOT_BUILDABLE_LAND_COVER), 0.0)
    if "protected_areas_mask" in have:
        density = density.where(stack["protected_areas_mask"] != 1, 0.0)
    crs = _stack_crs(stack)
    if not crs.is_projected:
        raise CRSError(
            f"the stack CRS {crs.name} is not projected",
            where="stack",
            fix="derive needs a metric analysis grid (e.g. UTM)",
        )
    if stack.sizes["x"] < 2 or stack.sizes["y"] < 2:
        return
    unit = float(crs.axis_info[0].unit_conversion_factor or 1.0) if crs.axis_info else 1.0
    dx = abs(float(stack["x"][1] - stack["x"][0])) * unit
    dy = abs(float(stack["y"][1] - stack["y"][0])) * unit
    pixel_km2 = dx * dy / 1e6
    per_pixel = density * pixel_km2 / 1000.0  # GWh/yr per pixel
    out["green_energy_gwh_per_yr_within_radius"] = datacenter.energy_within_radius(
        per_pixel, cfg.green_radius_m, (dx, dy)
    )
    notes.append(
        f"green energy: {cfg.wind_capacity_density_mw_per_km2} MW/km2 wind + "
        f"{cfg.pv_capacity_density_mw_per_km2} MW/km2 PV on buildable land within "
        f"{cfg.green_radius_m / 1000:g} km"
    )
