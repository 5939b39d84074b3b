"""The raster layers the site metrics average over each site, built lazily from the stack.

A layer derived for other parameters than the profile's (another turbine, another depth) is
recomputed from its inputs when the stack has them, so the metrics always describe the
profile's technology. The recomputation is :func:`geotool.resources.derive`'s own
(:func:`~geotool.resources.derive.capacity_factor_from_stack`,
:func:`~geotool.resources.derive.temperature_from_stack`) with the resource parameters the
stack's layers were derived with (:func:`~geotool.resources.derive.recorded_config`: Weibull
k, conductivity, ...) and only the profile's turbine or depth changed.
"""

from __future__ import annotations

import dataclasses
import math

import xarray as xr

from geotool.errors import GeotoolError, InputError
from geotool.requests import request_key
from geotool.resources.config import ResourceConfig
from geotool.resources.derive import (
    capacity_factor_from_stack,
    recorded_config,
    temperature_from_stack,
)
from geotool.sites.options import MetricKind, SiteOptions
from geotool.sites.params import param_value, profile_turbine
from geotool.sites.zonal import Reduction
from geotool.suitability.specs import Profile


def _with(
    config: ResourceConfig | None, stack: xr.Dataset, profile: Profile, **changes: object
) -> ResourceConfig:
    """The stack's resource parameters (or ``config``) with the profile's machine / depth."""
    base = config if config is not None else recorded_config(stack)
    try:
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
    except GeotoolError as exc:  # e.g. the profile's rotor does not fit the hub height
        raise type(exc)(exc.what, where=f"profile {profile.name}: [sites]", fix=exc.fix) from None


def wind_cf_layer(
    stack: xr.Dataset, profile: Profile, config: ResourceConfig | None = None
) -> xr.DataArray | None:
    """Capacity factor of the profile's turbine: the stack's layer, or recomputed (lazily)
    from ``wind_speed_hub`` when the layer is missing or was derived for another turbine.

    The recomputation uses ``config`` (default: the parameters the stack's layers were
    derived with, :func:`~geotool.resources.derive.recorded_config`) with the profile's
    turbine, exactly as :func:`~geotool.resources.derive` would."""
    info = profile_turbine(profile)
    cf = stack.get("wind_capacity_factor")
    other = cf is not None and info is not None and cf.attrs.get("turbine", info.name) != info.name
    if (cf is None or other) and info is not None and "wind_speed_hub" in stack:
        # derive() used another turbine: recompute the CF for the profile's turbine
        out: xr.DataArray = capacity_factor_from_stack(
            stack, _with(config, stack, profile, turbine=info.name)
        )
        return out
    return cf


def wind_losses(cf: xr.DataArray | None) -> float:
    """The loss fraction (wakes, availability, electrical) recorded on a capacity-factor layer
    by :func:`~geotool.resources.derive.capacity_factor_from_stack` (0 when none was)."""
    value = None if cf is None else cf.attrs.get("wind_losses")
    return 0.0 if value is None else float(value)


def temperature_layer(
    stack: xr.Dataset, profile: Profile, config: ResourceConfig | None = None
) -> xr.DataArray | None:
    """Rock temperature at the profile's ``target_depth_m``: the stack's layer when derived
    at that depth, else computed lazily as :func:`~geotool.resources.derive` would at that
    depth (surface temperature, gradient or heat flow and the conductivity of ``config``,
    default the parameters the stack's layers were derived with); an error when only a
    layer at another depth exists."""
    depth = param_value(profile, "target_depth_m")
    layer = stack.get("temperature_at_depth")
    if layer is not None:
        at = layer.attrs.get("depth_m")
        if depth is None or at is None or math.isclose(float(at), depth, abs_tol=1e-6):
            return layer
    if depth is not None:
        t = temperature_from_stack(stack, _with(config, stack, profile, geothermal_depth_m=depth))
        if t is not None:
            return t
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
    kind: MetricKind | None,
    profile: Profile,
    stack: xr.Dataset | None,
    options: SiteOptions,
    config: ResourceConfig | None = None,
) -> dict[str, tuple[xr.DataArray, Reduction]]:
    """The per-site pixel statistics a metric family needs: ``{column: (layer, reduction)}``.

    ``config``: the study's resource parameters for layers recomputed for the profile
    (default: those recorded on the stack's derived layers)."""
    if stack is None or kind is None:
        return {}
    out: dict[str, tuple[xr.DataArray, Reduction]] = {}
    if kind == "windfarm":
        cf = wind_cf_layer(stack, profile, config)
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
        t = temperature_layer(stack, profile, config)
        if t is not None:
            out["temperature_c"] = (t, "mean")
    return out
