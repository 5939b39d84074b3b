"""Gauss-Krüger eastings with and without the zone number in front.

Chinese surveying writes a Gauss-Krüger easting either with the zone number in front of it
(``38 447 332 m``: zone 38, 52,668 m west of the central meridian + 500 km) or without it
(``447 332 m``). EPSG has one CRS for each: CGCS2000 zone 38 (EPSG:4526, false easting
38,500,000 m) and CGCS2000 CM 114°E (EPSG:4547, false easting 500,000 m), and likewise for
Xian 1980 and Beijing 1954, 3-degree and 6-degree zones. A file labelled with the wrong one of
the pair lies 38,000 km east or west of where it should: it overlaps nothing, and a vector
layer silently has no feature within reach. :func:`zone_prefix_mismatch` recognises the pair
from the eastings and names the CRS that fits them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyproj import CRS

from geotool.errors import CRSError

ZONE_WIDTH_M = 1_000_000.0
"""The zone number is written in the millions of the easting: the EPSG "zone NN" CRSs of
CGCS2000, Xian 1980 and Beijing 1954 have a false easting of NN × 1,000,000 + 500,000 m
(e.g. EPSG:4526, zone 38: 38,500,000 m), their "CM" twins 500,000 m (EPSG:4547)."""

GK_FALSE_EASTING_M = 500_000.0
"""False easting of a Gauss-Krüger zone without its number (EPSG:4547, and 4534-4554)."""


def zone_prefix_mismatch(crs: CRS, x_min: float, x_max: float) -> tuple[str, str] | None:
    """What is wrong and the CRS that fits, when eastings ``x_min..x_max`` (metres) carry a
    Gauss-Krüger zone number ``crs`` does not expect, or lack one it does; else None.

    >>> zone_prefix_mismatch(CRS.from_epsg(4547), 38_447_332.0, 38_464_774.0)[1]
    'EPSG:4526'
    >>> zone_prefix_mismatch(CRS.from_epsg(4526), 447_332.0, 464_774.0)[1]
    'EPSG:4547'
    >>> zone_prefix_mismatch(CRS.from_epsg(4526), 38_447_332.0, 38_464_774.0) is None
    True
    """
    params = _tm_parameters(crs)
    if params is None:
        return None
    false_easting, central_meridian = params
    prefix, offset = divmod(false_easting, ZONE_WIDTH_M)
    if offset != GK_FALSE_EASTING_M:
        return None  # not the zone convention (UTM-K's 1,000,000 m, NZTM's 1,600,000 m, ...)
    if prefix >= 1 and x_min > 0.0 and x_max < ZONE_WIDTH_M:
        if not _is_zone_of(int(prefix), central_meridian):
            return None
        new_easting = offset
        what = (
            f"its eastings {x_min:,.0f}..{x_max:,.0f} m have no zone number in front, but "
            f"{_label(crs)} expects zone {int(prefix)}'s ({prefix * ZONE_WIDTH_M:,.0f} m more)"
        )
    elif prefix == 0 and x_min >= ZONE_WIDTH_M:
        zone = int(x_min // ZONE_WIDTH_M)
        if int(x_max // ZONE_WIDTH_M) != zone or not _is_zone_of(zone, central_meridian):
            return None  # not one zone, or not the zone of this central meridian
        new_easting = false_easting + zone * ZONE_WIDTH_M
        what = (
            f"its eastings {x_min:,.0f}..{x_max:,.0f} m carry the zone number {zone} in "
            f"front, but {_label(crs)} expects them without it"
        )
    else:
        return None
    return what, _with_false_easting(crs, new_easting)


def check_zone_prefix(
    crs: Any, x_min: float, x_max: float, where: str, fix: Callable[[str], str]
) -> None:
    """Raise :class:`~geotool.errors.CRSError` at ``where`` when the eastings contradict the
    zone-number convention of ``crs`` (:func:`zone_prefix_mismatch`); ``fix(code)`` says how
    to give the CRS that fits."""
    found = zone_prefix_mismatch(CRS(crs), float(x_min), float(x_max))
    if found is not None:
        what, fits = found
        raise CRSError(what, where=where, fix=fix(fits))


def _is_zone_of(zone: int, central_meridian: float) -> bool:
    """Zone ``zone`` of the 3-degree (CM = 3·n) or 6-degree (CM = 6·n − 3) system has this
    central meridian (east longitudes, as China's zones 13-23 and 25-45)."""
    return central_meridian in (3.0 * zone, 6.0 * zone - 3.0)


def _tm_parameters(crs: CRS) -> tuple[float, float] | None:
    """(false easting, central meridian) of a metric Transverse Mercator CRS, else None."""
    if not crs.is_projected:
        return None
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower():
        return None
    if crs.axis_info and crs.axis_info[0].unit_name not in ("metre", "meter"):
        return None
    values = {p.name.lower(): p.value for p in op.params}
    if "false easting" not in values or "longitude of natural origin" not in values:
        return None
    return float(values["false easting"]), float(values["longitude of natural origin"])


def _with_false_easting(crs: CRS, false_easting: float) -> str:
    """``crs`` with another false easting, as the EPSG code PROJ identifies it with (or in
    words when EPSG has none)."""
    spec: dict[str, Any] = crs.to_json_dict()
    spec.pop("id", None)
    spec["name"] = "unknown"
    conversion = spec["conversion"]
    conversion.pop("id", None)
    conversion["name"] = "unknown"
    for param in conversion["parameters"]:
        if param["name"].lower() == "false easting":
            param["value"] = false_easting
    variant = CRS.from_json_dict(spec)
    for match in variant.list_authority(min_confidence=70):
        if match.auth_name == "EPSG":
            return f"EPSG:{match.code}"
    return f"{crs.name} with a false easting of {false_easting:,.0f} m"


def _label(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"{crs.name} (EPSG:{epsg})" if epsg else crs.name
