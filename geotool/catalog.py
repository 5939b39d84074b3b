"""The layer catalog: one typed spec per canonical layer, read from ``layers/*.toml``.

The catalog says what a layer *is* (kind, units, valid range, how to resample it, how its
no-data is coded) so that loading can check a file against it. The TOML files live in the
repository's top-level ``layers/`` folder and are shipped in the wheel as
``geotool/_data/layers``; :func:`catalog_dir` finds whichever is present.

Examples
--------
>>> cat = load_catalog()
>>> spec = cat["wind_speed_100m"]
>>> spec.kind, spec.units, spec.valid_range
('raster', 'm/s', (0.0, 20.0))
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from geotool.errors import ConfigError, UnknownNameError

LayerKind = Literal["raster", "vector"]
ValueKind = Literal["continuous", "categorical"]
GeometryKind = Literal["point", "line", "polygon", "any"]

_RASTER_KEYS = {
    "name",
    "kind",
    "units",
    "description",
    "source",
    "valid_range",
    "mean_max",
    "values",
    "classes",
    "nodata",
    "unit_conversions",
}
_VECTOR_KEYS = {
    "name",
    "kind",
    "units",
    "description",
    "source",
    "geometry",
    "attributes",
    "max_distance_m",
}


@dataclass(frozen=True)
class LayerSpec:
    """What a canonical layer is; see ``layers/README.md`` for the TOML keys."""

    name: str
    kind: LayerKind
    units: str
    description: str
    source: str
    valid_range: tuple[float, float] | None = None
    mean_max: float | None = None
    """The highest mean a study region can have (catalog units): a higher mean over the region
    is noted as suspect units (a calm region's wind in km/h stays inside ``valid_range``)."""
    values: ValueKind = "continuous"
    classes: tuple[int, ...] = ()
    nodata: tuple[float, ...] = ()
    unit_conversions: dict[str, tuple[float, float]] = field(default_factory=dict)
    geometry: GeometryKind = "any"
    attributes: dict[str, str] = field(default_factory=dict)
    max_distance_m: float | None = None

    @property
    def categorical(self) -> bool:
        return self.values == "categorical"

    def conversion(self, units: str | None) -> tuple[float, float]:
        """``(factor, offset)`` so that ``value * factor + offset`` is in the catalog's units."""
        if units is None or units == self.units:
            return (1.0, 0.0)
        if units in self.unit_conversions:
            return self.unit_conversions[units]
        known = ", ".join(sorted({self.units, *self.unit_conversions})) or self.units
        raise ConfigError(
            f"units {units!r} are not known for layer {self.name!r}",
            where=f"layers.{self.name}.units",
            fix=f"use one of: {known}",
        )


@lru_cache(maxsize=1)
def catalog_dir() -> Path:
    """Folder of the layer TOMLs: inside an installed wheel, else the checkout's ``layers/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "layers", here.parent / "layers"):
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    raise ConfigError(
        "the layer catalog was not found",
        where=str(here),
        fix="reinstall geotool (the wheel ships geotool/_data/layers)",
    )


def _parse(path: Path) -> LayerSpec:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"TOML syntax error: {exc}", where=str(path), fix="fix the syntax at that line"
        ) from exc
    kind: LayerKind = raw.get("kind")  # type: ignore[assignment]  # checked just below
    allowed = _RASTER_KEYS if kind == "raster" else _VECTOR_KEYS if kind == "vector" else None
    if allowed is None:
        raise ConfigError(
            f"kind must be 'raster' or 'vector', got {kind!r}",
            where=str(path),
            fix='kind = "raster" or kind = "vector"',
        )
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(
            f"unknown keys {sorted(unknown)}",
            where=str(path),
            fix=f"a {kind} layer has the keys {', '.join(sorted(allowed))}",
        )
    for key in ("name", "units", "description", "source"):
        if not isinstance(raw.get(key), str):
            raise ConfigError(
                f"missing text field {key!r}", where=str(path), fix=f'add {key} = "..."'
            )
    if raw["name"] != path.stem:
        raise ConfigError(
            f"name {raw['name']!r} differs from the file name",
            where=str(path),
            fix=f'name = "{path.stem}", or rename the file',
        )
    vr = raw.get("valid_range")
    return LayerSpec(
        name=raw["name"],
        kind=kind,
        units=raw["units"],
        description=raw["description"],
        source=raw["source"],
        valid_range=(float(vr[0]), float(vr[1])) if vr is not None else None,
        mean_max=float(raw["mean_max"]) if "mean_max" in raw else None,
        values=raw.get("values", "continuous"),
        classes=tuple(int(c) for c in raw.get("classes", ())),
        nodata=tuple(float(v) for v in raw.get("nodata", ())),
        unit_conversions={
            str(k): _factor_offset(v, path) for k, v in raw.get("unit_conversions", {}).items()
        },
        geometry=raw.get("geometry", "any"),
        attributes={str(k): str(v) for k, v in raw.get("attributes", {}).items()},
        max_distance_m=float(raw["max_distance_m"]) if "max_distance_m" in raw else None,
    )


def _factor_offset(value: Any, path: Path) -> tuple[float, float]:
    """A conversion is a factor, or ``[factor, offset]`` (e.g. K -> °C is ``[1, -273.15]``)."""
    if isinstance(value, int | float):
        return (float(value), 0.0)
    if isinstance(value, list) and len(value) == 2:
        return (float(value[0]), float(value[1]))
    raise ConfigError(
        f"bad unit conversion {value!r}",
        where=str(path),
        fix="give a factor, or [factor, offset] (e.g. K to °C is [1, -273.15])",
    )


@lru_cache(maxsize=4)
def _load(folder: str) -> dict[str, LayerSpec]:
    specs = [_parse(p) for p in sorted(Path(folder).glob("*.toml"))]
    return {s.name: s for s in specs}


def load_catalog(folder: Path | None = None) -> dict[str, LayerSpec]:
    """All layer specs by canonical name."""
    return dict(_load(str(folder or catalog_dir())))


def get_layer(name: str, catalog: dict[str, LayerSpec] | None = None) -> LayerSpec:
    """One layer spec; an unknown name raises with the closest known names."""
    cat = catalog if catalog is not None else load_catalog()
    if name in cat:
        return cat[name]
    close = difflib.get_close_matches(name, list(cat), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "run `geotool layers` for the list"
    raise UnknownNameError(f"unknown layer {name!r}", where=f"layers.{name}", fix=hint)


def describe(spec: LayerSpec) -> dict[str, Any]:
    """Plain data for listings and the manifest."""
    return {
        "name": spec.name,
        "kind": spec.kind,
        "units": spec.units,
        "valid_range": list(spec.valid_range) if spec.valid_range else None,
        "other_units": sorted(spec.unit_conversions),
        "values": spec.values if spec.kind == "raster" else spec.geometry,
        "description": spec.description,
        "source": spec.source,
    }
