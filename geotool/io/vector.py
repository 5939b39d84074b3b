"""Vector inputs: read what planners download, then rasterize masks and exact distances.

Readers accept GeoPackage, GeoJSON (including a bare JSON array of features, as some Chinese
boundary sources ship, and 3-D coordinates), Shapefile and GeoParquet. Geometries are checked
at the boundary: empty ones are dropped, invalid ones repaired with ``make_valid`` (and the
repair is reported), 3-D coordinates flattened.

Text encoding: a Shapefile's ``.cpg`` (or the code page in its ``.dbf`` header) is honoured,
and an ``encoding`` the study gives overrides both. A Shapefile that declares none -- as most
from Chinese GIS departments, written in GBK -- is not left to GDAL, which would read it as
ISO-8859-1 and turn every Chinese name into mojibake without a word: its bytes are read as
UTF-8, GBK or ISO-8859-1, whichever :func:`guess_text_encoding` finds they are in, with a note,
and refused with the fix when none fits. The same holds for a GeoJSON or GeoPackage whose text
is not the UTF-8 it must be.
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
    CRSMismatchError,
    GeometryError,
    GeotoolError,
    InputError,
    MissingFileError,
    UnreadableFileError,
)
from geotool.io.zones import check_zone_prefix

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".parquet", ".geoparquet", ".fgb"}


def read_vector(
    path: Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    bbox_crs: Any = None,
    notes: list[str] | None = None,
    crs_key: str = "crs",
    layer_key: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame with valid, non-empty, 2-D geometries.

    A file without features, or without any within ``bbox``, reads as an empty GeoDataFrame
    (no protected area near the region is normal: distances are then the cap everywhere).

    Parameters
    ----------
    layer
        The layer to read from a multi-layer file (GeoPackage, ...).
    crs
        CRS to assign when the file has none (GeoJSON is WGS 84 by RFC 7946 and needs none).
    bbox, bbox_crs
        Read only features intersecting this box (given in ``bbox_crs``).
    notes
        Receives one line per repair made (invalid geometries fixed, empties dropped).
    crs_key
        The study key that states this file's CRS: ``crs`` of a [layers] entry, or
        ``region_crs`` of [study] (named in messages).
    layer_key
        The study's [layers] key this file is bound to (e.g. ``"roads"``): when ``layer`` is not
        given and the file holds several layers, the layer of exactly that name is read.
    encoding
        The encoding of the file's text (field names and values), e.g. ``"GBK"``; overrides a
        Shapefile's ``.cpg``. Without it, text the file does not declare is guessed (UTF-8 or
        GBK, with a note) or refused (:class:`~geotool.errors.InputError`).

    Raises
    ------
    geotool.errors.MissingFileError, geotool.errors.UnreadableFileError
        A missing, unsupported, corrupt or truncated file.
    geotool.errors.InputError
        A file of several layers, none named (``ConfigError``: a named layer it lacks).
    geotool.errors.CRSError
        No CRS and none assigned, a CRS contradicting the coordinates, or an assigned
        ``crs`` that differs from the file's own (``CRSMismatchError``).
    geotool.errors.GeometryError
        Features, but none with a geometry.

    Examples
    --------
    >>> read_vector(Path("roads.geojson"), bbox=(112.9, 24.0, 113.3, 24.4))  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError("file not found", where=str(path), fix=_path_fix(crs_key, layer_key))
    suffix = path.suffix.lower()
    if path.is_dir() or suffix not in VECTOR_SUFFIXES:
        raise UnreadableFileError(
            f"unsupported vector format {suffix or '(none)'}",
            where=str(path),
            fix="use GeoPackage, GeoJSON, Shapefile or GeoParquet",
        )
    try:
        with warnings.catch_warnings():
            # GDAL's complaints about the file (bad GeoPackage ids, ...) end in the error below
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            if suffix in {".parquet", ".geoparquet"}:
                gdf = gpd.read_parquet(path)
            elif suffix in {".geojson", ".json"} and _is_bare_array(path):
                gdf = _read_feature_array(path, encoding, crs_key, layer_key, notes)
            else:
                gdf = _read_text_ogr(
                    path, layer, bbox, bbox_crs, layer_key, crs_key, encoding, notes
                )
    except GeotoolError:
        raise
    except UnicodeDecodeError as exc:  # text in neither the `encoding` given nor a guess
        key = "region_encoding" if crs_key == "region_crs" else "encoding"
        raise InputError(
            f"its text is not {encoding or 'UTF-8 or GBK'} ({_one_line(exc)})",
            where=str(path),
            fix=f"set `{key}` to the encoding it was saved in"
            if encoding is not None
            else _encoding_fix(path, crs_key, layer_key),
        ) from exc
    except Exception as exc:
        raise UnreadableFileError(
            f"not readable vector data ({_one_line(exc)})",
            where=str(path),
            fix="re-export it as GeoPackage or GeoJSON",
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise UnreadableFileError(
            "holds no geometry column",
            where=str(path),
            fix="re-export it with its geometries, as GeoPackage or GeoJSON",
        )
    assigned = gdf.crs is None and crs is not None
    if gdf.crs is None:
        if crs is not None:
            gdf = gdf.set_crs(_parse_crs(crs, str(path)))
        elif suffix in {".geojson", ".json"}:
            gdf = gdf.set_crs("EPSG:4326")  # RFC 7946 §4: GeoJSON coordinates are WGS 84
        else:
            raise CRSError(
                "vector file has no CRS",
                where=str(path),
                fix=f'add `{crs_key} = "EPSG:xxxx"` to {_crs_place(crs_key)}, or ship the .prj'
                if layer_key is not None or crs_key != "crs"
                else "re-export it with its CRS (a Shapefile needs its .prj beside it)",
            )
    elif crs is not None and not CRS(gdf.crs).equals(
        _parse_crs(crs, str(path)), ignore_axis_order=True
    ):
        epsg = CRS(gdf.crs).to_epsg()
        raise CRSMismatchError(
            f"the file's CRS is {f'EPSG:{epsg}' if epsg else gdf.crs.name} but the study "
            f"says {crs!r}",
            where=str(path),
            fix=f"remove `{crs_key}` from {_crs_place(crs_key)} (it only assigns a CRS to a "
            "file that has none), or fix the file",
        )
    gdf = clean_geometries(gdf, str(path), notes)
    _check_vector_crs(gdf, str(path))
    if len(gdf):
        _check_zone_prefix(gdf.crs, gdf.total_bounds, path, crs_key if assigned else None)
    if bbox is not None and len(gdf):
        boxes = shapely.union_all([shapely.box(*b) for b in _bboxes_in(bbox, bbox_crs, gdf.crs)])
        gdf = gdf[gdf.intersects(boxes)]
    return gdf


def _path_fix(crs_key: str, layer_key: str | None) -> str:
    """How to fix a missing file: the study key that names it, when there is one."""
    if layer_key is not None:
        return f"check the path of `{layer_key}` in [layers] (relative to the study file)"
    if crs_key == "region_crs":
        return "check `region` in [study] (relative to the study file)"
    return "check the path"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# Text a file does not declare is tried as UTF-8 first (text in another multi-byte encoding
# is almost never valid UTF-8), then as GB18030 (GB 18030-2005), the superset of the GBK and
# GB 2312 that Chinese Windows (code page 936) and GIS software write, then ISO-8859-1.

GB2312_MIN_SHARE = 0.9
"""Least share of the multi-byte characters of a GBK reading that must be GB 2312 hanzi or
Chinese punctuation (rows 0xA1, 0xA3 and 0xB0-0xF7) for the reading to be taken. GB 2312-1980's
6,763 hanzi cover 99.75 % of the characters of modern Chinese text (e.g. Wikipedia "GB 2312"):
Guangdong's and Shaoguan's unit names and common forestry field names score 1.0. Big5
(Taiwan, Hong Kong) bytes read as GBK score 0.39-0.41 on lists of their county names (and
are read as ISO-8859-1), Shift-JIS about 0; Latin text scores low as its accented letters
mostly stand alone (Zürich: ü + r is no GB 2312 pair). EUC-KR Korean shares GB 2312's byte
layout and cannot be told apart. The note names the encoding assumed; ``encoding`` overrides."""

GB2312_SAMPLE = 5_000
"""Distinct strings whose characters are counted for :data:`GB2312_MIN_SHARE` (all of them
must decode)."""

_SHAPEFILE_ANSI_LDID = 0x57
"""``.dbf`` language driver 0x57 ("ANSI"): the writing machine's own code page -- CP936 (GBK)
on Chinese Windows -- which GDAL reads as ISO-8859-1; it declares nothing."""


def _read_text_ogr(
    path: Path,
    layer: str | None,
    bbox: tuple[float, float, float, float] | None,
    bbox_crs: Any,
    layer_key: str | None,
    crs_key: str,
    encoding: str | None,
    notes: list[str] | None,
) -> gpd.GeoDataFrame:
    """:func:`_read_ogr` with the text decoded: in ``encoding``, in what the file declares, or
    -- when it declares nothing -- in the encoding its bytes decode cleanly in."""
    if encoding is not None:
        return _read_ogr(path, layer, bbox, bbox_crs, layer_key, crs_key, encoding)
    why = "the file does not name its text encoding"
    try:
        gdf = _read_ogr(path, layer, bbox, bbox_crs, layer_key, crs_key, None)
        if not _undeclared_shapefile_text(path, layer):
            return gdf
    except UnicodeDecodeError:  # not UTF-8, as GeoJSON and GeoPackage must be (or a .cpg says)
        # ISO-8859-1 maps every byte to one character: the strings carry the raw bytes
        gdf = _read_ogr(path, layer, bbox, bbox_crs, layer_key, crs_key, "ISO-8859-1")
        why = (
            "its text is not the UTF-8 its .cpg file says"
            if path.suffix.lower() == ".shp"
            else f"its text is not UTF-8, as a {path.suffix.lower()} file's must be"
        )
    return _decode_undeclared(gdf, path, crs_key, layer_key, notes, why)


def _undeclared_shapefile_text(path: Path, layer: str | None) -> bool:
    """A Shapefile whose text GDAL had no encoding for: no ``.cpg`` it understands and no
    code page in the ``.dbf`` header (language driver 0 or 0x57). GDAL then hands over the
    raw bytes, which pyogrio decodes as ISO-8859-1 (and says so), or reads 0x57 as
    ISO-8859-1 itself: either way each string holds the file's bytes one per character."""
    if path.suffix.lower() != ".shp":
        return False
    import pyogrio

    if pyogrio.read_info(path, layer=layer).get("encoding") == "ISO-8859-1":
        return True
    dbf = _sidecar(path, ".dbf")
    if dbf is None or _sidecar(path, ".cpg") is not None:
        return False
    with open(dbf, "rb") as fh:
        header = fh.read(30)
    return len(header) == 30 and header[29] == _SHAPEFILE_ANSI_LDID


