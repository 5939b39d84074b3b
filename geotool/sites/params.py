"""Which metric family a profile gets, and its ``[sites]`` parameters read with checks.

>>> from geotool.suitability import load_profile
>>> metric_kind(load_profile("windfarm")), metric_columns("windfarm")
('windfarm', ('capacity_mw', 'energy_gwh_per_yr'))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from geotool.errors import ConfigError, GeotoolError
from geotool.resources.turbines import TurbineInfo, turbine_info
from geotool.sites.options import METRIC_KINDS, MetricKind, SiteOptions
from geotool.suitability.specs import Profile

HOURS_PER_YEAR = 8760.0
GRID_EMISSION_FACTOR_TCO2_PER_MWH = 0.5703
"""China's national grid average emission factor for 2022, published by the Ministry of
Ecology and Environment in 2023 (环办气候函〔2023〕43号); used when the profile gives no
``grid_emission_factor_tco2_per_mwh``."""

CHINA_LONLAT_BOX = (73.5, 18.0, 135.1, 53.6)
"""(west, south, east, north) of the People's Republic of China's land area, degrees: where
:data:`GRID_EMISSION_FACTOR_TCO2_PER_MWH` applies."""


def emission_factor_note(profile: Profile, lon: float, lat: float) -> str | None:
    """A note when a data-centre profile keeps China's grid factor for a study centred
    (``lon``, ``lat``) outside China (Norway's grid emits ~20-50x less per MWh).

    >>> from geotool.suitability import load_profile
    >>> emission_factor_note(load_profile("datacenter"), 113.6, 24.8) is None
    True
    >>> emission_factor_note(load_profile("datacenter"), 19.0, 69.6)[:39]
    'datacenter: grid_emission_factor_tco2_p'
    """
    factor = param_value(profile, "grid_emission_factor_tco2_per_mwh")
    west, south, east, north = CHINA_LONLAT_BOX
    if factor not in (None, GRID_EMISSION_FACTOR_TCO2_PER_MWH) or (
        west <= lon <= east and south <= lat <= north
    ):
        return None
    return (
        f"{profile.name}: grid_emission_factor_tco2_per_mwh = "
        f"{GRID_EMISSION_FACTOR_TCO2_PER_MWH} is China's national grid average, and the study "
        f"lies outside China ({lon:.1f}°, {lat:.1f}°): set [profiles.{profile.name}.sites] "
        "grid_emission_factor_tco2_per_mwh to the local grid's factor for co2_t_per_yr"
    )


_KIND_LAYERS: dict[str, MetricKind] = {
    "wind_speed_hub": "windfarm",
    "wind_capacity_factor": "windfarm",
    "wind_speed_100m": "windfarm",
    "pv_yield": "solarfarm",
    "pvout": "solarfarm",
    "latency_ms": "datacenter",
    "pue": "datacenter",
    "temperature_at_depth": "geothermal_heat",
}


def metric_kind(profile: Profile, options: SiteOptions | None = None) -> MetricKind | None:
    """The metric family of a profile: the option, the name, a name prefix or its criteria.

    >>> from geotool.suitability import load_profile
    >>> metric_kind(load_profile("solarfarm"))
    'solarfarm'
    """
    if options is not None and options.kind is not None:
        return options.kind
    for kind in METRIC_KINDS:
        if profile.name == kind:
            return kind
    for kind in METRIC_KINDS:
        if profile.name.startswith(kind):
            return kind
    for c in profile.criteria:
        if c.layer in _KIND_LAYERS:
            return _KIND_LAYERS[c.layer]
    if "removal_tco2_per_ha_yr" in profile.sites.params:
        return "carbon_sink"
    return None


def param_value(profile: Profile, key: str) -> float | None:
    """A numeric ``[sites]`` parameter, or ``None`` when the profile does not set it."""
    value = profile.sites.params.get(key)
    return None if value is None else float(value)


def required_param(profile: Profile, key: str, kind: str) -> float:
    """A numeric ``[sites]`` parameter the ``kind`` metrics cannot do without."""
    value = param_value(profile, key)
    if value is None:
        raise ConfigError(
            f"the {kind} site metrics need {key}",
            where=f"profile {profile.name}: [sites]",
            fix=f"add {key} to [sites] (see the built-in {kind} profile)",
        )
    return value


def check_site_params(profile: Profile, options: SiteOptions | None = None) -> None:
    """Raise now what the site metrics of ``profile`` would raise after the scoring: a
    missing capacity or IT-load density, or a layout without a turbine.

    >>> from geotool.suitability import load_profile
    >>> check_site_params(load_profile("solarfarm", {"sites": {"capacity_density_mw_per_km2": 50}}))
    """
    options = options if options is not None else SiteOptions()
    kind = metric_kind(profile, options)
    if kind is not None:
        capacity_density_mw_per_km2(kind, profile, options)
    if kind == "datacenter":
        required_param(profile, "it_load_density_mw_per_km2", kind)


def profile_turbine(profile: Profile) -> TurbineInfo | None:
    """Data sheet of the profile's ``turbine`` (windpowerlib library), if it names one."""
    name = profile.sites.params.get("turbine")
    return None if name is None else turbine_info(str(name))


def wind_machine(
    resources: Mapping[str, Any], profiles: Sequence[Profile], where: str
) -> dict[str, Any]:
    """``[resources]`` completed with the hub height and turbine of the windfarm profiles.

    The wind layers (``wind_speed_hub``, ``air_density``, ``wind_capacity_factor``) are derived
    once per study from ``[resources]`` ``hub_height_m`` and ``turbine``, while a windfarm
    profile's ``[sites]`` names the machine its sites are credited with. A key the study
    leaves out of ``[resources]`` is taken from the windfarm profiles, so
    ``[profiles.windfarm.sites] hub_height_m = 149`` alone moves the whole wind chain to
    149 m.

    - ``hub_height_m``: the wind speed at hub height cannot be re-derived per profile, so a
      study and a profile (or two profiles) with different hub heights are a
      :class:`ConfigError` naming both.
    - ``turbine``: profiles may differ; the site metrics then recompute the capacity factor
      of each profile's turbine from ``wind_speed_hub``
      (:func:`geotool.sites.layers.wind_cf_layer`), and ``[resources]`` keeps its own.

    >>> from geotool.suitability import load_profile
    >>> wind = load_profile("windfarm", {"sites": {"hub_height_m": 149.0}})
    >>> wind_machine({}, [wind, load_profile("solarfarm")], "study.toml")
    {'hub_height_m': 149.0, 'turbine': 'E-115/3000'}
    """
    wind = [p for p in profiles if metric_kind(p) == "windfarm"]
    out = dict(resources)
    height = _one_per_study(
        resources,
        "hub_height_m",
        wind,
        "hub_height_m",
        where,
        derived="the wind at hub height is derived once per study",
        fix="give hub_height_m the same value in both (or run the profiles in separate studies)",
    )
    if height is not None:
        out["hub_height_m"] = height
    if "turbine" not in resources:
        named = {
            _machine_value("turbine", p.sites.params["turbine"], f"profile {p.name}: [sites]")
            for p in wind
            if "turbine" in p.sites.params
        }
        if len(named) == 1:
            out["turbine"] = named.pop()
    return out


def geothermal_depth(
    resources: Mapping[str, Any], profiles: Sequence[Profile], where: str
) -> dict[str, Any]:
    """``[resources]`` with ``geothermal_depth_m`` set to the geothermal profiles'
    ``[sites] target_depth_m``, so the ``temperature_at_depth`` layer a profile scores is the
    rock temperature at the depth its sites are credited with (one well depth per study, as
    one hub height). A study and a profile, or two profiles, at different depths are a
    :class:`ConfigError` naming both.

    >>> from geotool.suitability import load_profile
    >>> geo = load_profile("geothermal_heat", {"sites": {"target_depth_m": 1500.0}})
    >>> geothermal_depth({}, [geo], "study.toml")
    {'geothermal_depth_m': 1500.0}
    """
    out = dict(resources)
    depth = _one_per_study(
        resources,
        "geothermal_depth_m",
        [p for p in profiles if metric_kind(p) == "geothermal_heat"],
        "target_depth_m",
        where,
        derived="the temperature at depth the profile scores is derived once per study",
        fix="give both the same depth (e.g. [profiles.geothermal_heat.sites] target_depth_m), "
        "or run the profiles in separate studies",
    )
    if depth is not None:
        out["geothermal_depth_m"] = depth
    return out


def green_radius(
    resources: Mapping[str, Any], profiles: Sequence[Profile], where: str
) -> dict[str, Any]:
    """``[resources]`` with ``green_radius_m`` set from the data-centre profiles' ``[sites]
    radius_km``, so the ``green_energy_gwh_per_yr_within_radius`` layer a site is credited
    with sums the supply within the radius its profile names (the layer is derived once per
    study). A study and a profile, or two profiles, with different radii are a
    :class:`ConfigError` naming both.

    >>> from geotool.suitability import load_profile
    >>> dc = load_profile("datacenter", {"sites": {"radius_km": 50.0}})
    >>> green_radius({}, [dc], "study.toml")
    {'green_radius_m': 50000.0}
    """
    radius = _one_per_study(
        resources,
        "green_radius_m",
        [p for p in profiles if metric_kind(p) == "datacenter"],
        "radius_km",
        where,
        derived="the green energy within the radius is derived once per study",
        fix="give both the same radius ([resources] green_radius_m = 1000 × radius_km), "
        "or run the profiles in separate studies",
        unit=("km", 1000.0),
    )
    out = dict(resources)
    if radius is not None:
        out["green_radius_m"] = radius
    return out


def _one_per_study(
    resources: Mapping[str, Any],
    resource_key: str,
    profiles: Sequence[Profile],
    site_key: str,
    where: str,
    *,
    derived: str,
    fix: str,
    unit: tuple[str, float] = ("m", 1.0),
) -> float | None:
    """The one value (metres) of a layer derived once per study: ``[resources]
    resource_key`` and the profiles' ``[sites] site_key`` must agree (a :class:`ConfigError`
    naming both otherwise); None when none of them gives it. ``unit``: the name and size in
    metres of the unit ``site_key`` is given in (``("km", 1000.0)`` for ``radius_km``)."""
    name, metres = unit
    agreed: tuple[float, str] | None = None
    if resource_key in resources:
        source = f"{where}: [resources] {resource_key}"
        agreed = (_machine_value(resource_key, resources[resource_key], source), source)
    for profile in profiles:
        if site_key not in profile.sites.params:
            continue
        source = f"profile {profile.name}: [sites] {site_key}"
        value = metres * _machine_value(site_key, profile.sites.params[site_key], source)
        if agreed is None:
            agreed = (value, source)
        elif not math.isclose(value, agreed[0], rel_tol=1e-9):
            raise ConfigError(
                f"{value / metres:g} {name}, but {agreed[1]} gives {agreed[0] / metres:g} "
                f"{name} ({derived})",
                where=source,
                fix=fix,
            )
    return None if agreed is None else agreed[0]


def _machine_value(key: str, value: Any, where: str) -> Any:
    try:
        if key == "turbine":
            return turbine_info(str(value)).name  # windpowerlib's spelling, case folded
        return float(value)
    except GeotoolError as exc:
        raise type(exc)(exc.what, where=where, fix=exc.fix) from None
    except (TypeError, ValueError):
        raise ConfigError(
            f"{key} = {value!r} is not a number",
            where=where,
            fix=f"write it without quotes, e.g. {key} = 1500",
        ) from None


FLAT_RATE = "flat rate"
"""``species`` entry of carbon-sink sites credited at the profile's ``removal_tco2_per_ha_yr``."""


def carbon_removals(area_ha: Any, profile: Profile, options: SiteOptions) -> tuple[Any, Any, str]:
    """(t CO2e per year, t CO2e over the crediting period, basis) of planting ``area_ha``.

    A profile's ``[sites] removal_tco2_per_ha_yr`` is a flat ex-ante rate (as project
    documents state one), credited for ``options.carbon.crediting_years``; without it the
    removals follow the growth curve of ``options.carbon.species`` (the study's ``[carbon]``
    species and crediting period in ``geotool run``).

    >>> from geotool.suitability import load_profile
    >>> flat = load_profile("carbon_sink", {"sites": {"removal_tco2_per_ha_yr": 15.0}})
    >>> carbon_removals(np.array([200.0]), flat, SiteOptions())
    (array([3000.]), array([60000.]), 'flat rate')
    """
    from geotool.carbon.growth import afforestation_removals

    area = np.asarray(area_ha, dtype=float)
    years = options.carbon.crediting_years
    rate = param_value(profile, "removal_tco2_per_ha_yr")
    if rate is not None:
        return area * rate, area * rate * years, FLAT_RATE
    r = afforestation_removals(area, options.carbon.species, years)
    return (
        np.asarray(r.tco2e_per_yr, dtype=float),
        np.asarray(r.tco2e_total, dtype=float),
        options.carbon.species,
    )


def wind_capacity_mode(profile: Profile, options: SiteOptions) -> str:
    """``"density"`` or ``"layout"`` (see :class:`SiteOptions`)."""
    if options.wind_capacity is not None:
        return options.wind_capacity
    return "density" if "capacity_density_mw_per_km2" in profile.sites.params else "layout"


def capacity_density_mw_per_km2(
    kind: MetricKind, profile: Profile, options: SiteOptions
) -> float | None:
    """Installable MW (MWp for PV) per km² of land, for area-based potentials.

    Wind in layout mode: one turbine per lattice cell, ``P_rated / (5D × 7D)``.
    """
    if kind == "solarfarm":
        return required_param(profile, "capacity_density_mw_per_km2", kind)
    if kind != "windfarm":
        return None
    if wind_capacity_mode(profile, options) == "density":
        return required_param(profile, "capacity_density_mw_per_km2", kind)
    info = profile_turbine(profile)
    if info is None:
        raise ConfigError(
            "turbine layout needs a turbine type",
            where=f"profile {profile.name}: [sites] turbine",
            fix='add turbine = "E-141/4200" (windpowerlib name) or capacity_density_mw_per_km2',
        )
    cross, down = options.layout_spacing_rotor_diameters
    cell_km2 = cross * down * info.rotor_diameter_m**2 / 1e6
    return info.nominal_power_mw / cell_km2


def additive_columns(kind: MetricKind | None) -> tuple[str, ...]:
    """Metric columns that add up over sites (summed per region).

    Not a data centre's ``co2_t_per_yr_local_green``: each site nets its demand against all
    the green supply within its radius, as if it alone were built, so the sites of one county
    would count the same wind and solar output several times (the demo's Lechang: 8 sites
    needing 42,042 GWh/yr summed to 0 t). The location-based ``co2_t_per_yr`` adds up."""
    return {
        "windfarm": ("capacity_mw", "energy_gwh_per_yr"),
        "solarfarm": ("capacity_mwp", "energy_gwh_per_yr"),
        "datacenter": ("it_load_mw", "electricity_gwh_per_yr", "co2_t_per_yr"),
        "carbon_sink": ("area_ha", "tco2e_per_yr", "tco2e_total"),
        "geothermal_heat": ("mw_thermal",),
        None: (),
    }[kind]


def metric_columns(kind: MetricKind | None) -> tuple[str, ...]:
    """The headline metric columns of a family (for tables and region totals)."""
    return {
        "windfarm": ("capacity_mw", "energy_gwh_per_yr"),
        "solarfarm": ("capacity_mwp", "energy_gwh_per_yr"),
        "datacenter": ("it_load_mw", "latency_ms", "pue", "co2_t_per_yr"),
        "carbon_sink": ("area_ha", "tco2e_per_yr", "tco2e_total"),
        "geothermal_heat": ("temperature_c", "mw_thermal"),
        None: (),
    }[kind]
