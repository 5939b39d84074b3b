"""Study files: what region, which grid, which input files, which overrides.

A study is a TOML file (see ``README.md`` § Study file)::

    [study]
    name = "Shaoguan"
    region = "counties.geojson"      # boundary file (or: bbox = [w, s, e, n], bbox_crs = "EPSG:4326")
    region_id = "name"               # field naming each region unit
    crs = "auto"                     # UTM zone of the region, or an EPSG code in metres
    resolution = 100                 # metres

    [layers]
    dem = "dem.tif"                                   # paths are relative to the study file
    wind_speed_100m = { path = "gwa.tif", units = "km/h" }
    power_lines = { path = "osm.gpkg", layer = "power_lines" }

    [profiles.windfarm]              # overrides of a built-in profile
    weights = { wind = 0.5 }

Validation is strict: unknown tables, keys and layer names are errors naming the key.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geotool.catalog import get_layer, load_catalog
from geotool.errors import ConfigError, MissingFileError, UnknownNameError

TOP_LEVEL = {"study", "layers", "profiles", "resources", "carbon"}
STUDY_KEYS = {
    "name",
    "region",
    "region_layer",
    "region_id",
    "bbox",
    "bbox_crs",
    "crs",
    "resolution",
    "chunk",
    "scheduler",
    "synthetic",
    "description",
}
LAYER_KEYS = {"path", "layer", "variable", "band", "crs", "units", "synthetic"}
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
        raise MissingFileError("file not found", where=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("is not UTF-8 text", where=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror})", where=str(path)) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML syntax error: {exc}", where=str(path)) from exc


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
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{key!r} has the wrong type ({type(value).__name__})", where=where)
    return value


def load_study(path: Path) -> Study:
    """Read and validate a study file (paths resolved relative to it)."""
    path = Path(path).resolve()
    raw = read_toml(path)
    return parse_study(raw, path)


def parse_study(raw: dict[str, Any], path: Path | None) -> Study:
    """Validate a study mapping (as read from TOML)."""
    where = str(path) if path else "study"
    base = path.parent if path else Path.cwd()
    _unknown(set(raw), TOP_LEVEL, where)
    st = raw.get("study")
    if not isinstance(st, dict):
        raise ConfigError("missing [study] table", where=where, fix="see README § Study file")
    _unknown(set(st), STUDY_KEYS, f"{where}: study")
    name = str(_require(st, "name", str, f"{where}: study"))

    region = st.get("region")
    bbox = st.get("bbox")
    if (region is None) == (bbox is None):
        raise ConfigError(
            "give exactly one of `region` (boundary file) or `bbox`",
            where=f"{where}: study",
        )
    region_path = None
    if region is not None:
        if not isinstance(region, str):
            raise ConfigError("`region` must be a file path", where=f"{where}: study.region")
        region_path = (base / region).resolve()
    bbox_t = None
    if bbox is not None:
        if not (
            isinstance(bbox, list)
            and len(bbox) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
            and bbox[2] > bbox[0]
            and bbox[3] > bbox[1]
        ):
            raise ConfigError(
                "`bbox` must be [west, south, east, north] with east > west, north > south",
                where=f"{where}: study.bbox",
            )
        bbox_t = (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))

    resolution = _require(st, "resolution", (int, float), f"{where}: study")
    if not (math.isfinite(resolution) and resolution > 0):
        raise ConfigError(
            f"resolution must be > 0 metres, got {resolution}",
            where=f"{where}: study.resolution",
            fix="e.g. resolution = 100",
        )
    crs = st.get("crs", "auto")
    if not isinstance(crs, str | int) or isinstance(crs, bool):
        raise ConfigError('`crs` must be "auto" or an EPSG code', where=f"{where}: study.crs")
    chunk = st.get("chunk", 1024)
    if not isinstance(chunk, int) or isinstance(chunk, bool) or not 64 <= chunk <= 8192:
        raise ConfigError("`chunk` must be a whole number 64..8192", where=f"{where}: study.chunk")
    region_id = st.get("region_id")
    if region_id is not None and not isinstance(region_id, str):
        raise ConfigError("`region_id` must be a field name", where=f"{where}: study.region_id")
    scheduler = st.get("scheduler")
    if scheduler is not None and not isinstance(scheduler, str):
        raise ConfigError("`scheduler` must be an address", where=f"{where}: study.scheduler")

    layers = _parse_layers(raw.get("layers", {}), base, where)
    profiles = raw.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError("[profiles.<name>] must be tables", where=f"{where}: profiles")
    for key in ("resources", "carbon"):
        if key in raw and not isinstance(raw[key], dict):
            raise ConfigError(f"[{key}] must be a table", where=f"{where}: {key}")
    return Study(
        name=name,
        path=path,
        region=region_path,
        region_layer=st.get("region_layer"),
        region_id=region_id,
        bbox=bbox_t,
        bbox_crs=str(st.get("bbox_crs", "EPSG:4326")),
        crs=str(crs) if not isinstance(crs, int) else f"EPSG:{crs}",
        resolution=float(resolution),
        layers=layers,
        profiles=profiles,
        resources=dict(raw.get("resources", {})),
        carbon=dict(raw.get("carbon", {})),
        chunk=chunk,
        scheduler=scheduler,
        synthetic=bool(st.get("synthetic", False)),
    )


def _parse_layers(table: Any, base: Path, where: str) -> dict[str, LayerInput]:
    if not isinstance(table, dict):
        raise ConfigError("[layers] must be a table", where=f"{where}: layers")
    catalog = load_catalog()
    out = {}
    for name, entry in table.items():
        try:
            get_layer(name, catalog)
        except UnknownNameError as exc:
            raise UnknownNameError(exc.what, where=f"{where}: layers.{name}", fix=exc.fix) from None
        lw = f"{where}: layers.{name}"
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict):
            raise ConfigError("must be a path or a table with `path`", where=lw)
        _unknown(set(entry), LAYER_KEYS, lw)
        p = _require(entry, "path", str, lw)
        band = entry.get("band", 1)
        if not isinstance(band, int) or isinstance(band, bool) or band < 1:
            raise ConfigError("`band` must be a whole number ≥ 1", where=lw)
        units = entry.get("units")
        if units is not None:
            get_layer(name, catalog).conversion(str(units))  # raises for unknown units
        out[name] = LayerInput(
            name=name,
            path=(base / p).resolve(),
            layer=entry.get("layer"),
            variable=entry.get("variable"),
            band=band,
            crs=entry.get("crs"),
            units=units,
            synthetic=bool(entry.get("synthetic", False)),
        )
    return out
