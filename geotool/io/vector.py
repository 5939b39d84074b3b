"""Vector inputs: read what planners download, then rasterize masks and exact distances.

Readers accept GeoPackage, GeoJSON (including a bare JSON array of features, as some Chinese
boundary sources ship, and 3-D coordinates), Shapefile and GeoParquet. Geometries are checked
at the boundary: empty ones are dropped, invalid ones repaired with ``make_valid`` (and the
repair is reported), 3-D coordinates flattened.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geotool.errors import (
    ConfigError,
    CRSError,
    GeometryError,
    MissingFileError,
    UnreadableFileError,
)

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".parquet", ".geoparquet", ".fgb"}


def read_vector(
    path: Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    bbox_crs: Any = None,
    notes: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame with valid, non-empty, 2-D geometries.

    Parameters
    ----------
    crs
        CRS to assign when the file has none (GeoJSON is WGS 84 by RFC 7946 and needs none).
    bbox, bbox_crs
        Read only features intersecting this box (given in ``bbox_crs``).
    notes
        Receives one line per repair made (invalid geometries fixed, empties dropped).
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError("file not found", where=str(path), fix="check the path in [layers]")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix not in VECTOR_SUFFIXES:
        raise UnreadableFileError(
            f"unsupported vector format {suffix or '(none)'}",
            where=str(path),
            fix="use GeoPackage, GeoJSON, Shapefile or GeoParquet",
        )
    try:
        if suffix in {".parquet", ".geoparquet"}:
            gdf = gpd.read_parquet(path)
        elif suffix in {".geojson", ".json"} and _is_bare_array(path):
            gdf = _read_feature_array(path)
        else:
            gdf = _read_ogr(path, layer, bbox, bbox_crs)
    except (MissingFileError, UnreadableFileError, ConfigError):
        raise
    except Exception as exc:
        raise UnreadableFileError(
            f"not readable vector data ({_one_line(exc)})",
            where=str(path),
            fix="re-export it as GeoPackage or GeoJSON",
        ) from exc
    if gdf.crs is None:
        if suffix in {".geojson", ".json"}:
            gdf = gdf.set_crs("EPSG:4326")  # RFC 7946 §4: GeoJSON coordinates are WGS 84
        elif crs is not None:
            gdf = gdf.set_crs(crs)
        else:
            raise CRSError(
                "vector file has no CRS",
                where=str(path),
                fix='add `crs = "EPSG:xxxx"` to its [layers] entry (or ship the .prj)',
            )
    gdf = clean_geometries(gdf, str(path), notes)
    _check_vector_crs(gdf, str(path))
    if bbox is not None and len(gdf):
        box = _bbox_in(bbox, bbox_crs, gdf.crs)
        gdf = gdf[gdf.intersects(shapely.box(*box))]
    return gdf


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_bare_array(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def _read_feature_array(path: Path) -> gpd.GeoDataFrame:
    """A bare JSON array of GeoJSON features (e.g. DataV.GeoAtlas extracts)."""
    try:
        features = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}", where=str(path)
        ) from exc
    if not isinstance(features, list) or not all(
        isinstance(f, dict) and f.get("type") == "Feature" for f in features
    ):
        raise UnreadableFileError(
            "is a JSON array but not an array of GeoJSON features", where=str(path)
        )
    return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")


def _read_ogr(
    path: Path, layer: str | None, bbox: tuple[float, float, float, float] | None, bbox_crs: Any
) -> gpd.GeoDataFrame:
    import pyogrio

    if layer is not None:
        layers = [name for name, _ in pyogrio.list_layers(path)]
        if layer not in layers:
            raise ConfigError(
                f"has no layer {layer!r}", where=str(path), fix=f"layers in it: {layers}"
            )
    kwargs: dict[str, Any] = {"layer": layer}
    if bbox is not None:
        info = pyogrio.read_info(path, layer=layer)
        file_crs = info.get("crs")
        if file_crs:
            kwargs["bbox"] = _bbox_in(bbox, bbox_crs, CRS.from_user_input(file_crs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return gpd.read_file(path, engine="pyogrio", **kwargs)


def _bbox_in(
    bbox: tuple[float, float, float, float], src_crs: Any, dst_crs: Any
) -> tuple[float, float, float, float]:
    if src_crs is None or dst_crs is None or CRS.from_user_input(src_crs) == CRS(dst_crs):
        return bbox
    from rasterio.warp import transform_bounds

    out = transform_bounds(CRS.from_user_input(src_crs), CRS(dst_crs), *bbox, densify_pts=21)
    return (float(out[0]), float(out[1]), float(out[2]), float(out[3]))


def _check_vector_crs(gdf: gpd.GeoDataFrame, where: str) -> None:
    if not len(gdf):
        return
    left, bottom, right, top = gdf.total_bounds
    if gdf.crs.is_geographic and not (
        -181 <= left <= 361 and -181 <= right <= 361 and -91 <= bottom <= top <= 91
    ):
        raise CRSError(
            f"CRS {gdf.crs.name} is geographic but coordinates reach {gdf.total_bounds.round(1)}",
            where=where,
            fix="the file's CRS is wrong: set the projected CRS it really uses",
        )


def clean_geometries(
    gdf: gpd.GeoDataFrame, where: str, notes: list[str] | None = None
) -> gpd.GeoDataFrame:
    """Drop empty geometries, flatten 3-D, repair invalid ones (and say so)."""
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.all():
        raise GeometryError(
            "has no features with a geometry", where=where, fix="check the file has features"
        )
    if missing.any():
        if notes is not None:
            notes.append(f"{where}: dropped {int(missing.sum())} empty geometries")
        gdf = gdf[~missing]
        geoms = gdf.geometry.values
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = shapely.make_valid(geoms[invalid])
        geoms = np.array(geoms, dtype=object)
        geoms[invalid] = repaired
        if notes is not None:
            notes.append(f"{where}: repaired {int(invalid.sum())} invalid geometries (make_valid)")
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))


# ----------------------------------------------------------------------------- filters

_FILTER = re.compile(
    r"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>==|!=|<=|>=|<|>|=|in)\s*(?P<value>.+?)\s*$"
)


def parse_filter(where: str) -> tuple[str, str, Any]:
    """Parse ``"field op value"`` — never evaluated as code.

    >>> parse_filter("voltage_kv >= 220")
    ('voltage_kv', '>=', 220.0)
    >>> parse_filter("kind in ['town', 'city']")
    ('kind', 'in', ['town', 'city'])
    """
    m = _FILTER.match(where or "")
    if not m:
        raise ConfigError(
            f"cannot parse filter {where!r}",
            where="where",
            fix="write `field op value`, op one of == != < <= > >= in",
        )
    field, op, text = m.group("field"), m.group("op"), m.group("value")
    op = "==" if op == "=" else op
    if op == "in":
        inner = text.strip()
        if not (inner.startswith("[") and inner.endswith("]")):
            raise ConfigError(f"`in` needs a [list] in filter {where!r}", where="where")
        items = [_literal(t) for t in inner[1:-1].split(",") if t.strip()]
        return field, op, items
    return field, op, _literal(text)


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        return text


def apply_filter(gdf: gpd.GeoDataFrame, where: str | None, label: str) -> gpd.GeoDataFrame:
    """Keep the features matching ``where``; an unknown field is an error naming the file."""
    if not where:
        return gdf
    field, op, value = parse_filter(where)
    if field not in gdf.columns:
        raise ConfigError(
            f"filter {where!r} uses field {field!r}, which the file lacks",
            where=label,
            fix=f"fields present: {[c for c in gdf.columns if c != gdf.geometry.name]}",
        )
    col = gdf[field]
    if isinstance(value, float) or (op == "in" and all(isinstance(v, float) for v in value)):
        col = pd.to_numeric(col, errors="coerce")
    ops = {
        "==": col.__eq__,
        "!=": col.__ne__,
        "<": col.__lt__,
        "<=": col.__le__,
        ">": col.__gt__,
        ">=": col.__ge__,
    }
    mask = col.isin(value) if op == "in" else ops[op](value)
    return gdf[mask.fillna(False).to_numpy(dtype=bool)]


def reach_bounds(
    bounds: tuple[float, float, float, float], max_distance_m: float
) -> tuple[float, float, float, float]:
    """Grid bounds grown by the distance cap: features this close still matter."""
    pad = max_distance_m if math.isfinite(max_distance_m) else 0.0
    return (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
