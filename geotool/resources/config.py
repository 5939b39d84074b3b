"""Parameters of the derived resource layers: one frozen, validated object with cited defaults."""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geotool.errors import ConfigError, UnknownNameError
from geotool.resources import datacenter as dc
from geotool.resources import geothermal as geo
from geotool.resources import solar
from geotool.resources.turbines import (
    CF_WEIBULL_K_AXIS,
    DEFAULT_WEIBULL_K,
    _resolve,
    turbine_info,
)


@dataclass(frozen=True)
class ResourceConfig:
    """Everything :func:`geotool.resources.derive` needs besides the stack.

    Build it directly, or from a TOML table with :meth:`from_dict` (unknown keys are errors).

    Attributes
    ----------
    turbine
        windpowerlib turbine type. Default ``"E-115/3000"``: a 3 MW, 116 m-rotor low-wind
        (IEC IIIA) machine, the class built at 5–7 m/s sites such as southern China's hills.
    hub_height_m
        Hub height, m. Default 122 m, one of the E-115's catalogue heights (oedb library).
        Must exceed half the turbine's rotor diameter.
    wind_reference_height_m
        Height of the ``wind_speed_100m`` layer, m (100: Global Wind Atlas layer height).
    shear_alpha
        Power-law shear exponent; ``None`` = log law from ``land_cover`` roughness when the
        stack has it, else α = 1/7 (Peterson & Hennessey 1978).
    weibull_k
        Weibull shape used when the stack has no ``weibull_k`` layer (2 = Rayleigh, IEC 61400-1).
    wind_losses
        Fraction of gross energy lost to wakes, availability, electrical losses (0 = gross).
    pv_tilt, pv_azimuth
        Module tilt (degrees or ``"optimal"``) and azimuth (``None`` = equator-facing).
    performance_ratio
        PV losses not modelled hourly (default: GSA 3.5 % soiling × 7.5 % other = 0.8926).
    geothermal_depth_m
        Depth of ``temperature_at_depth``, m. Default 2,900 m: the depth of the Shenyang
        Sino-German industrial park wells that heat the BMW Brilliance plant.
    conductivity_w_mk
        Rock thermal conductivity for heat flow → gradient, W/(m·K) (2.5, crustal average).
    surface_temp_c
        Surface temperature when the stack has no ``air_temperature`` layer (``None`` = skip).
    supply_temp_c, approach_c, annual_amplitude_c, daily_amplitude_c
        Free-cooling model (ASHRAE 27 °C recommended inlet; see
        :mod:`geotool.resources.datacenter`).
    pue_free_cooling, pue_mechanical
        PUE at 8,760 and at 0 free-cooling hours (1.10 Nordic free-air; 1.58 Uptime 2023).
    route_factor
        Fibre route length over straight-line distance (1.5).
    green_radius_m
        Radius of the green-energy focal sum, m. Default 30 km: an assumption for the reach of
        a dedicated supply line / 110 kV network around a site.
    wind_capacity_density_mw_per_km2
        Installable wind per km² of eligible land: 3 MW/km² (PyPSA-Eur onshore default:
        10 MW/km² after Scholz 2012, PhD thesis, Table 4.3.1, on ~30 % of eligible land).
    pv_capacity_density_mw_per_km2
        Installable PV per km² of eligible land: 5.1 MW/km² (PyPSA-Eur's current default:
        170 MW/km², Scholz 2012 Table 4.3.1, on ~3 % of eligible land).
    """

    turbine: str = "E-115/3000"
    hub_height_m: float = 122.0
    wind_reference_height_m: float = 100.0
    shear_alpha: float | None = None
    weibull_k: float = DEFAULT_WEIBULL_K
    wind_losses: float = 0.0
    pv_tilt: float | str = "optimal"
    pv_azimuth: float | None = None
    performance_ratio: float = solar.DEFAULT_PERFORMANCE_RATIO
    geothermal_depth_m: float = 2_900.0
    conductivity_w_mk: float = geo.DEFAULT_CONDUCTIVITY_W_MK
    surface_temp_c: float | None = None
    supply_temp_c: float = dc.DEFAULT_SUPPLY_TEMP_C
    approach_c: float = dc.DEFAULT_APPROACH_C
    annual_amplitude_c: float = dc.DEFAULT_ANNUAL_AMPLITUDE_C
    daily_amplitude_c: float = dc.DEFAULT_DAILY_AMPLITUDE_C
    pue_free_cooling: float = dc.PUE_BEST
    pue_mechanical: float = dc.PUE_AVERAGE
    route_factor: float = dc.DEFAULT_ROUTE_FACTOR
    green_radius_m: float = 30_000.0
    wind_capacity_density_mw_per_km2: float = 3.0
    pv_capacity_density_mw_per_km2: float = 5.1

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "turbine", _resolve(self.turbine))
        except UnknownNameError as exc:
            raise UnknownNameError(exc.what, where="resources.turbine", fix=exc.fix) from None
        if isinstance(self.pv_tilt, str) and self.pv_tilt != "optimal":
            raise ConfigError(
                f"pv_tilt = {self.pv_tilt!r} is not a number or 'optimal'",
                where="resources.pv_tilt",
                fix="e.g. pv_tilt = 25",
            )
        checks: dict[str, tuple[float, float]] = {
            "hub_height_m": (10.0, 300.0),
            "wind_reference_height_m": (2.0, 300.0),
            # the capacity-factor table's k range (= the catalog's weibull_k valid range)
            "weibull_k": (float(CF_WEIBULL_K_AXIS[0]), float(CF_WEIBULL_K_AXIS[-1])),
            "wind_losses": (0.0, 0.9),
            "performance_ratio": (0.3, 1.0),
            "geothermal_depth_m": (0.0, geo.MAX_DEPTH_M),
            "conductivity_w_mk": (0.3, 10.0),
            "supply_temp_c": (10.0, 45.0),
            "approach_c": (0.0, 30.0),
            "annual_amplitude_c": (0.0, 40.0),
            "daily_amplitude_c": (0.0, 20.0),
            "pue_free_cooling": (1.0, 3.0),
            "pue_mechanical": (1.0, 3.0),
            "route_factor": (1.0, 5.0),
            "green_radius_m": (0.0, 200_000.0),
            "wind_capacity_density_mw_per_km2": (0.0, 50.0),
            "pv_capacity_density_mw_per_km2": (0.0, 200.0),
        }
        optional = {
            "shear_alpha": (-0.5, 1.0),
            "pv_azimuth": (0.0, 360.0),
            "surface_temp_c": (-60.0, 45.0),
        }
        if not isinstance(self.pv_tilt, str):
            checks["pv_tilt"] = (0.0, 90.0)
        for key, (lo, hi) in {**checks, **optional}.items():
            value = getattr(self, key)
            if value is None and key in optional:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(
                    f"{key} = {value!r} is not a number",
                    where=f"resources.{key}",
                    fix=f"give a number in {lo:g}..{hi:g}",
                )
            if not (math.isfinite(value) and lo <= value <= hi):
                raise ConfigError(
                    f"{key} = {value!r} is outside {lo:g}..{hi:g}",
                    where=f"resources.{key}",
                    fix=f"give a number in {lo:g}..{hi:g}",
                )
        rotor = turbine_info(self.turbine).rotor_diameter_m
        if self.hub_height_m <= rotor / 2:  # the blade tips would hit the ground
            raise ConfigError(
                f"hub_height_m = {self.hub_height_m:g} m is too low for {self.turbine} "
                f"(rotor diameter {rotor:g} m)",
                where="resources.hub_height_m",
                fix=f"give a hub height above {rotor / 2:g} m or a smaller turbine",
            )
        if self.pue_free_cooling > self.pue_mechanical:
            raise ConfigError(
                "pue_free_cooling is above pue_mechanical",
                where="resources.pue_free_cooling",
                fix="e.g. 1.10 and 1.58",
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, where: str = "resources") -> ResourceConfig:
        """Build from a mapping (e.g. a TOML table); unknown keys raise ConfigError.

        >>> ResourceConfig.from_dict({"geothermal_depth_m": 3500}).geothermal_depth_m
        3500
        """
        known = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=3)
                hint = (
                    f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
                )
                raise ConfigError(f"unknown key {key!r}", where=f"{where}.{key}", fix=hint)
        try:
            return cls(**dict(values))
        except ConfigError as exc:  # name the file/table the values came from
            raise type(exc)(
                exc.what,
                where=(exc.where or "resources").replace("resources", where, 1),
                fix=exc.fix,
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all parameters (for manifests); ``None`` values are kept."""
        return dataclasses.asdict(self)
