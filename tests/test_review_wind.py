"""Wind review: air density outside Earth's range, checked against the ideal-gas law and
windpowerlib."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy.special import gamma

from geotool.errors import ValueRangeError
from geotool.resources import wind
from tests.test_resources_wind import windpowerlib_power

FINE = (0.001, 70.0, 0.001)  # past the curve's end at 0.44 kg/m³: 25 (1.225/0.44)^(2/3) = 49.5


def _windpowerlib_cf(name: str, mean: float, k: float, rho: float) -> float:
    p, rated = windpowerlib_power(name, rho, FINE)
    v = np.arange(*FINE)
    c = mean / gamma(1.0 + 1.0 / k)
    pdf = (k / c) * (v / c) ** (k - 1) * np.exp(-((v / c) ** k))
    return float(np.trapezoid(p * pdf, v) / rated)


def test_impossible_air_density_is_a_one_line_error_on_concrete_input():
    # ideal gas at sea level and -56 °C: 101,325 / (287.058 × 217.15) = 1.6255 kg/m³, denser
    # than any hub on Earth; ISA at 10,000 m: 0.4127 kg/m³ (US Standard Atmosphere 1976: 0.4135)
    with pytest.raises(ValueRangeError, match=r"^temperature_c: .*1\.626 kg/m³") as info:
        wind.air_density(np.array([0.0, 500.0]), temperature_c=np.array([-56.0, 5.0]))
    assert "\n" not in str(info.value) and "lapse" in str(info.value)
    with pytest.raises(ValueRangeError, match=r"^temperature_c: elevation 8900 m at -25 °C"):
        wind.air_density(8900.0, temperature_c=-25.0)  # 31,204 Pa / (287.058 × 248.15) = 0.438
    with pytest.raises(ValueRangeError, match=r"^elevation: .*0\.41"):
        wind.air_density(10_000.0)
    # the physically possible extremes still pass: Antarctic ice shelf, a hub over Everest
    assert wind.air_density(0.0, temperature_c=-30.0) == pytest.approx(
        101325.0 / (287.058 * 243.15)
    )
    assert 0.44 < wind.air_density(8849.0 + 300.0) < 0.47


def test_impossible_air_density_is_clamped_on_lazy_input_and_the_cf_stays_defined():
    elevation = xr.DataArray(da.from_array(np.array([0.0, 8900.0, 500.0]), chunks=1), dims="x")
    temperature = xr.DataArray(da.from_array(np.array([-56.0, -25.0, 10.0]), chunks=1), dims="x")
    rho = wind.air_density(elevation, temperature)
    assert isinstance(rho.data, da.Array) and "clamped" in rho.attrs["comment"]
    p500 = 101325.0 * (1.0 - 0.0065 * 500.0 / 288.15) ** (9.80665 / (287.058 * 0.0065))
    np.testing.assert_allclose(rho.values, [1.60, 0.44, p500 / (287.058 * 283.15)], rtol=1e-12)
    cf = wind.capacity_factor(7.0, "E-115/3000", air_density=rho).compute().values
    assert np.isfinite(cf).all()  # was NaN: the density left the tabulated 0.44..1.60
    for got, density in zip(cf[:2], (1.60, 0.44), strict=True):
        assert got == pytest.approx(_windpowerlib_cf("E-115/3000", 7.0, 2.0, density), rel=0.01)


def test_concrete_density_carries_no_clamp_comment() -> None:
    """Concrete input is checked, not clamped: no "clamped" comment on a DataArray of it."""

    from geotool.resources.atmosphere import air_density

    rho = air_density(xr.DataArray(np.array([0.0, 1000.0]), dims="x"))
    assert "comment" not in rho.attrs
    np.testing.assert_allclose(rho.values[0], 1.225, rtol=1e-3)  # ISA sea level
