"""Sequestration of new planting (afforestation / reforestation) by year of the crediting period.

Species path: a Chapman-Richards yield curve per species group (``species.toml``) turned into
tree carbon with the same chain as the stock (``V x SVD x BEF x (1+R) x CF x 44/12``); the
removal of crediting year ``y`` is the stock gained from age ``y-1`` to age ``y``.

IPCC path: Tier 1 above-ground growth rates of the ecological zone (2019 Refinement Tables
4.9 natural / 4.10 plantation), capped at the natural-forest AGB of Table 4.7, with R by AGB
class (Table 4.4) and CF 0.47 (Table 4.3).

Examples
--------
>>> r = afforestation_removals(10.0, "chinese_fir", 20)
>>> round(float(r.tco2e_total) / 10 / 20, 1)  # t CO2e per ha and year
13.6
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from geotool.carbon.params import CO2_PER_C, Species, SpeciesSpec, get_species, get_zone
from geotool.errors import ConfigError, InputError


def _species_shares(species: SpeciesSpec) -> list[tuple[Species, float]]:
    """Area shares of a planting: one group, or ``{name: area share}`` (sums to 1)."""
    if isinstance(species, Species):
        return [(species, 1.0)]
    if isinstance(species, str):
        return [(get_species(species), 1.0)]
    total = sum(species.values())
    if not np.isclose(total, 1.0, atol=1e-6) or any(v < 0 for v in species.values()):
        raise ConfigError(
            f"planting shares sum to {total:g}, not 1",
            where="species mix",
            fix="give non-negative area shares adding up to 1",
        )
    return [(get_species(n), float(w)) for n, w in species.items()]


def _years(years: int) -> np.ndarray:
    if isinstance(years, bool) or not isinstance(years, int | np.integer) or years < 1:
        raise InputError(
            f"crediting years {years!r} is not a positive integer",
            where="crediting_years",
            fix="give the length of the crediting period in years, e.g. 20",
        )
    return np.arange(1, int(years) + 1)


def stock_curve_tco2e_per_ha(species: SpeciesSpec, ages_yr: Any) -> np.ndarray:
    """Tree carbon stock (t CO2e/ha) of a planting at each age (area-share weighted for mixes)."""
    ages = np.asarray(ages_yr, dtype=float)
    return np.asarray(sum(w * sp.stock_tco2e_per_ha(ages) for sp, w in _species_shares(species)))


def removals_by_year(
    species: SpeciesSpec,
    years: int,
    area_ha: float = 1.0,
    *,
    age_at_start_yr: float = 0.0,
    first_vintage: int | None = None,
) -> pd.DataFrame:
    """Annual removals of a planting, one row per year of the crediting period.

    Parameters
    ----------
    species
        Group name, :class:`~geotool.carbon.params.Species`, or ``{name: area share}``.
    years
        Length of the crediting period (years).
    area_ha
        Planted area (ha).
    age_at_start_yr
        Stand age when the crediting period starts (0 = planted at the start).
    first_vintage
        Calendar year of crediting year 1 (adds a ``vintage`` column).

    Returns
    -------
    pandas.DataFrame
        Index ``year`` (1..years); columns ``age_end_yr``, ``stock_tco2e_per_ha`` (at the
        end of the year), ``removals_tco2e_per_ha`` and ``removals_tco2e`` (x area).

    Examples
    --------
    >>> df = removals_by_year("eucalyptus", 3, area_ha=2.0)
    >>> list(df.columns)
    ['age_end_yr', 'stock_tco2e_per_ha', 'removals_tco2e_per_ha', 'removals_tco2e']
    """
    yrs = _years(years)
    ages = age_at_start_yr + np.concatenate([[0], yrs])
    stock = stock_curve_tco2e_per_ha(species, ages)
    per_ha = np.diff(stock)
    df = pd.DataFrame(
        {
            "age_end_yr": ages[1:],
            "stock_tco2e_per_ha": stock[1:],
            "removals_tco2e_per_ha": per_ha,
            "removals_tco2e": per_ha * float(area_ha),
        },
        index=pd.Index(yrs, name="year"),
    )
    if first_vintage is not None:
        df.insert(0, "vintage", first_vintage + yrs - 1)
    return df


@dataclass(frozen=True)
class AfforestationRemovals:
    """Removals of new planting over a crediting period.

    ``by_year`` has shape ``(years,)`` for a scalar area, ``(n, years)`` for n areas;
    ``tco2e_total`` and ``tco2e_per_yr`` (mean over the period) match the area's shape.
    """

    by_year: np.ndarray
    tco2e_total: Any
    tco2e_per_yr: Any
    crediting_years: int


def afforestation_removals(
    area_ha: Any, species: SpeciesSpec, crediting_years: int
) -> AfforestationRemovals:
    """Total and mean annual removals (t CO2e) of planting ``area_ha`` with ``species``.

    ``area_ha`` may be an array (one value per candidate site): the per-hectare curve is
    computed once and scaled. Feeds the ``carbon_sink`` profile's ``tco2e_per_yr`` and
    ``tco2e_total`` site metrics.

    >>> r = afforestation_removals(np.array([1.0, 2.0]), "chinese_fir", 20)
    >>> bool(np.isclose(r.tco2e_total[1], 2 * r.tco2e_total[0]))
    True
    """
    per_ha = removals_by_year(species, crediting_years)["removals_tco2e_per_ha"].to_numpy()
    area = np.asarray(area_ha, dtype=float)
    if np.any(area < 0):
        raise InputError("negative area", where="area_ha", fix="areas must be >= 0 ha")
    by_year = area[..., None] * per_ha
    total = by_year.sum(axis=-1)
    return AfforestationRemovals(
        by_year=by_year,
        tco2e_total=total,
        tco2e_per_yr=total / crediting_years,
        crediting_years=crediting_years,
    )


def ipcc_agb_curve_t_ha(
    zone: str, ages_yr: Any, *, origin: Literal["plantation", "natural"] = "plantation"
) -> np.ndarray:
    """Tier 1 above-ground biomass (t d.m./ha) of a stand growing from bare land.

    Natural: Table 4.9 rate for the first 20 years, the >20-year rate after; plantation:
    the Table 4.10 rate. Both are capped at the natural-forest AGB of Table 4.7.
    """
    z = get_zone(zone)
    t = np.maximum(np.asarray(ages_yr, dtype=float), 0.0)
    if origin == "plantation":
        rate = z.growth_plantation_t_ha_yr
        if rate is None:
            raise InputError(f"no plantation growth default for zone '{zone}'", where=zone)
        agb = rate * t
    elif origin == "natural":
        young, old = z.growth_natural_young_t_ha_yr, z.growth_natural_old_t_ha_yr
        if young is None or old is None:
            raise InputError(
                f"no natural-forest growth default for zone '{zone}'",
                where=zone,
                fix="use origin='plantation' or a species growth curve",
            )
        agb = young * np.minimum(t, 20.0) + old * np.maximum(t - 20.0, 0.0)
    else:
        raise ConfigError(f"unknown origin {origin!r}", where="origin", fix="plantation|natural")
    return np.minimum(agb, z.agb_natural_t_ha)


def ipcc_removals_by_year(
    zone: str,
    years: int,
    area_ha: float = 1.0,
    *,
    origin: Literal["plantation", "natural"] = "plantation",
) -> pd.DataFrame:
    """Tier 1 removals per crediting year (same columns as :func:`removals_by_year`).

    >>> df = ipcc_removals_by_year("subtropical_humid", 5)
    >>> round(float(df["removals_tco2e_per_ha"].iloc[0]), 3)  # 8 t x 1.2 x 0.47 x 44/12
    16.544
    """
    z = get_zone(zone)
    yrs = _years(years)
    ages = np.concatenate([[0.0], yrs.astype(float)])
    agb = ipcc_agb_curve_t_ha(zone, ages, origin=origin)
    stock = agb * (1.0 + z.root_shoot(agb)) * z.carbon_fraction * CO2_PER_C
    per_ha = np.diff(stock)
    return pd.DataFrame(
        {
            "age_end_yr": ages[1:],
            "stock_tco2e_per_ha": stock[1:],
            "removals_tco2e_per_ha": per_ha,
            "removals_tco2e": per_ha * float(area_ha),
        },
        index=pd.Index(yrs, name="year"),
    )


def planting_removals_matrix(
    species_by_unit: Sequence[SpeciesSpec], area_ha: Any, years: int
) -> np.ndarray:
    """Removals (t CO2e) per unit and crediting year, shape ``(n_units, years)``."""
    area = np.asarray(area_ha, dtype=float)
    cache: dict[str, np.ndarray] = {}
    rows = []
    for spec, a in zip(species_by_unit, area, strict=True):
        key = spec if isinstance(spec, str) else repr(spec)
        if key not in cache:
            cache[key] = removals_by_year(spec, years)["removals_tco2e_per_ha"].to_numpy()
        rows.append(cache[key] * a)
    return np.asarray(rows).reshape(len(rows), years)
