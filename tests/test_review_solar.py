"""Solar review: input guards of the PV yield model and terrain facing the sun, any hemisphere.

Expected values come from pvlib (top-of-atmosphere irradiation) or from geometry, never from a
run of geotool.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pvlib import irradiance, solarposition

from geotool.errors import ValueRangeError
from geotool.resources import solar


def toa_horizontal_kwh_m2_yr(latitude: float) -> float:
    """Annual extraterrestrial irradiation on a horizontal plane (pvlib, hourly, 2019)."""
    times = pd.date_range("2019-01-01 00:30", periods=8760, freq="h", tz="UTC")
    sp = solarposition.get_solarposition(times, latitude, 0.0)
    cos_z = np.clip(np.cos(np.radians(sp["zenith"].to_numpy())), 0.0, None)
    return float((irradiance.get_extra_radiation(times).to_numpy() * cos_z).sum()) / 1000.0


def test_ghi_above_top_of_atmosphere_raises_for_arrays_too() -> None:
    # 2,600 kWh/m²/yr at 65° N exceeds what reaches the top of the atmosphere there
    assert toa_horizontal_kwh_m2_yr(65.0) < 2600.0
    ghi = np.array([900.0, 2600.0])
    with pytest.raises(ValueRangeError, match="ghi"):
        solar.pv_specific_yield(ghi, 65.0)
    with pytest.raises(ValueRangeError, match="ghi"):
        solar.pv_specific_yield(xr.DataArray(ghi, dims="x"), 65.0)
    with pytest.raises(ValueRangeError, match="ghi"):
        solar.optimal_tilt(2600.0, 65.0)
    with pytest.raises(ValueRangeError, match="ghi"):
        solar.optimal_tilt(ghi, 65.0)


def test_missing_temperature_is_nodata_not_a_clear_sky_error() -> None:
    # 1,500 kWh/m²/yr at 30° N is ordinary; NaN temperature is nodata, as in a raster
    assert np.isnan(solar.pv_specific_yield(1500.0, 30.0, temperature_c=float("nan")))
    out = solar.pv_specific_yield(
        np.array([1500.0, 1500.0]), 30.0, temperature_c=np.array([15.0, np.nan])
    )
    assert np.isfinite(out[0]) and np.isnan(out[1])


def test_lazy_out_of_range_inputs_give_nan_like_the_concrete_check() -> None:
    # concrete inputs raise (daily mean 4.5 kWh/m²/day, temperature in kelvin); lazy inputs
    # cannot raise without computing, so they must give NaN, never a small or negative yield
    with pytest.raises(ValueRangeError):
        solar.pv_specific_yield(4.5, 30.0)
    with pytest.raises(ValueRangeError):
        solar.pv_specific_yield(1500.0, 30.0, temperature_c=288.15)
    ghi = da.from_array(np.array([4.5, 1500.0, 1500.0]), chunks=1)
    temp = da.from_array(np.array([15.0, 288.15, 15.0]), chunks=1)
    out = solar.pv_specific_yield(ghi, 30.0, temperature_c=temp).compute()
    assert np.isnan(out[0]) and np.isnan(out[1]) and 1000.0 < out[2] < 2000.0
    tilt = solar.optimal_tilt(da.from_array(np.array([4.5, 1500.0])), 30.0).compute()
    assert np.isnan(tilt[0]) and 20.0 < tilt[1] < 35.0


@pytest.mark.parametrize(
    ("aspect", "latitude", "expected"),
    [
        (0.0, 30.0, 10.0),  # north-facing in the north: faces the pole
        (180.0, 30.0, -10.0),  # south-facing in the north: faces the equator
        (180.0, -30.0, 10.0),  # south-facing in the south: faces the pole
        (0.0, -30.0, -10.0),  # north-facing in the south: faces the equator
        (90.0, 30.0, 0.0),  # east-facing: no north-south component
        (270.0, -30.0, 0.0),
    ],
)
def test_pole_facing_slope_flips_with_the_hemisphere(
    aspect: float, latitude: float, expected: float
) -> None:
    got = solar.pole_facing_slope(10.0, aspect, latitude)
    assert got == pytest.approx(expected, abs=1e-9)


def test_pole_facing_slope_is_the_north_south_component_of_the_gradient() -> None:
    # plane z = a*x + b*y (x east, y north): north-south slope is atan(|b|) whatever a is
    a, b = 0.3, -0.2  # rises to the east and to the south -> faces north-west
    slope = np.degrees(np.arctan(np.hypot(a, b)))
    aspect = np.degrees(np.arctan2(-a, -b)) % 360.0  # downslope direction, clockwise from N
    expected = np.degrees(np.arctan(0.2))  # falls 0.2 per metre towards the north
    assert solar.pole_facing_slope(slope, aspect, 40.0) == pytest.approx(expected)
    assert solar.pole_facing_slope(slope, aspect, -40.0) == pytest.approx(-expected)
    flat = solar.pole_facing_slope(np.array([0.0]), np.array([np.nan]), np.array([10.0]))
    assert flat[0] == 0.0  # flat ground has no aspect (NaN) and no pole-facing slope
    lazy = solar.pole_facing_slope(
        xr.DataArray(da.from_array(np.array([10.0, 10.0]), chunks=1), dims="x"),
        180.0,
        xr.DataArray(np.array([30.0, -30.0]), dims="x"),
    )
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_allclose(lazy.compute().values, [-10.0, 10.0])


def test_row_pitch_figures_quoted_for_pole_facing_slopes() -> None:
    # shading-free pitch cos b + sin b / (tan h - tan s), h = winter-solstice noon elevation
    def pitch(lat: float, tilt: float, s: float) -> float:
        h, b, s = np.radians(90.0 - lat - 23.44), np.radians(tilt), np.radians(s)
        return float(np.cos(b) + np.sin(b) / (np.tan(h) - np.tan(s)))

    ratios = [pitch(45.0, 37.0, s) / pitch(45.0, 37.0, 0.0) for s in (5.0, 10.0, 15.0)]
    np.testing.assert_allclose(ratios, [1.19, 1.53, 2.38], atol=0.01)
    doc = solar.pole_facing_slope.__doc__ or ""
    assert "1.2×, 1.5× and 2.4×" in doc


def test_pvout_range_accepts_every_yield_the_ghi_model_gives() -> None:
    # a user's PVOUT raster and the yield derived from GHI are the same quantity: where the
    # model yields 2,742 kWh/kWp/yr (Atacama-like GHI 2,900 kWh/m², 24° S, no temperature
    # losses) a PVOUT of that value must not be refused as out of range
    from geotool.catalog import get_layer
    from geotool.io.raster import check_values

    ghi_max = get_layer("ghi").valid_range
    assert ghi_max is not None and ghi_max[1] >= 2900.0
    highest = float(solar.pv_specific_yield(2900.0, -24.0))
    check_values(np.array([highest], dtype="float32"), get_layer("pvout"), "pvout.tif")
