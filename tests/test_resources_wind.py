"""Wind physics checked against windpowerlib, the ISA table and analytic answers."""

from __future__ import annotations

import functools

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy.special import gamma
from windpowerlib import power_output
from windpowerlib.wind_turbine import WindTurbine

from geotool.errors import InputError, UnknownNameError, ValueRangeError
from geotool.resources import wind

TURBINES = ["E-53/800", "E-82/2350", "E-126/4200"]  # 0.8, 2.35 and 4.2 MW


V = np.arange(0.0, 45.0, 0.01)


@functools.cache
def windpowerlib_power(name: str, rho: float, v: tuple[float, float, float] = (0.0, 45.0, 0.01)):
    """windpowerlib's own density-corrected power curve (W) on the speed grid
    ``np.arange(*v)``, and the rated power (W)."""
    speeds = np.arange(*v)
    turbine = WindTurbine(hub_height=135.0, turbine_type=name)  # bundled oedb data, offline
    curve = turbine.power_curve
    p = power_output.power_curve(
        speeds,
        curve["wind_speed"],
        curve["value"],
        density=np.full(speeds.size, rho),
        density_correction=True,
    )
    return np.asarray(p), float(turbine.nominal_power)


def windpowerlib_cf(name: str, mean: float, k: float, rho: float) -> float:
    """Reference CF: windpowerlib's power curve over a finely sampled Weibull distribution."""
    p, rated = windpowerlib_power(name, rho)
    c = mean / gamma(1.0 + 1.0 / k)
    pdf = (k / c) * (V / c) ** (k - 1) * np.exp(-((V / c) ** k))
    return float(np.trapezoid(p * pdf, V) / rated)


@pytest.mark.parametrize("name", TURBINES)
def test_capacity_factor_matches_windpowerlib_within_1_percent(name):
    worst = 0.0
    for mean in (4.0, 6.0, 8.0, 10.0):
        for k in (1.5, 2.2, 3.0):
            for rho in (1.05, 1.225):
                ref = windpowerlib_cf(name, mean, k, rho)
                ours = wind.capacity_factor(mean, name, weibull_k=k, air_density=rho)
                worst = max(worst, abs(ours / ref - 1.0))
    assert worst < 0.01


def test_capacity_factor_covers_high_plateaus_and_cold_air():
    # ISA density at a 100 m hub above 6,000 m (Tibetan plateau) and above Everest, and cold
    # sea-level air: all tabulated (they were NaN on lazy input below 0.70 kg/m³), and within
    # 1 % of windpowerlib's density-corrected curve over a fine Weibull integral
    rho_6100 = float(wind.air_density(6100.0))
    rho_8950 = float(wind.air_density(8950.0))
    assert 0.44 < rho_8950 < rho_6100 < 0.70
    for rho in (rho_6100, rho_8950, 1.58):
        for mean in (6.0, 9.0):
            ref = windpowerlib_cf("E-82/2350", mean, 2.0, rho)
            ours = wind.capacity_factor(mean, "E-82/2350", air_density=rho)
            assert ours == pytest.approx(ref, rel=0.01)
    lazy = wind.capacity_factor(
        da.from_array(np.array([[7.0, 7.0]]), chunks=1),
        "E-82/2350",
        air_density=np.array([[rho_6100, rho_8950]]),
    ).compute()
    assert np.isfinite(lazy).all()


def test_capacity_factor_grows_with_speed_and_density_and_is_bounded():
    speeds = np.linspace(3.0, 12.0, 10)
    cf = wind.capacity_factor(speeds, "E-82/2350")
    assert np.all(np.diff(cf) > 0) and np.all((cf > 0) & (cf < 1))
    thin = wind.capacity_factor(7.0, "E-82/2350", air_density=1.0)
    assert thin < wind.capacity_factor(7.0, "E-82/2350", air_density=1.225)
    assert wind.capacity_factor(0.0, "E-82/2350") == 0.0


def test_capacity_factor_is_lazy_on_dask_and_agrees_with_numpy():
    mean = np.array([[5.0, 6.5], [7.5, 9.0]])
    k = np.array([[1.8, 2.0], [2.2, 2.6]])
    rho = np.array([[1.1, 1.15], [1.2, 1.225]])
    plain = wind.capacity_factor(mean, "E-82/2350", weibull_k=k, air_density=rho)
    lazy = wind.capacity_factor(
        xr.DataArray(da.from_array(mean, chunks=1), dims=("y", "x")),
        "E-82/2350",
        weibull_k=xr.DataArray(da.from_array(k, chunks=1), dims=("y", "x")),
        air_density=xr.DataArray(rho, dims=("y", "x")),
    )
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_allclose(lazy.compute().values, plain)
    raw = wind.capacity_factor(da.from_array(mean, chunks=1), "E-82/2350", weibull_k=k)
    assert isinstance(raw, da.Array)
    np.testing.assert_allclose(raw.compute(), wind.capacity_factor(mean, "E-82/2350", weibull_k=k))


def test_energy_is_cf_times_8760_and_losses():
    cf = wind.capacity_factor(7.0, "E-82/2350")
    assert wind.annual_energy_mwh_per_mw(7.0, "E-82/2350") == pytest.approx(cf * 8760)
    assert wind.annual_energy_mwh_per_mw(7.0, "E-82/2350", losses=0.1) == pytest.approx(
        cf * 8760 * 0.9
    )
    with pytest.raises(InputError):
        wind.annual_energy_mwh_per_mw(7.0, "E-82/2350", losses=1.5)


