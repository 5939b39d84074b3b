"""Wind resource: vertical extrapolation, land-cover roughness, and (re-exported) air density
and turbine yields.

Air density lives in :mod:`geotool.resources.atmosphere`, power curves and the Weibull
capacity factor in :mod:`geotool.resources.turbines`; this module is the one-stop import.

All functions take scalars, NumPy arrays, dask arrays or xarray DataArrays and return the
same kind, never computing a lazy input.
"""

from __future__ import annotations

import math

import numpy as np

from geotool.errors import InputError, ValueRangeError
from geotool.resources._array import ArrayLike, apply_pointwise, check_range
from geotool.resources.atmosphere import ISA_RHO0, air_density, isa_pressure_pa
from geotool.resources.turbines import (
    DEFAULT_WEIBULL_K,
    TurbineInfo,
    annual_energy_mwh_per_mw,
    capacity_factor,
    list_turbines,
    power_curve,
    power_density,
    turbine_info,
)

__all__ = [
    "DEFAULT_SHEAR_EXPONENT",
    "DEFAULT_WEIBULL_K",
    "ISA_RHO0",
    "WORLDCOVER_ROUGHNESS_M",
    "TurbineInfo",
    "air_density",
    "annual_energy_mwh_per_mw",
    "capacity_factor",
    "isa_pressure_pa",
    "list_turbines",
    "power_curve",
    "power_density",
    "roughness_from_land_cover",
    "shear_exponent_from_roughness",
    "turbine_info",
    "wind_at_height",
]

DEFAULT_SHEAR_EXPONENT = 1.0 / 7.0
"""Power-law shear exponent α = 1/7 for neutral flow over open land: the classic
"one-seventh power law" (Peterson & Hennessey 1978, J. Appl. Meteor. 17:390-394). Pass a
site value or a land-cover roughness where known: real shear varies from ~0.1 to ~0.4."""

# Davenport–Wieringa roughness classes (Wieringa 1992, J. Wind Eng. Ind. Aerodyn. 41:357–368;
# reproduced in WMO-No. 8 Guide, Annex 5.B) assigned to ESA WorldCover 2021 classes.
# Class lengths: sea 0.0002, smooth 0.005, open 0.03, roughly open 0.10, rough 0.25,
# very rough 0.5, closed 1.0, chaotic >= 2 m.
WORLDCOVER_ROUGHNESS_M: dict[int, float] = {
    10: 1.0,  # tree cover -> "closed": natural forests
    20: 0.25,  # shrubland -> "rough": scattered obstacles (bushes)
    30: 0.03,  # grassland -> "open": grass prairie, tundra
    40: 0.10,  # cropland -> "roughly open": low crops, occasional obstacles
    50: 1.0,  # built-up -> "closed": villages, suburbs (city centres would be >= 2)
    60: 0.005,  # bare / sparse vegetation -> "smooth": no vegetation, no obstacles
    70: 0.005,  # snow and ice -> "smooth": snow-covered flat land
    80: 0.0002,  # permanent water bodies -> "sea": open water
    90: 0.03,  # herbaceous wetland -> "open": low herbaceous cover, heather
    95: 1.0,  # mangroves -> "closed": forest
    100: 0.03,  # moss and lichen -> "open": tundra
}
"""Roughness length z0 in metres for each ESA WorldCover class code (0 = no data → NaN)."""


def roughness_from_land_cover(land_cover: ArrayLike) -> ArrayLike:
    """Roughness length z0 (m) from ESA WorldCover class codes.

    Parameters
    ----------
    land_cover
        WorldCover codes (10, 20, ... 100); other values (incl. 0 = no data, NaN) give NaN.

    Returns
    -------
    z0 in metres, same kind and shape as the input (see :data:`WORLDCOVER_ROUGHNESS_M`).

    Examples
    --------
    >>> roughness_from_land_cover(np.array([10, 30, 80, 0]))
    array([1.e+00, 3.e-02, 2.e-04,    nan])
    """
    return apply_pointwise(_roughness_kernel, land_cover, name="roughness_length")


def _roughness_kernel(codes: np.ndarray) -> np.ndarray:
    out = np.full(codes.shape, np.nan)
    for code, z0 in WORLDCOVER_ROUGHNESS_M.items():
        out[codes == code] = z0
    return out


def shear_exponent_from_roughness(
    roughness_m: ArrayLike, from_height_m: float, to_height_m: float
) -> ArrayLike:
    """Power-law exponent α that reproduces the log law between two heights.

    α = ln( ln(h2/z0) / ln(h1/z0) ) / ln(h2/h1), so that h1 → h2 scaling with either law
    gives the same speed.

    Examples
    --------
    >>> round(shear_exponent_from_roughness(0.03, 10.0, 100.0), 4)
    0.145
    """
    h1, h2 = _check_heights(from_height_m, to_height_m)
    if h1 == h2:
        raise InputError(
            "the two heights are equal, so no shear exponent is defined",
            where="shear_exponent_from_roughness",
            fix="pass two different heights",
        )
    return apply_pointwise(_alpha_kernel, roughness_m, kwargs={"h1": h1, "h2": h2})


