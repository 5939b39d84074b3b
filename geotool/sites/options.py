"""Choices of the sites stage that the profile's ``[sites]`` table does not hold.

One frozen value passed explicitly (no hidden defaults elsewhere). Every default number cites
its source next to it.

Examples
--------
>>> SiteOptions().layout_spacing_rotor_diameters
(5.0, 7.0)
>>> SiteOptions(wind_capacity="layout").wind_capacity
'layout'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from geotool.carbon.config import CarbonConfig
from geotool.errors import ConfigError
from geotool.resources.datacenter import DEFAULT_ROUTE_FACTOR
from geotool.resources.geothermal import DEFAULT_PROJECT_LIFE_YEARS, DEFAULT_RECOVERY_FACTOR

MetricKind = Literal["windfarm", "solarfarm", "datacenter", "carbon_sink", "geothermal_heat"]
"""The families of site metrics (one per built-in profile)."""
METRIC_KINDS: tuple[MetricKind, ...] = (
    "windfarm",
    "solarfarm",
    "datacenter",
    "carbon_sink",
    "geothermal_heat",
)
WindCapacity = Literal["density", "layout"]

LAYOUT_SPACING_ROTOR_DIAMETERS = (5.0, 7.0)
"""Turbine spacing (crosswind, downwind) in rotor diameters. Manwell, McGowan & Rogers (2009),
*Wind Energy Explained*, 2nd ed., §9.4 ("3–5 diameters crosswind, 5–9 downwind"); 5D × 7D is
the middle of those ranges and the rule quoted by atlite/PyPSA users for turbine placement."""

SUBSTATION_MIN_KV = 220.0
"""Lowest substation voltage that can feed a data-centre campus. Assumption: campuses of
~50–500 MW IT load (the profile's density × its 0.2–5 km² sites) are supplied from the 220 kV
network in China's grids (110 kV feeders carry a few tens of MW)."""

RESERVOIR_THICKNESS_M = 1_000.0
"""Thickness of the rock slab whose heat is counted, centred on the target depth. Tester et
al. (2006), *The Future of Geothermal Energy* (MIT), ch. 2: heat in place is tallied in 1-km
thick depth slices."""


@dataclass(frozen=True)
class SiteOptions:
    """Parameters of the site metrics beyond the profile's ``[sites]`` params.

    Attributes
    ----------
    kind
        Which metric family to compute; ``None`` infers it from the profile (its name, a
        name starting with a family name, or its ``[sites]`` parameters).
    wind_capacity
        ``"density"``: capacity = ``capacity_density_mw_per_km2`` × area; ``"layout"``:
        turbines of the profile's ``turbine`` type on a regular lattice with
        :attr:`layout_spacing_rotor_diameters`. ``None``: density when the profile gives
        ``capacity_density_mw_per_km2``, else layout.
    layout_spacing_rotor_diameters
        (crosswind, downwind) spacing in rotor diameters; the lattice's downwind axis is grid
        north–south (no wind-direction layer is assumed).
    carbon
        Species planted and crediting period for the carbon-sink metrics (default Chinese fir,
        20 years: :class:`geotool.carbon.CarbonConfig`).
    route_factor
        Fibre route length over straight-line distance for the latency (1.5, see
        :data:`geotool.resources.datacenter.DEFAULT_ROUTE_FACTOR`).
    substation_min_kv
        Substations at or above this voltage (kV) count for ``distance_to_substation_km``.
    max_it_load_mw
        Cap of a data-centre site's IT load in MW (``None``: no cap).
    reservoir_thickness_m, recovery_factor, project_life_years
        Geothermal slab thickness (m), recoverable fraction and production period (years) of
        the USGS volumetric method (:mod:`geotool.resources.geothermal` defaults).
    """

    kind: MetricKind | None = None
    wind_capacity: WindCapacity | None = None
    layout_spacing_rotor_diameters: tuple[float, float] = LAYOUT_SPACING_ROTOR_DIAMETERS
    carbon: CarbonConfig = field(default_factory=CarbonConfig)
    route_factor: float = DEFAULT_ROUTE_FACTOR
    substation_min_kv: float = SUBSTATION_MIN_KV
    max_it_load_mw: float | None = None
    reservoir_thickness_m: float = RESERVOIR_THICKNESS_M
    recovery_factor: float = DEFAULT_RECOVERY_FACTOR
    project_life_years: float = DEFAULT_PROJECT_LIFE_YEARS

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in METRIC_KINDS:
            raise ConfigError(
                f"unknown site metric kind {self.kind!r}",
                where="sites.kind",
                fix=f"one of {', '.join(METRIC_KINDS)}",
            )
        if self.wind_capacity not in (None, "density", "layout"):
            raise ConfigError(
                f"wind_capacity = {self.wind_capacity!r}",
                where="sites.wind_capacity",
                fix='"density" or "layout"',
            )
        positive = {
            "crosswind spacing": self.layout_spacing_rotor_diameters[0],
            "downwind spacing": self.layout_spacing_rotor_diameters[1],
            "reservoir_thickness_m": self.reservoir_thickness_m,
            "project_life_years": self.project_life_years,
            "substation_min_kv": self.substation_min_kv,
        }
        if self.max_it_load_mw is not None:
            positive["max_it_load_mw"] = self.max_it_load_mw
        for key, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(
                    f"{key} = {value} must be positive",
                    where=f"sites.{key}",
                    fix="give a finite number > 0",
                )
        if not (math.isfinite(self.route_factor) and self.route_factor >= 1.0):
            raise ConfigError(
                f"route_factor = {self.route_factor} must be >= 1",
                where="sites.route_factor",
                fix="fibre is never shorter than the straight line; e.g. 1.5",
            )
        if not 0.0 < self.recovery_factor <= 1.0:
            raise ConfigError(
                f"recovery_factor = {self.recovery_factor} is not in (0, 1]",
                where="sites.recovery_factor",
                fix="typical values are 0.05-0.25",
            )
