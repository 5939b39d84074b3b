"""Turbine power curves (windpowerlib's bundled oedb library) and Weibull-integrated yields.

The capacity factor of a turbine at a site with Weibull-distributed hub-height wind speed
(mean ``v̄``, shape ``k``, scale ``c = v̄ / Γ(1 + 1/k)``) and air density ``ρ`` is

    CF = (1 / P_rated) ∫ P(v; ρ) f(v; c, k) dv

where ``P(v; ρ)`` is the turbine's power curve, density-corrected the way windpowerlib does
(after Svenningsen 2010 / IEC 61400-12-1): each curve speed is scaled by
``(1.225 / ρ)^p(v)`` with ``p`` rising linearly from 1/3 at 7.5 m/s to 2/3 at 12.5 m/s, and
power is zero below the first and above the last curve point.

To stay fast and dask friendly on rasters, the integral is tabulated once per turbine (per
process) on a grid of mean speed × k × density and interpolated trilinearly.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.interpolate import RegularGridInterpolator
from scipy.special import gamma, gammaln

from geotool.errors import InputError, UnknownNameError, ValueRangeError
from geotool.resources._array import ArrayLike, apply_pointwise, built_once, check_range
from geotool.resources.atmosphere import DENSITY_RANGE_KG_M3, ISA_RHO0

HOURS_PER_YEAR = 8760.0
"""Hours in a (non-leap) year, the convention of full-load-hour statistics."""

DEFAULT_WEIBULL_K = 2.0
"""Weibull shape k = 2 (Rayleigh): the reference distribution of IEC 61400-1 wind classes."""

# Lookup-table axes. Annual mean hub-height speeds on land stay well below 20 m/s. ρ spans
# DENSITY_RANGE_KG_M3, 0.44-1.60 kg/m³: every hub on Earth (see its sources in
# atmosphere.py), and everything air_density() returns (it refuses or clamps the rest),
# so no elevation/temperature pair the catalog accepts leaves the table. Global Wind Atlas 3
# k is mostly 1-4; the axis spans the catalog's weibull_k valid range 0.5-6
# (layers/weibull_k.toml) so every value the catalog accepts has a tabulated CF.
CF_MEAN_SPEED_AXIS = np.round(np.arange(0.0, 25.0001, 0.1), 6)
CF_WEIBULL_K_AXIS = np.round(np.arange(0.5, 6.0001, 0.05), 6)
CF_DENSITY_AXIS = np.round(
    np.arange(DENSITY_RANGE_KG_M3[0], DENSITY_RANGE_KG_M3[1] + 1e-5, 0.02), 6
)
_SPEED_STEP = 0.02  # m/s, integration step of the Weibull integral (trapezoid)


@dataclass(frozen=True)
class TurbineInfo:
    """Data sheet of one turbine type in windpowerlib's bundled library.

    Attributes
    ----------
    name : turbine type as windpowerlib spells it, e.g. ``"E-82/2350"``.
    manufacturer : maker's name.
    nominal_power_mw : rated power in MW.
    rotor_diameter_m : rotor diameter in metres.
    hub_heights_m : hub heights the maker offers (may be empty when not listed).
    """

    name: str
    manufacturer: str
    nominal_power_mw: float
    rotor_diameter_m: float
    hub_heights_m: tuple[float, ...]


def _oedb_file(name: str) -> str:
    return str(importlib.resources.files("windpowerlib").joinpath("oedb", name))


@functools.lru_cache(maxsize=1)
def _turbine_table() -> pd.DataFrame:
    return pd.read_csv(_oedb_file("turbine_data.csv"), index_col=0)


@functools.lru_cache(maxsize=1)
def _curve_table() -> pd.DataFrame:
    return pd.read_csv(_oedb_file("power_curves.csv"), index_col=0)


def list_turbines() -> list[str]:
    """Names of all turbine types with a power curve in windpowerlib's bundled library.

    >>> "E-82/2350" in list_turbines()
    True
    """
    return sorted(str(n) for n in _curve_table().index)


def _resolve(name: str) -> str:
    names = list_turbines()
    if name in names:
        return name
    folded = {n.casefold(): n for n in names}
    if isinstance(name, str) and name.casefold() in folded:
        return folded[name.casefold()]
    close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "see list_turbines()"
    raise UnknownNameError(
        f"unknown turbine {name!r} (not in windpowerlib's turbine library)",
        where="turbine",
        fix=f"{hint} ({len(names)} types with power curves are available)",
    )


def _parse_hub_heights(text: object) -> tuple[float, ...]:
    if not isinstance(text, str):
        return ()
    heights: list[float] = []
    for token in text.replace("/", ";").split(";"):
        token = token.strip().replace(",", ".")  # the library mixes decimal commas in
        if token:
            try:
                heights.append(float(token))
            except ValueError:
                continue
    return tuple(sorted(set(heights)))


def turbine_info(name: str) -> TurbineInfo:
    """Rated power, rotor diameter and offered hub heights of a turbine type.

    Parameters
    ----------
    name
        Turbine type as in windpowerlib's library (case-insensitive), e.g. ``"E-82/2350"``.

    Raises
    ------
    UnknownNameError
        For a name not in the library; the message lists close matches.

    Examples
    --------
    >>> info = turbine_info("E-82/2350")
    >>> info.nominal_power_mw, info.rotor_diameter_m
    (2.35, 82.0)
    """
    key = _resolve(name)
    row = _turbine_table().loc[key]
    if isinstance(row, pd.DataFrame):  # duplicated rows: take the first
        row = row.iloc[0]
    return TurbineInfo(
        name=key,
        manufacturer=str(row.get("manufacturer", "")),
        nominal_power_mw=float(row["nominal_power"]) / 1e6,
        rotor_diameter_m=float(row["rotor_diameter"]),
        hub_heights_m=_parse_hub_heights(row.get("hub_height")),
    )


def power_curve(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The turbine's power curve at standard density: (wind speeds m/s, power W).

    >>> v, p = power_curve("E-82/2350")
    >>> float(p.max())
    2350000.0
    """
    row = _curve_table().loc[_resolve(name)].dropna()
    speeds = np.asarray([float(s) for s in row.index], dtype=float)
    order = np.argsort(speeds)
    return speeds[order], np.asarray(row.to_numpy(dtype=float))[order]


