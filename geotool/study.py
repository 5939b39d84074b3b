"""Study files: what region, which grid, which input files, which overrides.

A study is a TOML file (see ``README.md`` § Study file)::

    [study]
    name = "Shaoguan"
    region = "counties.geojson"      # boundary file (or: bbox = [w, s, e, n], bbox_crs = "EPSG:4326")
    region_id = "name"               # field naming each region unit
    region_encoding = "GBK"          # text encoding of a region file that does not declare it
    crs = "auto"                     # UTM zone of the region, or an EPSG code in metres
    resolution = 100                 # metres

    [layers]
    dem = "dem.tif"                                   # paths are relative to the study file
    wind_speed_100m = { path = "gwa.tif", units = "km/h" }
    power_lines = { path = "osm.gpkg", layer = "power_lines" }
    roads = { path = "道路.shp", encoding = "GBK" }  # a Shapefile without its .cpg

    [profiles.windfarm.sites]        # overrides of a built-in profile
    top_share = 0.05

Validation is strict: unknown tables, keys and layer names are errors naming the key.
"""

from __future__ import annotations

import codecs
import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geotool.catalog import get_layer, load_catalog
from geotool.errors import ConfigError, CRSError, GeotoolError, MissingFileError, UnknownNameError

TOP_LEVEL = {"study", "layers", "profiles", "resources", "carbon"}
STUDY_KEYS = {
    "name",
    "region",
    "region_layer",
    "region_id",
    "region_crs",
    "region_encoding",
    "bbox",
    "bbox_crs",
    "crs",
    "resolution",
    "chunk",
    "scheduler",
    "synthetic",
    "description",
}
LAYER_KEYS = {
    "path",
    "layer",
    "variable",
    "band",
    "crs",
    "units",
    "nodata",
    "synthetic",
    "encoding",
}
MAX_PIXELS = 4_000_000_000  # 63,000² pixels: a continent at 100 m; beyond is a typo


@dataclass(frozen=True)
class LayerInput:
    """One ``[layers]`` entry: a canonical layer name bound to a file."""

    name: str
    path: Path
    layer: str | None = None  # layer inside a GeoPackage
    variable: str | None = None  # variable inside a NetCDF file
    band: int = 1
    crs: str | None = None  # CRS to assign to a file that has none
    units: str | None = None  # the file's units, when not the catalog's
    synthetic: bool = False  # generated, not observed (shown on maps)
    nodata: float | None = None  # the raw value marking no data (replaces the file's own)
    encoding: str | None = None  # text encoding of a vector file (overrides a .cpg)


@dataclass(frozen=True)
class Study:
    """A validated study file."""

    name: str
    path: Path | None
    region: Path | None
    region_layer: str | None
    region_id: str | None
    bbox: tuple[float, float, float, float] | None
    bbox_crs: str
    crs: str
    resolution: float
    layers: dict[str, LayerInput]
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    carbon: dict[str, Any] = field(default_factory=dict)
    chunk: int = 1024
    scheduler: str | None = None
    synthetic: bool = False
    region_crs: str | None = None  # CRS to assign to a region file that has none
    region_encoding: str | None = None  # text encoding of the region file (overrides a .cpg)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def to_dict(self) -> dict[str, Any]:
        """Resolved parameters for the manifest."""
        return {
            "name": self.name,
            "study_file": str(self.path) if self.path else None,
            "region": str(self.region) if self.region else None,
            "region_id": self.region_id,
            "bbox": list(self.bbox) if self.bbox else None,
            "crs": self.crs,
            "resolution": self.resolution,
            "layers": {k: str(v.path) for k, v in self.layers.items()},
            "profiles": self.profiles,
            "resources": self.resources,
            "carbon": self.carbon,
            "synthetic": self.synthetic,
        }


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; syntax errors name the file, line and column."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError("file not found", where=str(path), fix="check the path")
    if path.is_dir():
        raise ConfigError("is a folder, not a TOML file", where=str(path), fix="give the file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "is not UTF-8 text", where=str(path), fix="save it as UTF-8 (a TOML file is text)"
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"cannot be read ({exc.strerror})", where=str(path), fix="check its permissions"
        ) from exc
    return parse_toml(text, str(path))


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """``tomllib.loads`` whose every failure is a one-line :class:`ConfigError`.

    >>> try:
    ...     parse_toml('[study]\\nname = = 1', "s.toml")
    ... except ConfigError as exc:
    ...     print(exc.what)
    TOML syntax error: Invalid value (at line 2, column 8)
    """
    try:
        # a byte-order mark (Notepad's "UTF-8 with BOM") is no TOML statement: skip it
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"TOML syntax error: {exc}",
            where=where,
            fix="fix the syntax at that line (quotes around text, [table] headers, key = value)",
        ) from exc
    except RecursionError as exc:  # e.g. thousands of nested [[[[
        raise ConfigError(
            "TOML nested too deeply", where=where, fix="remove the runaway brackets"
        ) from exc


