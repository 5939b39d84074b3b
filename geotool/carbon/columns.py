"""Parcel columns geotool does not read but compares or names: area columns against the
polygons' area, and the species and 小班号 columns of Chinese 小班 (compartment) tables.

The area credited is always the polygon's on the stock's CRS; an area column whose name gives
its unit (``area_ha``, ``面积公顷``, ``面积亩``) is converted to ha and compared, and a
difference beyond :data:`AREA_TOLERANCE` and :data:`AREA_TOLERANCE_HA` is noted.

>>> _area_column_unit("面积(亩)"), _area_column_unit("area_ha"), _area_column_unit("面积")
('mu', 'ha', None)
"""

from __future__ import annotations

from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd


def _label(value: Any) -> str:
    """A parcel id as the user wrote it: ``A-1`` or ``7``, not ``np.int64(7)``."""
    return str(value.item() if isinstance(value, np.generic) else value)


SPECIES_COLUMN_HINTS = ("树种", "优势树种", "造林树种", "树种名称", "树种组")
"""Column names of Chinese 小班 (compartment) tables that hold a species: never read on
their own (the current dominant species 优势树种 need not be the one planted), only named in
a note with the option that reads them."""

ID_COLUMN_HINTS = ("小班号", "小班编号")
"""Column names of Chinese 小班 tables that hold the compartment number (noted, not read)."""


def column_notes(
    parcels: gpd.GeoDataFrame, species_field: str | None, id_field: str | None, default: str
) -> list[str]:
    """Notes naming a Chinese species or parcel-number column the run does not read."""
    notes = []
    if species_field is None and "species" not in parcels.columns:
        found = [c for c in SPECIES_COLUMN_HINTS if c in parcels.columns]
        if found:
            notes.append(
                f"the parcels have no species column, so every parcel is planted with the "
                f"[carbon] species '{default}'; column '{found[0]}' looks like one: read it "
                f"with --species-field {found[0]} (names such as 杉木, 马尾松 or chinese_fir)"
            )
    if id_field is None:
        found = [c for c in ID_COLUMN_HINTS if c in parcels.columns]
        if found:
            notes.append(
                f"the parcels are numbered by row (0, 1, ...); column '{found[0]}' looks like "
                f"their id: use it with --parcel-id {found[0]}"
            )
    return notes


AREA_TOLERANCE = 0.01
"""Relative difference between a parcel's area column and its polygon's area that is noted.

Projections alone stay well inside it: the transverse Mercator scale factor is
k = k0 (1 + (1 + C) A²/2 + ...), A = Δλ cos φ (Snyder 1987, *Map Projections: A Working
Manual*, USGS PP 1395, pp. 60-64), so at the edge of a 6° Gauss-Krüger zone (Δλ = 3°,
equator) areas grow by k² - 1 = 0.28 %, and UTM's k0 = 0.9996 shrinks them by 0.08 % at its
central meridian (PROJ's ``get_factors`` gives 1.00277 and 0.99920): two projections differ
by less than 0.4 %. A larger difference is a
polygon digitised differently from the surveyed one, an area in other units, or areas adjusted
to a control total (面积平差): worth a look, as the polygon's area is what is credited."""

AREA_TOLERANCE_HA = 0.05
"""Absolute difference (ha) below which a parcel's area column is not noted: half of the last
digit of an area recorded to 0.1 ha (small parcels rounded so differ by more than 1 %)."""

HA_PER_MU = 1.0 / 15.0
"""1 亩 (mu) = 60 平方丈 of the 市制 (market system), 1 丈 = 10/3 m: 60 x 100/9 m² =
10,000/15 m² = 666.67 m², so 15 mu = 1 ha exactly."""


def _area_column_unit(name: str) -> Literal["ha", "mu"] | None:
    """``ha`` or ``mu`` for a column whose name states an area and its unit (``area_ha``,
    ``面积公顷``, ``面积(亩)``, ``亩数``); ``None`` otherwise (a bare ``面积`` may be either)."""
    n = str(name).casefold().replace(" ", "")
    if n in ("area_ha", "area_hectares", "hectares"):
        return "ha"
    if n in ("area_mu", "亩数", "亩"):
        return "mu"
    if "面积" in n and ("公顷" in n or "hm2" in n or "hm²" in n):
        return "ha"
    if "面积" in n and "亩" in n:
        return "mu"
    return None


def area_notes(parcels: gpd.GeoDataFrame, area_ha: np.ndarray, ids: np.ndarray) -> list[str]:
    """Notes on area columns (in ha or mu by their name) that differ from the polygons' area
    by more than :data:`AREA_TOLERANCE` and :data:`AREA_TOLERANCE_HA`."""
    notes = []
    for column in parcels.columns:
        unit = _area_column_unit(column)
        if unit is None or column == parcels.geometry.name:
            continue
        given = pd.to_numeric(parcels[column], errors="coerce").to_numpy(dtype=float)
        given_ha = given * HA_PER_MU if unit == "mu" else given
        with np.errstate(invalid="ignore"):
            off = np.abs(given_ha - area_ha) > np.maximum(
                AREA_TOLERANCE * area_ha, AREA_TOLERANCE_HA
            )
        if not off.any():
            continue
        rows = np.flatnonzero(off)
        shown = ", ".join(
            f"{_label(ids[r])} ("
            + (f"{given[r]:,.2f} mu = " if unit == "mu" else "")
            + f"{given_ha[r]:,.2f} ha, polygon {area_ha[r]:,.2f} ha)"
            for r in rows[:5]
        )
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        # a column in the other unit is 15x (ha column holding mu) or 1/15 (the reverse) off
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(np.nanmedian(given_ha[rows] / area_ha[rows]))
        factor = 1.0 / HA_PER_MU if unit == "ha" else HA_PER_MU
        hint = ""
        if abs(ratio / factor - 1.0) <= AREA_TOLERANCE:
            hint = "; it is 15x the polygon area: is it in mu?"
            if unit == "mu":
                hint = "; it is 1/15 of the polygon area: is it in ha?"
        notes.append(
            f"column '{column}' of the parcels (in {'mu, 15 mu = 1 ha' if unit == 'mu' else 'ha'})"
            f" differs from the polygon area by more than {AREA_TOLERANCE * 100:g} % and "
            f"{AREA_TOLERANCE_HA:g} ha for {len(rows)} of {len(area_ha)} parcels: {shown}{more}"
            f"; area_ha and the credits use the polygon area (projections alone differ by "
            f"< 0.4 %){hint}"
        )
    return notes
