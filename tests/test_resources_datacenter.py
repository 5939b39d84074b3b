"""Data-centre physics: free cooling vs an hourly simulation of the same climate model."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from geotool.errors import InputError, ValueRangeError
from geotool.resources import datacenter as dc


def hourly_count(mean: float, a_year: float, a_day: float, threshold: float) -> float:
    """Brute force: the documented sinusoid hour by hour over a year (fine sub-steps)."""
    t = np.arange(0, 8760, 0.05) + 0.025  # hours, 20 sub-steps per hour
    day, hour = t / 24.0, t % 24.0
    temp = (
        mean
        + a_year * np.cos(2 * np.pi * (day - 200) / 365)
        + a_day * np.cos(2 * np.pi * (hour - 15) / 24)
    )
    return float((temp <= threshold).mean() * 8760)


@pytest.mark.parametrize(
    ("mean", "a_year", "a_day"),
    [(12.0, 10.0, 5.0), (20.0, 8.0, 5.0), (25.0, 3.0, 4.0), (18.0, 14.0, 0.0), (22.0, 0.0, 6.0)],
)
def test_free_cooling_hours_match_hourly_simulation(mean, a_year, a_day):
    got = dc.free_cooling_hours(
        mean, annual_amplitude_c=a_year, daily_amplitude_c=a_day, supply_temp_c=27.0, approach_c=5.0
    )
    assert got == pytest.approx(hourly_count(mean, a_year, a_day, 22.0), abs=3.0)


def test_free_cooling_analytic_limits():
    # only the daily cycle: P(cos v <= z) = 1 - arccos(z)/π
    got = dc.free_cooling_hours(20.0, annual_amplitude_c=0.0, daily_amplitude_c=4.0)
    assert got == pytest.approx(8760 * (1 - np.arccos(0.5) / np.pi), abs=2.0)
    assert dc.free_cooling_hours(-5.0) == 8760.0
    assert dc.free_cooling_hours(40.0) == 0.0
    assert dc.free_cooling_hours(22.0, annual_amplitude_c=0.0, daily_amplitude_c=0.0) == 8760.0


def test_pue_bounds_and_linearity():
    assert dc.pue_estimate(0.0) == pytest.approx(1.58)
    assert dc.pue_estimate(8760.0) == pytest.approx(1.10)
    assert dc.pue_estimate(2190.0) == pytest.approx(1.58 - 0.48 / 4)
    with pytest.raises(ValueRangeError):
        dc.pue_estimate(9000.0)


def test_latency_formula():
    # rtt_ms = 2 × distance_km × route_factor × 0.0049
    assert dc.latency_ms(200.0) == pytest.approx(2 * 200 * 1.5 * 0.0049)
    assert dc.latency_ms(1000.0, route_factor=1.0) == pytest.approx(9.8)
    with pytest.raises(InputError, match="route_factor"):
        dc.latency_ms(10.0, route_factor=0.5)


def brute_focal(arr: np.ndarray, radius: float, dx: float, dy: float) -> np.ndarray:
    ny, nx = arr.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    out = np.zeros_like(arr)
    for i in range(ny):
        for j in range(nx):
            inside = ((xx - j) * dx) ** 2 + ((yy - i) * dy) ** 2 <= radius**2
            out[i, j] = np.nansum(np.where(inside, arr, 0.0))
    return out


def test_energy_within_radius_equals_brute_force_circle():
    rng = np.random.default_rng(1)
    arr = rng.random((23, 31))
    arr[3, 4] = np.nan
    ref = brute_focal(arr, 350.0, 100.0, 100.0)
    np.testing.assert_allclose(dc.energy_within_radius(arr, 350.0, 100.0), ref, atol=1e-9)
    # a circle, not a square: the pixel diagonal to the centre at 300 m is out of a 400 m disk
    k = dc.disk_kernel(400.0, 100.0, 100.0)
    assert k[0, 4] == 1 and k[1, 1] == 0 and k.sum() == 49


def test_energy_within_radius_dask_is_lazy_and_correct_for_any_chunks():
    rng = np.random.default_rng(2)
    arr = rng.random((30, 40))
    ref = brute_focal(arr, 650.0, 100.0, 50.0)
    for chunks in [(4, 5), (30, 40), (7, 40)]:
        out = dc.energy_within_radius(da.from_array(arr, chunks=chunks), 650.0, (100.0, 50.0))
        assert isinstance(out, da.Array)
        np.testing.assert_allclose(out.compute(), ref, atol=1e-9)
    xs, ys = np.arange(40) * 100.0, np.arange(30)[::-1] * 50.0
    labelled = xr.DataArray(
        da.from_array(arr, chunks=(8, 8)), dims=("y", "x"), coords={"x": xs, "y": ys}
    )
    out = dc.energy_within_radius(labelled, 650.0)  # pixel size from the coordinates
    assert isinstance(out.data, da.Array)
    np.testing.assert_allclose(out.values, ref, atol=1e-9)
    # radius larger than the whole array
    big = dc.energy_within_radius(da.from_array(arr, chunks=(7, 9)), 1e5, 100.0)
    np.testing.assert_allclose(big.compute(), np.full(arr.shape, arr.sum()), rtol=1e-12)


def test_free_cooling_and_pue_are_lazy():
    t = xr.DataArray(
        da.from_array(np.array([[5.0, 15.0], [22.0, 28.0]]), chunks=1), dims=("y", "x")
    )
    hours = dc.free_cooling_hours(t)
    pue = dc.pue_estimate(hours)
    assert isinstance(hours.data, da.Array) and isinstance(pue.data, da.Array)
    h = hours.values
    assert h[0, 0] == 8760 and h[0, 0] > h[0, 1] > h[1, 0] > h[1, 1]
    assert np.all((pue.values >= 1.1) & (pue.values <= 1.58))