def _sidecar(path: Path, suffix: str) -> Path | None:
    """The Shapefile part beside ``path`` with ``suffix`` in either case (``.CPG``), or None."""
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def _decode_undeclared(
    gdf: gpd.GeoDataFrame,
    path: Path,
    crs_key: str,
    layer_key: str | None,
    notes: list[str] | None,
    why: str,
) -> gpd.GeoDataFrame:
    """Re-decode field names and text values (read as ISO-8859-1, i.e. raw bytes) in the
    encoding they decode cleanly in; a note says which, an error when none fits."""
    geometry = gdf.geometry.name
    names = [c for c in gdf.columns if isinstance(c, str) and c != geometry]
    texts = [c for c in names if _holds_text(gdf[c])]
    samples: set[str] = {c for c in names if not c.isascii()}
    for c in texts:
        samples.update(
            v for v in gdf[c].dropna().unique() if isinstance(v, str) and not v.isascii()
        )
    if not samples:
        return gdf  # ASCII only: every encoding reads it alike
    try:
        raw = [s.encode("latin-1") for s in samples]
    except UnicodeEncodeError:
        return gdf  # not raw bytes after all (GDAL did recode): leave it
    found = guess_text_encoding(raw)
    if found is None:
        raise InputError(
            f"{why}, and neither UTF-8, GBK nor ISO-8859-1 reads it",
            where=str(path),
            fix=_encoding_fix(path, crs_key, layer_key),
        )
    _note_guess(notes, path, found, crs_key, layer_key, why)

    def decode(text: Any) -> Any:
        if not isinstance(text, str) or text.isascii():
            return text
        return text.encode("latin-1").decode(found)

    out = gdf.copy()
    for c in texts:
        out[c] = out[c].map(decode)
    return out.rename(columns={c: decode(c) for c in names if not c.isascii()})