def _alpha_kernel(z0: np.ndarray, *, h1: float, h2: float) -> np.ndarray:
    ok = (z0 > 0) & (z0 < min(h1, h2))
    z = np.where(ok, z0, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(np.log(h2 / z) / np.log(h1 / z)) / math.log(h2 / h1)


def wind_at_height(
    speed: ArrayLike,
    from_height_m: float,
    to_height_m: float,
    *,
    alpha: ArrayLike | None = None,
    roughness_m: ArrayLike | None = None,
    land_cover: ArrayLike | None = None,
) -> ArrayLike:
    """Mean wind speed (m/s) moved from one height to another.

    Power law ``v2 = v1 (h2/h1)^α`` when ``alpha`` is given; log law
    ``v2 = v1 ln(h2/z0) / ln(h1/z0)`` when ``roughness_m`` (z0) is given or derived from
    ESA WorldCover ``land_cover``; otherwise the power law with α = 1/7
    (:data:`DEFAULT_SHEAR_EXPONENT`).

    Parameters
    ----------
    speed
        Wind speed at ``from_height_m`` in m/s.
    from_height_m, to_height_m
        Heights above ground in metres (0 < h <= 1000).
    alpha
        Shear exponent (scalar or raster), typically 0.1–0.4.
    roughness_m
        Roughness length z0 in metres (scalar or raster); must be below both heights. Pixels
        without one (NaN) take the power law with α = 1/7.
    land_cover
        ESA WorldCover codes, turned into z0 with :func:`roughness_from_land_cover`; pixels
        without a class (no data) take the power law with α = 1/7.

    Returns
    -------
    Wind speed at ``to_height_m`` in m/s. Pixels whose z0 is not below both heights are
    NaN; pixels without a z0 (NaN, or a land-cover code that is not a WorldCover class)
    take the 1/7 power law.

    Examples
    --------
    >>> round(wind_at_height(6.0, 10.0, 100.0), 3)        # 1/7 power law
    8.337
    >>> round(wind_at_height(6.0, 10.0, 100.0, roughness_m=0.03), 3)
    8.378
    """
    h1, h2 = _check_heights(from_height_m, to_height_m)
    given = [n for n, v in (("alpha", alpha), ("roughness_m", roughness_m)) if v is not None]
    if land_cover is not None:
        given.append("land_cover")
    if len(given) > 1:
        raise InputError(
            f"give one of alpha, roughness_m or land_cover, not {' and '.join(given)}",
            where="wind_at_height",
            fix="the power law takes alpha, the log law takes roughness_m (or land_cover)",
        )
    check_range(
        speed,
        0.0,
        75.0,
        where="wind speed",
        units="m/s",
        fix="is it in km/h?",
        error=ValueRangeError,
    )
    if land_cover is not None:
        roughness_m = roughness_from_land_cover(land_cover)
    if roughness_m is not None:
        check_range(
            roughness_m,
            1e-6,
            min(h1, h2) * 0.999,
            where="roughness_m",
            units="m",
            fix="z0 must be positive and below both heights (typical 0.0002-2 m)",
        )
        return apply_pointwise(_log_law_kernel, speed, roughness_m, kwargs={"h1": h1, "h2": h2})
    a = DEFAULT_SHEAR_EXPONENT if alpha is None else alpha
    check_range(a, -0.5, 1.0, where="alpha", units="", fix="typical shear exponents are 0.1-0.4")
    return apply_pointwise(_power_law_kernel, speed, a, kwargs={"ratio": h2 / h1})


def _power_law_kernel(v: np.ndarray, a: np.ndarray, *, ratio: float) -> np.ndarray:
    return v * ratio**a


def _log_law_kernel(v: np.ndarray, z0: np.ndarray, *, h1: float, h2: float) -> np.ndarray:
    ok = (z0 > 0) & (z0 < min(h1, h2))
    z = np.where(ok, z0, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_law = v * np.log(h2 / z) / np.log(h1 / z)
    # no roughness where the land cover has no data: the wind is there all the same, so the
    # default power law stands in (a z0 out of range stays NaN: a wrong input, not a gap)
    return np.where(np.isnan(z0), v * (h2 / h1) ** DEFAULT_SHEAR_EXPONENT, log_law)


def _check_heights(h1: float, h2: float) -> tuple[float, float]:
    out = []
    for label, h in (("from_height_m", h1), ("to_height_m", h2)):
        try:
            value = float(h)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= 1000):
            raise InputError(
                f"{label} = {h!r} is not a height in metres above ground",
                where="wind_at_height",
                fix="pass a number between 0 and 1000, e.g. 100",
            )
        out.append(value)
    return out[0], out[1]