def density_corrected_power(
    wind_speed: np.ndarray, curve_speeds: np.ndarray, curve_power: np.ndarray, density: float
) -> np.ndarray:
    """Power (W) at ``wind_speed`` from a power curve corrected to air ``density`` (kg/m³).

    Curve speeds move to ``v (1.225/ρ)^p(v)``, ``p`` = 1/3 below 7.5 m/s, 2/3 above 12.5 m/s
    and linear between (Svenningsen 2010, EMD WindPRO; the correction windpowerlib applies).
    """
    exponent = np.interp(curve_speeds, [7.5, 12.5], [1.0 / 3.0, 2.0 / 3.0])
    site_speeds = curve_speeds * (ISA_RHO0 / density) ** exponent
    return np.interp(wind_speed, site_speeds, curve_power, left=0.0, right=0.0)


@built_once(maxsize=16)
def _cf_interpolator(name: str) -> RegularGridInterpolator:
    """CF over (mean speed, k, density) for one turbine, by trapezoidal Weibull integration."""
    speeds, power = power_curve(name)
    # normalise by the data-sheet rating (the installed capacity), as windpowerlib does; a
    # few curves peak slightly above it (E-53/800 reaches 810 kW)
    rated = turbine_info(name).nominal_power_mw * 1e6
    if not (rated > 0 and power.max() > 0):
        raise InputError(f"turbine {name!r} has no usable power curve", where="turbine")
    top = speeds.max() * (ISA_RHO0 / CF_DENSITY_AXIS.min()) ** (2.0 / 3.0) + 1.0
    v = np.arange(0.0, top + _SPEED_STEP, _SPEED_STEP)
    weights = np.full(v.size, _SPEED_STEP)
    weights[[0, -1]] = _SPEED_STEP / 2  # trapezoid rule
    # power per density, already multiplied by the quadrature weights: (n_v, n_rho)
    p_w = np.stack(
        [density_corrected_power(v, speeds, power, rho) for rho in CF_DENSITY_AXIS], axis=1
    ) * (weights[:, None] / rated)
    means = CF_MEAN_SPEED_AXIS
    table = np.zeros((means.size, CF_WEIBULL_K_AXIS.size, CF_DENSITY_AXIS.size))
    positive = means > 0
    # the density is infinite at v = 0 for k < 1, where every power curve is 0 (below cut-in):
    # integrate over v > 0 only
    v_pos, p_pos = v[1:], p_w[1:]
    # ln(v/c) = ln v - ln(mean) + ln Γ(1 + 1/k): one log table for every k, then the pdf
    # (k/c) x^(k-1) exp(-x^k) as exp((k-1) ln x - x^k), two exp per point instead of two pow
    log_vm = np.log(v_pos)[None, :] - np.log(means[positive])[:, None]
    for j, k in enumerate(CF_WEIBULL_K_AXIS):
        log_g = gammaln(1.0 + 1.0 / k)
        log_x = log_vm + log_g
        c = means[positive] * np.exp(-log_g)
        pdf = np.exp((k - 1.0) * log_x - np.exp(k * log_x))
        pdf *= (k / c)[:, None]
        table[positive, j, :] = pdf @ p_pos
    return RegularGridInterpolator(
        (CF_MEAN_SPEED_AXIS, CF_WEIBULL_K_AXIS, CF_DENSITY_AXIS),
        np.clip(table, 0.0, 1.0),
        method="linear",
        bounds_error=False,
        fill_value=np.nan,
    )


