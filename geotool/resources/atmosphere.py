"""Air density from the International Standard Atmosphere (ISO 2533) and the ideal-gas law."""

from __future__ import annotations

import numpy as np

from geotool.errors import ValueRangeError
from geotool.resources._array import ArrayLike, apply_pointwise, check_range

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
    Density in kg/m³.

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
        return apply_pointwise(_isa_density_kernel, elevation_m, name="air_density")
    check_range(
        temperature_c,
        -90.0,
        60.0,
        where="temperature_c",
        units="°C",
        fix="pass degrees Celsius (is it in kelvin?)",
        error=ValueRangeError,
    )
    return apply_pointwise(_density_kernel, elevation_m, temperature_c, name="air_density")


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
