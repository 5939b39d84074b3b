"""Geothermal physics against hand computations."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from geotool.errors import InputError, ValueRangeError
from geotool.resources import geothermal as geo


def test_shenyang_well_temperature():
    # 8 °C surface + 30 °C/km × 2.9 km = 95 °C
    assert geo.temperature_at_depth(8.0, 2900.0, gradient_c_per_km=30.0) == pytest.approx(95.0)


def test_gradient_from_heat_flow_is_q_over_k():
    assert geo.gradient_from_heat_flow(65.0, 2.5) == pytest.approx(26.0)
    assert geo.gradient_from_heat_flow(65.0) == pytest.approx(26.0)  # default k = 2.5
    t = geo.temperature_at_depth(10.0, 2000.0, heat_flow_mw_m2=80.0, conductivity_w_mk=2.0)
    assert t == pytest.approx(10.0 + 40.0 * 2.0)


def test_depth_to_temperature_inverts_temperature_at_depth():
    assert geo.depth_to_temperature(95.0, 8.0, gradient_c_per_km=30.0) == pytest.approx(2900.0)
    out = geo.depth_to_temperature(np.array([400.0, 5.0]), 8.0, gradient_c_per_km=30.0)
    assert np.isnan(out[0])  # 13 km: beyond reach
    assert out[1] == 0.0  # already warmer at the surface


def test_heat_in_place_matches_hand_computation():
    # USGS volumetric method, one km², 500 m thick, 120 °C reservoir, 20 °C reference:
    # [2600·900·(1−0.08) + 1000·4180·0.08] J/m³/K × 1e6 m² × 500 m × 100 K
    rho_c = 2600 * 900 * (1 - 0.08) + 1000 * 4180 * 0.08  # = 2,487,200 J/m³/K
    hand = rho_c * 1e6 * 500 * 100  # = 1.2436e17 J
    got = geo.heat_in_place(
        120.0,
        500.0,
        reference_temp_c=20.0,
        porosity=0.08,
        rock_density_kg_m3=2600.0,
        rock_heat_capacity_j_kgk=900.0,
    )
    assert got == pytest.approx(hand) and hand == pytest.approx(1.2436e17)
    # scales with area, vanishes below the reference temperature
    assert geo.heat_in_place(120.0, 500.0, area_km2=3.0) == pytest.approx(
        3 * geo.heat_in_place(120.0, 500.0)
    )
    assert geo.heat_in_place(10.0, 500.0, reference_temp_c=15.0) == 0.0


def test_recoverable_power_over_project_life():
    q = 1.2436e17  # J
    # R = 0.1 over 30 years: 1.2436e16 J / (30 × 365.25 × 86400 s) = 13.14 MW
    assert geo.recoverable_thermal_power_mw(q) == pytest.approx(
        q * 0.1 / (30 * 365.25 * 86400) / 1e6
    )
    assert geo.recoverable_thermal_power_mw(q) == pytest.approx(13.136, rel=1e-3)
    with pytest.raises(InputError, match="recovery_factor"):
        geo.recoverable_thermal_power_mw(q, recovery_factor=25)


def test_use_classes_follow_thresholds():
    t = np.array([10.0, 24.9, 25.0, 59.9, 60.0, 95.0, 100.0, 149.9, 150.0, 250.0, np.nan])
    np.testing.assert_array_equal(geo.use_class(t), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, np.nan])
    assert set(geo.USE_CLASS_NAMES) == {0, 1, 2, 3, 4}


def test_depth_out_of_range_raises():
    with pytest.raises(InputError, match="depth_m"):
        geo.temperature_at_depth(8.0, 12_000.0, gradient_c_per_km=30.0)
    with pytest.raises(InputError, match="depth_m"):
        geo.temperature_at_depth(8.0, -5.0, gradient_c_per_km=30.0)
    with pytest.raises(InputError, match="exactly one"):
        geo.temperature_at_depth(8.0, 1000.0)
    with pytest.raises(ValueRangeError, match="°C/km"):
        geo.temperature_at_depth(8.0, 1000.0, gradient_c_per_km=3000.0)  # °C/m × 1000 twice


def test_lazy_rasters_stay_lazy():
    surface = xr.DataArray(da.from_array(np.array([[8.0, 12.0]]), chunks=1), dims=("y", "x"))
    flow = xr.DataArray(da.from_array(np.array([[65.0, 90.0]]), chunks=1), dims=("y", "x"))
    t = geo.temperature_at_depth(surface, 2900.0, heat_flow_mw_m2=flow)
    cls = geo.use_class(t)
    assert isinstance(t.data, da.Array) and isinstance(cls.data, da.Array)
    np.testing.assert_allclose(t.values, [[8 + 26 * 2.9, 12 + 36 * 2.9]])
    np.testing.assert_array_equal(cls.values, [[2, 3]])
    q = geo.heat_in_place(t, 1000.0)
    assert isinstance(q.data, da.Array)
    deep = geo.temperature_at_depth(
        surface,
        xr.DataArray(da.from_array(np.array([[1.0, 2e4]])), dims=("y", "x")),
        gradient_c_per_km=30.0,
    )
    assert np.isnan(deep.values[0, 1])  # lazy: out-of-range depth becomes NaN
