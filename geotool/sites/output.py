"""Writing site tables (GeoPackage + GeoParquet) and the text table of the best sites.

Examples
--------
>>> import geopandas as gpd, shapely
>>> s = gpd.GeoDataFrame({"site_id": ["w-001"], "rank": [1], "score": [0.91],
...     "area_km2": [3.2], "limiting": ["grid"], "region": ["乳源瑶族自治县"],
...     "capacity_mw": [9.6], "energy_gwh_per_yr": [27.3]},
...     geometry=[shapely.box(0, 0, 1, 1)], crs=32649)
>>> print(format_top(s, 5))
 rank site_id  score  area_km2         region limiting  capacity_mw  energy_gwh_per_yr
    1   w-001  0.910     3.200 乳源瑶族自治县     grid        9.600             27.300
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geotool.io.outputs import OutputDir
from geotool.sites.params import metric_columns

_LEADING = ("rank", "site_id", "score", "area_km2", "region", "limiting")


def output_path(outdir: OutputDir | Path, name: str) -> Path:
    """Where output ``name`` goes: the staging area of an :class:`OutputDir`, or ``outdir/name``."""
    if isinstance(outdir, OutputDir):
        return outdir.path(name)
    folder = Path(outdir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary name beside ``path``, then rename it into place."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _geopackage_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].astype("string")
    return out


def write_sites(gdf: gpd.GeoDataFrame, outdir: OutputDir | Path, profile_name: str) -> list[Path]:
    """Write ``sites_<profile>.gpkg`` (layer ``sites_<profile>``) and ``sites_<profile>.parquet``.

    Polygons are written as MultiPolygons in the sites' CRS (the analysis grid's); each file
    appears atomically. An empty table still gives both files (with the columns).
    """
    data = _geopackage_ready(gdf)
    layer = f"sites_{profile_name}"
    gpkg = write_atomic(
        output_path(outdir, f"{layer}.gpkg"),
        lambda p: data.to_file(
            p, driver="GPKG", layer=layer, promote_to_multi=True, geometry_type="MultiPolygon"
        ),
    )
    parquet = write_atomic(output_path(outdir, f"{layer}.parquet"), data.to_parquet)
    return [gpkg, parquet]


def _why_none(
    threshold: Any,
    candidate_areas: int | None = None,
    exclusions: dict[str, float] | None = None,
    profile: str = "<name>",
) -> str:
    """Why a profile has no site, from the candidate threshold extract_sites used.

    >>> _why_none(float("inf"))[:18], _why_none(0.62)[:38]
    ('no eligible pixel ', 'no area scoring 0.62 or more (and > 0)')
    """
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        return "see the score raster"
    if exclusions and sum(exclusions.values()) > 0.999:  # every pixel with data excluded
        named = "; ".join(f"{name} excludes {share:.0%}" for name, share in exclusions.items())
        first = next(iter(exclusions))
        return (
            f"no eligible pixel ({named} of the pixels with data; if a constraint does not "
            f"apply here, override it in the study, e.g. [profiles.{profile}.constraints.{first}])"
        )
    if not math.isfinite(t):
        # an empty score histogram: no pixel has a score at all
        return (
            "no eligible pixel (every pixel of the region is excluded by a constraint or has "
            "no data; the limiting raster names the constraint)"
        )
    if t <= 0.0:
        return "the best eligible pixels score 0 (the limiting raster names the criterion at 0)"
    if candidate_areas == 0:  # a fixed [sites] threshold above every score
        return (
            f"no pixel scores {t:.3g} or more (and > 0): lower the profile's [sites] "
            "threshold, or see the limiting raster"
        )
    return (
        f"no area scoring {t:.3g} or more (and > 0) is as large as the profile's [sites] "
        "min_area_km2 (see the score and limiting rasters for what holds the scores down)"
    )


def format_top(gdf: gpd.GeoDataFrame, n: int = 10) -> str:
    """Text table of the ``n`` best sites (by ``rank``) for ``geotool run --top N``.

    Shows rank, id, score, area, region, limiting criterion and the profile's headline
    metrics; CJK region names are aligned by display width.
    """
    if len(gdf) == 0:
        return "no candidate sites: " + _why_none(
            gdf.attrs.get("threshold"),
            gdf.attrs.get("candidate_areas"),
            gdf.attrs.get("exclusions"),
            gdf.attrs.get("profile", "<name>"),
        )
    kind = gdf.attrs.get("metric_kind")
    metrics = [c for c in metric_columns(kind if kind != "none" else None) if c in gdf.columns]
    if not metrics:
        metrics = [
            c
            for c in gdf.columns
            if c not in _LEADING
            and c != gdf.geometry.name
            and not str(c).startswith("m_")
            and c not in ("lon", "lat")
            and pd.api.types.is_numeric_dtype(gdf[c])
        ][:4]
    cols = [c for c in _LEADING if c in gdf.columns] + metrics
    top = pd.DataFrame(gdf.sort_values("rank").head(max(int(n), 0))[cols])
    if len(top) == 0:
        return " ".join(cols)
    if "region" in top.columns:
        top["region"] = top["region"].astype(object).where(top["region"].notna(), "-")
    with pd.option_context(
        "display.unicode.east_asian_width",
        True,
        "display.max_columns",
        None,
        "display.width",
        200,
    ):
        return top.to_string(index=False, float_format=lambda v: f"{v:.3f}")
