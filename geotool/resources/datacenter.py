"""Data-centre siting physics: free-cooling hours, PUE, network latency, nearby green power.

Free cooling uses a sinusoidal climate: hourly outdoor dry-bulb temperature

    T(d, h) = T_mean + A_year cos(2π (d − d_peak) / 365) + A_day cos(2π (h − h_peak) / 24)

Over a year the seasonal and daily phases are independent and uniform, so the fraction of
hours with ``T ≤ T_threshold`` is ``P(A_year cos u + A_day cos v ≤ T_threshold − T_mean)`` for
independent uniform angles u, v — tabulated once (no time loop per pixel). The economiser
runs when the outdoor air is at least one approach temperature below the supply air the IT
equipment may receive (ASHRAE TC 9.9 recommended inlet 18–27 °C). Humidity limits are not
modelled.
"""

from __future__ import annotations

import math
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from scipy.interpolate import RegularGridInterpolator
from scipy.signal import fftconvolve

from geotool.errors import InputError, ValueRangeError
from geotool.resources._array import ArrayLike, apply_pointwise, built_once, check_range

HOURS_PER_YEAR = 8760.0

ASHRAE_RECOMMENDED_INLET_C = (18.0, 27.0)
"""ASHRAE TC 9.9 *Thermal Guidelines for Data Processing Environments* (3rd ed. 2011 onward)
recommended server inlet range, °C (classes A1–A4)."""
DEFAULT_SUPPLY_TEMP_C = ASHRAE_RECOMMENDED_INLET_C[1]
"""Supply (server inlet) air at the top of the ASHRAE recommended range, 27 °C."""
DEFAULT_APPROACH_C = 5.0
"""Economiser approach: outdoor air must be 5 K below the supply air — an assumption for an
indirect air-side economiser with a plate air-to-air heat exchanger and fan heat
(Dunnavant 2011, ASHRAE Journal 53(3):44-54 describes the cycle); use 1–2 K for direct
fresh-air cooling, 8–10 K for water-side economisers with cooling towers."""
DEFAULT_ANNUAL_AMPLITUDE_C = 9.5
"""Seasonal amplitude of daily mean temperature, K, for Shaoguan (the embedded demo region
and the Guangdong–HK–Macao hub cluster): CMA 1981–2010 normals for Shixing station,
Shaoguan, monthly means 9.7 °C (Jan) .. 28.4 °C (Jul); first harmonic of the 12 means
9.35 K, ÷ 0.989 for month averaging = 9.46 K. Continental climates are far larger (Shenyang
~18 K: −12.6 / 24.5 °C, China Statistical Yearbook 2009 table 11-13), the tropics 2–4 K:
set ``[resources] annual_amplitude_c`` for other regions."""
DEFAULT_DAILY_AMPLITUDE_C = 4.3
"""Half the diurnal temperature range, K: Shixing station (Shaoguan) CMA 1981–2010 normals,
mean daily maximum 24.9 °C and minimum 16.3 °C (DTR 8.6 K). Arid inland sites reach
DTR 15–20 K, coasts ~5 K: set ``[resources] daily_amplitude_c`` for other regions."""

PUE_BEST = 1.10
"""PUE of free-air-cooled hyperscale sites in cold climates (Nordic sites report 1.07–1.12,
e.g. Meta Luleå; Google fleet-wide trailing-twelve-month PUE 1.10 in 2023)."""
PUE_AVERAGE = 1.58
"""Global average annual PUE, Uptime Institute Global Data Center Survey 2023."""

FIBRE_MS_PER_KM = 0.0049
"""One-way propagation delay in optical fibre, 4.9 µs/km (group index ≈ 1.47: c / 1.47)."""
DEFAULT_ROUTE_FACTOR = 1.5
"""Fibre route length over straight-line distance, an assumption: fibre follows roads, rail
and existing ducts, and measured Internet paths are well above great-circle length
(Singla et al. 2014, "The Internet at the speed of light", ACM HotNets)."""


