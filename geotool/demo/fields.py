"""Synthetic but physically consistent raster fields for the demo region.

Every relation below is stated in ``data-sources.md`` § Demo region (synthetic). The numbers
are chosen to resemble northern Guangdong (Nanling mountains, Shaoguan prefecture); none of the
layers is an observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from geotool.grid import Grid

# Elevation range of the Nanling ranges in northern Guangdong: valleys ~50 m, summits ~1,900 m
# (Shikengkong 1,902 m, the highest point of Guangdong).
ELEV_MIN_M, ELEV_MAX_M = 40.0, 1900.0
LAPSE_C_PER_M = 0.0065  # ICAO standard atmosphere lapse rate, 6.5 K/km
T_AT_100M_C = 20.0  # Shaoguan annual mean ≈ 20–21 °C at ~70–100 m (CMA station 59082)
HEAT_FLOW_BG_MW_M2 = (60.0, 75.0)  # South China continental heat flow (Jiang et al. 2019, ~60–80)
CONDUCTIVITY_W_MK = 2.5  # granitic crust, typical of the Nanling batholiths


def fractal_noise(
    shape: tuple[int, int], rng: np.random.Generator, beta: float = 3.0
) -> np.ndarray:
    """Zero-mean, unit-std Gaussian random field with a k^-beta power spectrum."""
    h, w = shape
    ky = np.fft.fftfreq(h)[:, None]
    kx = np.fft.rfftfreq(w)[None, :]
    k = np.hypot(kx, ky)
    k[0, 0] = 1.0
    amp = k ** (-beta / 2.0)
    amp[0, 0] = 0.0
    phase = rng.normal(size=amp.shape) + 1j * rng.normal(size=amp.shape)
    field = np.fft.irfft2(amp * phase, s=shape)
    return ((field - field.mean()) / field.std()).astype("float32")


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = np.nanpercentile(a, [0.5, 99.5])
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0).astype("float32")


@dataclass
class DemoFields:
    """All raster fields on the demo grid (float32 unless noted)."""

    dem: np.ndarray
    land_cover: np.ndarray  # uint8 WorldCover codes
    forest_cover: np.ndarray
    biomass: np.ndarray
    growing_stock: np.ndarray
    wind_speed_100m: np.ndarray
    weibull_k: np.ndarray
    ghi: np.ndarray
    air_temperature: np.ndarray
    precipitation: np.ndarray
    heat_flow: np.ndarray
    geothermal_gradient: np.ndarray


def make_terrain(grid: Grid, rng: np.random.Generator) -> np.ndarray:
    """Elevation (m): fractal relief plus NE–SW ridges, like the Nanling ranges."""
    h, w = grid.shape
    base = fractal_noise(grid.shape, rng, beta=3.2)
    yy, xx = np.mgrid[0:h, 0:w].astype("float32")
    ridges = np.zeros(grid.shape, dtype="float32")
    for _ in range(4):  # a few SW–NE ridge lines across the region
        angle = np.deg2rad(rng.uniform(30, 60))
        offset = rng.uniform(0.15, 0.85) * (h + w) / 2
        dist = np.abs((xx * np.sin(angle) - yy * np.cos(angle)) + h * np.cos(angle) / 2 - offset)
        width = rng.uniform(0.03, 0.07) * max(h, w)
        ridges += np.exp(-((dist / width) ** 2)) * rng.uniform(0.6, 1.0)
    relief = _normalise(0.55 * _normalise(base) + 0.45 * _normalise(ridges) ** 1.3)
    elevation = ELEV_MIN_M + (ELEV_MAX_M - ELEV_MIN_M) * relief**1.6
    return elevation.astype("float32")


def make_fields(
    grid: Grid,
    rng: np.random.Generator,
    *,
    water: np.ndarray,
    built: np.ndarray,
    latitude: np.ndarray,
) -> DemoFields:
    """Derive every raster from terrain and a few noise fields so they agree physically.

    ``water`` and ``built`` are boolean masks of rivers/reservoirs and towns on the grid;
    ``latitude`` the pixel-centre latitudes (degrees).
    """
    dem = make_terrain(grid, rng)
    dem = np.where(water, np.minimum(dem, ndimage.minimum_filter(dem, 5)), dem).astype("float32")
    gy, gx = np.gradient(dem, grid.res)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    # topographic exposure: height above the 5 km neighbourhood mean
    tpi = dem - ndimage.uniform_filter(dem, size=max(3, int(5000 / grid.res)))
    veg_noise = _normalise(fractal_noise(grid.shape, rng, beta=2.4))

    # Land cover (ESA WorldCover codes). Cropland in flat, low valleys, grassland at their
    # margins; grass/shrub on the highest summits; shrub on the sparsest hillsides (sparse,
    # shrub and unstocked forest land: Shaoguan has 1.42 Mha of forestry land but 1.274 Mha
    # stocked, of 1.84 Mha, i.e. ~69 % tree cover and ~8 % shrub/grass in the forestry land
    # alone; 《国土绿化》2019(2):28-31); tree cover elsewhere.
    lc = np.full(grid.shape, 10, dtype="uint8")
    low_flat = (dem < 260) & (slope < 6)
    lc[low_flat & (veg_noise < 0.7)] = 40
    lc[low_flat & (veg_noise >= 0.63) & (veg_noise < 0.7)] = 30
    lc[(dem > 1300) & (veg_noise < 0.45)] = 30
    lc[(dem > 1100) & (veg_noise > 0.85)] = 20
    hills = (lc == 10) & ~low_flat & (dem < 900)
    sparse = np.quantile(veg_noise[hills], 0.05) if hills.any() else -1.0
    lc[hills & (veg_noise <= sparse)] = 20
    lc[(slope > 35) & (veg_noise < 0.12)] = 60
    lc[built] = 50
    lc[water] = 80

    tree = lc == 10
    cover = np.where(tree, 55 + 40 * veg_noise, np.where(lc == 20, 20 + 10 * veg_noise, 3.0))
    cover = np.where((lc == 80) | (lc == 50), 0.0, cover).astype("float32")
    # AGB follows canopy cover: ~0.3–0.65 t/ha per % of cover in young subtropical plantations,
    # giving ~17–60 t/ha in forest, mean ≈ 35 t/ha: the Guangdong inventory's 23 t C/ha is
    # ≈ 37 t/ha AGB at R 0.25 and CF 0.5, and Shaoguan's 65 m³/ha × 0.5 t/m³ ≈ 33 t/ha.
    biomass = np.where(tree, cover * (0.3 + 0.35 * _normalise(-tpi)), cover * 0.1)
    biomass = biomass.astype("float32")
    # growing stock = AGB / (wood density × BEF) with Chinese fir-like 0.307 × 1.634 ≈ 0.5 t/m³
    growing = np.where(tree, biomass / 0.50, 0.0).astype("float32")

    # Wind at 100 m: 4–8 m/s, rising with elevation and exposure.
    exposure = _normalise(0.7 * _normalise(dem) + 0.3 * _normalise(tpi))
    wind = (4.0 + 4.0 * exposure).astype("float32")
    weibull_k = (1.8 + 0.5 * _normalise(fractal_noise(grid.shape, rng, beta=4.0))).astype("float32")

    # GHI 1,200–1,400 kWh/m²/yr: more to the south and on summits above the haze.
    south = _normalise(-latitude)
    ghi = (1200 + 150 * south + 50 * _normalise(dem)).astype("float32")

    # Air temperature: 20 °C at 100 m with the standard lapse rate, −0.6 °C per degree north.
    t_air = T_AT_100M_C - LAPSE_C_PER_M * (dem - 100.0) - 0.6 * (latitude - latitude.mean())
    precip = (1500 + 600 * _normalise(dem) + 200 * veg_noise).astype("float32")

    # Heat flow: smooth background plus a few hot-spring anomalies (Gaussian, +30–60 mW/m²).
    lo, hi = HEAT_FLOW_BG_MW_M2
    q = lo + (hi - lo) * _normalise(fractal_noise(grid.shape, rng, beta=4.5))
    h, w = grid.shape
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(4):
        cy, cx = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
        r = rng.uniform(3000, 8000) / grid.res
        q = q + rng.uniform(30, 60) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    gradient = q / CONDUCTIVITY_W_MK  # Fourier's law: dT/dz = q / k  (mW/m² / W/m/K = °C/km)

    return DemoFields(
        dem=dem,
        land_cover=lc,
        forest_cover=cover,
        biomass=biomass,
        growing_stock=growing,
        wind_speed_100m=wind,
        weibull_k=weibull_k,
        ghi=ghi,
        air_temperature=t_air.astype("float32"),
        precipitation=precip,
        heat_flow=q.astype("float32"),
        geothermal_gradient=gradient.astype("float32"),
    )