def _cf_kernel(mean: np.ndarray, k: np.ndarray, rho: np.ndarray, *, turbine: str) -> np.ndarray:
    # scalars arrive unconverted when another argument is a NumPy-backed DataArray
    arrays = [np.asarray(a, dtype=float) for a in (mean, k, rho)]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    points = np.stack([np.broadcast_to(a, shape).ravel() for a in arrays], axis=-1)
    out = np.full(points.shape[0], np.nan)
    finite = np.isfinite(points).all(axis=1)
    if finite.any():
        out[finite] = _cf_interpolator(turbine)(points[finite])
    return out.reshape(shape)


def capacity_factor(
    mean_speed: ArrayLike,
    turbine: str,
    *,
    weibull_k: ArrayLike = DEFAULT_WEIBULL_K,
    air_density: ArrayLike = ISA_RHO0,
    hub_height_m: float | None = None,
) -> ArrayLike:
    """Gross capacity factor (0..1) of a turbine under a Weibull wind regime.

    Parameters
    ----------
    mean_speed
        Annual mean wind speed **at hub height** in m/s (use :func:`wind_at_height`), 0..25.
    turbine
        Turbine type from windpowerlib's bundled library, e.g. ``"E-82/2350"``
        (see :func:`list_turbines`).
    weibull_k
        Weibull shape parameter, 0.5..6 (default 2, Rayleigh).
    air_density
        Air density at hub height in kg/m³, 0.44..1.60 (default 1.225, ISA sea level); the
        power curve is density-corrected as in windpowerlib / IEC 61400-12-1.
    hub_height_m
        Optional hub height in metres, only checked: it must exceed half the rotor diameter
        (the rule windpowerlib's ``WindTurbine`` enforces). ``mean_speed`` must already be
        at that height.

    Returns
    -------
    Capacity factor, 0..1, before wake, availability and electrical losses. Values with a
    mean speed, k or density outside the tabulated ranges are NaN in lazy inputs and raise
    :class:`~geotool.errors.ValueRangeError` in concrete ones; densities from
    :func:`~geotool.resources.atmosphere.air_density` are always inside.

    Examples
    --------
    >>> round(capacity_factor(7.0, "E-82/2350"), 3)
    0.321
    """
    name = _resolve(turbine)
    if hub_height_m is not None:
        info = turbine_info(name)
        if not (math.isfinite(hub_height_m) and info.rotor_diameter_m / 2 < hub_height_m <= 300):
            raise InputError(
                f"hub height {hub_height_m} m does not fit {name} "
                f"(rotor diameter {info.rotor_diameter_m:g} m)",
                where="hub_height_m",
                fix=f"use a hub height above {info.rotor_diameter_m / 2:g} m, e.g. "
                f"{', '.join(f'{h:g}' for h in info.hub_heights_m) or '100'}",
            )
    _check_cf_inputs(mean_speed, weibull_k, air_density)
    return apply_pointwise(
        _cf_kernel,
        mean_speed,
        weibull_k,
        air_density,
        kwargs={"turbine": name},
        name="wind_capacity_factor",
        attrs={"units": "1", "turbine": name},
    )