# ---------------------------------------------------------------- free cooling
@built_once(maxsize=1)
def _cooling_table() -> RegularGridInterpolator:
    """F(τ, r) = P(cos u (1 − r) + cos v r ≤ τ), u, v ~ U(0, 2π), on a (τ, r) grid."""
    tau = np.linspace(-1.0, 1.0, 401)
    ratio = np.linspace(0.0, 1.0, 101)
    u = (np.arange(4000) + 0.5) * np.pi / 4000  # midpoints on [0, π] (cos u is symmetric)
    cos_u = np.cos(u)
    table = np.empty((tau.size, ratio.size))
    for j, r in enumerate(ratio):
        rest = tau[:, None] - (1.0 - r) * cos_u[None, :]
        if r == 0.0:
            table[:, j] = (rest >= 0).mean(axis=1)
        else:
            z = np.clip(rest / r, -1.0, 1.0)
            table[:, j] = (1.0 - np.arccos(z) / np.pi).mean(axis=1)
    return RegularGridInterpolator((tau, ratio), table, bounds_error=False, fill_value=None)


def _free_cooling_kernel(
    t_mean: np.ndarray, a_year: np.ndarray, a_day: np.ndarray, threshold: np.ndarray
) -> np.ndarray:
    span = np.abs(a_year) + np.abs(a_day)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.clip((threshold - t_mean) / np.where(span > 0, span, np.nan), -1.0, 1.0)
        ratio = np.abs(a_day) / np.where(span > 0, span, np.nan)
    pts = np.stack(np.broadcast_arrays(tau, ratio), axis=-1)
    frac = np.full(tau.shape, np.nan)
    ok = np.isfinite(pts).all(axis=-1)
    frac[ok] = np.clip(_cooling_table()(pts[ok]), 0.0, 1.0)
    constant = (span == 0) & np.isfinite(t_mean) & np.isfinite(threshold)  # no variation
    frac = np.where(constant, (t_mean <= threshold).astype(float), frac)
    return frac * HOURS_PER_YEAR


def free_cooling_hours(
    mean_temp_c: ArrayLike,
    *,
    annual_amplitude_c: ArrayLike = DEFAULT_ANNUAL_AMPLITUDE_C,
    daily_amplitude_c: ArrayLike = DEFAULT_DAILY_AMPLITUDE_C,
    supply_temp_c: float = DEFAULT_SUPPLY_TEMP_C,
    approach_c: float = DEFAULT_APPROACH_C,
) -> ArrayLike:
    """Hours per year (0..8760) cool enough for economiser ("free") cooling.

    Counts hours of the sinusoidal climate (module docstring) with outdoor dry-bulb
    ``≤ supply_temp_c − approach_c`` (default 27 − 5 = 22 °C).

    Parameters
    ----------
    mean_temp_c
        Annual mean air temperature in °C (scalar or raster).
    annual_amplitude_c, daily_amplitude_c
        Seasonal and daily half-ranges in K (scalars or rasters).
    supply_temp_c
        Highest supply (server inlet) air temperature, °C (ASHRAE recommended ≤ 27).
    approach_c
        How much colder than the supply the outdoor air must be, K.

    Examples
    --------
    >>> round(free_cooling_hours(22.0))      # mean at the threshold: half the year
    4380
    >>> round(free_cooling_hours(5.0))       # cold climate: always
    8760
    """
    check_range(
        mean_temp_c,
        -60.0,
        45.0,
        where="mean_temp_c",
        units="°C",
        fix="pass the annual mean in °C (not kelvin)",
        error=ValueRangeError,
    )
    for label, amp in (
        ("annual_amplitude_c", annual_amplitude_c),
        ("daily_amplitude_c", daily_amplitude_c),
    ):
        check_range(amp, 0.0, 40.0, where=label, units="K", fix="half the range, e.g. 8")
    if not (math.isfinite(supply_temp_c) and math.isfinite(approach_c) and approach_c >= 0):
        raise InputError(
            f"supply_temp_c={supply_temp_c}, approach_c={approach_c} are not valid",
            where="free_cooling_hours",
            fix="e.g. supply 27 °C, approach 5 K",
        )
    return apply_pointwise(
        _free_cooling_kernel,
        mean_temp_c,
        annual_amplitude_c,
        daily_amplitude_c,
        supply_temp_c - approach_c,
        name="free_cooling_hours",
        attrs={"units": "h/yr"},
    )


