"""Geothermal resource: temperature at depth, heat in place, recoverable power, use class.

Conductive steady-state crust with a constant gradient: ``T(z) = T_surface + G z`` and, from
surface heat flow ``q`` and rock thermal conductivity ``k``, ``G = q / k`` (Fourier's law).
Heat in place follows the USGS volumetric ("heat in place") method of Muffler & Cataldi
(1978, Geothermics 7:53–89).
"""

from __future__ import annotations

import math

import numpy as np

from geotool.errors import InputError, ValueRangeError
from geotool.resources._array import ArrayLike, apply_pointwise, check_range, is_lazy

DEFAULT_CONDUCTIVITY_W_MK = 2.5
"""Bulk thermal conductivity of upper continental crust, 2.5 W/(m·K): typical of crystalline
and consolidated sedimentary rock (Beardsmore & Cull 2001, *Crustal Heat Flow*, ch. 4;
most rocks lie between 1.5 and 4 W/(m·K))."""

MAX_DEPTH_M = 10_000.0
"""Deepest depth accepted: the conductive linear model is not meant beyond ~10 km (deepest
boreholes ~12 km; EGS studies stop at 10 km, e.g. MIT 2006 *The Future of Geothermal Energy*)."""

# USGS volumetric method parameters (Muffler & Cataldi 1978; Williams, Reed & Mariner 2008,
# USGS Open-File Report 2008-1296).
ROCK_DENSITY_KG_M3 = 2_700.0
"""Rock grain density, 2,700 kg/m³ (granite / sandstone grain density)."""
ROCK_HEAT_CAPACITY_J_KGK = 1_000.0
"""Rock specific heat, 1,000 J/(kg·K) (so ρc ≈ 2.7 MJ/(m³·K), the USGS value)."""
FLUID_DENSITY_KG_M3 = 1_000.0
"""Water density, 1,000 kg/m³."""
FLUID_HEAT_CAPACITY_J_KGK = 4_180.0
"""Water specific heat, 4,180 J/(kg·K)."""
DEFAULT_POROSITY = 0.10
"""Reservoir porosity 10 % (mid-range of sediment-hosted reservoirs; USGS 2008 uses 0.05-0.2)."""
DEFAULT_RECOVERY_FACTOR = 0.10
"""Fraction of heat in place recoverable at the wellhead. Muffler & Cataldi (1978) give up to
0.25 for ideal fractured/porous reservoirs; Williams et al. (2008) use 0.08–0.20 for
fracture-dominated systems; 0.10 is a conservative planning value."""
DEFAULT_PROJECT_LIFE_YEARS = 30.0
"""Project life over which the recoverable heat is produced: 30 years (USGS Circular 790,
Muffler 1979; Williams et al. 2008)."""
SECONDS_PER_YEAR = 365.25 * 86_400.0

# Use classes after the Lindal (1973) diagram and Muffler & Cataldi's (1978) temperature
# classes (low < 90 °C, intermediate 90–150 °C, high > 150 °C).
USE_CLASS_THRESHOLDS_C = (25.0, 60.0, 100.0, 150.0)
"""Lower bounds (°C) of classes 1..4 below."""
USE_CLASS_NAMES: dict[int, str] = {
    0: "heat pump only (< 25 °C)",
    1: "low-temperature direct use: greenhouses, aquaculture, bathing (25–60 °C)",
    2: "direct-use space and district heating (60–100 °C)",
    3: "cascaded: binary (ORC) power plus heat (100–150 °C)",
    4: "power generation: flash / dry steam (≥ 150 °C)",
}
"""Code → meaning of :func:`use_class` results."""

