"""Vector overlays as plain data: small GeoJSON with escaped popup and tooltip HTML.

Geometries are simplified in metres, reprojected to EPSG:4326 and rounded to 5 decimals
(1.1 m at the equator, well below a screen pixel at zoom 16), so the embedded file stays small.
Every string that came from a user file is HTML-escaped here, once; the browser inserts the
prepared ``_popup`` / ``_tooltip`` properties as HTML, so nothing in them can run as markup.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> gdf = gpd.GeoDataFrame({"name": ["<b>x</b>"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
>>> fc = labelled_features(gdf, label_field="name", simplify_m=0.0)
>>> fc["features"][0]["properties"]["_tooltip"]
'&lt;b&gt;x&lt;/b&gt;'
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from geotool.errors import CRSError, InputError, UnreadableFileError
from geotool.webmap.legend import ContinuousLegend, continuous_legend, format_number

# 5 decimals of a degree = 1.1 m at the equator.
COORD_DECIMALS = 5

SITE_COLUMNS = ("site_id", "rank", "score")
REGION_COLUMNS = ("region",)

DEFAULT_LABELS: dict[str, str] = {
    "site_id": "Site",
    "rank": "Rank",
    "score": "Score (0–1)",
    "area_km2": "Area (km²)",
    "capacity_mw": "Capacity (MW)",
    "energy_gwh_per_yr": "Energy (GWh/yr)",
    "pue": "PUE",
    "latency_ms": "Latency (ms)",
    "tco2e_per_yr": "Sequestration (tCO₂e/yr)",
    "heat_mw": "Heat (MW)",
    "capacity_mwp": "Capacity (MWp)",
    "it_load_mw": "IT load (MW)",
    "co2_t_per_yr": "CO₂ (t/yr)",
    "area_ha": "Area (ha)",
    "tco2e_total": "Sequestration, total (tCO₂e)",
    "temperature_c": "Temperature (°C)",
    "mw_thermal": "Heat (MW thermal)",
    "limiting": "Limiting",
    "region": "Region",
    "eligible_km2": "Eligible area (km²)",
    "excluded_km2": "Excluded area (km²)",
    "covered_km2": "Area on the grid (km²)",
    "score_mean": "Mean score",
    "score_max": "Max score",
    "sites": "Candidate sites",
    "site_area_km2": "Site area (km²)",
    "potential": "Potential",
    # technical potential of all eligible land (geotool.regions)
    "eligible_capacity_mw": "Technical potential (MW)",
    "eligible_capacity_mwp": "Technical potential (MWp)",
    "eligible_energy_gwh_per_yr": "Technical potential (GWh/yr)",
    "eligible_tco2e_per_yr": "Technical potential (tCO₂e/yr)",
    "eligible_mw_thermal": "Technical potential (MW thermal)",
}


def read_vector(path: Path) -> Any:
    """Read a vector file (GeoPackage, GeoJSON, ...) as a GeoDataFrame with a CRS."""
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise UnreadableFileError(
            f"cannot read vector file ({exc})",
            where=str(path),
            fix="re-run the stage that wrote it",
        ) from exc
    if gdf.crs is None:
        raise CRSError("vector file has no CRS", where=str(path), fix="write it with a CRS")
    return gdf


def require_columns(gdf: Any, columns: tuple[str, ...], where: str) -> None:
    """Raise :class:`InputError` naming the file and the first missing column."""
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise InputError(
            f'column "{missing[0]}" is missing (has: {", ".join(map(str, gdf.columns))})',
            where=where,
            fix="re-run the stage that wrote the file, or fix the composition",
        )


def web_geometries(gdf: Any, simplify_m: float) -> list[dict[str, Any] | None]:
    """Simplified (in metres), EPSG:4326, rounded GeoJSON geometry dicts (None for no geometry)."""
    geoms = gdf.geometry
    if len(geoms) == 0:
        return []
    if simplify_m > 0:
        metric = geoms if geoms.crs.is_projected else geoms.to_crs(geoms.estimate_utm_crs())
        geoms = metric.simplify(simplify_m, preserve_topology=True)
    geoms = geoms.to_crs("EPSG:4326")
    rounded = shapely.transform(
        np.asarray(geoms.values, dtype=object), lambda xy: np.round(xy, COORD_DECIMALS)
    )
    return [None if text is None else json.loads(text) for text in shapely.to_geojson(rounded)]


def feature_collection(
    geometries: list[dict[str, Any] | None], properties: list[dict[str, Any]]
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection from parallel lists (features without geometry dropped)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": g, "properties": p}
            for g, p in zip(geometries, properties, strict=True)
            if g is not None
        ],
    }


def _text(value: Any) -> str:
    """Escaped display text of one attribute value."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return format_number(float(value))
    if value is None:
        return "–"
    return html.escape(str(value))