# ---------------------------------------------------------------- PUE
def pue_estimate(
    free_cooling_hours: ArrayLike,
    *,
    pue_free_cooling: float = PUE_BEST,
    pue_mechanical: float = PUE_AVERAGE,
) -> ArrayLike:
    """Annual PUE from free-cooling hours, linear between two cited bounds.

    ``PUE = pue_mechanical − (pue_mechanical − pue_free_cooling) · hours / 8760``: the
    compressor share of cooling energy falls in proportion to economiser hours while fan,
    pump, UPS and lighting overheads stay. 0 h gives the 2023 global average 1.58 (Uptime
    Institute), 8,760 h the 1.10 of free-air-cooled Nordic sites.

    Examples
    --------
    >>> round(pue_estimate(4380.0), 3)
    1.34
    """
    if not (1.0 <= pue_free_cooling <= pue_mechanical):
        raise InputError(
            f"PUE bounds {pue_free_cooling}..{pue_mechanical} are not ordered and >= 1",
            where="pue_estimate",
            fix="e.g. 1.10 and 1.58",
        )
    check_range(
        free_cooling_hours,
        0.0,
        HOURS_PER_YEAR,
        where="free_cooling_hours",
        units="h",
        fix="hours per year, 0-8760",
        error=ValueRangeError,
    )
    return apply_pointwise(
        _pue_kernel,
        free_cooling_hours,
        kwargs={"best": float(pue_free_cooling), "worst": float(pue_mechanical)},
        name="pue",
        attrs={"units": "1"},
    )


def _pue_kernel(hours: np.ndarray, *, best: float, worst: float) -> np.ndarray:
    share = np.clip(hours / HOURS_PER_YEAR, 0.0, 1.0)
    return worst - (worst - best) * share


# ---------------------------------------------------------------- latency
def latency_ms(distance_km: ArrayLike, *, route_factor: float = DEFAULT_ROUTE_FACTOR) -> ArrayLike:
    """Round-trip fibre propagation latency in milliseconds.

    ``rtt_ms = 2 × distance_km × route_factor × 0.0049`` (4.9 µs/km one way in fibre;
    switching and queueing delays are not included).

    Examples
    --------
    >>> round(latency_ms(1000.0, route_factor=1.0), 2)   # ≈ 10 ms per 1,000 km
    9.8
    """
    if not (math.isfinite(route_factor) and route_factor >= 1.0):
        raise InputError(
            f"route_factor = {route_factor} must be >= 1",
            where="route_factor",
            fix="fibre is never shorter than the straight line; e.g. 1.5",
        )
    check_range(
        distance_km,
        0.0,
        40_100.0,
        where="distance_km",
        units="km",
        fix="pass kilometres (metres / 1000)",
        error=ValueRangeError,
    )
    return apply_pointwise(
        np.multiply,
        distance_km,
        2.0 * route_factor * FIBRE_MS_PER_KM,
        name="latency_ms",
        attrs={"units": "ms"},
    )


