"""Domain review of geothermal heat and data-centre physics against published figures."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from geotool.errors import ValueRangeError
from geotool.resources import datacenter as dc
from geotool.resources import geothermal as geo
from geotool.sites.params import param_value
from geotool.suitability.profile import load_profile

# ------------------------------------------------------------------ geothermal


def test_shenyang_2900_m_with_north_east_china_heat_flow_is_district_heating() -> None:
    # Shenyang annual mean air temperature 8.6 °C (China Statistical Yearbook 2009, table
    # 11-13). Heat flow: continental China 61 mW/m² (Hu et al. 2000, EPSL 179:407-419),
    # northern Songliao basin 67.2 mW/m² (GJI 2022, 229:962-983). k = 2.5 W/(m·K):
    # 61 / 2.5 = 24.4 °C/km -> 8.6 + 24.4 × 2.9 = 79.36 °C
    # 67.2 / 2.5 = 26.88 °C/km -> 8.6 + 26.88 × 2.9 = 86.552 °C
    t = geo.temperature_at_depth(8.6, 2900.0, heat_flow_mw_m2=np.array([61.0, 67.2]))
    np.testing.assert_allclose(t, [79.36, 86.552])
    # both inside the ~60-90 °C direct-use window: class 2, space / district heating
    np.testing.assert_array_equal(geo.use_class(t), [2, 2])
    # USGS volumetric: 1 km² × 1 km slab at 79.36 °C, 15 °C reference, defaults
    # ρc = 2700·1000·0.9 + 1000·4180·0.1 = 2,848,000 J/(m³·K)
    # Q = 2.848e6 × 1e9 m³ × 64.36 K = 1.8330e17 J; × 0.1 / (30 × 365.25 × 86400 s) = 19.36 MW
    q = geo.heat_in_place(79.36, 1000.0)
    assert q == pytest.approx(2.848e6 * 1e9 * 64.36)
    assert geo.recoverable_thermal_power_mw(q) == pytest.approx(19.36, abs=0.01)


def test_surface_temperature_in_kelvin_is_refused() -> None:
    # 8.6 °C given as 281.75 K would give 281.75 + 87 = 368.75 "°C" at 2.9 km
    with pytest.raises(ValueRangeError, match="surface_temp_c"):
        geo.temperature_at_depth(281.75, 2900.0, gradient_c_per_km=30.0)
    with pytest.raises(ValueRangeError, match="surface_temp_c"):
        geo.depth_to_temperature(95.0, 281.75, gradient_c_per_km=30.0)
    lazy = xr.DataArray(da.from_array(np.array([[8.6, 281.75]]), chunks=1), dims=("y", "x"))
    t = geo.temperature_at_depth(lazy, 2900.0, gradient_c_per_km=30.0)
    assert isinstance(t.data, da.Array)
    np.testing.assert_allclose(t.values, [[8.6 + 87.0, np.nan]])


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"heat_flow_mw_m2": np.array([0.0, 65.0])}, "heat_flow"),
        ({"gradient_c_per_km": np.array([30.0, 0.0])}, "gradient"),
    ],
)
def test_zero_heat_flow_or_gradient_is_named_a_fill_value(
    kwargs: dict[str, np.ndarray], where: str
) -> None:
    # no land surface conducts zero heat; continental heat flow is >= ~20 mW/m²
    # (Pollack, Hurter & Johnson 1993): an exact 0 is a fill value, and the fix is to
    # declare it as no data, not to convert units
    with pytest.raises(ValueRangeError, match=where) as err:
        geo.temperature_at_depth(8.6, 2900.0, **kwargs)
    msg = str(err.value)
    assert "fill value" in msg and "nodata" in msg and "\n" not in msg


def test_geothermal_profile_has_no_unused_radius() -> None:
    # no geothermal code reads [sites] radius_km (only the data-centre metrics do):
    # a planner editing it would change nothing
    assert param_value(load_profile("geothermal_heat"), "radius_km") is None


# ------------------------------------------------------------------ data centres

# CMA 1981-2010 normals, Shixing station (Shaoguan prefecture), °C, Jan..Dec
SHAOGUAN_MEAN = np.array([9.7, 11.6, 14.8, 20.3, 24.1, 26.7, 28.4, 28.1, 25.6, 21.6, 16.2, 11.0])
SHAOGUAN_HIGH = np.array([14.5, 15.9, 18.9, 24.6, 28.7, 31.5, 33.9, 33.5, 30.8, 27.3, 22.1, 17.1])
SHAOGUAN_LOW = np.array([6.3, 8.6, 11.9, 17.3, 20.8, 23.5, 24.7, 24.6, 22.1, 17.4, 11.9, 6.7])


def test_default_climate_amplitudes_match_shaoguan_normals() -> None:
    # seasonal amplitude: first harmonic of the 12 monthly means, divided by the month-mean
    # attenuation of a sinusoid, sin(π/12)/(π/12) = 0.98862 -> 9.349 / 0.98862 = 9.457 K
    first = 2 * abs(np.fft.rfft(SHAOGUAN_MEAN)[1]) / 12
    annual = first / (np.sin(np.pi / 12) / (np.pi / 12))
    assert annual == pytest.approx(9.457, abs=0.01)
    # daily amplitude: half the mean diurnal range, (24.9 - 16.3) / 2 = 4.29 K
    daily = float((SHAOGUAN_HIGH - SHAOGUAN_LOW).mean() / 2)
    assert daily == pytest.approx(4.29, abs=0.01)
    assert pytest.approx(annual, abs=0.1) == dc.DEFAULT_ANNUAL_AMPLITUDE_C
    assert pytest.approx(daily, abs=0.1) == dc.DEFAULT_DAILY_AMPLITUDE_C


def test_free_cooling_defaults_close_to_shaoguan_monthly_hand_count() -> None:
    # hand count from the same table: each month a daily sinusoid of half-range
    # (high - low)/2 around its mean; share of hours <= 22 °C = 1 - arccos(z)/π
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    half = (SHAOGUAN_HIGH - SHAOGUAN_LOW) / 2
    z = np.clip((22.0 - SHAOGUAN_MEAN) / half, -1.0, 1.0)
    hand = float(((1 - np.arccos(z) / np.pi) * days * 24).sum())  # 4,862 h
    assert hand == pytest.approx(4862.0, abs=1.0)
    got = dc.free_cooling_hours(float(SHAOGUAN_MEAN.mean()))
    # the sinusoidal year is a model (Shaoguan's summer is flatter than a cosine): 5 %
    assert got == pytest.approx(hand, rel=0.05)


def test_latency_route_factor_consistent_with_shaoguan_guangzhou() -> None:
    # Shaoguan (24.81 N, 113.60 E) - Guangzhou (23.13 N, 113.26 E): ~190 km great circle;
    # the reported one-way 1.3 ms is 1.3 / 0.0049 = 265 km of fibre, route factor ~1.4.
    # The default 1.5 is not shorter than that (latency_ms is round trip)
    lat1, lon1, lat2, lon2 = np.radians([24.81, 113.60, 23.13, 113.26])
    d = (
        2
        * 6371.0
        * np.arcsin(
            np.sqrt(
                np.sin((lat2 - lat1) / 2) ** 2
                + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
            )
        )
    )
    assert 185.0 < d < 195.0
    implied = 1.3 / dc.FIBRE_MS_PER_KM / d
    assert 1.3 < implied < dc.DEFAULT_ROUTE_FACTOR
    assert dc.latency_ms(d, route_factor=implied) == pytest.approx(2 * 1.3)
