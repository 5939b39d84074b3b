"""PV specific yield from annual GHI vs a full hourly pvlib simulation of pvlib's TMY3 files."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pvlib
import pytest
import xarray as xr
from pvlib import iam, iotools, irradiance, solarposition, temperature

from geotool.errors import InputError, ValueRangeError
from geotool.resources import solar

PVLIB_DATA = Path(pvlib.__file__).parent / "data"
SITES = ["723170TYA.CSV", "703165TY.csv"]  # Greensboro NC 36.1 N, Sand Point AK 55.3 N
PR = 0.85


def hourly_reference(fname: str, tilt: float, azimuth: float = 180.0) -> dict[str, float]:
    """Full hourly simulation with the file's own DNI / DHI / air temperature (pvlib only)."""
    df, meta = iotools.read_tmy3(PVLIB_DATA / fname, map_variables=True)
    times = df.index - pd.Timedelta("30min")  # TMY3 values are hour-ending averages
    sp = solarposition.get_solarposition(times, meta["latitude"], meta["longitude"])
    poa = irradiance.get_total_irradiance(
        tilt,
        azimuth,
        sp["apparent_zenith"],
        sp["azimuth"],
        df["dni"].to_numpy(),
        df["ghi"].to_numpy(),
        df["dhi"].to_numpy(),
        dni_extra=irradiance.get_extra_radiation(times).to_numpy(),
        airmass=pvlib.atmosphere.get_relative_airmass(sp["apparent_zenith"]).to_numpy(),
        albedo=0.2,
        model="perez",
    )
    aoi = irradiance.aoi(tilt, azimuth, sp["apparent_zenith"], sp["azimuth"])
    md = iam.marion_diffuse("physical", tilt)
    effective = (
        poa["poa_direct"].fillna(0) * iam.physical(aoi)
        + poa["poa_sky_diffuse"].fillna(0) * md["sky"]
        + poa["poa_ground_diffuse"].fillna(0) * md["ground"]
    )
    t_cell = temperature.pvsyst_cell(poa["poa_global"].fillna(0), df["temp_air"].to_numpy())
    dc = pvlib.pvsystem.pvwatts_dc(effective, t_cell, pdc0=1.0, gamma_pdc=-0.0035)
    return {
        "yield": float(dc.sum()) * PR,  # pdc0 = 1 kW: hourly sum is kWh per kWp
        "ghi": float(df["ghi"].sum()) / 1000.0,
        "lat": float(meta["latitude"]),
        "temp": float(df["temp_air"].mean()),
    }


@pytest.mark.parametrize("fname", SITES)
@pytest.mark.parametrize("tilt", [20.0, 40.0, "optimal"])
def test_yield_from_annual_ghi_matches_hourly_pvlib_within_5_percent(fname, tilt):
    ref0 = hourly_reference(fname, 0.0)
    used_tilt = float(solar.optimal_tilt(ref0["ghi"], ref0["lat"])) if tilt == "optimal" else tilt
    ref = hourly_reference(fname, used_tilt)
    ours = solar.pv_specific_yield(
        ref["ghi"], ref["lat"], temperature_c=ref["temp"], tilt=tilt, performance_ratio=PR
    )
    assert ours == pytest.approx(ref["yield"], rel=0.05)


def test_optimal_tilt_beats_neighbouring_tilts_in_the_hourly_reference():
    ref0 = hourly_reference(SITES[0], 0.0)
    best = float(solar.optimal_tilt(ref0["ghi"], ref0["lat"]))
    assert 25.0 < best < 40.0  # near latitude (36.1 N), a bit flatter
    at_best = hourly_reference(SITES[0], best)["yield"]
    assert at_best >= hourly_reference(SITES[0], best + 15.0)["yield"]
    assert at_best >= hourly_reference(SITES[0], best - 15.0)["yield"]


def test_yield_scales_with_pr_and_falls_with_temperature():
    base = solar.pv_specific_yield(1600.0, 30.0, temperature_c=15.0, performance_ratio=0.8)
    assert solar.pv_specific_yield(1600.0, 30.0, temperature_c=15.0, performance_ratio=0.4) == (
        pytest.approx(base / 2)
    )
    hot = solar.pv_specific_yield(1600.0, 30.0, temperature_c=30.0, performance_ratio=0.8)
    # 15 K warmer at -0.35 %/K: about 5 % less
    assert hot / base == pytest.approx(1 - 15 * 0.0035, abs=0.005)
    assert solar.pv_specific_yield(1600.0, 30.0, performance_ratio=0.8) > base


def test_southern_hemisphere_faces_north_and_mirrors_the_north():
    north = solar.pv_specific_yield(1800.0, 30.0, temperature_c=20.0)
    south = solar.pv_specific_yield(1800.0, -30.0, temperature_c=20.0)
    assert south == pytest.approx(north, rel=0.02)
    facing_pole = solar.pv_specific_yield(
        1800.0, -30.0, temperature_c=20.0, tilt=30.0, azimuth=180.0
    )
    assert facing_pole < 0.85 * south


def test_horizontal_yield_is_ghi_times_losses():
    # tilt 0: in-plane = GHI; only angular losses (a few %) and PR remain
    y = solar.pv_specific_yield(1500.0, 40.0, tilt=0.0, performance_ratio=1.0)
    assert 0.93 * 1500 < y < 0.99 * 1500


def test_numpy_dask_and_dataarray_inputs_agree_and_stay_lazy():
    ghi = np.array([[1100.0, 1500.0], [1900.0, 2200.0]])
    lat = np.array([[50.0, 40.0], [30.0, 20.0]])
    temp = np.array([[8.0, 14.0], [20.0, 26.0]])
    plain = solar.pv_specific_yield(ghi, lat, temperature_c=temp)
    assert plain.shape == (2, 2) and np.all((plain > 800) & (plain < 2100))
    lazy = solar.pv_specific_yield(
        xr.DataArray(da.from_array(ghi, chunks=1), dims=("y", "x")),
        xr.DataArray(lat, dims=("y", "x")),
        temperature_c=xr.DataArray(da.from_array(temp, chunks=1), dims=("y", "x")),
    )
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_allclose(lazy.compute().values, plain)
    raw = solar.pv_specific_yield(da.from_array(ghi, chunks=1), lat, temperature_c=temp)
    assert isinstance(raw, da.Array)
    np.testing.assert_allclose(raw.compute(), plain)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueRangeError, match="kWh/m²/yr"):
        solar.pv_specific_yield(4.5, 30.0)  # daily mean by mistake
    with pytest.raises(ValueRangeError, match="latitude"):
        solar.pv_specific_yield(1500.0, 80.0)
    with pytest.raises(InputError, match="tilt"):
        solar.pv_specific_yield(1500.0, 30.0, tilt="steep")
    with pytest.raises(InputError, match="performance_ratio"):
        solar.pv_specific_yield(1500.0, 30.0, performance_ratio=80)
    lazy = solar.pv_specific_yield(da.from_array(np.array([1500.0, 99999.0])), 30.0)
    assert np.isnan(lazy.compute()[1])  # lazy: out-of-range becomes NaN, never computed early