# Plausible values, the same as the catalog's valid ranges (layers/heat_flow.toml,
# layers/geothermal_gradient.toml); the minimums reject the usual wrong units.
_RANGE_HEAT_FLOW = (5.0, 1000.0)
"""Surface heat flow, mW/m². Continental heat flow is rarely below ~20 mW/m² (old shields;
Pollack, Hurter & Johnson 1993, Rev. Geophys. 31:267-280; Lucazeau 2019, G-cubed
20:4001-4024), so 5 mW/m² undercuts every real map while W/m² values (0.02-0.15) fall below
it; geothermal fields reach several hundred mW/m²."""
_RANGE_GRADIENT = (1.0, 300.0)
"""Geothermal gradient, °C/km. ``q / k`` with q ≥ ~20 mW/m² (above) and k ≤ ~6 W/(m·K)
(Beardsmore & Cull 2001, ch. 4) is ≥ ~3 °C/km, so 1 °C/km rejects °C/m (0.01-0.1) and no
real map; continental crust is 25-30 °C/km typical, volcanic areas exceed 100 °C/km."""
_RANGE_CONDUCTIVITY = (0.3, 10.0)  # W/(m·K): rocks are 1-6 (Beardsmore & Cull 2001, ch. 4)
_RANGE_SURFACE_TEMP = (-60.0, 45.0)
"""Mean annual surface temperature, °C: annual means on Earth run from ~ −55 °C (Antarctic
plateau) to ~ +35 °C (Dallol), as in layers/air_temperature.toml and
``ResourceConfig.surface_temp_c``; kelvin (218-308 K) is refused instead of adding ~273 °C at
every depth."""


def _refuse_zero_fill(value: ArrayLike, *, where: str, units: str, what: str) -> None:
    """Raise on exact zeros in a concrete heat-flow or gradient input: no land surface
    conducts no heat (continental heat flow ≥ ~20 mW/m²; Pollack, Hurter & Johnson 1993),
    so a 0 is a fill value, and the fix is to mark it as no data, not to convert units.
    Lazy inputs get NaN there (the kernels' range masks)."""
    if value is None or is_lazy(value):
        return
    arr = np.asarray(getattr(value, "values", value), dtype=float)
    if np.any(arr == 0.0):
        raise ValueRangeError(
            f"0 {units} is not a possible {what}: it is a fill value",
            where=where,
            fix="set those cells to NaN, or declare 0 as the raster's nodata (nodata = 0 in "
            "its [layers] entry, or gdal_edit.py -a_nodata 0 FILE)",
        )


def gradient_from_heat_flow(
    heat_flow_mw_m2: ArrayLike, conductivity_w_mk: ArrayLike = DEFAULT_CONDUCTIVITY_W_MK
) -> ArrayLike:
    """Geothermal gradient in °C/km from surface heat flow (Fourier's law, ``G = q / k``).

    Parameters
    ----------
    heat_flow_mw_m2
        Surface heat flow in mW/m², 5..1,000 (outside raises
        :class:`~geotool.errors.ValueRangeError`; lazy arrays get NaN there).
    conductivity_w_mk
        Rock thermal conductivity in W/(m·K) (default 2.5).

    Examples
    --------
    >>> gradient_from_heat_flow(65.0, 2.5)   # mW/m² / (W/m/K) = K/km
    26.0
    """
    _refuse_zero_fill(heat_flow_mw_m2, where="heat_flow", units="mW/m²", what="heat flow")
    check_range(
        heat_flow_mw_m2,
        *_RANGE_HEAT_FLOW,
        where="heat_flow",
        units="mW/m²",
        fix="pass mW/m² (W/m² × 1000)",
        error=ValueRangeError,
    )
    check_range(
        conductivity_w_mk,
        *_RANGE_CONDUCTIVITY,
        where="conductivity_w_mk",
        units="W/(m·K)",
        fix="rocks are 1-6 W/(m·K)",
        error=ValueRangeError,
    )
    return apply_pointwise(
        _gradient_kernel,
        heat_flow_mw_m2,
        conductivity_w_mk,
        name="geothermal_gradient",
        attrs={"units": "degC/km"},
    )