def _note_guess(
    notes: list[str] | None,
    path: Path,
    found: str,
    crs_key: str,
    layer_key: str | None,
    why: str,
) -> None:
    if notes is not None:
        label = {"gb18030": "GBK", "latin-1": "ISO-8859-1 (Latin-1)"}.get(found, "UTF-8")
        notes.append(
            f"{path}: {why}; read as {label}, in which all "
            "its text decodes (if names look wrong: "
            f"{_encoding_fix(path, crs_key, layer_key, example='')})"
        )


def _holds_text(values: pd.Series) -> bool:
    return bool(pd.api.types.is_string_dtype(values) or values.dtype == object)


def guess_text_encoding(samples: list[bytes]) -> str | None:
    """The encoding ``samples`` (raw text) are in, judged from all of them: ``"utf-8"`` if
    they decode as such; ``"gb18030"`` (GBK) if they decode as such and nearly all their
    characters are GB 2312's (:data:`GB2312_MIN_SHARE`); else ``"latin-1"`` (the
    Shapefile's historical default, GDAL's too) unless a byte is a C1 control character
    (0x80-0x9F), which ISO-8859-1 text never holds: then None.

    >>> guess_text_encoding(["曲江区".encode("gbk"), "县名".encode("gbk"), "村".encode("gbk")])
    'gb18030'
    >>> guess_text_encoding(["乳源".encode("utf-8")])
    'utf-8'
    >>> guess_text_encoding([t.encode("latin-1") for t in ("Zürich", "Größe", "Conceição")])
    'latin-1'
    >>> guess_text_encoding(["“quoted”".encode("cp1252")]) is None
    True
    """
    try:
        for raw in samples:
            raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        for raw in samples:
            raw.decode("gb18030")
        chinese, total = _gb2312_share(samples[:GB2312_SAMPLE])
        if total and chinese >= GB2312_MIN_SHARE * total:
            return "gb18030"
    except UnicodeDecodeError:
        pass
    if any(0x80 <= byte <= 0x9F for raw in samples for byte in raw):
        return None
    return "latin-1"


