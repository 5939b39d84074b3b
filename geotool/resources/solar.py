"""PV specific yield (kWh/kWp/yr) from an annual global horizontal irradiation.

Annual GHI alone does not say how sunlight splits into beam and diffuse or how it spreads
over the year, so a synthetic hourly year is built with pvlib for each latitude:

1. Sun geometry for a non-leap year (pvlib's Spencer declination / equation of time and
   analytical zenith and azimuth), at the centre of every hour of every 5th day.
2. Weather as a mixture of two sky states in every hour — clear (pvlib's Haurwitz clear sky,
   clear-sky index kc = 1) and overcast (kc = 0.2) — whose proportions reproduce the annual
   GHI. Hourly kc is bimodal with an overcast and a clear mode (Skartveit & Olseth 1992,
   Solar Energy 49:477-487; Suehrcke & McCormick 1988, Solar Energy 40:413-422); a single
   "average sky" underestimates the beam share and the tilt gain of cloudy climates by
   up to ~15 %. Sites brighter than the clear-sky model (kc > 1) use a single brighter state.
3. Per state: Erbs decomposition into DNI/DHI, Perez transposition to the module plane
   (albedo 0.2), angular reflection losses (pvlib ``iam.physical`` for beam, Marion's
   integral for diffuse), PVsyst cell temperature and a -0.35 %/K power coefficient.
4. Remaining system losses as a performance ratio (Global Solar Atlas: 3.5 % soiling and
   7.5 % other losses).

The yearly sums are tabulated over latitude × annual clear-sky index, so rasters are
interpolated, not simulated. Validated against full hourly pvlib simulations of pvlib's
TMY3 files (Greensboro NC, Sand Point AK) in ``tests/test_resources_solar.py``.
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import numpy as np
import pandas as pd
from pvlib import atmosphere, clearsky, iam, irradiance, solarposition, temperature
from scipy.interpolate import RegularGridInterpolator

from geotool.errors import InputError, ValueRangeError
from geotool.resources._array import (
    ArrayLike,
    apply_pointwise,
    built_once,
    check_range,
    is_lazy,
)

DEFAULT_PERFORMANCE_RATIO = (1.0 - 0.035) * (1.0 - 0.075)
"""0.8926: Global Solar Atlas 2 PVOUT losses not modelled hourly here — 3.5 % soiling and
7.5 % inverter, cabling, mismatch and transformer losses (Solargis, GSA 2.0 methodology).
Temperature and angular reflection losses are modelled separately."""

TEMPERATURE_COEFFICIENT_PER_K = -0.0035
"""Power temperature coefficient of crystalline-Si modules, -0.35 %/K (PVWatts v5
"premium" module; Dobos 2014, NREL/TP-6A20-62641)."""

ALBEDO = 0.2
"""Ground reflectance 0.2, the usual default for grass and mixed ground (pvlib
``irradiance.SURFACE_ALBEDOS['grass']``)."""

OVERCAST_CLEAR_SKY_INDEX = 0.2
"""Clear-sky index of the overcast state (see the module docstring). Assumption: placed at the
overcast mode of the bimodal hourly distributions cited there; checked by the TMY3 tests."""

ANNUAL_TEMPERATURE_AMPLITUDE_K = 8.0
"""Half the warmest-minus-coldest month contrast of the synthetic air temperature (K);
typical of humid subtropical and temperate climates. Assumption: only the correlation of warm
hours with bright hours matters here, so the yield changes by ≤1 % across 3–15 K (checked
with this model in the solar review, together with the daily amplitude below)."""
DAILY_TEMPERATURE_AMPLITUDE_K = 5.0
"""Half the typical 10 K diurnal temperature range (K), daily maximum at 15:00 solar time.
Assumption: 2.5–7.5 K changes the yield by ≤0.6 %."""

GHI_RANGE_KWH_M2_YR = (200.0, 3200.0)
"""Accepted annual GHI, kWh/m²/yr: the world's long-term annual GHI spans ~700–2,900 kWh/m²
(Global Solar Atlas 2, the ``ghi`` layer's catalog range); the wider limits only catch wrong
units, such as a daily mean in kWh/m²/day (2–8) or W/m² (80–330) passed as an annual sum."""
TEMPERATURE_RANGE_C = (-40.0, 45.0)
"""Accepted annual mean air temperature, °C: on land within ±70° annual means lie between
about −30 °C (Greenland ice sheet) and +35 °C (Dallol); the limits catch kelvin (≥ 233)."""

LATITUDE_AXIS = np.round(np.arange(-70.0, 70.0001, 2.5), 6)
CLEAR_SKY_INDEX_NODES = np.array([0.0, OVERCAST_CLEAR_SKY_INDEX, 1.0, 1.2, 1.4])
_KC_AXIS = np.round(np.arange(0.0, 1.40001, 0.05), 6)  # annual kc grid of the yield table
_TILT_AXIS = np.arange(0.0, 90.001, 5.0)  # refined by a parabola, see _best_tilt
_DAY_STEP = 5  # 73 days spread evenly over the year: < 0.01 % from simulating every day

Tilt = float | Literal["optimal"]


def _synthetic_year() -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DatetimeIndex]:
    """Hour centres of every ``_DAY_STEP``-th day of 2019 (UTC at longitude 0 = solar time)."""
    days = pd.date_range("2019-01-01", "2019-12-31", freq=f"{_DAY_STEP}D")
    times = pd.DatetimeIndex(
        [d + pd.Timedelta(minutes=30 + 60 * h) for d in days for h in range(24)], tz="UTC"
    )
    doy = times.day_of_year.to_numpy().astype(float)
    hour = times.hour.to_numpy() + 0.5
    return doy, hour, np.full(doy.shape, 365.0 / days.size), times


def _sun(latitudes: np.ndarray) -> dict[str, np.ndarray]:
    """Sun geometry of the synthetic year at daylight samples, flattened over (lat, time).

    ``lat_index`` maps each sample back to its latitude; ``weight`` turns sample sums into
    yearly sums (hours).
    """
    doy, hour, weight, times = _synthetic_year()
    decl = solarposition.declination_spencer71(doy)
    eot = solarposition.equation_of_time_spencer71(doy)
    ha = np.radians(solarposition.hour_angle(times, 0.0, eot))
    lat = np.radians(latitudes)[:, None]
    zen = solarposition.solar_zenith_analytical(lat, ha[None, :], decl[None, :])
    azi = solarposition.solar_azimuth_analytical(lat, ha[None, :], decl[None, :], zen)
    zen_deg = np.degrees(zen)
    day = zen_deg < 90.0
    lat_index = np.broadcast_to(np.arange(latitudes.size)[:, None], zen_deg.shape)[day]
    doy_day = np.broadcast_to(doy, zen_deg.shape)[day]
    zen_day = zen_deg[day]
    return {
        "lat_index": lat_index,
        "zenith": zen_day,
        "azimuth": (np.degrees(azi) % 360.0)[day],
        "clear_ghi": clearsky.haurwitz(pd.Series(zen_day))["ghi"].to_numpy(),
        "doy": doy_day,
        "hour": np.broadcast_to(hour, zen_deg.shape)[day],
        "weight": np.broadcast_to(weight, zen_deg.shape)[day],
        "dni_extra": np.asarray(irradiance.get_extra_radiation(doy_day)),
        "airmass": np.asarray(atmosphere.get_relative_airmass(zen_day)),
        "latitude": latitudes[lat_index],
    }


def _air_temperature_offset(sun: dict[str, np.ndarray]) -> np.ndarray:
    """Synthetic hourly air temperature minus its annual mean (K): seasonal + daily sinusoid."""
    peak_day = np.where(sun["latitude"] >= 0, 200.0, 17.0)  # ~mid-July / mid-January
    seasonal = ANNUAL_TEMPERATURE_AMPLITUDE_K * np.cos(2 * np.pi * (sun["doy"] - peak_day) / 365)
    daily = DAILY_TEMPERATURE_AMPLITUDE_K * np.cos(2 * np.pi * (sun["hour"] - 15.0) / 24.0)
    return np.asarray(seasonal + daily)


def _sky_states(sun: dict[str, np.ndarray], nodes: np.ndarray) -> list[dict[str, np.ndarray]]:
    """GHI and its Erbs split into DNI / DHI for each sky-state clear-sky index."""
    states = []
    for kc in nodes:
        ghi = sun["clear_ghi"] * kc
        split = irradiance.erbs(ghi, sun["zenith"], sun["doy"])
        states.append(
            {"ghi": ghi, "dni": np.asarray(split["dni"]), "dhi": np.asarray(split["dhi"])}
        )
    return states


def _plane_sums(
    sun: dict[str, np.ndarray],
    states: list[dict[str, np.ndarray]],
    tilt: float,
    azimuth: np.ndarray,
    dt: np.ndarray,
    n_lat: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Yearly sums per sky state and latitude for one tilt, each of shape (n_state, n_lat).

    ``E`` = Σ effective in-plane irradiance / 1000 W/m² (kWh/kWp at 25 °C, before the
    performance ratio) and ``C`` = Σ (G_eff/1000) (T_cell − T_mean − 25 °C), so that the
    temperature-corrected sum for annual mean air temperature ``T`` is ``E + γ (T E + C)``.
    """
    az = azimuth[sun["lat_index"]]
    angle = irradiance.aoi(tilt, az, sun["zenith"], sun["azimuth"])
    beam_factor = np.clip(np.cos(np.radians(angle)), 0.0, None) * iam.physical(angle)
    projection = np.clip(np.cos(np.radians(angle)), 0.0, None)
    diffuse_iam = iam.marion_diffuse("physical", tilt)
    e_out = np.zeros((len(states), n_lat))
    c_out = np.zeros_like(e_out)
    for i, st in enumerate(states):
        sky = irradiance.perez(
            tilt,
            az,
            st["dhi"],
            st["dni"],
            sun["dni_extra"],
            sun["zenith"],
            sun["azimuth"],
            sun["airmass"],
        )
        sky = np.nan_to_num(np.asarray(sky))
        ground = np.asarray(irradiance.get_ground_diffuse(tilt, st["ghi"], albedo=ALBEDO))
        poa = st["dni"] * projection + sky + ground
        effective = (
            st["dni"] * beam_factor + sky * diffuse_iam["sky"] + ground * diffuse_iam["ground"]
        ) / 1000.0
        cell = temperature.pvsyst_cell(poa, dt)
        w = sun["weight"]
        e_out[i] = np.bincount(sun["lat_index"], effective * w, minlength=n_lat)
        c_out[i] = np.bincount(sun["lat_index"], effective * (cell - 25.0) * w, minlength=n_lat)
    return e_out, c_out


def _equator_facing(latitudes: np.ndarray) -> np.ndarray:
    return np.where(latitudes >= 0, 180.0, 0.0)


@built_once(maxsize=8)
def _yield_table(tilt: Tilt, azimuth: float | None) -> dict[str, RegularGridInterpolator]:
    """Interpolators over (latitude, annual clear-sky index) of E, C and the tilt used."""
    lats = LATITUDE_AXIS
    sun = _sun(lats)
    dt = _air_temperature_offset(sun)
    az = _equator_facing(lats) if azimuth is None else np.full(lats.shape, float(azimuth))
    tilts = _TILT_AXIS if tilt == "optimal" else np.array([float(tilt)])
    nodes = CLEAR_SKY_INDEX_NODES
    states = _sky_states(sun, nodes[1:])
    # sums at the sky-state nodes: (n_node, n_tilt, n_lat); kc = 0 is darkness
    e_nodes = np.zeros((nodes.size, tilts.size, lats.size))
    c_nodes = np.zeros_like(e_nodes)
    for j, t in enumerate(tilts):
        e_nodes[1:, j], c_nodes[1:, j] = _plane_sums(sun, states, float(t), az, dt, lats.size)
    # annual kc between two nodes = mixture of the two states -> linear in kc
    e_kc = _interp_nodes(nodes, e_nodes, _KC_AXIS)  # (n_kc, n_tilt, n_lat)
    c_kc = _interp_nodes(nodes, c_nodes, _KC_AXIS)
    if tilts.size == 1:
        e_best, c_best = e_kc[:, 0, :], c_kc[:, 0, :]
        t_best = np.full(e_best.shape, tilts[0])
    else:
        e_best, c_best, t_best = _best_tilt(e_kc, c_kc, tilts)
    axes = (lats, _KC_AXIS)
    clear_wh = np.bincount(sun["lat_index"], sun["clear_ghi"] * sun["weight"], lats.size)
    clear_year = clear_wh / 1000.0  # kWh/m²/yr

    def grid(values: np.ndarray) -> RegularGridInterpolator:
        return RegularGridInterpolator(axes, values.T, bounds_error=False, fill_value=np.nan)

    return {
        "E": grid(e_best),
        "C": grid(c_best),
        "tilt": grid(t_best),
        "clear": RegularGridInterpolator(
            (lats,), clear_year, bounds_error=False, fill_value=np.nan
        ),
    }


def _interp_nodes(nodes: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(nodes, at, side="right") - 1, 0, nodes.size - 2)
    frac = (at - nodes[idx]) / (nodes[idx + 1] - nodes[idx])
    shape = (-1,) + (1,) * (values.ndim - 1)
    return values[idx] * (1 - frac.reshape(shape)) + values[idx + 1] * frac.reshape(shape)


def _best_tilt(
    e: np.ndarray, c: np.ndarray, tilts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tilt maximising E on the grid, refined by a parabola through the best three points."""
    n = tilts.size
    i: np.ndarray = np.clip(np.argmax(e, axis=1), 1, n - 2)  # (n_kc, n_lat)
    take = functools.partial(np.take_along_axis, axis=1)
    lo, mid, hi = (take(e, (i + d)[:, None, :])[:, 0, :] for d in (-1, 0, 1))
    curvature = lo - 2 * mid + hi
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where(curvature < 0, 0.5 * (lo - hi) / curvature, 0.0)
    delta = np.clip(delta, -1.0, 1.0)
    step = tilts[1] - tilts[0]
    t_best = np.clip(tilts[i] + delta * step, 0.0, 90.0)
    e_best = np.where(curvature < 0, mid - 0.25 * (lo - hi) * delta, e.max(axis=1))
    pos = np.clip(t_best / step, 0, n - 1.000001)
    j = np.floor(pos).astype(int)
    f = pos - j
    c_lo, c_hi = take(c, j[:, None, :])[:, 0, :], take(c, (j + 1)[:, None, :])[:, 0, :]
    dark = ~(e.max(axis=1) > 0)  # no light: any tilt is as good, report 0
    t_best = np.where(dark, 0.0, t_best)
    return e_best, c_lo * (1 - f) + c_hi * f, t_best


def _tilt_key(tilt: Tilt) -> Tilt:
    if isinstance(tilt, str):
        if tilt != "optimal":
            raise InputError(
                f"tilt = {tilt!r} is not a number or 'optimal'",
                where="tilt",
                fix="pass degrees from horizontal (0-90) or 'optimal'",
            )
        return "optimal"
    t = float(tilt)
    if not (math.isfinite(t) and 0.0 <= t <= 90.0):
        raise InputError(
            f"tilt = {tilt!r}° is outside 0..90",
            where="tilt",
            fix="pass degrees from horizontal (0-90) or 'optimal'",
        )
    return round(t, 3)


def _azimuth_key(azimuth: float | None) -> float | None:
    if azimuth is None:
        return None
    a = float(azimuth)
    if not (math.isfinite(a) and 0.0 <= a <= 360.0):
        raise InputError(
            f"azimuth = {azimuth!r}° is outside 0..360",
            where="azimuth",
            fix="degrees clockwise from north, 180 = south; None = equator-facing",
        )
    return round(a % 360.0, 3)


def _kc(table: dict[str, RegularGridInterpolator], ghi: np.ndarray, lat: np.ndarray) -> np.ndarray:
    clear = table["clear"](lat[..., None]).reshape(lat.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(ghi / clear)


def _points(*arrays: np.ndarray) -> np.ndarray:
    return np.stack(np.broadcast_arrays(*arrays), axis=-1)


def _yield_kernel(
    ghi: np.ndarray,
    lat: np.ndarray,
    temp: np.ndarray,
    *,
    tilt: Tilt,
    azimuth: float | None,
    pr: float,
    use_temp: bool,
) -> np.ndarray:
    table = _yield_table(tilt, azimuth)
    ghi, lat, temp = np.broadcast_arrays(_in_range(ghi, GHI_RANGE_KWH_M2_YR), lat, temp)
    kc = _kc(table, ghi, lat)
    pts = _points(lat, kc)
    e = table["E"](pts).reshape(ghi.shape)
    if not use_temp:
        return np.asarray(pr * e)
    temp = _in_range(temp, TEMPERATURE_RANGE_C)
    c = table["C"](pts).reshape(ghi.shape)
    return np.asarray(pr * (e + TEMPERATURE_COEFFICIENT_PER_K * (temp * e + c)))


def _in_range(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """``values`` with NaN outside ``bounds``: lazy inputs are not range-checked before the
    kernel runs, and a wrong unit must give no data, not a small or negative yield."""
    lo, hi = bounds
    with np.errstate(invalid="ignore"):
        return np.where((values >= lo) & (values <= hi), values, np.nan)


def _tilt_kernel(ghi: np.ndarray, lat: np.ndarray, *, azimuth: float | None) -> np.ndarray:
    table = _yield_table("optimal", azimuth)
    ghi, lat = np.broadcast_arrays(_in_range(ghi, GHI_RANGE_KWH_M2_YR), lat)
    return np.asarray(table["tilt"](_points(lat, _kc(table, ghi, lat))).reshape(ghi.shape))


def _clear_sky_index_kernel(
    ghi: np.ndarray, lat: np.ndarray, *, tilt: Tilt, azimuth: float | None
) -> np.ndarray:
    ghi, lat = np.broadcast_arrays(ghi, lat)
    return _kc(_yield_table(tilt, azimuth), ghi, lat)


def _first(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.broadcast_arrays(a, b)[0]


def _check_clear_sky(
    ghi: ArrayLike, latitude: ArrayLike, *, tilt: Tilt, azimuth: float | None
) -> None:
    """Raise when concrete GHI exceeds what the clear sky gives at its latitude.

    Lazy inputs are not checked (that would compute them); the kernels give NaN there.
    """
    if is_lazy(ghi) or is_lazy(latitude):
        return
    kw = {"tilt": tilt, "azimuth": azimuth}
    kc = np.asarray(apply_pointwise(_clear_sky_index_kernel, ghi, latitude, kwargs=kw))
    limit = float(CLEAR_SKY_INDEX_NODES[-1])
    with np.errstate(invalid="ignore"):
        over = kc > limit
    if not over.any():
        return
    worst = int(np.argmax(np.where(over, kc, -np.inf)))
    g = np.asarray(apply_pointwise(_first, ghi, latitude)).ravel()[worst]
    lat = np.asarray(apply_pointwise(_first, latitude, ghi)).ravel()[worst]
    raise ValueRangeError(
        f"GHI {g:g} kWh/m²/yr at latitude {lat:g}° is {kc.ravel()[worst]:.2f} × the clear-sky "
        f"annual sum there (at most {limit:g})",
        where="ghi",
        fix="check the units (kWh/m²/yr) and that latitude is in degrees north",
    )


def _check_solar_inputs(ghi: ArrayLike, latitude: ArrayLike) -> None:
    check_range(
        ghi,
        *GHI_RANGE_KWH_M2_YR,
        where="ghi",
        units="kWh/m²/yr",
        error=ValueRangeError,
        fix="pass the annual sum in kWh/m²/yr (a daily mean in kWh/m²/day × 365)",
    )
    check_range(
        latitude,
        float(LATITUDE_AXIS[0]),
        float(LATITUDE_AXIS[-1]),
        where="latitude",
        units="°",
        fix="pass degrees north (−70..70)",
        error=ValueRangeError,
    )


def pv_specific_yield(
    ghi_kwh_m2_yr: ArrayLike,
    latitude: ArrayLike,
    *,
    temperature_c: ArrayLike | None = None,
    tilt: Tilt = "optimal",
    azimuth: float | None = None,
    performance_ratio: float = DEFAULT_PERFORMANCE_RATIO,
) -> ArrayLike:
    """Annual AC energy per installed DC kW of a fixed PV array, kWh/kWp/yr.

    Parameters
    ----------
    ghi_kwh_m2_yr
        Annual global horizontal irradiation in kWh/m²/yr (200–3,200).
    latitude
        Degrees north, −70..70 (scalar or raster).
    temperature_c
        Annual mean air temperature in °C (scalar or raster). ``None`` leaves out
        temperature losses (cells at 25 °C), which overstates yield by ~3–8 % in warm places.
    tilt
        Module tilt from horizontal in degrees, or ``"optimal"`` — the tilt that maximises the
        annual effective in-plane irradiation for that latitude and climate (the Global Solar
        Atlas definition of its PVOUT reference system).
    azimuth
        Degrees clockwise from north (180 = south). ``None`` (default) faces the equator:
        180 in the northern hemisphere, 0 in the southern.
    performance_ratio
        Losses not modelled hourly (default 0.8926 = GSA soiling 3.5 % and other 7.5 %).

    Returns
    -------
    kWh/kWp/yr, same kind as the inputs. GHI above what the clear-sky model allows at that
    latitude (clear-sky index > 1.4), GHI, latitude or temperature outside the ranges above
    give NaN for lazy inputs and raise :class:`~geotool.errors.ValueRangeError` for concrete
    ones. NaN inputs (no data) give NaN.

    Examples
    --------
    >>> y = pv_specific_yield(1566.0, 36.1, temperature_c=14.4)  # Greensboro NC
    >>> 1300 < y < 1500
    True
    """
    t_key, a_key = _tilt_key(tilt), _azimuth_key(azimuth)
    if not (0.0 < performance_ratio <= 1.0):
        raise InputError(
            f"performance_ratio = {performance_ratio} is not in (0, 1]",
            where="performance_ratio",
            fix="e.g. 0.85",
        )
    _check_solar_inputs(ghi_kwh_m2_yr, latitude)
    _check_clear_sky(ghi_kwh_m2_yr, latitude, tilt=t_key, azimuth=a_key)
    if temperature_c is not None:
        check_range(
            temperature_c,
            *TEMPERATURE_RANGE_C,
            where="temperature_c",
            units="°C",
            fix="pass the annual mean in °C",
            error=ValueRangeError,
        )
    kwargs = {
        "tilt": t_key,
        "azimuth": a_key,
        "pr": float(performance_ratio),
        "use_temp": temperature_c is not None,
    }
    return apply_pointwise(
        _yield_kernel,
        ghi_kwh_m2_yr,
        latitude,
        0.0 if temperature_c is None else temperature_c,
        kwargs=kwargs,
        name="pv_yield",
        attrs={"units": "kWh/kWp/yr"},
    )


def optimal_tilt(
    ghi_kwh_m2_yr: ArrayLike, latitude: ArrayLike, *, azimuth: float | None = None
) -> ArrayLike:
    """Tilt (degrees) used by ``pv_specific_yield(..., tilt="optimal")``.

    Examples
    --------
    >>> 25 < optimal_tilt(1566.0, 36.1) < 40
    True
    """
    a_key = _azimuth_key(azimuth)
    _check_solar_inputs(ghi_kwh_m2_yr, latitude)
    _check_clear_sky(ghi_kwh_m2_yr, latitude, tilt="optimal", azimuth=a_key)
    return apply_pointwise(
        _tilt_kernel,
        ghi_kwh_m2_yr,
        latitude,
        kwargs={"azimuth": a_key},
        name="pv_optimal_tilt",
        attrs={"units": "degree"},
    )


def pole_facing_slope(
    slope_deg: ArrayLike, aspect_deg: ArrayLike, latitude: ArrayLike
) -> ArrayLike:
    """Terrain slope towards the nearer pole in degrees: > 0 faces the pole, < 0 the equator.

    The north-south component of the terrain gradient, ``atan(tan(slope) cos(aspect - pole))``
    with ``pole`` = 0° (north) at latitude ≥ 0 and 180° south of the equator. Fixed arrays face
    the equator, so on ground falling towards the pole each row shades the next for longer and
    rows must stand further apart: the shading-free row pitch ``cos β + sin β / (tan h − tan s)``
    (row width 1, tilt β, design sun elevation h at winter-solstice noon, pole-facing slope s)
    grows 1.2×, 1.5× and 2.4× at s = 5°, 10° and 15° on latitude 45° (β = 37°; 1.08×, 1.2×,
    1.37× on latitude 35°, β = 30°), while an equator-facing slope shrinks it. A criterion or constraint on this layer treats both hemispheres alike; one
    on raw ``aspect`` cannot (north-facing is the bad side only north of the equator).

    Parameters
    ----------
    slope_deg
        Terrain slope, degrees from horizontal (0-90).
    aspect_deg
        Downslope direction, degrees clockwise from north (``geotool.resources.aspect_degrees``;
        NaN on flat ground, which gives 0 here).
    latitude
        Degrees north (−90..90).

    Returns
    -------
    Degrees, same kind as the inputs.

    Examples
    --------
    >>> round(pole_facing_slope(10.0, 0.0, 30.0), 6)  # north-facing, northern hemisphere
    10.0
    >>> round(pole_facing_slope(10.0, 0.0, -30.0), 6)  # north-facing, southern hemisphere
    -10.0
    """
    check_range(slope_deg, 0.0, 90.0, where="slope", units="°", fix="pass degrees (0-90)")
    check_range(
        aspect_deg,
        0.0,
        360.0,
        where="aspect",
        units="°",
        fix="pass degrees clockwise from north (0-360)",
    )
    check_range(latitude, -90.0, 90.0, where="latitude", units="°", fix="pass degrees north")
    return apply_pointwise(
        _pole_facing_kernel,
        slope_deg,
        aspect_deg,
        latitude,
        name="pole_facing_slope",
        attrs={"units": "degree"},
    )


def _pole_facing_kernel(slope: np.ndarray, aspect: np.ndarray, lat: np.ndarray) -> np.ndarray:
    pole = np.where(lat >= 0, 0.0, 180.0)
    along = np.tan(np.radians(slope)) * np.cos(np.radians(aspect - pole))
    along = np.where(slope == 0, 0.0, along)  # flat: aspect is undefined (NaN)
    return np.asarray(np.degrees(np.arctan(along)))