def loads_study(text: str, path: Path | None = None) -> Study:
    """Validate a study given as TOML text (``path`` places relative file paths).

    >>> s = loads_study('[study]\\nname = "t"\\nbbox = [113, 24, 113.2, 24.2]\\nresolution = 100')
    >>> s.bbox, s.resolution, s.crs
    ((113.0, 24.0, 113.2, 24.2), 100.0, 'auto')
    """
    return parse_study(parse_toml(text, str(path) if path else "study"), path)


def _unknown(keys: set[str], allowed: set[str], where: str) -> None:
    unknown = sorted(keys - allowed)
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        fix = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(sorted(allowed))}"
        raise ConfigError(f"unknown key {key!r}", where=f"{where}.{key}", fix=fix)


def _require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ConfigError(f"missing key {key!r}", where=where, fix=f"add `{key} = ...`")
    return _typed(table, key, kind, where)


_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def _typed(
    table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = None
) -> Any:
    """``table[key]`` if it has the type ``kind`` (bool is never a number), else ConfigError."""
    if key not in table:
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = [_TYPE_NAMES.get(k, k.__name__) for k in kinds if not (k is int and float in kinds)]
        wanted = " or ".join(names)
        raise ConfigError(
            f"{key!r} must be {wanted}, got {_show(value)}",
            where=f"{where}.{key}" if not where.endswith(":") else f"{where} {key}",
            fix=_FIXES.get(key, f"e.g. {key} = ..."),
        )
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


_FIXES = {
    "name": 'e.g. name = "Shaoguan"',
    "region": 'the boundary file, e.g. region = "counties.geojson"',
    "region_layer": 'a layer name in the file, e.g. region_layer = "counties"',
    "region_id": 'a field of the region file, e.g. region_id = "name"',
    "region_crs": 'e.g. region_crs = "EPSG:4490"',
    "bbox_crs": 'e.g. bbox_crs = "EPSG:4326"',
    "resolution": "a number of metres without quotes, e.g. resolution = 100",
    "scheduler": 'e.g. scheduler = "tcp://10.0.0.5:8786"',
    "description": 'e.g. description = "..."',
    "synthetic": "synthetic = true or false",
    "path": 'e.g. path = "data/dem.tif"',
    "layer": 'a layer name inside the file, e.g. layer = "roads"',
    "variable": 'a NetCDF variable name, e.g. variable = "t2m"',
    "units": 'e.g. units = "km/h"',
    "crs": 'e.g. crs = "EPSG:4326"',
    "encoding": 'the text encoding of the file, e.g. encoding = "GBK" or "UTF-8"',
    "region_encoding": 'the text encoding of the region file, e.g. region_encoding = "GBK"',
    "nodata": "the raw value marking no data, without quotes, e.g. nodata = 0 or nodata = -9999",
}