def _gb2312_share(samples: list[bytes]) -> tuple[int, int]:
    """(GB 2312 hanzi and punctuation, all multi-byte characters) in GB18030 ``samples``."""
    chinese = total = 0
    for raw in samples:
        i = 0
        while i < len(raw):
            lead = raw[i]
            if lead < 0x80:
                i += 1
                continue
            total += 1
            trail = raw[i + 1] if i + 1 < len(raw) else 0
            if 0x30 <= trail <= 0x39:  # a 4-byte GB18030 character: not GB 2312
                i += 4
                continue
            chinese += (lead in (0xA1, 0xA3) or 0xB0 <= lead <= 0xF7) and 0xA1 <= trail <= 0xFE
            i += 2
    return chinese, total


def _encoding_fix(path: Path, crs_key: str, layer_key: str | None, example: str = "GBK") -> str:
    """How the user states a file's text encoding (the study key, a ``.cpg``, or UTF-8)."""
    shapefile = path.suffix.lower() == ".shp"
    cpg = "put a .cpg file naming its encoding (e.g. GBK) beside the .shp"
    if layer_key is None and crs_key != "region_crs":
        return f"{cpg}, or re-save it as UTF-8" if shapefile else "re-save it as UTF-8"
    key, place = ("encoding", "its [layers] entry")
    if layer_key is None:
        key, place = ("region_encoding", "[study]")
    said = (
        f'set `{key} = "{example}"` (or the encoding it was saved in) in {place}'
        if example
        else f"set `{key}` in {place} to the encoding it was saved in"
    )
    return f"{said}, or {cpg}" if shapefile else f"{said}, or re-save it as UTF-8"