def _check_cf_inputs(mean_speed: ArrayLike, k: ArrayLike, rho: ArrayLike) -> None:
    check_range(
        mean_speed,
        0.0,
        float(CF_MEAN_SPEED_AXIS[-1]),
        where="mean wind speed",
        units="m/s",
        fix="pass the annual mean at hub height in m/s (not km/h)",
        error=ValueRangeError,
    )
    check_range(
        k,
        float(CF_WEIBULL_K_AXIS[0]),
        float(CF_WEIBULL_K_AXIS[-1]),
        where="weibull_k",
        units="",
        fix="Weibull k of wind is 0.5-6, mostly 1-4 (2 if unknown)",
        error=ValueRangeError,
    )
    check_range(
        rho,
        float(CF_DENSITY_AXIS[0]),
        float(CF_DENSITY_AXIS[-1]),
        where="air_density",
        units="kg/m³",
        fix="use air_density() for the hub height",
        error=ValueRangeError,
    )


def annual_energy_mwh_per_mw(
    mean_speed: ArrayLike,
    turbine: str,
    *,
    weibull_k: ArrayLike = DEFAULT_WEIBULL_K,
    air_density: ArrayLike = ISA_RHO0,
    losses: float = 0.0,
) -> ArrayLike:
    """Annual energy yield in MWh per MW installed (= full-load hours), ``CF × 8760 × (1 − losses)``.

    ``losses`` is the fraction lost to wakes, availability and electrical losses (0 = gross,
    as windpowerlib and atlite report; 0.10–0.20 is common for whole farms).

    Examples
    --------
    >>> round(annual_energy_mwh_per_mw(7.0, "E-82/2350"))
    2811
    """
    if not (0.0 <= losses < 1.0):
        raise InputError(
            f"losses = {losses} is not a fraction in [0, 1)",
            where="losses",
            fix="e.g. losses = 0.15 for 15 %",
        )
    cf = capacity_factor(mean_speed, turbine, weibull_k=weibull_k, air_density=air_density)
    out = cf * (HOURS_PER_YEAR * (1.0 - losses))
    if hasattr(out, "attrs"):
        out = out.rename("wind_energy_mwh_per_mw")
        out.attrs.update({"units": "MWh/MW/yr"})
    return out


def power_density(
    mean_speed: ArrayLike,
    weibull_k: ArrayLike = DEFAULT_WEIBULL_K,
    air_density: ArrayLike = ISA_RHO0,
) -> ArrayLike:
    """Mean wind power density in W/m²: ``½ ρ c³ Γ(1 + 3/k)`` with ``c = v̄ / Γ(1 + 1/k)``.

    Examples
    --------
    >>> round(power_density(7.0, 2.0, 1.225))  # Rayleigh: ½ρ v̄³ (6/π)
    401
    """
    check_range(
        weibull_k,
        0.5,
        10.0,
        where="weibull_k",
        units="",
        fix="Weibull k is 1-5",
        error=ValueRangeError,
    )
    return apply_pointwise(
        _power_density_kernel,
        mean_speed,
        weibull_k,
        air_density,
        name="wind_power_density",
        attrs={"units": "W/m2"},
    )


def _power_density_kernel(v: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    kk = np.where(k > 0, k, np.nan)
    c = v / gamma(1.0 + 1.0 / kk)
    return 0.5 * rho * c**3 * gamma(1.0 + 3.0 / kk)
