"""Resource physics: pure functions from stack layers to derived physical layers.

Every function takes scalars, NumPy arrays, dask arrays or xarray DataArrays and never forces
a lazy input to compute. :func:`derive` applies them all to a stack.

Modules: :mod:`~geotool.resources.wind` (shear, roughness, air density, turbine yields),
:mod:`~geotool.resources.solar` (PV yield), :mod:`~geotool.resources.geothermal`,
:mod:`~geotool.resources.terrain` (slope, aspect), :mod:`~geotool.resources.datacenter`
(free cooling, PUE, latency, nearby green energy), :mod:`~geotool.resources.derive`.
"""

from __future__ import annotations

from geotool.resources.config import ResourceConfig
from geotool.resources.datacenter import (
    energy_within_radius,
    free_cooling_hours,
    latency_ms,
    pue_estimate,
)
from geotool.resources.derive import DERIVED_LAYERS, derive
from geotool.resources.geothermal import (
    depth_to_temperature,
    gradient_from_heat_flow,
    heat_in_place,
    recoverable_thermal_power_mw,
    temperature_at_depth,
    use_class,
)
from geotool.resources.solar import optimal_tilt, pole_facing_slope, pv_specific_yield
from geotool.resources.terrain import aspect_degrees, slope_degrees
from geotool.resources.wind import (
    TurbineInfo,
    air_density,
    annual_energy_mwh_per_mw,
    capacity_factor,
    list_turbines,
    power_density,
    roughness_from_land_cover,
    turbine_info,
    wind_at_height,
)

__all__ = [
    "DERIVED_LAYERS",
    "ResourceConfig",
    "TurbineInfo",
    "air_density",
    "annual_energy_mwh_per_mw",
    "aspect_degrees",
    "capacity_factor",
    "depth_to_temperature",
    "derive",
    "energy_within_radius",
    "free_cooling_hours",
    "gradient_from_heat_flow",
    "heat_in_place",
    "latency_ms",
    "list_turbines",
    "optimal_tilt",
    "pole_facing_slope",
    "power_density",
    "pue_estimate",
    "pv_specific_yield",
    "recoverable_thermal_power_mw",
    "roughness_from_land_cover",
    "slope_degrees",
    "temperature_at_depth",
    "turbine_info",
    "use_class",
    "wind_at_height",
]
