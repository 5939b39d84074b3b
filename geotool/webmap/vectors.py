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
from geotool.webmap.legend import (
    ContinuousLegend,
    continuous_legend,
    format_number,
    phrase,
    words,
)

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
    "co2_t_per_yr": "CO₂, grid average (t/yr)",
    "co2_t_per_yr_local_green": "CO₂ with local green supply (t/yr)",
    "local_green_share": "Local green supply can cover (share)",
    "area_ha": "Area (ha)",
    "tco2e_total": "Sequestration, total (tCO₂e)",
    "temperature_c": "Temperature (°C)",
    "mw_thermal": "Recoverable heat over the project life (MW thermal)",
    "limiting": "Limited most by",
    "region": "Region",
    "turbines": "Turbines",
    "capacity_factor": "Capacity factor (0–1)",
    "pv_yield_kwh_per_kwp": "Specific PV yield (kWh/kWp per yr)",
    "demand_distance_km": "Distance to demand centre (km)",
    "distance_to_substation_km": "Distance to substation (km)",
    "green_energy_gwh_per_yr": "Green energy nearby (GWh/yr)",
    "green_radius_km": "Green energy radius (km)",
    "electricity_gwh_per_yr": "Electricity use (GWh/yr)",
    "crediting_years": "Crediting period (years)",
    "species": "Species",
    "heat_in_place_pj": "Heat in place (PJ)",
    # carbon_parcels.gpkg (geotool carbon --parcels)
    "parcel_id": "Parcel",
    "agb_t_ha": "Above-ground biomass (t/ha)",
    "root_shoot": "Root-to-shoot ratio",
    "carbon_fraction": "Carbon fraction of dry matter",
    "stock_source": "Stock estimated from",
    "stock_data_share": "Share with stock data (0–1)",
    "forest_share": "Forest already (share 0–1)",
    "removals_tco2e_total": "Removals over the crediting period (tCO₂e)",
    "removals_tco2e_per_yr": "Removals, yearly mean (tCO₂e/yr)",
    "baseline_tco2e_per_yr": "Baseline removals (tCO₂e/yr)",
    # carbon_regions.csv (geotool.carbon)
    "data_area_ha": "Area with data (ha)",
    "forest_area_ha": "Forest area (ha)",
    "stock_tc": "Carbon stock (tC)",
    "stock_tco2e": "Carbon stock (tCO₂e)",
    "carbon_density_tc_ha": "Carbon density (tC/ha)",
    "mean_agb_t_ha": "Mean above-ground biomass (t/ha)",
    "share_agb_map_pct": "From the biomass map (%)",
    "share_volume_pct": "From growing stock volume (%)",
    "share_tier1_pct": "From IPCC Tier 1 defaults (%)",
    "tier1_forest_removals_tco2e_per_yr": "Forest removals, Tier 1 (tCO₂e/yr)",
    "eligible_km2": "Eligible area (km²)",
    "excluded_km2": "Excluded area (km²)",
    "no_data_km2": "Area without data (km²)",
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


def substation_label(min_kv: float) -> str:
    """The popup label of ``distance_to_substation_km`` when the run's manifest says which
    substations it counted (``sites.substation_min_kv``; without it, the plain default label).

    >>> substation_label(220.0), substation_label(110)
    ('Distance to ≥ 220 kV substation (km)', 'Distance to ≥ 110 kV substation (km)')
    """
    return f"Distance to ≥ {min_kv:g} kV substation (km)"


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


def shift_longitudes(geoms: np.ndarray, lon0: float) -> np.ndarray:
    """Lon/lat geometries with longitudes moved into ``lon0 ± 180`` (a no-op for ``lon0 = 0``).

    A map around the antimeridian (``lon0 = 180``) draws -179.9° as 180.1°, next to 179.9°.

    >>> from shapely import LineString
    >>> shift_longitudes(np.array([LineString([(179.9, 0), (-179.9, 1)])]), 180.0)[0].coords[:]
    [(179.9, 0.0), (180.1, 1.0)]
    """
    if lon0 == 0.0:
        return geoms
    west = lon0 - 180.0

    def wrap(xy: np.ndarray) -> np.ndarray:
        out = xy.copy()
        out[:, 0] = (out[:, 0] - west) % 360.0 + west
        return out

    def move(part: Any) -> Any:
        # a part drawn across the antimeridian (its longitudes jump by more than 180°) is
        # wrapped point by point; any other part moves whole, by the turns that bring its
        # centre into lon0 ± 180, so a polygon across Greenwich stays one small polygon
        x0, _, x1, _ = part.bounds
        if x1 - x0 > 180.0:
            return shapely.transform(part, wrap)
        turns = np.floor(((x0 + x1) / 2 - west) / 360.0) * 360.0
        return shapely.transform(part, lambda xy: xy - [turns, 0.0]) if turns else part

    out = []
    for geom in geoms:
        if geom is None or shapely.is_empty(geom):
            out.append(geom)
        elif shapely.get_type_id(geom) in (4, 5, 6, 7):  # multi-part: each part on its own
            parts = [move(p) for p in shapely.get_parts(geom)]
            out.append(type(geom)(parts))
        else:
            out.append(move(geom))
    return np.asarray(out, dtype=object)