# ---------------------------------------------------------------- energy within a radius
def disk_kernel(radius_m: float, dx_m: float, dy_m: float) -> np.ndarray:
    """1/0 kernel of pixels whose centres lie within ``radius_m`` of the centre pixel's.

    >>> disk_kernel(100.0, 100.0, 100.0).astype(int)
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    """
    ry, rx = int(radius_m // dy_m), int(radius_m // dx_m)
    yy, xx = np.mgrid[-ry : ry + 1, -rx : rx + 1]
    return ((xx * dx_m) ** 2 + (yy * dy_m) ** 2 <= radius_m**2 * (1 + 1e-12)).astype(float)


EXACT_RADIUS_PX = 512
"""Largest radius, in pixels, that :func:`energy_within_radius` sums at the grid's own
resolution. A larger one is summed on cells of f × f pixels, f the smallest power of 2 that
brings the radius to at most 512 cells, and each pixel takes its cell's sum. Each block's
FFT then spans about (chunk / f + 2 × 512 + 1,025)² values instead of (chunk + 4R + 1)²: at
30 m and 30 km (R = 1,000 px) the exact sum held 3.4 GB and took 92 s on the 6,381 × 5,944
Shaoguan grid (measured here). A pixel and its cell's centre are at most (f − 1)·√2·d/2
apart, so only pixels within (f − 1)·√2·d of the disk's edge can be counted differently:
at most 4√2·(f − 1)·d / R of the sum of a uniform field — 0.57 % at 30 m and 30 km (f = 2),
below 2.2 % at any resolution (R > 256 cells of f·d)."""


def coarse_factor(radius_m: float, dx_m: float, dy_m: float) -> int:
    """Pixels per cell side that :func:`energy_within_radius` sums on (1 = exact).

    >>> coarse_factor(30_000.0, 100.0, 100.0), coarse_factor(30_000.0, 30.0, 30.0)
    (1, 2)
    >>> coarse_factor(30_000.0, 10.0, 10.0)
    8
    """
    radius_px = max(radius_m // dx_m, radius_m // dy_m)
    factor = 1
    while radius_px / factor > EXACT_RADIUS_PX:
        factor *= 2
    return factor


def _focal_sum_block(block: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    filled = np.where(np.isfinite(block), block, 0.0)
    out = fftconvolve(filled, kernel, mode="same")
    # FFT round-off: relative 1e-12 of the block total; clean it for non-negative inputs
    tol = 1e-9 * max(float(np.abs(filled).sum()), 1e-300)
    return np.where(np.abs(out) < tol, 0.0, out)


def energy_within_radius(
    energy_per_pixel: ArrayLike,
    radius_m: float,
    pixel_size_m: float | tuple[float, float] | None = None,
) -> ArrayLike:
    """Focal sum of a per-pixel quantity over a circle around every pixel.

    Sums the values of all pixels whose centres are within ``radius_m`` (circular
    kernel, not a square), FFT convolution per block (``scipy.signal.fftconvolve``); on dask
    arrays ``map_overlap`` with a halo of the radius in pixels. NaN counts as 0, and pixels
    beyond the array count as 0, so sums near the edge of the study area are lower bounds.
    A radius above :data:`EXACT_RADIUS_PX` pixels is summed on cells of
    :func:`coarse_factor` pixels a side (within 0.57 % at 30 m and 30 km; the bound is there),
    which keeps each block's memory independent of the resolution.

    Parameters
    ----------
    energy_per_pixel
        e.g. GWh/yr per pixel (2-D array or DataArray with dims ``("y", "x")``).
    radius_m
        Radius in metres.
    pixel_size_m
        Pixel size in metres, or ``(dx, dy)``; for a DataArray, defaults to the spacing of
        its (metric) x/y coordinates.

    Returns
    -------
    The focal sum, same units as the input, same kind and shape.

    Examples
    --------
    >>> e = np.zeros((5, 5)); e[2, 2] = 1.0
    >>> energy_within_radius(e, 100.0, 100.0)[2]
    array([0., 1., 1., 1., 0.])
    """
    dx, dy = _pixel_size(energy_per_pixel, pixel_size_m)
    if not (math.isfinite(radius_m) and radius_m >= 0):
        raise InputError(
            f"radius_m = {radius_m} must be a non-negative number of metres",
            where="radius_m",
            fix="e.g. 30000 for 30 km",
        )
    factor = coarse_factor(radius_m, dx, dy)
    kernel = disk_kernel(radius_m, factor * dx, factor * dy)
    if isinstance(energy_per_pixel, xr.DataArray):
        data = energy_per_pixel.transpose("y", "x").data
        out = energy_per_pixel.transpose("y", "x").copy(data=_focal(data, kernel, factor))
        out = out.rename("energy_within_radius")
        out.attrs = dict(energy_per_pixel.attrs)
        out.attrs["radius_m"] = float(radius_m)
        if factor > 1:
            out.attrs["summed_on_cells_m"] = float(factor * max(dx, dy))
        return out
    return _focal(energy_per_pixel, kernel, factor)


def _focal(data: Any, kernel: np.ndarray, factor: int) -> Any:
    """Focal sum with ``kernel`` on cells of ``factor`` × ``factor`` pixels (see
    :data:`EXACT_RADIUS_PX`); NaN and what lies beyond the array count as 0."""
    if np.ndim(data) != 2:
        raise InputError("energy_per_pixel must be 2-D", where="energy_within_radius")
    if not isinstance(data, da.Array):
        arr = np.asarray(data, dtype=float)
        if factor == 1:
            return _focal_sum_block(arr, kernel)
        cells = _cell_sums(_zero_padded(arr, factor), factor)
        return _repeat_cells(_focal_sum_block(cells, kernel), factor)[
            : arr.shape[0], : arr.shape[1]
        ]
    if factor == 1:
        return _focal_dask(data.astype(np.float64), kernel)
    ny, nx = data.shape
    filled = da.where(da.isfinite(data), data, 0.0).astype(np.float64)
    padded = da.pad(filled, ((0, -ny % factor), (0, -nx % factor)), mode="constant")
    # blocks of whole cells: chunk sides rounded down to a multiple of the factor
    padded = padded.rechunk(tuple(max(factor, c // factor * factor) for c in data.chunksize))
    cells = da.coarsen(np.sum, padded, {0: factor, 1: factor})
    summed = _focal_dask(cells, kernel)
    fine = da.map_blocks(
        _repeat_cells,
        summed,
        factor=factor,
        chunks=tuple(tuple(n * factor for n in c) for c in summed.chunks),
        dtype=np.float64,
    )
    return fine[:ny, :nx].rechunk(data.chunks)


def _focal_dask(data: da.Array, kernel: np.ndarray) -> da.Array:
    # an axis shorter than the halo becomes one chunk that needs no halo at all (outside
    # the array counts as 0 either way); dask enlarges chunks smaller than the halo
    depth = [kernel.shape[0] // 2, kernel.shape[1] // 2]
    for axis, n in enumerate(data.shape):
        if depth[axis] >= n:
            data = data.rechunk({axis: -1})
            depth[axis] = 0
    return data.map_overlap(
        _focal_sum_block, depth=tuple(depth), boundary=0.0, kernel=kernel, dtype=np.float64
    )


def _zero_padded(arr: np.ndarray, factor: int) -> np.ndarray:
    """``arr`` with NaN as 0, padded with 0 to whole cells of ``factor`` pixels."""
    filled = np.where(np.isfinite(arr), arr, 0.0)
    return np.pad(filled, ((0, -arr.shape[0] % factor), (0, -arr.shape[1] % factor)))


def _cell_sums(arr: np.ndarray, factor: int) -> np.ndarray:
    ny, nx = arr.shape
    return arr.reshape(ny // factor, factor, nx // factor, factor).sum(axis=(1, 3))


def _repeat_cells(cells: np.ndarray, factor: int) -> np.ndarray:
    """Every cell's value on each of its ``factor`` × ``factor`` pixels."""
    return np.repeat(np.repeat(cells, factor, axis=0), factor, axis=1)


def _pixel_size(data: Any, pixel_size_m: float | tuple[float, float] | None) -> tuple[float, float]:
    if pixel_size_m is None:
        if not isinstance(data, xr.DataArray) or "x" not in data.coords or "y" not in data.coords:
            raise InputError(
                "pixel size unknown", where="energy_within_radius", fix="pass pixel_size_m (metres)"
            )
        xs, ys = data["x"].values, data["y"].values
        if xs.size < 2 or ys.size < 2:
            raise InputError(
                "need at least 2 pixels per axis to infer the pixel size",
                where="energy_within_radius",
                fix="pass pixel_size_m",
            )
        dx, dy = abs(float(xs[1] - xs[0])), abs(float(ys[1] - ys[0]))
    elif isinstance(pixel_size_m, tuple):
        dx, dy = (float(v) for v in pixel_size_m)
    else:
        dx = dy = float(pixel_size_m)
    if not (dx > 0 and dy > 0 and math.isfinite(dx) and math.isfinite(dy)):
        raise InputError(f"pixel size {pixel_size_m} must be positive metres", where="pixel_size_m")
    return dx, dy