def test_power_density_is_analytic_and_matches_numeric_weibull_moment():
    # Rayleigh (k = 2): E[v³] = v̄³ · 6/π
    assert wind.power_density(7.0, 2.0, 1.225) == pytest.approx(0.5 * 1.225 * 7.0**3 * 6 / np.pi)
    k, mean = 1.7, 6.3
    c = mean / gamma(1 + 1 / k)
    v = np.linspace(0, 80, 400001)
    pdf = (k / c) * (v / c) ** (k - 1) * np.exp(-((v / c) ** k))
    assert wind.power_density(mean, k, 1.1) == pytest.approx(
        0.5 * 1.1 * np.trapezoid(v**3 * pdf, v), rel=1e-6
    )


def test_turbine_info_and_unknown_names():
    info = wind.turbine_info("e-82/2350")  # case-insensitive
    assert (info.name, info.nominal_power_mw, info.rotor_diameter_m) == ("E-82/2350", 2.35, 82.0)
    assert info.hub_heights_m == (59.0, 69.0, 78.0, 84.0)
    assert wind.turbine_info("ENO114/3500").hub_heights_m == (92.0, 127.5, 142.0)  # decimal commas
    with pytest.raises(UnknownNameError, match="E-82/2350"):
        wind.capacity_factor(7.0, "E-82/2305")
    with pytest.raises(InputError, match="hub height"):
        wind.capacity_factor(7.0, "E-126/4200", hub_height_m=50.0)
    assert len(wind.list_turbines()) > 50


def test_capacity_factor_rejects_wrong_units():
    with pytest.raises(ValueRangeError, match="km/h"):
        wind.capacity_factor(np.array([25.2, 30.0]), "E-82/2350")  # km/h by mistake
    with pytest.raises(ValueRangeError, match="weibull_k"):
        wind.capacity_factor(7.0, "E-82/2350", weibull_k=9.0)


def test_power_and_log_law_analytic():
    assert wind.wind_at_height(6.0, 10.0, 100.0) == pytest.approx(6.0 * 10 ** (1 / 7))
    assert wind.wind_at_height(6.0, 10.0, 100.0, alpha=0.2) == pytest.approx(6.0 * 10**0.2)
    assert wind.wind_at_height(6.0, 10.0, 100.0, roughness_m=0.1) == pytest.approx(
        6.0 * np.log(1000.0) / np.log(100.0)
    )
    # the equivalent exponent reproduces the log law
    alpha = wind.shear_exponent_from_roughness(0.1, 10.0, 100.0)
    assert wind.wind_at_height(6.0, 10.0, 100.0, alpha=alpha) == pytest.approx(
        wind.wind_at_height(6.0, 10.0, 100.0, roughness_m=0.1)
    )
    with pytest.raises(InputError, match="not alpha and roughness_m"):
        wind.wind_at_height(6.0, 10.0, 100.0, alpha=0.2, roughness_m=0.1)
    with pytest.raises(InputError, match="from_height_m"):
        wind.wind_at_height(6.0, -10.0, 100.0)


def test_land_cover_roughness_and_lazy_shear():
    codes = np.array([[10, 30], [80, 0]])
    z0 = wind.roughness_from_land_cover(codes)
    np.testing.assert_array_equal(z0, [[1.0, 0.03], [0.0002, np.nan]])
    speed = np.full((2, 2), 7.0)
    lazy = wind.wind_at_height(
        xr.DataArray(da.from_array(speed, chunks=1), dims=("y", "x")),
        100.0,
        150.0,
        land_cover=xr.DataArray(da.from_array(codes, chunks=1), dims=("y", "x")),
    )
    assert isinstance(lazy.data, da.Array)
    out = lazy.compute().values
    assert out[0, 0] == pytest.approx(7.0 * np.log(150.0) / np.log(100.0))
    assert out[1, 0] < out[0, 1] < out[0, 0]  # rougher surface, stronger shear
    assert out[1, 1] == pytest.approx(7.0 * 1.5 ** (1.0 / 7.0))  # no class: the 1/7 power law


def test_air_density_matches_the_standard_atmosphere_table():
    # ISO 2533 / US Standard Atmosphere 1976 table: 0 m 1.2250, 1000 m 1.1117,
    # 2000 m 1.0066, 3000 m 0.9093, 5000 m 0.7364 kg/m³
    table = {0.0: 1.2250, 1000.0: 1.1117, 2000.0: 1.0066, 3000.0: 0.9093, 5000.0: 0.7364}
    got = wind.air_density(np.array(list(table)))
    np.testing.assert_allclose(got, list(table.values()), rtol=5e-4)
    # ideal gas with a given temperature: p(0) / (R T)
    assert wind.air_density(0.0, temperature_c=30.0) == pytest.approx(101325 / (287.058 * 303.15))
    lazy = wind.air_density(xr.DataArray(da.from_array(np.array([0.0, 1000.0])), dims="x"))
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_allclose(lazy.values, [table[0.0], table[1000.0]], rtol=5e-4)
    with pytest.raises(ValueRangeError, match="elevation"):
        wind.air_density(20_000.0)


def test_pixels_without_land_cover_take_the_one_seventh_power_law() -> None:
    """WorldCover no data (0, or NaN after cleaning) has no roughness: the hub wind falls
    back to v (h2/h1)^(1/7) instead of NaN; classified pixels keep the log law."""
    v = np.array([6.0, 6.0, 6.0])
    out = wind.wind_at_height(v, 100.0, 122.0, land_cover=np.array([30.0, 0.0, np.nan]))
    z0 = 0.03  # WorldCover 30 (grassland), Wieringa 1992 class as in WORLDCOVER_ROUGHNESS_M
    assert out[0] == pytest.approx(6.0 * np.log(122.0 / z0) / np.log(100.0 / z0), rel=1e-12)
    np.testing.assert_allclose(out[1:], 6.0 * 1.22 ** (1.0 / 7.0), rtol=1e-12)