def _label(column: str, labels: Mapping[str, str]) -> str:
    if column in labels:
        return html.escape(labels[column])
    if column in DEFAULT_LABELS:
        return html.escape(DEFAULT_LABELS[column])
    if column.startswith("m_"):
        return html.escape(column[2:].replace("_", " "))
    return html.escape(column.replace("_", " "))


def _json_value(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value) if np.isfinite(value) else None
    return value


def _table(rows: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)


def site_features(
    gdf: Any, *, simplify_m: float, labels: Mapping[str, str], where: str
) -> dict[str, Any]:
    """GeoJSON of candidate sites with a popup: rank, score, criterion memberships, metrics.

    Columns ``site_id``, ``rank`` and ``score`` are required; ``m_<criterion>`` columns are shown
    as membership bars (0–1); every other column is a profile metric (or a note) shown as text.
    """
    require_columns(gdf, SITE_COLUMNS, where)
    gdf = gdf.sort_values("rank")
    members = [c for c in gdf.columns if str(c).startswith("m_")]
    skip = {*SITE_COLUMNS, *members, gdf.geometry.name}
    metrics = [c for c in gdf.columns if c not in skip]
    props = []
    for row in gdf.drop(columns=gdf.geometry.name).to_dict("records"):
        head = (
            f'<div class="geotool-popup-title">{_label("site_id", labels)} '
            f"{_text(row['site_id'])}</div>"
        )
        core = [(_label(c, labels), _text(row[c])) for c in ("rank", "score")]
        bars = "".join(
            f'<tr><th>{_label(c, labels)}</th><td><span class="geotool-bar">'
            f'<span style="width:{_percent(row[c])}%"></span></span> {_text(row[c])}</td></tr>'
            for c in members
        )
        section = '<tr><td colspan="2" class="geotool-sub">Criteria (membership 0–1)</td></tr>'
        metric_rows = [(_label(c, labels), _text(row[c])) for c in metrics]
        popup = (
            head
            + '<table class="geotool-table">'
            + _table(core)
            + (section + bars if members else "")
            + _table(metric_rows)
            + "</table>"
        )
        tooltip = (
            f"{_label('site_id', labels)} {_text(row['site_id'])} · rank {_text(row['rank'])}"
            f" · score {_text(row['score'])}"
        )
        props.append(
            {
                "site_id": _json_value(row["site_id"]),
                "rank": _json_value(row["rank"]),
                "score": _json_value(row["score"]),
                "_popup": popup,
                "_tooltip": tooltip,
            }
        )
    return feature_collection(web_geometries(gdf, simplify_m), props)


def _percent(value: Any) -> int:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0
    return round(100 * min(max(v, 0.0), 1.0)) if np.isfinite(v) else 0


def region_features(
    gdf: Any,
    *,
    value: str,
    cmap: str,
    simplify_m: float,
    labels: Mapping[str, str],
    legend_title: str,
    where: str,
) -> tuple[dict[str, Any], ContinuousLegend]:
    """GeoJSON choropleth of region summaries with tooltips, and its legend.

    Each feature carries its fill colour (``_fill``) from ``cmap`` stretched over the value
    column's range; the tooltip shows the region name, eligible area and potential.
    """
    import matplotlib
    from matplotlib.colors import to_hex

    require_columns(gdf, (*REGION_COLUMNS, value), where)
    values = gdf[value].to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if not vmax > vmin:
        vmax = vmin + 1.0
    table = matplotlib.colormaps[cmap]
    shown = list(
        dict.fromkeys(c for c in ("eligible_km2", value, "potential", "sites") if c in gdf.columns)
    )
    props = []
    for row, v in zip(gdf.drop(columns=gdf.geometry.name).to_dict("records"), values, strict=True):
        fill = str(to_hex(table((v - vmin) / (vmax - vmin)))) if np.isfinite(v) else "#bdbdbd"
        name = html.escape(str(row["region"]))
        rows = "".join(f"<br>{_label(c, labels)}: {_text(row[c])}" for c in shown)
        props.append(
            {
                "region": str(row["region"]),
                "_fill": fill,
                "_tooltip": f"<b>{name}</b>{rows}",
                "_popup": f'<div class="geotool-popup-title">{name}</div><table '
                f'class="geotool-table">'
                + _table(
                    [
                        (_label(c, labels), _text(row[c]))
                        for c in gdf.columns
                        if c not in ("region", gdf.geometry.name)
                    ]
                )
                + "</table>",
            }
        )
    legend = continuous_legend(legend_title, cmap, vmin, vmax)
    return feature_collection(web_geometries(gdf, simplify_m), props), legend


def labelled_features(gdf: Any, *, label_field: str, simplify_m: float) -> dict[str, Any]:
    """GeoJSON of points or areas with the escaped ``label_field`` as tooltip (when present)."""
    has_label = label_field in gdf.columns
    props = [
        {"_tooltip": html.escape(str(v)) if has_label and v is not None else ""}
        for v in (gdf[label_field] if has_label else [None] * len(gdf))
    ]
    return feature_collection(web_geometries(gdf, simplify_m), props)
