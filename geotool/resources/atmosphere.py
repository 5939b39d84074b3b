"""Air density from the International Standard Atmosphere (ISO 2533) and the ideal-gas law."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from geotool.errors import ValueRangeError
from geotool.resources._array import ArrayLike, apply_pointwise, check_range, is_lazy

# --- International Standard Atmosphere (ISO 2533:1975 / ICAO Doc 7488), troposphere ------------
ISA_T0_K = 288.15
"""Sea-level standard temperature, 15 °C (ISO 2533)."""
ISA_P0_PA = 101_325.0
"""Sea-level standard pressure (ISO 2533)."""
ISA_LAPSE_K_PER_M = 0.0065
"""Tropospheric temperature lapse rate, 6.5 K/km (ISO 2533)."""
GAS_CONSTANT_DRY_AIR = 287.058
"""Specific gas constant of dry air, J/(kg·K) (R* / M_air = 8.314 462 / 0.028 964 4)."""
STANDARD_GRAVITY = 9.80665
"""Standard acceleration of gravity, m/s² (ISO 80000-3, ISO 2533)."""
ISA_RHO0 = ISA_P0_PA / (GAS_CONSTANT_DRY_AIR * ISA_T0_K)
"""Sea-level standard air density: 1.225 kg/m³ (ISO 2533), the IEC 61400-12-1 reference."""

_ELEVATION_RANGE_M = (-500.0, 11_000.0)  # the ISA troposphere formula holds up to 11 km

# Annual-mean air density at any wind-turbine hub on Earth, kg/m³. Low: 0.44 is ISA at
# ~9,480 m, above a 300 m hub on Everest (8,849 + 300 m: ISA 0.458); the summit's measured
# pressure, 253 Torr = 33.7 kPa (West et al. 1983, J. Appl. Physiol. 54:1188-1194), is 7 %
# above ISA, so real densities there are higher still. High: 1.60 is dry air at 101,325 Pa
# and -52.5 °C by the ideal-gas law, colder than any sea-level annual mean (the Antarctic ice
# shelves, about -25 to -30 °C, give 1.42-1.45). Densities outside come from inconsistent
# inputs, e.g. a coarse temperature grid not lapsed to the DEM.
DENSITY_RANGE_KG_M3 = (0.44, 1.60)


def air_density(elevation_m: ArrayLike, temperature_c: ArrayLike | None = None) -> ArrayLike:
    """Air density (kg/m³) at an elevation, from the standard atmosphere.

    Pressure follows the ISA barometric formula for the troposphere (ISO 2533):
    ``p = p0 (1 - L z / T0)^(g / (R L))``. Without ``temperature_c`` the ISA temperature
    ``T0 - L z`` is used, giving 1.225 kg/m³ at sea level; with it (e.g. the annual mean air
    temperature at that elevation) ``ρ = p / (R (T + 273.15))`` — the ideal-gas law with the
    actual temperature, as windpowerlib's ``density.ideal_gas`` does.

    Parameters
    ----------
    elevation_m
        Height above sea level in metres (ground elevation + hub height), -500..11,000.
    temperature_c
        Optional air temperature at that elevation in °C.

    Returns
    -------
    Density in kg/m³, within :data:`DENSITY_RANGE_KG_M3` (0.44..1.60).

    Raises
    ------
    ValueRangeError
        For concrete inputs whose elevation and temperature give a density outside
        0.44..1.60 kg/m³ (no hub on Earth has it). Lazy inputs cannot be checked without
        computing them: their densities are clamped to that range instead (noted in the
        result's ``comment`` attribute), which keeps the capacity factor defined and moves
        it less than the density error of the inputs does.

    Examples
    --------
    >>> round(air_density(0.0), 4)
    1.225
    >>> round(air_density(1000.0), 4)
    1.1116
    >>> round(air_density(0.0, temperature_c=30.0), 4)
    1.1644
    """
    check_range(
        elevation_m,
        *_ELEVATION_RANGE_M,
        where="elevation",
        units="m",
        fix="pass metres above sea level of the hub",
        error=ValueRangeError,
    )
    if temperature_c is None:
        return _checked_density(_isa_density_kernel, elevation_m)
    check_range(
        temperature_c,
        -90.0,
        60.0,
        where="temperature_c",
        units="°C",
        fix="pass degrees Celsius (is it in kelvin?)",
        error=ValueRangeError,
    )
    return _checked_density(_density_kernel, elevation_m, temperature_c)


def _checked_density(kernel: Callable[..., np.ndarray], *args: ArrayLike) -> ArrayLike:
    """Density from ``kernel``: a one-line error for impossible concrete inputs, clamped
    into :data:`DENSITY_RANGE_KG_M3` for lazy ones (which cannot be checked here)."""
    lo, hi = DENSITY_RANGE_KG_M3
    if not any(is_lazy(a) for a in args):
        values = [np.asarray(getattr(a, "values", a), dtype=float) for a in args]
        arrays = np.broadcast_arrays(*values)
        with np.errstate(invalid="ignore"):
            rho = kernel(*arrays)
        off = np.where(np.isfinite(rho), np.maximum(rho - hi, lo - rho), -np.inf)
        if off.size and float(off.max()) > 0:
            i = np.unravel_index(int(np.argmax(off)), off.shape)
            what = f"elevation {float(arrays[0][i]):g} m"
            if len(arrays) > 1:
                what += f" at {float(arrays[1][i]):g} °C"
            raise ValueRangeError(
                f"{what} gives air density {float(rho[i]):.3f} kg/m³, outside {lo:.2f}..{hi:.2f} "
                "kg/m³ (no hub on Earth has it)",
                where="temperature_c" if len(arrays) > 1 else "elevation",
                fix="pass the annual mean temperature at that elevation in °C (lapse a coarse "
                "or sea-level grid to the DEM at 6.5 K/km)"
                if len(arrays) > 1
                else "pass metres above sea level of the hub (ground + hub height, below ~9,400 m)",
            )
    lazy = any(is_lazy(a) for a in args)  # concrete input was checked above: nothing to clamp
    return apply_pointwise(
        _clamped,
        *args,
        kwargs={"kernel": kernel},
        name="air_density",
        attrs={"units": "kg/m3", **({"comment": _CLAMP_NOTE} if lazy else {})},
    )


_CLAMP_NOTE = (
    f"clamped to {DENSITY_RANGE_KG_M3[0]:g}..{DENSITY_RANGE_KG_M3[1]:g} kg/m3, the range at any "
    "hub on Earth, where elevation and temperature are inconsistent"
)


def _clamped(*arrays: np.ndarray, kernel: Callable[..., np.ndarray]) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.clip(kernel(*arrays), *DENSITY_RANGE_KG_M3)  # NaN stays NaN


def isa_pressure_pa(elevation_m: ArrayLike) -> ArrayLike:
    """ISA static pressure in Pa at an elevation (ISO 2533 troposphere).

    >>> round(isa_pressure_pa(0.0))
    101325
    """
    return apply_pointwise(_isa_pressure_kernel, elevation_m)


def _isa_pressure_kernel(z: np.ndarray) -> np.ndarray:
    ok = (z >= _ELEVATION_RANGE_M[0]) & (z <= _ELEVATION_RANGE_M[1])
    zz = np.where(ok, z, np.nan)
    exponent = STANDARD_GRAVITY / (GAS_CONSTANT_DRY_AIR * ISA_LAPSE_K_PER_M)
    return ISA_P0_PA * (1.0 - ISA_LAPSE_K_PER_M * zz / ISA_T0_K) ** exponent


def _isa_density_kernel(z: np.ndarray) -> np.ndarray:
    t_k = ISA_T0_K - ISA_LAPSE_K_PER_M * z
    return _isa_pressure_kernel(z) / (GAS_CONSTANT_DRY_AIR * t_k)


def _density_kernel(z: np.ndarray, t_c: np.ndarray) -> np.ndarray:
    t_k = np.where((t_c > -90) & (t_c < 60), t_c + 273.15, np.nan)
    return _isa_pressure_kernel(z) / (GAS_CONSTANT_DRY_AIR * t_k)