def _inside(a: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """``a`` where it lies in ``bounds``, else NaN (lazy inputs skip :func:`check_range`)."""
    return np.where((a >= bounds[0]) & (a <= bounds[1]), a, np.nan)


def _gradient_kernel(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    # (mW/m²) / (W/m/K) = 1e-3 K/m = K/km; q <= 0 (or in W/m²) would give impossible T
    return _inside(q, _RANGE_HEAT_FLOW) / _inside(k, _RANGE_CONDUCTIVITY)


def _gradient_range_kernel(g: np.ndarray) -> np.ndarray:
    return _inside(g, _RANGE_GRADIENT)


def _gradient(
    gradient_c_per_km: ArrayLike | None,
    heat_flow_mw_m2: ArrayLike | None,
    conductivity_w_mk: ArrayLike,
) -> ArrayLike:
    if (gradient_c_per_km is None) == (heat_flow_mw_m2 is None):
        raise InputError(
            "give exactly one of gradient_c_per_km and heat_flow_mw_m2",
            where="temperature_at_depth",
            fix="e.g. gradient_c_per_km=30 or heat_flow_mw_m2=65",
        )
    if gradient_c_per_km is not None:
        _refuse_zero_fill(gradient_c_per_km, where="gradient", units="°C/km", what="gradient")
        check_range(
            gradient_c_per_km,
            *_RANGE_GRADIENT,
            where="gradient",
            units="°C/km",
            fix="pass °C per km (°C/m × 1000)",
            error=ValueRangeError,
        )
        return apply_pointwise(_gradient_range_kernel, gradient_c_per_km)
    return gradient_from_heat_flow(heat_flow_mw_m2, conductivity_w_mk)


def _check_surface(surface_temp_c: ArrayLike) -> None:
    check_range(
        surface_temp_c,
        *_RANGE_SURFACE_TEMP,
        where="surface_temp_c",
        units="°C",
        fix="pass the mean annual surface temperature in °C (kelvin − 273.15)",
        error=ValueRangeError,
    )


def _check_depth(depth_m: ArrayLike) -> None:
    check_range(
        depth_m,
        0.0,
        MAX_DEPTH_M,
        where="depth_m",
        units="m",
        fix="pass a depth in metres between 0 and 10,000",
    )


def temperature_at_depth(
    surface_temp_c: ArrayLike,
    depth_m: ArrayLike,
    *,
    gradient_c_per_km: ArrayLike | None = None,
    heat_flow_mw_m2: ArrayLike | None = None,
    conductivity_w_mk: ArrayLike = DEFAULT_CONDUCTIVITY_W_MK,
) -> ArrayLike:
    """Rock temperature (°C) at a depth: ``T = T_surface + G · depth``.

    Parameters
    ----------
    surface_temp_c
        Mean annual ground-surface temperature in °C, −60..45 (the annual mean air
        temperature is the usual proxy; outside raises
        :class:`~geotool.errors.ValueRangeError`, lazy arrays get NaN there).
    depth_m
        Depth below the surface in metres, 0..10,000 (deeper or negative raises
        :class:`~geotool.errors.InputError`; lazy arrays get NaN there).
    gradient_c_per_km
        Geothermal gradient in °C/km, 1..300 — or give ``heat_flow_mw_m2`` (5..1,000 mW/m²)
        instead. Outside these ranges concrete inputs raise
        :class:`~geotool.errors.ValueRangeError` and lazy ones give NaN.
    heat_flow_mw_m2, conductivity_w_mk
        Surface heat flow (mW/m²) and rock conductivity (W/(m·K)), giving ``G = q / k``.

    Examples
    --------
    >>> temperature_at_depth(8.0, 2900.0, gradient_c_per_km=30.0)   # Shenyang-like well
    95.0
    """
    _check_surface(surface_temp_c)
    _check_depth(depth_m)
    g = _gradient(gradient_c_per_km, heat_flow_mw_m2, conductivity_w_mk)
    return apply_pointwise(
        _temperature_kernel,
        surface_temp_c,
        depth_m,
        g,
        name="temperature_at_depth",
        attrs={"units": "degC"},
    )


def _temperature_kernel(t0: np.ndarray, z: np.ndarray, g: np.ndarray) -> np.ndarray:
    zz = np.where((z >= 0) & (z <= MAX_DEPTH_M), z, np.nan)
    return _inside(t0, _RANGE_SURFACE_TEMP) + g * zz / 1000.0


def depth_to_temperature(
    target_temp_c: ArrayLike,
    surface_temp_c: ArrayLike,
    *,
    gradient_c_per_km: ArrayLike | None = None,
    heat_flow_mw_m2: ArrayLike | None = None,
    conductivity_w_mk: ArrayLike = DEFAULT_CONDUCTIVITY_W_MK,
) -> ArrayLike:
    """Depth (m) at which rock reaches ``target_temp_c``: ``(T − T_surface) / G``.

    Depths beyond 10 km (or a non-positive gradient) give NaN: not reachable.

    Examples
    --------
    >>> depth_to_temperature(95.0, 8.0, gradient_c_per_km=30.0)
    2900.0
    """
    _check_surface(surface_temp_c)
    g = _gradient(gradient_c_per_km, heat_flow_mw_m2, conductivity_w_mk)
    return apply_pointwise(
        _depth_kernel,
        target_temp_c,
        surface_temp_c,
        g,
        name="depth_to_temperature",
        attrs={"units": "m"},
    )


def _depth_kernel(target: np.ndarray, t0: np.ndarray, g: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = 1000.0 * (target - _inside(t0, _RANGE_SURFACE_TEMP)) / np.where(g > 0, g, np.nan)
    return np.where((z >= 0) & (z <= MAX_DEPTH_M), z, np.where(z < 0, 0.0, np.nan))


def heat_in_place(
    reservoir_temp_c: ArrayLike,
    thickness_m: ArrayLike,
    *,
    reference_temp_c: ArrayLike = 15.0,
    area_km2: ArrayLike = 1.0,
    porosity: ArrayLike = DEFAULT_POROSITY,
    rock_density_kg_m3: float = ROCK_DENSITY_KG_M3,
    rock_heat_capacity_j_kgk: float = ROCK_HEAT_CAPACITY_J_KGK,
    fluid_density_kg_m3: float = FLUID_DENSITY_KG_M3,
    fluid_heat_capacity_j_kgk: float = FLUID_HEAT_CAPACITY_J_KGK,
) -> ArrayLike:
    """Heat in place (J) of a reservoir slab, USGS volumetric method.

    ``Q = [ρr cr (1 − φ) + ρf cf φ] · A · h · (T − T_ref)``
    (Muffler & Cataldi 1978). With the defaults, a 1 km² × 1 km slab 100 K above the
    reference holds ≈ 2.85e17 J (285 PJ).

    Parameters
    ----------
    reservoir_temp_c
        Mean reservoir temperature in °C.
    thickness_m
        Reservoir thickness h in metres.
    reference_temp_c
        Rejection / reference temperature in °C (default 15 °C, the USGS 2008 value; the
        mean annual surface temperature is also common). Below it Q is 0.
    area_km2
        Area A in km² (default 1: heat in place per km²).
    porosity
        Porosity φ, 0..1 (default 0.10).
    rock_density_kg_m3, rock_heat_capacity_j_kgk, fluid_density_kg_m3, fluid_heat_capacity_j_kgk
        ρr, cr, ρf, cf (defaults 2,700 kg/m³, 1,000 J/(kg·K), 1,000 kg/m³, 4,180 J/(kg·K)).

    Examples
    --------
    >>> round(heat_in_place(115.0, 1000.0) / 1e15, 1)   # PJ per km²
    284.8
    """
    check_range(porosity, 0.0, 1.0, where="porosity", units="", fix="a fraction, e.g. 0.1")
    check_range(thickness_m, 0.0, MAX_DEPTH_M, where="thickness_m", units="m", fix="pass metres")
    heat_capacity = (
        rock_density_kg_m3 * rock_heat_capacity_j_kgk,
        fluid_density_kg_m3 * fluid_heat_capacity_j_kgk,
    )
    if min(heat_capacity) <= 0:
        raise InputError("densities and heat capacities must be positive", where="heat_in_place")
    return apply_pointwise(
        _heat_kernel,
        reservoir_temp_c,
        thickness_m,
        reference_temp_c,
        area_km2,
        porosity,
        kwargs={"rock": heat_capacity[0], "fluid": heat_capacity[1]},
        name="heat_in_place",
        attrs={"units": "J"},
    )


def _heat_kernel(
    t: np.ndarray,
    h: np.ndarray,
    t_ref: np.ndarray,
    a_km2: np.ndarray,
    phi: np.ndarray,
    *,
    rock: float,
    fluid: float,
) -> np.ndarray:
    volumetric = rock * (1.0 - phi) + fluid * phi  # J/(m³·K)
    return volumetric * (a_km2 * 1e6) * h * np.maximum(t - t_ref, 0.0)


def recoverable_thermal_power_mw(
    heat_in_place_j: ArrayLike,
    *,
    recovery_factor: float = DEFAULT_RECOVERY_FACTOR,
    project_life_years: float = DEFAULT_PROJECT_LIFE_YEARS,
) -> ArrayLike:
    """Thermal power (MWth) sustainable over a project life: ``Q · R / life``.

    Parameters
    ----------
    heat_in_place_j
        Heat in place in joules (:func:`heat_in_place`).
    recovery_factor
        Recoverable fraction at the wellhead, 0..1 (default 0.10; literature 0.05–0.25).
    project_life_years
        Production period in years (default 30).

    Examples
    --------
    >>> round(recoverable_thermal_power_mw(2.848e17), 1)    # one km² slab from above
    30.1
    """
    if not (0.0 < recovery_factor <= 1.0):
        raise InputError(
            f"recovery_factor = {recovery_factor} is not in (0, 1]",
            where="recovery_factor",
            fix="typical values are 0.05-0.25",
        )
    if not (math.isfinite(project_life_years) and project_life_years > 0):
        raise InputError(
            f"project_life_years = {project_life_years} must be positive",
            where="project_life_years",
            fix="typically 25-30 years",
        )
    scale = recovery_factor / (project_life_years * SECONDS_PER_YEAR) / 1e6
    return apply_pointwise(
        np.multiply, heat_in_place_j, scale, name="recoverable_thermal_power", attrs={"units": "MW"}
    )


def use_class(temperature_c: ArrayLike) -> ArrayLike:
    """Geothermal use class code (0..4, float with NaN kept) from resource temperature.

    Codes and thresholds: :data:`USE_CLASS_NAMES` / :data:`USE_CLASS_THRESHOLDS_C`
    (Lindal 1973 diagram; Muffler & Cataldi 1978 temperature classes).

    Examples
    --------
    >>> use_class(np.array([20.0, 45.0, 95.0, 120.0, 180.0, np.nan]))
    array([ 0.,  1.,  2.,  3.,  4., nan])
    """
    return apply_pointwise(
        _use_class_kernel,
        temperature_c,
        name="geothermal_use_class",
        attrs={"units": "1", "flag_meanings": _flag_meanings()},
    )


def _use_class_kernel(t: np.ndarray) -> np.ndarray:
    codes = np.digitize(t, USE_CLASS_THRESHOLDS_C).astype(float)
    return np.where(np.isfinite(t), codes, np.nan)


def _flag_meanings() -> str:
    return "; ".join(f"{k}: {v}" for k, v in USE_CLASS_NAMES.items())