def _is_bare_array(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def _read_feature_array(
    path: Path,
    encoding: str | None,
    crs_key: str,
    layer_key: str | None,
    notes: list[str] | None,
) -> gpd.GeoDataFrame:
    """A bare JSON array of GeoJSON features (e.g. DataV.GeoAtlas extracts)."""
    raw = path.read_bytes()
    if encoding is not None:
        text = raw.decode(encoding).lstrip("\ufeff")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            found = guess_text_encoding([raw])
            if found is None:
                raise
            _note_guess(notes, path, found, crs_key, layer_key, "its text is not UTF-8")
            text = raw.decode(found)
    try:
        features = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}",
            where=str(path),
            fix="repair the JSON there, or re-export the file as GeoJSON",
        ) from exc
    if not isinstance(features, list) or not all(
        isinstance(f, dict) and f.get("type") == "Feature" for f in features
    ):
        raise UnreadableFileError(
            "is a JSON array but not an array of GeoJSON features",
            where=str(path),
            fix='give a GeoJSON FeatureCollection, or an array of {"type": "Feature", ...} objects',
        )
    return gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")


def _read_ogr(
    path: Path,
    layer: str | None,
    bbox: tuple[float, float, float, float] | None,
    bbox_crs: Any,
    layer_key: str | None,
    crs_key: str,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    import pyogrio

    listed = pyogrio.list_layers(path)
    layers = [str(name) for name, _ in listed]
    if layer is not None:
        if layer not in layers:
            raise ConfigError(
                f"has no layer {layer!r}", where=str(path), fix=f"layers in it: {layers}"
            )
    else:
        spatial = [str(name) for name, kind in listed if kind is not None]  # not plain tables
        if len(spatial) > 1:
            # GDAL would silently read the first layer, which is rarely the one meant
            layer = _pick_layer(path, spatial, layer_key, crs_key)
        elif spatial and len(layers) > 1:
            layer = spatial[0]
    kwargs: dict[str, Any] = {"layer": layer, **_encoding_kw(encoding)}
    boxes: list[tuple[float, float, float, float]] = []
    if bbox is not None:
        info = pyogrio.read_info(path, layer=layer, **_encoding_kw(encoding))
        file_crs = info.get("crs")
        if file_crs:
            bounds = info.get("total_bounds")
            if bounds is not None and np.all(np.isfinite(bounds)):
                # before the spatial filter, which a mislabelled zone leaves with nothing
                _check_zone_prefix(CRS.from_user_input(file_crs), bounds, path, None)
            boxes = _bboxes_in(bbox, bbox_crs, CRS.from_user_input(file_crs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if len(boxes) == 2:  # both sides of 180°; a feature in both is read once (its FID)
            parts = [
                gpd.read_file(path, engine="pyogrio", bbox=b, fid_as_index=True, **kwargs)
                for b in boxes
            ]
            gdf = pd.concat(parts)
            gdf = gpd.GeoDataFrame(gdf[~gdf.index.duplicated()], crs=parts[0].crs)
            gdf = gdf.reset_index(drop=True)
        else:
            if boxes:
                kwargs["bbox"] = boxes[0]
            gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
        if len(gdf) == 0 and boxes:
            # Nothing in reach is normal, but a spatial filter also drops features without a
            # geometry: a file of only those must still fail in clean_geometries. Its extent
            # is then unknown; reading it whole is cheap (such files are rare).
            info = pyogrio.read_info(
                path,
                layer=layer,
                force_feature_count=True,
                force_total_bounds=True,
                **_encoding_kw(encoding),
            )
            bounds = info.get("total_bounds")
            if info.get("features") and (bounds is None or not np.all(np.isfinite(bounds))):
                gdf = gpd.read_file(path, engine="pyogrio", layer=layer, **_encoding_kw(encoding))
        return gdf


def _encoding_kw(encoding: str | None) -> dict[str, str]:
    return {} if encoding is None else {"encoding": encoding}


def _pick_layer(path: Path, layers: list[str], layer_key: str | None, crs_key: str) -> str:
    """The layer of a multi-layer file named like the study key, or an error listing them."""
    if layer_key is not None and layer_key in layers:
        return layer_key
    if crs_key == "region_crs":
        fix = 'set `region_layer = "..."` in [study] to the layer of region units'
    else:
        example = f'{layer_key} = {{ path = "{path.name}", layer = "{layers[0]}" }}'
        fix = 'set `layer = "..."` in its [layers] entry' + (
            f", e.g. {example}" if layer_key else ""
        )
    raise InputError(
        f"holds {len(layers)} layers ({', '.join(layers)}) and none is named",
        where=str(path),
        fix=fix,
    )


def _bboxes_in(
    bbox: tuple[float, float, float, float], src_crs: Any, dst_crs: Any
) -> list[tuple[float, float, float, float]]:
    """``bbox`` (in ``src_crs``) as boxes in ``dst_crs``: one, or two in a lon/lat CRS when it
    reaches across 180° (``transform_bounds`` then gives west > east, which a spatial filter
    reads as an empty box: features around Fiji or within reach of New Zealand were lost).

    >>> _bboxes_in((178.0, -18.0, -179.0, -16.0), "EPSG:4326", "EPSG:4326")
    [(178.0, -18.0, 180.0, -16.0), (-180.0, -18.0, -179.0, -16.0)]
    """
    if src_crs is None or dst_crs is None or CRS.from_user_input(src_crs) == CRS(dst_crs):
        out: tuple[float, ...] = tuple(map(float, bbox))
    else:
        from rasterio.warp import transform_bounds

        out = tuple(
            map(
                float,
                transform_bounds(CRS.from_user_input(src_crs), CRS(dst_crs), *bbox, densify_pts=21),
            )
        )
    west, south, east, north = out
    if west > east and CRS(dst_crs).is_geographic:
        return [(west, south, 180.0, north), (-180.0, south, east, north)]
    return [(west, south, east, north)]


def _crs_place(crs_key: str) -> str:
    return "[study]" if crs_key == "region_crs" else "its [layers] entry"


def _parse_crs(crs: str, where: str) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:
        raise CRSError(
            f"unknown CRS {crs!r}", where=where, fix='give an EPSG code, e.g. "EPSG:4326"'
        ) from exc


def _check_zone_prefix(crs: Any, bounds: Any, path: Path, assigned_key: str | None) -> None:
    """A Gauss-Krüger CRS whose zone-number prefix contradicts the eastings (see
    :mod:`geotool.io.zones`); ``assigned_key`` is the study key that gave the CRS, if any."""

    def fix(fits: str) -> str:
        if assigned_key is not None:
            return f'set `{assigned_key} = "{fits}"` in {_crs_place(assigned_key)}'
        return (
            f"the file's CRS is wrong, it is {fits}: assign that to it (QGIS: Set Layer CRS, "
            f"then export; or ogr2ogr -a_srs {fits} fixed{path.suffix} {path.name})"
        )

    check_zone_prefix(crs, bounds[0], bounds[2], str(path), fix)


def _check_vector_crs(gdf: gpd.GeoDataFrame, where: str) -> None:
    """Catch a CRS that contradicts the coordinates (degrees labelled metres and vice versa)."""
    if not len(gdf):
        return
    left, bottom, right, top = gdf.total_bounds
    if not np.all(np.isfinite(gdf.total_bounds)):
        raise GeometryError(
            "has coordinates that are not finite numbers",
            where=where,
            fix="repair the file (NaN or infinite coordinates)",
        )
    if gdf.crs.is_geographic and not (
        -181 <= left <= 361 and -181 <= right <= 361 and -91 <= bottom <= top <= 91
    ):
        raise CRSError(
            f"CRS {gdf.crs.name} is geographic but coordinates reach {gdf.total_bounds.round(1)}",
            where=where,
            fix="the file's CRS is wrong: set the projected CRS it really uses",
        )
    span = max(right - left, top - bottom)
    if (
        gdf.crs.is_projected
        and 0 < span < 10
        and all(abs(v) <= 180 for v in (left, right))
        and all(abs(v) <= 90 for v in (bottom, top))
    ):
        # a whole layer within 10 m of the projection's false origin: degrees labelled metres
        raise CRSError(
            f"CRS {gdf.crs.name} is in metres but the coordinates {gdf.total_bounds.round(3)} "
            "look like degrees",
            where=where,
            fix="the file is probably EPSG:4326: fix its CRS",
        )


def clean_geometries(
    gdf: gpd.GeoDataFrame, where: str, notes: list[str] | None = None
) -> gpd.GeoDataFrame:
    """Drop empty geometries, flatten 3-D, repair invalid ones (and say so)."""
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if len(geoms) and missing.all():  # no features at all is fine: nothing within reach
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
        geoms = np.array(geoms, dtype=object)
        was_polygon = np.isin(shapely.get_type_id(geoms[invalid]), (3, 6))
        repaired = shapely.make_valid(geoms[invalid])
        # a self-touching polygon repairs to polygons plus stray lines or points; an area
        # stays an area (otherwise a region unit would turn into a "mixed geometry")
        repaired[was_polygon] = _polygonal_part(repaired[was_polygon])
        geoms[invalid] = repaired
        if notes is not None:
            notes.append(f"{where}: repaired {int(invalid.sum())} invalid geometries (make_valid)")
        collapsed = shapely.is_empty(geoms)
        if collapsed.all():
            raise GeometryError(
                "has only invalid geometries that collapse when repaired",
                where=where,
                fix="re-digitise or re-export the features",
            )
        if collapsed.any():
            if notes is not None:
                notes.append(
                    f"{where}: dropped {int(collapsed.sum())} geometries that collapsed "
                    "when repaired"
                )
            gdf = gdf[~collapsed]
            geoms = geoms[~collapsed]
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygons of each geometry (collections flattened, lines/points dropped)."""
    out = np.empty(len(geoms), dtype=object)
    for i, g in enumerate(geoms):  # only the few repaired features
        parts = shapely.get_parts(g)
        polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        out[i] = shapely.union_all(polys) if len(polys) else shapely.Polygon()
    return out


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
    if not text.strip(_OP_CHARS + " "):  # `voltage_kv ==`: the operator with no value
        raise ConfigError(
            f"cannot parse {where!r}: no value after the operator",
            where="where",
            fix=f"write `{field} op value`, e.g. {field} >= 110",
        )
    if text[0] in _OP_CHARS:  # `=> 110`, `>>= 3`: a mistyped operator, not a value
        typed = op + text[: len(text) - len(text.lstrip(_OP_CHARS + " "))].replace(" ", "")
        raise ConfigError(
            f"cannot parse {where!r}: {typed!r} is not an operator; did you mean "
            f"{_meant_op(typed)!r}?",
            where="where",
            fix=f"write `{field} op value`, op one of == != < <= > >= in (quote text that "
            "starts with one of < > = !)",
        )
    op = "==" if op == "=" else op
    if op == "in":
        inner = text.strip()
        if not (inner.startswith("[") and inner.endswith("]")):
            raise ConfigError(
                f"`in` needs a [list] in filter {where!r}",
                where="where",
                fix=f"write `{field} in ['a', 'b']` (quote text values)",
            )
        items = [_literal(t) for t in inner[1:-1].split(",") if t.strip()]
        return field, op, items
    return field, op, _literal(text)


_OP_CHARS = "<>=!"


def _meant_op(typed: str) -> str:
    """The comparison a mistyped operator (``=>``, ``>>=``, ``=<``, ``<>``) most likely means."""
    chars = set(typed)
    if "!" in chars or {"<", ">"} <= chars:
        return "!="
    for sign in "<>":
        if sign in chars:
            return sign + "=" if "=" in chars else sign
    return "=="


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        return text


def _kilovolts(volts: pd.Series) -> pd.Series:
    """OpenStreetMap ``voltage`` (volts, ``"220000;110000"`` for several circuits) as kV
    text in the same form, so that a ``voltage_kv`` filter reads every circuit.

    >>> _kilovolts(pd.Series(["220000;110000", "500000", None, "medium"])).tolist()
    ['220;110', '500', None, None]
    """

    def convert(text: object) -> str | None:
        if text is None or (isinstance(text, float) and math.isnan(text)):
            return None
        parts = []
        for part in str(text).split(";"):
            try:
                parts.append(f"{float(part.strip()) / 1000.0:g}")
            except ValueError:
                continue
        return ";".join(parts) or None

    return pd.Series([convert(v) for v in volts], index=volts.index, dtype=object)


def apply_filter(gdf: gpd.GeoDataFrame, where: str | None, label: str) -> gpd.GeoDataFrame:
    """Keep the features matching ``where``; an unknown field is an error naming the file."""
    if not where:
        return gdf
    field, op, value = parse_filter(where)
    if field == "voltage_kv" and field not in gdf.columns and "voltage" in gdf.columns:
        gdf = gdf.assign(voltage_kv=_kilovolts(gdf["voltage"]))  # OSM's `voltage`, in volts
    if field not in gdf.columns:
        present = [c for c in gdf.columns if c != gdf.geometry.name]
        raise ConfigError(
            f"filter {where!r} uses field {field!r}, which the file lacks",
            where=label,
            fix=f"add a `{field}` column to the file (data-sources.md shows how), or filter "
            f"on one of its fields {present} with the profile's `where`",
        )
    col = gdf[field].reset_index(drop=True)
    row = None  # for OSM-style multi-values ("220000;110000"): the feature of each value
    if isinstance(value, float) or (op == "in" and all(isinstance(v, float) for v in value)):
        text = col.astype("string")
        if text.str.contains(";", regex=False).fillna(False).any():
            # OpenStreetMap joins several values with ";" (a line of two circuits): each
            # counts, and a feature matches when any of its values does
            col = text.str.split(";").explode().str.strip()
            row = col.index.to_numpy()
        numbers = pd.to_numeric(col, errors="coerce")
        if numbers.isna().all() and col.notna().any():
            # `kind == 3` on a text field would match nothing, silently
            sample = str(col.dropna().iloc[0])[:30]
            raise ConfigError(
                f"filter {where!r} compares field {field!r} with a number, but it holds text "
                f"(e.g. {sample!r})",
                where=label,
                fix=f"compare it with quoted text, e.g. {field} == '{sample}'",
            )
        col = numbers
    ops = {
        "==": col.__eq__,
        "!=": col.__ne__,
        "<": col.__lt__,
        "<=": col.__le__,
        ">": col.__gt__,
        ">=": col.__ge__,
    }
    try:
        mask = col.isin(value) if op == "in" else ops[op](value)
    except TypeError as exc:  # e.g. numbers compared with text
        raise ConfigError(
            f"filter {where!r} compares field {field!r} ({col.dtype}) with {value!r}",
            where=label,
            fix="compare numbers with numbers (no quotes) and text with quoted text",
        ) from exc
    hit = mask.fillna(False).to_numpy(dtype=bool)
    if row is not None:
        hit = np.bincount(row[hit], minlength=len(gdf)) > 0
    return gdf[hit]


def reach_bounds(
    bounds: tuple[float, float, float, float], max_distance_m: float
) -> tuple[float, float, float, float]:
    """Grid bounds grown by the distance cap: features this close still matter."""
    pad = max_distance_m if math.isfinite(max_distance_m) else 0.0
    return (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
