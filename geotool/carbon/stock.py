"""Forest carbon stock per pixel: pure functions over numpy arrays and (dask) DataArrays.

Chain (IPCC 2006 Vol. 4 Ch. 2 Eq. 2.8 style, and Chinese inventory practice):

    AGB  [t d.m./ha]  from an AGB map, or growing stock V x SVD x BEF, or the IPCC Tier 1
                      default of the ecological zone (Table 4.7) where the pixel is forest
    BGB  = AGB x R    (R from the species, or IPCC Table 4.4 by AGB class)
    C    = (AGB + BGB) x CF          [t C/ha]
    CO2e = C x 44/12                 [t CO2e/ha]

Nothing here computes a dask graph: every function keeps DataArrays lazy.

Examples
--------
>>> round(float(stock_from_agb(100.0, root_shoot=0.2, carbon_fraction=0.47)), 6)
56.4
>>> round(float(agb_from_volume(65.0, "chinese_fir")), 4)
32.6065
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from geotool.carbon.params import (
    CO2_PER_C,
    RootShootClasses,
    SpeciesSpec,
    get_zone,
    resolve_species,
)
from geotool.errors import InputError

if TYPE_CHECKING:
    from geotool.carbon.config import CarbonConfig

ESA_WORLDCOVER_TREE = 10
"""ESA WorldCover v100/v200 class code for 'Tree cover' (product user manual, Table 1)."""

SOURCE_NONE, SOURCE_AGB_MAP, SOURCE_VOLUME, SOURCE_TIER1 = 0, 1, 2, 3
STOCK_SOURCES = {
    SOURCE_NONE: "none",
    SOURCE_AGB_MAP: "agb_map",
    SOURCE_VOLUME: "growing_stock_x_svd_x_bef",
    SOURCE_TIER1: "ipcc_tier1_default",
}
"""Codes of the ``stock_source`` layer: which path gave each pixel its AGB."""


def stock_from_agb(agb_t_ha: Any, *, root_shoot: Any, carbon_fraction: Any) -> Any:
    """Tree carbon stock (above + below ground), t C/ha, from above-ground biomass.

    Parameters
    ----------
    agb_t_ha
        Above-ground biomass, t dry matter/ha (number, numpy array or DataArray).
    root_shoot
        R = BGB/AGB: a number/array, or a :class:`RootShootClasses` looked up by AGB class
        (IPCC 2006 Vol. 4 Table 4.4).
    carbon_fraction
        t C per t dry matter (IPCC default 0.47, Table 4.3).

    Returns
    -------
    Same kind as ``agb_t_ha``: ``AGB x (1 + R) x CF``.

    Examples
    --------
    >>> from geotool.carbon.params import get_zone
    >>> r = get_zone("subtropical_humid").root_shoot
    >>> stock_from_agb(np.array([100.0, 180.0]), root_shoot=r, carbon_fraction=0.47)
    array([ 56.4  , 104.904])
    """
    r = root_shoot(agb_t_ha) if isinstance(root_shoot, RootShootClasses) else root_shoot
    return agb_t_ha * (1.0 + r) * carbon_fraction


def agb_from_volume(volume_m3_ha: Any, species: SpeciesSpec) -> Any:
    """Above-ground biomass (t d.m./ha) from growing-stock volume: ``V x SVD x BEF``.

    ``species`` is a group name (``"chinese_fir"``), a :class:`~geotool.carbon.params.Species`
    or a volume-share mix ``{"chinese_fir": 0.5, "other_broadleaf": 0.5}``.

    >>> round(float(agb_from_volume(100.0, {"chinese_fir": 1.0})), 3)
    50.164
    """
    return volume_m3_ha * resolve_species(species).agb_per_m3


def co2e_from_carbon(carbon_t: Any) -> Any:
    """t CO2e from t C (x 44/12).

    >>> co2e_from_carbon(12.0)
    44.0
    """
    return carbon_t * CO2_PER_C


def forest_mask(stack: xr.Dataset, threshold_pct: float) -> xr.DataArray | None:
    """Forest pixels: ``forest_cover >= threshold_pct`` or ``land_cover == 10`` (tree cover).

    Returns ``None`` when the stack has neither layer. NaN counts as not forest. The
    threshold is a crown-cover percentage: 20 % is China's forest definition (canopy
    density >= 0.20, GB/T 26424-2010 and the national forest inventory rules), 10 % FAO's
    (FRA 2020 Terms and Definitions: >0.5 ha, trees >5 m, canopy cover >10 %).
    """
    parts = []
    if "forest_cover" in stack:
        parts.append(stack["forest_cover"] >= threshold_pct)
    if "land_cover" in stack:
        parts.append(stack["land_cover"] == ESA_WORLDCOVER_TREE)
    if not parts:
        return None
    mask = parts[0]
    for p in parts[1:]:
        mask = mask | p
    return mask.rename("forest")


def _template(stack: xr.Dataset) -> xr.DataArray:
    for name in ("biomass", "growing_stock", "forest_cover", "land_cover"):
        if name in stack:
            return stack[name]
    raise InputError(
        "the stack has none of biomass, growing_stock, forest_cover, land_cover",
        where="carbon stock",
        fix="add an AGB map (biomass), a growing-stock map, or forest_cover/land_cover",
    )


def carbon_stock(stack: xr.Dataset, config: CarbonConfig) -> xr.Dataset:
    """Per-pixel tree carbon stock from the best layer available, lazily.

    Order per pixel: ``biomass`` (AGB map, t/ha) -> ``growing_stock`` (m3/ha) x SVD x BEF of
    ``config.stock_species`` -> IPCC Tier 1 AGB of ``config.ecological_zone`` where the pixel
    is forest (:func:`forest_mask`). R and CF follow the path: species values for the volume
    path, IPCC Table 4.4 (by AGB class) and Table 4.3 (0.47) otherwise.

    Returns
    -------
    xarray.Dataset
        ``agb_t_ha``, ``bgb_t_ha``, ``root_shoot``, ``carbon_fraction``, ``carbon_t_ha``,
        ``co2e_t_ha`` (float32, NaN where no path applies), ``stock_source`` (uint8, codes
        in :data:`STOCK_SOURCES`) and ``forest`` (uint8 0/1, when a mask layer exists).
        ``attrs`` carry the grid of the stack and the parameters used.
    """
    template = _template(stack)
    zone = get_zone(config.ecological_zone)
    species = resolve_species(config.stock_species_spec)
    nan = np.float32(np.nan)
    false = xr.zeros_like(template, dtype=bool)

    agb_map = stack["biomass"].astype("float32") if "biomass" in stack else None
    has_map = agb_map.notnull() if agb_map is not None else false
    if "growing_stock" in stack:
        vol = stack["growing_stock"].astype("float32")
        agb_vol = (vol * np.float32(species.agb_per_m3)).astype("float32")
        has_vol = vol.notnull() & ~has_map
    else:
        agb_vol, has_vol = None, false
    forest = forest_mask(stack, config.forest_threshold_pct)
    has_t1 = (forest & ~has_map & ~has_vol) if forest is not None else false

    source = xr.where(
        has_map,
        SOURCE_AGB_MAP,
        xr.where(has_vol, SOURCE_VOLUME, xr.where(has_t1, SOURCE_TIER1, SOURCE_NONE)),
    ).astype("uint8")
    agb = xr.where(has_t1, np.float32(zone.agb_natural_t_ha), nan)
    if agb_vol is not None:
        agb = xr.where(has_vol, agb_vol, agb)
    if agb_map is not None:
        agb = xr.where(has_map, agb_map, agb)
    agb = agb.astype("float32")

    ipcc_r = zone.root_shoot(agb)
    r = xr.where(has_vol, np.float32(species.root_shoot), ipcc_r).astype("float32")
    cf = xr.where(has_vol, np.float32(species.carbon_fraction), np.float32(zone.carbon_fraction))
    cf = xr.where(source == SOURCE_NONE, nan, cf).astype("float32")
    bgb = (agb * r).astype("float32")
    carbon = ((agb + bgb) * cf).astype("float32")

    out = xr.Dataset(
        {
            "agb_t_ha": agb,
            "bgb_t_ha": bgb,
            "root_shoot": r,
            "carbon_fraction": cf,
            "carbon_t_ha": carbon,
            "co2e_t_ha": (carbon * np.float32(CO2_PER_C)).astype("float32"),
            "stock_source": source,
        }
    )
    if forest is not None:
        out["forest"] = forest.astype("uint8")
    units = {
        "agb_t_ha": "t d.m./ha",
        "bgb_t_ha": "t d.m./ha",
        "root_shoot": "1",
        "carbon_fraction": "t C/t d.m.",
        "carbon_t_ha": "t C/ha",
        "co2e_t_ha": "t CO2e/ha",
    }
    for name, unit in units.items():
        out[name].attrs["units"] = unit
    out["stock_source"].attrs["flag_meanings"] = " ".join(
        f"{k}={v}" for k, v in STOCK_SOURCES.items()
    )
    out.attrs.update(
        {k: v for k, v in stack.attrs.items() if k in ("grid", "crs")},
        ecological_zone=zone.name,
        stock_species=species.name,
        forest_threshold_pct=config.forest_threshold_pct,
    )
    return out