def _check_crs_text(value: str, where: str) -> None:
    """A CRS the study names (for a layer, the bbox or the region) must be one pyproj knows."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        CRS.from_user_input(value)
    except ProjCRSError as exc:
        # PROJ's own reason, e.g. "|lat_1 + lat_2| should be > 0" (its last two clauses)
        reason = ": ".join(str(exc).strip().rstrip(")").split(": ")[-2:])
        raise CRSError(
            f"unknown CRS {value!r}" + (f" ({reason})" if reason else ""),
            where=where,
            fix='give an EPSG code such as "EPSG:4326" (WGS 84) or "EPSG:4490" (CGCS2000)',
        ) from exc


_HOST_PORT_SCHEMES = ("tcp", "tls", "ws", "wss")
_OTHER_SCHEMES = ("ucx", "ucxx", "inproc")  # schemes of distributed and distributed-ucxx


def check_scheduler_address(address: str, where: str) -> None:
    """A Dask scheduler address must be ``[scheme://]host:port`` (``--scheduler`` or
    ``[study] scheduler``): a malformed one is an error here, not a ``ValueError`` (or a
    hang) inside ``distributed.Client``.

    >>> check_scheduler_address("tcp://10.0.0.5:8786", "--scheduler")
    >>> check_scheduler_address("10.0.0.5", "--scheduler")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    geotool.errors.ConfigError: --scheduler: scheduler address '10.0.0.5' is not host:port ...
    """
    fix = 'give the address `dask scheduler` prints, e.g. "tcp://10.0.0.5:8786"'
    text = address.strip()
    scheme, sep, location = text.partition("://")
    if not sep:
        scheme, location = "tcp", text
    if scheme in _OTHER_SCHEMES and location:
        return
    if scheme not in _HOST_PORT_SCHEMES:
        known = ", ".join(f"{s}://" for s in (*_HOST_PORT_SCHEMES, *_OTHER_SCHEMES))
        raise ConfigError(
            f"scheduler address {address!r} has an unknown scheme {scheme + '://'!r}",
            where=where,
            fix=f"use one of {known}; {fix}",
        )
    host, colon, port = location.rpartition(":")
    if not colon or not host or any(ch.isspace() or ch == "/" for ch in host):
        raise ConfigError(
            f"scheduler address {address!r} is not host:port",
            where=where,
            fix=fix,
        )
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise ConfigError(
            f"scheduler address {address!r} has an IPv6 host without brackets",
            where=where,
            fix=f'write it as "{scheme}://[{host}]:{port}"',
        )
    if not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ConfigError(
            f"scheduler address {address!r} has port {port!r}, not a number in 1..65535",
            where=where,
            fix=fix,
        )


def _file_path(base: Path, text: str, where: str) -> Path:
    """``text`` (a path in the study file) resolved against the study's folder; an empty
    path (it would name the study's folder), a NUL character, which no file system allows
    (``Path.resolve`` raises a bare ValueError on it), or a symbolic-link loop is a
    :class:`ConfigError`."""
    fix = _FIXES.get(where.rsplit(".", 1)[-1], _FIXES["path"])
    if not text.strip():
        raise ConfigError("the path is empty", where=where, fix=fix)
    if "\x00" in text:
        raise ConfigError("the path contains a NUL character (\\x00)", where=where, fix=fix)
    return _resolve(base / text, where)


def _resolve(path: Path, where: str) -> Path:
    """``path.resolve()``; a symbolic link that leads back to itself is a
    :class:`ConfigError` (Python 3.11 raises RuntimeError on it, 3.13 OSError ELOOP)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:
        named = "" if where == str(path) else f"{path} "
        raise ConfigError(
            f"{named}is a symbolic link that leads back to itself (a link loop)",
            where=where,
            fix="point the link at the real file (ls -l shows where it leads), or give the "
            "file's own path",
        ) from exc


def load_study(path: Path) -> Study:
    """Read and validate a study file (paths resolved relative to it)."""
    path = _resolve(Path(path), str(path))
    raw = read_toml(path)
    return parse_study(raw, path)


def parse_study(raw: dict[str, Any], path: Path | None) -> Study:
    """Validate a study mapping (as read from TOML).

    Every key is checked for its name and type; the ``[resources]``, ``[carbon]`` and
    ``[profiles.<built-in>]`` tables are validated by building what they configure, so that a
    bad value fails here — before any file is read — and names the study file.

    Raises
    ------
    geotool.errors.ConfigError
        Unknown or missing keys, values of the wrong type or out of range (``UnknownNameError``
        for unknown layers, turbines, species, standards; ``ConsistencyError`` for AHP).
    geotool.errors.CRSError
        A CRS the study names that pyproj does not know.
    """
    where = str(path) if path else "study"
    base = path.parent if path else Path.cwd()
    if not isinstance(raw, dict):
        raise ConfigError("expected a table of tables", where=where, fix="see README § Study file")
    _unknown(set(raw), TOP_LEVEL, where)
    st = raw.get("study")
    if not isinstance(st, dict):
        raise ConfigError("missing [study] table", where=where, fix="see README § Study file")
    sw = f"{where}: study"
    _unknown(set(st), STUDY_KEYS, sw)
    name = _require(st, "name", str, sw)
    for key in ("region_layer", "region_id", "region_crs", "region_encoding", "bbox_crs"):
        _typed(st, key, str, sw)
    _typed(st, "description", str, sw)
    _typed(st, "synthetic", bool, sw)

    region = st.get("region")
    bbox = st.get("bbox")
    if (region is None) == (bbox is None):
        raise ConfigError(
            "give exactly one of `region` (boundary file) or `bbox`",
            where=sw,
            fix='region = "counties.geojson", or bbox = [west, south, east, north]',
        )
    region_keys = ("region_layer", "region_id", "region_crs", "region_encoding")
    for key in region_keys if region is None else ("bbox_crs",):
        if key in st:
            other = "region" if region is None else "bbox"
            raise ConfigError(
                f"`{key}` applies to a study with `{other}`",
                where=f"{sw}.{key}",
                fix=f"remove `{key}`",
            )
    region_path = None
    if region is not None:
        region_path = _file_path(base, _typed(st, "region", str, sw), f"{sw}.region")
    bbox_t = None
    bbox_crs = str(st.get("bbox_crs", "EPSG:4326"))
    if bbox is not None:
        bbox_t = _parse_bbox(bbox, bbox_crs, f"{sw}.bbox")
    for key in ("region_crs", "bbox_crs"):
        if key in st:
            _check_crs_text(st[key], f"{sw}.{key}")
    region_encoding = _encoding(st, "region_encoding", sw)

    resolution = _require(st, "resolution", (int, float), sw)
    if not (math.isfinite(resolution) and resolution > 0):
        raise ConfigError(
            f"resolution must be > 0 metres, got {resolution}",
            where=f"{sw}.resolution",
            fix="e.g. resolution = 100",
        )
    crs = _typed(st, "crs", (str, int), sw, "auto")
    if isinstance(crs, int):
        crs = f"EPSG:{crs}"
    if crs.strip().lower() != "auto":
        lon = None  # the bbox's centre names the Gauss-Krüger zone a geographic CRS hints at
        if bbox_t is not None and _is_geographic(bbox_crs):
            lon = (bbox_t[0] + bbox_t[2]) / 2.0
        _check_analysis_crs(crs, f"{sw}.crs", lon)
    chunk = _typed(st, "chunk", int, sw, 1024)
    if not 64 <= chunk <= 8192:
        raise ConfigError(
            f"chunk must be 64..8192 pixels, got {chunk}", where=f"{sw}.chunk", fix="chunk = 1024"
        )
    scheduler = _typed(st, "scheduler", str, sw)
    if scheduler is not None:
        check_scheduler_address(scheduler, f"{sw}.scheduler")

    layers = _parse_layers(raw.get("layers", {}), base, where)
    profiles = raw.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(
            "[profiles.<name>] must be tables",
            where=f"{where}: profiles",
            fix="write [profiles.windfarm] with the keys to override",
        )
    for key in ("resources", "carbon"):
        if key in raw and not isinstance(raw[key], dict):
            raise ConfigError(
                f"[{key}] must be a table", where=f"{where}: {key}", fix=f"write [{key}] and keys"
            )
    resources = dict(raw.get("resources", {}))
    carbon = dict(raw.get("carbon", {}))
    _validate_tables(resources, carbon, profiles, where)
    return Study(
        name=name,
        path=path,
        region=region_path,
        region_layer=st.get("region_layer"),
        region_id=st.get("region_id"),
        bbox=bbox_t,
        bbox_crs=bbox_crs,
        crs=crs,
        resolution=float(resolution),
        layers=layers,
        profiles=profiles,
        resources=resources,
        carbon=carbon,
        chunk=chunk,
        scheduler=scheduler,
        synthetic=bool(st.get("synthetic", False)),
        region_crs=st.get("region_crs"),
        region_encoding=region_encoding,
    )


def _encoding(table: dict[str, Any], key: str, where: str) -> str | None:
    """A text encoding the study gives, as its Python codec name: a bare Windows code page
    (``936``) is ``cp936``; GB 2312 and GBK read as GB18030, their superset, which decodes
    all they do (and the characters outside GB 2312 that files labelled so often hold).

    >>> _encoding({"encoding": "GBK"}, "encoding", "s"), _encoding({"e": "utf8"}, "e", "s")
    ('gb18030', 'utf-8')
    """
    if key not in table:
        return None
    text = str(table[key]).strip()
    try:
        codec = codecs.lookup(f"cp{text}" if text.isdigit() else text).name
    except LookupError:
        raise ConfigError(
            f"unknown encoding {table[key]!r}",
            where=f"{where}.{key}",
            fix=f"{_FIXES[key]}: GBK, GB18030, UTF-8, CP1252, ... or a Windows code page "
            "number such as 936",
        ) from None
    return "gb18030" if codec in {"gbk", "gb2312", "cp936"} else codec


def _parse_bbox(bbox: Any, bbox_crs: str, where: str) -> tuple[float, float, float, float]:
    fix = "bbox = [west, south, east, north], e.g. [113.0, 24.0, 113.5, 24.5] in degrees"
    if not (
        isinstance(bbox, list)
        and len(bbox) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
        and all(math.isfinite(v) for v in bbox)
        and bbox[2] > bbox[0]
        and bbox[3] > bbox[1]
    ):
        raise ConfigError(
            "`bbox` must be four finite numbers [west, south, east, north] with east > west "
            f"and north > south, got {_show(bbox)}",
            where=where,
            fix=fix,
        )
    w, s, e, n = (float(v) for v in bbox)
    if _is_geographic(bbox_crs) and not (w >= -180 and e <= 360 and s >= -90 and n <= 90):
        raise ConfigError(
            f"bbox {[w, s, e, n]} is not in degrees, but bbox_crs is {bbox_crs}",
            where=where,
            fix="give longitudes/latitudes, or set bbox_crs to the CRS of the numbers",
        )
    return (w, s, e, n)


def _is_geographic(crs: str) -> bool:
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        return bool(CRS.from_user_input(crs).is_geographic)
    except ProjCRSError:
        return False  # reported by _check_crs_text


def _check_analysis_crs(crs: str, where: str, lon: float | None = None) -> None:
    """The analysis CRS must be a metric projected CRS (``grid.resolve_crs`` decides); a
    geographic Chinese datum gets the Gauss-Krüger zone of longitude ``lon`` suggested."""
    from geotool.grid import resolve_crs

    try:
        resolve_crs(crs, lon=lon)
    except GeotoolError as exc:
        raise type(exc)(exc.what, where=where, fix=exc.fix) from None


def _validate_tables(
    resources: dict[str, Any], carbon: dict[str, Any], profiles: dict[str, Any], where: str
) -> None:
    """Build what ``[resources]``, ``[carbon]`` and built-in profile overrides configure.

    Imported lazily: a study without these tables loads without the resource, carbon and
    suitability packages.
    """
    if resources:
        from geotool.resources.config import ResourceConfig

        ResourceConfig.from_dict(resources, where=f"{where}: resources")
    if carbon:
        from geotool.carbon.config import CarbonConfig

        try:
            CarbonConfig.from_dict(carbon)
        except GeotoolError as exc:
            raise type(exc)(exc.what, where=f"{where}: {exc.where}", fix=exc.fix) from None
    from geotool.profiles import BUILTIN_PROFILES

    for name, overrides in profiles.items():
        if name not in BUILTIN_PROFILES:
            # a profile given by path on the command line (checked when it is loaded), unless
            # the name is a near miss of a built-in: [profiles.windfrm] would be ignored
            close = difflib.get_close_matches(name, BUILTIN_PROFILES, n=1, cutoff=0.85)
            # windfarm2, carbon_sinks: a user's variant named after the built-in, not a typo
            if close and not name.startswith(close[0]):
                raise UnknownNameError(
                    f"[profiles.{name}] is not a built-in profile",
                    where=f"{where}: profiles.{name}",
                    fix=f"did you mean [profiles.{close[0]}]? (a profile file of that name "
                    "needs another name)",
                )
            continue
        from geotool.suitability.profile import load_profile

        try:
            load_profile(name, overrides)
        except GeotoolError as exc:
            raise type(exc)(exc.what, where=f"{where}: {exc.where}", fix=exc.fix) from None


def _parse_layers(table: Any, base: Path, where: str) -> dict[str, LayerInput]:
    if not isinstance(table, dict):
        raise ConfigError(
            "[layers] must be a table", where=f"{where}: layers", fix='e.g. dem = "dem.tif"'
        )
    catalog = load_catalog()
    out = {}
    for name, entry in table.items():
        try:
            spec = get_layer(name, catalog)
        except UnknownNameError as exc:
            raise UnknownNameError(exc.what, where=f"{where}: layers.{name}", fix=exc.fix) from None
        lw = f"{where}: layers.{name}"
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict):
            raise ConfigError(
                f"must be a path or a table with `path`, got {_show(entry)}",
                where=lw,
                fix=f'{name} = "file" or {name} = {{ path = "file", ... }}',
            )
        _unknown(set(entry), LAYER_KEYS, lw)
        p = _require(entry, "path", str, lw)
        if not p.strip():
            raise ConfigError("`path` is empty", where=f"{lw}.path", fix=_FIXES["path"])
        for key in ("layer", "variable", "crs", "units", "encoding"):
            _typed(entry, key, str, lw)
        _typed(entry, "synthetic", bool, lw)
        band = _typed(entry, "band", int, lw, 1)
        if band < 1:
            raise ConfigError(
                f"`band` must be a whole number ≥ 1, got {band}", where=f"{lw}.band", fix="band = 1"
            )
        if spec.kind == "vector" and ("variable" in entry or "band" in entry):
            raise ConfigError(
                f"{name} is a vector layer: `variable` and `band` apply to rasters",
                where=lw,
                fix="remove them (use `layer` for a layer inside a GeoPackage)",
            )
        units = entry.get("units")
        if units is not None:
            try:
                spec.conversion(units)  # raises for unknown units
            except ConfigError as exc:
                raise ConfigError(exc.what, where=f"{lw}.units", fix=exc.fix) from None
        if "crs" in entry:
            _check_crs_text(entry["crs"], f"{lw}.crs")
        nodata = _typed(entry, "nodata", (int, float), lw)
        if nodata is not None and not math.isfinite(nodata):
            raise ConfigError(
                f"`nodata` must be a finite number, got {nodata}",
                where=f"{lw}.nodata",
                fix="remove it: NaN cells are always no data",
            )
        if "encoding" in entry and spec.kind != "vector":
            raise ConfigError(
                f"{name} is a raster layer: `encoding` applies to vector files",
                where=f"{lw}.encoding",
                fix="remove it",
            )
        if nodata is not None and spec.kind == "vector":
            raise ConfigError(
                f"{name} is a vector layer: `nodata` applies to rasters",
                where=f"{lw}.nodata",
                fix="remove it",
            )
        out[name] = LayerInput(
            name=name,
            path=_file_path(base, p, f"{lw}.path"),
            layer=entry.get("layer"),
            variable=entry.get("variable"),
            band=band,
            crs=entry.get("crs"),
            units=units,
            synthetic=bool(entry.get("synthetic", False)),
            nodata=None if nodata is None else float(nodata),
            encoding=_encoding(entry, "encoding", lw),
        )
    return out
