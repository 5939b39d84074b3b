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


def test_large_radius_is_summed_on_cells_within_the_stated_bound():
    # 30 m pixels, 16.5 km: 550 px > EXACT_RADIUS_PX, so summed on 2 x 2 cells; the
    # reference is scipy's exact FFT convolution with the 30 m disk. Where the whole disk lies
    # inside the array, the difference is bounded by 4*sqrt(2)*(f-1)*d/R of the sum
    from scipy.signal import fftconvolve

    d, radius = 30.0, 16_500.0
    assert dc.coarse_factor(radius, d, d) == 2
    n = 1_400
    yy, xx = np.mgrid[0:n, 0:n]
    rng = np.random.default_rng(7)
    field = 1.0 + 0.5 * np.sin(xx / 97.0) * np.cos(yy / 61.0) + 0.3 * rng.random((n, n))
    field[100:140, 900:960] = np.nan  # no data counts as 0 in both
    exact = fftconvolve(np.nan_to_num(field), dc.disk_kernel(radius, d, d), mode="same")
    approx = dc.energy_within_radius(field, radius, d)
    r = int(radius // d)
    inner = (slice(r, n - r), slice(r, n - r))
    bound = 4.0 * np.sqrt(2.0) * (2 - 1) * d / radius  # 1.03 %
    rel = np.abs(approx[inner] - exact[inner]) / exact[inner]
    assert rel.max() <= bound
    assert rel.max() > 0.0  # the cells are really in use
    lazy = dc.energy_within_radius(da.from_array(field, chunks=(300, 256)), radius, d)
    assert lazy.chunks == da.from_array(field, chunks=(300, 256)).chunks
    np.testing.assert_allclose(lazy.compute(), approx, rtol=1e-9)


def test_large_radius_keeps_each_blocks_fft_small(monkeypatch):
    # what bounds memory: the FFT of a block spans the cell block plus the cell kernel, never
    # the pixel block plus a 2R + 1 pixel kernel (3.4 GB at 30 m and 30 km on 2 threads)
    shapes = []
    real = dc.fftconvolve

    def spy(block, kernel, mode):
        if block.size:  # not dask's probe with empty arrays
            shapes.append((block.shape, kernel.shape))
        return real(block, kernel, mode=mode)

    monkeypatch.setattr(dc, "fftconvolve", spy)
    arr = da.ones((2_400, 2_400), chunks=1_024)
    out = dc.energy_within_radius(arr, 30_000.0, 30.0)  # R = 1,000 px, cells of 2 x 2
    assert float(out[1_200, 1_200].compute()) == pytest.approx(np.pi * 1_000**2, rel=0.01)
    assert shapes
    for block, kernel in shapes:
        assert kernel == (1_001, 1_001)  # the disk in 60 m cells: radius 500 cells
        # a 1,024-pixel chunk is 512 cells, plus halos; dask merges a last chunk thinner
        # than the halo into its neighbour (512 + 176 cells here)
        assert max(block) <= 2 * 512 + 2 * 500
