"""The raster layers the site metrics average over each site, built lazily from the stack.

A layer derived for other parameters than the profile's (another turbine, another depth) is
recomputed from its inputs when the stack has them, so the metrics always describe the
profile's technology.
"""

from __future__ import annotations

import math

import xarray as xr

from geotool.errors import InputError
from geotool.requests import request_key
from geotool.resources import geothermal
from geotool.resources.atmosphere import ISA_RHO0
from geotool.resources.turbines import DEFAULT_WEIBULL_K, capacity_factor
from geotool.sites.options import MetricKind, SiteOptions
from geotool.sites.params import param_value, profile_turbine
from geotool.sites.zonal import Reduction
from geotool.suitability.specs import Profile


def wind_cf_layer(stack: xr.Dataset, profile: Profile) -> xr.DataArray | None:
    """Capacity factor of the profile's turbine: the stack's layer, or recomputed (lazily)
    from ``wind_speed_hub`` when the layer is missing or was derived for another turbine."""
    info = profile_turbine(profile)
    cf = stack.get("wind_capacity_factor")
    other = cf is not None and info is not None and cf.attrs.get("turbine", info.name) != info.name
    if (cf is None or other) and info is not None and "wind_speed_hub" in stack:
        # derive() used another turbine: recompute the CF for the profile's turbine
        return capacity_factor(
            stack["wind_speed_hub"],
            info.name,
            weibull_k=stack.get("weibull_k", DEFAULT_WEIBULL_K),
            air_density=stack.get("air_density", ISA_RHO0),
        )
    return cf


def temperature_layer(stack: xr.Dataset, profile: Profile) -> xr.DataArray | None:
    """Rock temperature at the profile's ``target_depth_m``: the stack's layer when derived
    at that depth, else computed lazily from ``air_temperature`` and the gradient or heat
    flow; an error when only a layer at another depth exists."""
    depth = param_value(profile, "target_depth_m")
    layer = stack.get("temperature_at_depth")
    if layer is not None:
        at = layer.attrs.get("depth_m")
        if depth is None or at is None or math.isclose(float(at), depth, abs_tol=1e-6):
            return layer
    if depth is not None and "air_temperature" in stack:
        if "geothermal_gradient" in stack:
            return geothermal.temperature_at_depth(
                stack["air_temperature"], depth, gradient_c_per_km=stack["geothermal_gradient"]
            )
        if "heat_flow" in stack:
            return geothermal.temperature_at_depth(
                stack["air_temperature"], depth, heat_flow_mw_m2=stack["heat_flow"]
            )
    if layer is not None:
        raise InputError(
            f"temperature_at_depth is at {layer.attrs.get('depth_m')} m, the profile's "
            f"target_depth_m is {depth} m",
            where=f"profile {profile.name}: [sites] target_depth_m",
            fix="derive the layer at the target depth (resources geothermal_depth_m) or give "
            "air_temperature and geothermal_gradient / heat_flow in the stack",
        )
    return None


def substation_variable(options: SiteOptions) -> str:
    """Stack name of the filtered substation distance layer, e.g. ``substations[voltage_kv>=220]_distance_m``."""
    return (
        f"{request_key('substations', f'voltage_kv >= {options.substation_min_kv:g}')}_distance_m"
    )


def metric_layers(
    kind: MetricKind | None, profile: Profile, stack: xr.Dataset | None, options: SiteOptions
) -> dict[str, tuple[xr.DataArray, Reduction]]:
    """The per-site pixel statistics a metric family needs: ``{column: (layer, reduction)}``."""
    if stack is None or kind is None:
        return {}
    out: dict[str, tuple[xr.DataArray, Reduction]] = {}
    if kind == "windfarm":
        cf = wind_cf_layer(stack, profile)
        if cf is not None:
            out["capacity_factor"] = (cf, "mean")
    elif kind == "solarfarm":
        pv = stack.get("pv_yield", stack.get("pvout"))
        if pv is not None:
            out["pv_yield"] = (pv, "mean")
    elif kind == "datacenter":
        if "pue" in stack:
            out["pue"] = (stack["pue"], "mean")
        var = substation_variable(options)
        if var in stack:
            out["substation_distance_m"] = (stack[var], "min")
    elif kind == "geothermal_heat":
        t = temperature_layer(stack, profile)
        if t is not None:
            out["temperature_c"] = (t, "mean")
    return out