_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon


def simplify_outlines(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Polygons simplified so that no outline moves by more than ``tolerance``.

    Douglas–Peucker on every ring with its first vertex kept, the rings of one feature kept
    from crossing each other (GEOS's topology-preserving simplifier on them as lines): every
    dropped vertex lies within ``tolerance`` of the new edge that replaces it, and that edge
    within ``tolerance`` of the dropped stretch. ``shapely.simplify`` on the polygons may
    also drop a ring's first vertex, which can move the outline by more than the tolerance
    (55 m at 50 m on a demo wind site). A ring that would collapse below a triangle, or a
    feature whose result is not valid, is kept as it was.

    >>> ring = [(0, 0), (500, 0), (1000, 40), (1500, 0), (2000, 0), (2000, 1000), (0, 1000)]
    >>> simplify_outlines(np.array([shapely.Polygon(ring)]), 50.0)[0].exterior.coords[:]
    [(0.0, 0.0), (2000.0, 0.0), (2000.0, 1000.0), (0.0, 1000.0), (0.0, 0.0)]
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    solid = ~shapely.is_empty(parts)
    parts, part_of = parts[solid], part_of[solid]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    if len(rings) == 0:
        return geoms
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    lines = shapely.linestrings(coords, indices=coord_of)
    grouped = shapely.multilinestrings(
        lines, indices=part_of[ring_of], out=np.full(len(geoms), None, dtype=object)
    )
    simple = shapely.get_parts(shapely.simplify(grouped, tolerance, preserve_topology=True))
    simple = np.where(shapely.get_num_coordinates(simple) >= 4, simple, lines)
    coords, coord_of = shapely.get_coordinates(simple, return_index=True)
    polygons = shapely.polygons(shapely.linearrings(coords, indices=coord_of), indices=ring_of)
    out = shapely.multipolygons(
        polygons, indices=part_of, out=np.full(len(geoms), None, dtype=object)
    )
    single = shapely.get_type_id(geoms) == 3
    out[single] = shapely.get_geometry(out[single], 0)
    keep = shapely.is_missing(out) | ~shapely.is_valid(out)
    out[keep] = geoms[keep]
    return out


def web_geometries(gdf: Any, simplify_m: float, lon0: float = 0.0) -> list[dict[str, Any] | None]:
    """Simplified (in metres, see :func:`simplify_outlines` for polygons), EPSG:4326, rounded
    GeoJSON geometry dicts (None for no geometry).

    ``lon0``: the map's central longitude (0, or 180 around the antimeridian), see
    :func:`shift_longitudes`.
    """
    geoms = gdf.geometry
    if len(geoms) == 0:
        return []
    if simplify_m > 0:
        metric = geoms if geoms.crs.is_projected else geoms.to_crs(geoms.estimate_utm_crs())
        values = np.asarray(metric.values, dtype=object)
        kinds = shapely.get_type_id(values)
        if np.isin(kinds[~shapely.is_missing(values)], _POLYGONAL).all():
            import geopandas as gpd

            simple = simplify_outlines(values, simplify_m)
            geoms = gpd.GeoSeries(simple, index=metric.index, crs=metric.crs)
        else:
            geoms = metric.simplify(simplify_m, preserve_topology=True)
    geoms = geoms.to_crs("EPSG:4326")
    rounded = shapely.transform(
        shift_longitudes(np.asarray(geoms.values, dtype=object), lon0),
        lambda xy: np.round(xy, COORD_DECIMALS),
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


# Unit suffixes of geotool's column names (``demand_distance_km``, ``heat_in_place_pj``) and how
# a reader writes them; longest first so ``_tco2e_per_yr`` wins over ``_per_yr``.
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_tco2e_per_yr", "tCO₂e/yr"),
    ("_gwh_per_yr", "GWh/yr"),
    ("_mwh_per_yr", "MWh/yr"),
    ("_kwh_per_kwp", "kWh/kWp"),
    ("_t_per_yr", "t/yr"),
    ("_tc_ha", "tC/ha"),
    ("_t_ha", "t/ha"),
    ("_tco2e", "tCO₂e"),
    ("_years", "years"),
    ("_km2", "km²"),
    ("_pct", "%"),
    ("_mwp", "MWp"),
    ("_mw", "MW"),
    ("_gwh", "GWh"),
    ("_pj", "PJ"),
    ("_km", "km"),
    ("_ha", "ha"),
    ("_ms", "ms"),
    ("_tc", "tC"),
    ("_m", "m"),
    ("_c", "°C"),
)
# Columns whose values are identifiers (``pv_yield``, ``chinese_fir``) shown as words.
_WORD_VALUES = frozenset({"limiting", "species"})
# 4 decimals of a degree = 11 m: enough to find a site, not a false precision.
LONLAT_DECIMALS = 4


def column_label(column: str) -> str:
    """Plain-language label of a column: the known ones by name, others from their unit suffix.

    >>> column_label("capacity_mw"), column_label("heat_in_place_pj"), column_label("m_pv_yield")
    ('Capacity (MW)', 'Heat in place (PJ)', 'PV yield')
    >>> column_label("road_distance_km"), column_label("turbine_count")
    ('Road distance (km)', 'Turbine count')
    """
    if column in DEFAULT_LABELS:
        return DEFAULT_LABELS[column]
    if column.startswith("m_"):  # a criterion's membership, 0–1
        return words(column[2:])
    for suffix, unit in _UNIT_SUFFIXES:
        stem = column[: -len(suffix)]
        if column.endswith(suffix) and stem.strip("_"):
            return f"{words(stem)} ({unit})"
    return words(column)


def _label(column: str, labels: Mapping[str, str]) -> str:
    return html.escape(labels[column] if column in labels else column_label(str(column)))


def _cell(column: str, value: Any) -> str:
    """Escaped display text of one attribute value of ``column``."""
    if column in _WORD_VALUES and isinstance(value, str):
        return html.escape(phrase(value))
    return _text(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value) if np.isfinite(value) else None
    return value


def _table(rows: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)


def site_features(
    gdf: Any, *, simplify_m: float, labels: Mapping[str, str], where: str, lon0: float = 0.0
) -> dict[str, Any]:
    """GeoJSON of candidate sites with a popup: rank, score, criterion memberships, metrics.

    Columns ``site_id``, ``rank`` and ``score`` are required; ``m_<criterion>`` columns are shown
    as membership bars (0–1); every other column is a profile metric (or a note) shown as text.
    """
    require_columns(gdf, SITE_COLUMNS, where)
    gdf = gdf.sort_values("rank")
    members = [c for c in gdf.columns if str(c).startswith("m_")]
    skip = {*SITE_COLUMNS, *members, gdf.geometry.name}
    # lon/lat of the site centre: one row, to 11 m, instead of two numbers to 0.1° (11 km)
    located = {"lon", "lat"} <= set(gdf.columns) and all(
        np.issubdtype(gdf[c].dtype, np.number) for c in ("lon", "lat")
    )
    if located:
        skip |= {"lon", "lat"}
    metrics = [c for c in gdf.columns if c not in skip]
    props = []
    for row in gdf.drop(columns=gdf.geometry.name).to_dict("records"):
        head = (
            f'<div class="geotool-popup-title">{_label("site_id", labels)} '
            f"{_text(row['site_id'])}</div>"
        )
        core = [(_label(c, labels), _text(row[c])) for c in ("rank", "score")]
        if located:
            core.append(("Centre (lat, lon)", _latlon(row["lat"], row["lon"])))
        bars = "".join(
            f'<tr><th>{_label(c, labels)}</th><td><span class="geotool-bar">'
            f'<span style="width:{_percent(row[c])}%"></span></span> {_text(row[c])}</td></tr>'
            for c in members
        )
        section = '<tr><td colspan="2" class="geotool-sub">Criteria (membership 0–1)</td></tr>'
        metric_rows = [(_label(c, labels), _cell(c, row[c])) for c in metrics]
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
    return feature_collection(web_geometries(gdf, simplify_m, lon0), props)


def _latlon(lat: Any, lon: Any) -> str:
    """``"25.5540, 113.6641"``, or a dash when either is missing."""
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return "–"
    if not (np.isfinite(la) and np.isfinite(lo)):
        return "–"
    return f"{la:.{LONLAT_DECIMALS}f}, {lo:.{LONLAT_DECIMALS}f}"


def _percent(value: Any) -> int:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0
    return round(100 * min(max(v, 0.0), 1.0)) if np.isfinite(v) else 0


# Area columns that repeat the unit's whole area when nothing of it is cut off: the part on the
# grid (geotool.regions) and the part with carbon data (carbon_regions.csv).
_PART_AREAS = {"covered_km2": "area_km2", "data_area_ha": "area_ha"}


def _same_area(column: str, row: Mapping[str, Any]) -> bool:
    """``covered_km2`` (``data_area_ha``) of a unit the grid (the data) covers whole, within
    0.5 %: the same figure as ``area_km2`` (``area_ha``), so the popup shows it once.

    >>> _same_area("covered_km2", {"area_km2": 100.0, "covered_km2": 99.8})
    True
    >>> _same_area("data_area_ha", {"area_ha": 100.0, "data_area_ha": 80.0})
    False
    """
    whole = _PART_AREAS.get(column)
    if whole is None:
        return False
    try:
        area, part = float(row[whole]), float(row[column])
    except (KeyError, TypeError, ValueError):
        return False
    return bool(np.isfinite(area) and abs(part - area) <= 0.005 * abs(area))


def _attribute_table(row: Mapping[str, Any], columns: list[str], labels: Mapping[str, str]) -> str:
    """Popup table rows of ``columns`` of one feature, an area that repeats another left out."""
    return _table(
        [(_label(c, labels), _cell(c, row[c])) for c in columns if not _same_area(c, row)]
    )


def region_features(
    gdf: Any,
    *,
    value: str,
    cmap: str,
    simplify_m: float,
    labels: Mapping[str, str],
    legend_title: str,
    where: str,
    lon0: float = 0.0,
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
                + _attribute_table(
                    row, [c for c in gdf.columns if c not in ("region", gdf.geometry.name)], labels
                )
                + "</table>",
            }
        )
    legend = continuous_legend(legend_title, cmap, vmin, vmax)
    return feature_collection(web_geometries(gdf, simplify_m, lon0), props), legend


def labelled_features(
    gdf: Any,
    *,
    label_field: str,
    simplify_m: float,
    lon0: float = 0.0,
    popup_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """GeoJSON of points or areas with the escaped ``label_field`` as tooltip (when present)
    and, with ``popup_labels``, a popup of every other attribute in words with its units
    (``label_field`` its title; a column's label from ``popup_labels`` or
    :func:`column_label`), as sites and regions have.

    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> gdf = gpd.GeoDataFrame({"parcel_id": ["P1"], "stock_tco2e": [499.0]},
    ...                        geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
    >>> fc = labelled_features(gdf, label_field="parcel_id", simplify_m=0, popup_labels={})
    >>> fc["features"][0]["properties"]["_popup"].split("</div>")[1]
    '<table class="geotool-table"><tr><th>Carbon stock (tCO₂e)</th><td>499</td></tr></table>'
    """
    has_label = label_field in gdf.columns
    titles = list(gdf[label_field]) if has_label else [None] * len(gdf)
    props: list[dict[str, Any]] = [
        {"_tooltip": html.escape(str(v)) if v is not None else ""} for v in titles
    ]
    if popup_labels is not None:
        columns = [c for c in gdf.columns if c not in (label_field, gdf.geometry.name)]
        rows = gdf.drop(columns=gdf.geometry.name).to_dict("records")
        for prop, title, row in zip(props, titles, rows, strict=True):
            head = f'<div class="geotool-popup-title">{_text(title)}</div>' if has_label else ""
            table = _attribute_table(row, columns, popup_labels)
            prop["_popup"] = f'{head}<table class="geotool-table">{table}</table>'
    return feature_collection(web_geometries(gdf, simplify_m, lon0), props)
