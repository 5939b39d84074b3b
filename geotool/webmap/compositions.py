"""Map compositions: TOML presets saying what a web map shows.

A composition lists raster overlays (file, colours, value range, legend), vector overlays (sites,
region choropleth, points, areas; popups and tooltips) and optionally a side-by-side comparison of
two profiles. Built-in compositions live in the repository's top-level ``maps/`` folder, shipped in
the wheel as ``geotool/_data/maps``; a user copies one, edits it and passes it by path.

File names and layer names may contain ``{profile}`` (and ``{profile_label}`` for names): such an
entry is repeated for every profile listed in ``[map] profiles``. ``show = true`` on a repeated
entry shows only the first profile's copy, so overlays of different profiles do not pile up; in a
side-by-side comparison each side shows the copies of its own profile.

A vector entry's ``simplify_m`` is the display simplification in metres (default: half a pixel
of the folder's rasters for ``sites``, 20 m for the rest); ``popup = true`` gives ``areas`` and
``points`` a popup of every attribute with its units (titled by ``label_field``).

Unknown keys, wrong types, unknown colormaps or colours raise :class:`~geotool.errors.ConfigError`
naming the file and the key.

Examples
--------
>>> comp = load_composition("windfarm")
>>> comp.profiles
('windfarm',)
>>> [r.file for r in comp.rasters][:2]
['score_windfarm.tif', 'limiting_windfarm.tif']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import geotool
from geotool.errors import ConfigError, MissingFileError, UnknownNameError
from geotool.study import read_toml

RasterKind = Literal["continuous", "classes"]
VectorKind = Literal["sites", "regions", "points", "areas"]

PROFILE_LABELS: dict[str, str] = {
    "datacenter": "Data centre",
    "windfarm": "Wind farm",
    "solarfarm": "Solar farm",
    "carbon_sink": "Carbon sink",
    "geothermal_heat": "Geothermal heat",
}
"""Display names of the built-in profiles; other profile names are shown as written."""

# 20 m ≈ one screen pixel at zoom 13 on the equator (156 543.03 m / 2**13 = 19.1 m; Web Mercator
# tile scheme, OSM wiki "Zoom levels"): simplified edges move less than a pixel at county scale.
DEFAULT_SIMPLIFY_M = 20.0
# Candidate sites are outlines of analysis-grid pixels: simplified for display by half a pixel,
# so no drawn outline lies more than half a pixel from the stored one and the outline still
# passes through the pixels it bounds (the GeoPackage keeps the stored outline).
SITE_SIMPLIFY_PX = 0.5
# Overlays at 75 % opacity keep the region outlines underneath readable (presentation choice).
DEFAULT_OPACITY = 0.75


@dataclass(frozen=True)
class ClassStyle:
    """Colour and label of one class value of a categorical raster."""

    value: int
    color: str
    label: str


@dataclass(frozen=True)
class RasterLayer:
    """One raster overlay of a composition (after ``{profile}`` expansion)."""

    name: str
    file: str
    kind: RasterKind
    colormap: str
    vmin: float | None
    vmax: float | None
    units: str
    opacity: float
    show: bool
    show_for_profile: bool
    legend: bool
    classes: tuple[ClassStyle, ...]
    classes_from: str
    profile: str | None


@dataclass(frozen=True)
class VectorLayer:
    """One vector overlay of a composition (after ``{profile}`` expansion)."""

    name: str
    file: str
    kind: VectorKind
    color: str
    fill_color: str
    fill_opacity: float
    weight: float
    radius: float
    show: bool
    show_for_profile: bool
    simplify_m: float | None
    label_field: str
    csv: str
    geometry: str
    join: str
    value: tuple[str, ...]
    colormap: str
    labels: tuple[tuple[str, str], ...]
    legend: bool
    profile: str | None
    popup: bool = False


@dataclass(frozen=True)
class Composition:
    """A validated map composition."""

    name: str
    source: Path
    title: str
    description: str
    profiles: tuple[str, ...]
    online_basemap: bool
    rasters: tuple[RasterLayer, ...]
    vectors: tuple[VectorLayer, ...]
    compare: tuple[str, str] | None


def composition_dir() -> Path:
    """The folder holding the built-in compositions.

    The wheel ships ``maps/`` as ``geotool/_data/maps``; a source checkout has it at the top of
    the repository.

    >>> (composition_dir() / "overview.toml").is_file()
    True
    """
    package = Path(geotool.__file__).resolve().parent
    for candidate in (package / "_data" / "maps", package.parent / "maps"):
        if candidate.is_dir():
            return candidate
    raise MissingFileError(
        "the built-in map compositions are missing",
        where=str(package / "_data" / "maps"),
        fix="reinstall geotool, or pass a composition file by path",
    )


def list_compositions() -> list[str]:
    """Names of the built-in compositions, sorted.

    >>> "overview" in list_compositions()
    True
    """
    return sorted(p.stem for p in composition_dir().glob("*.toml"))


def load_composition(
    composition: str | Path, *, profiles: Sequence[str] | None = None
) -> Composition:
    """Load and validate a composition by built-in name or by path.

    Parameters
    ----------
    composition
        A built-in name (``"overview"``, ``"windfarm"``, ...) or the path of a TOML file.
    profiles
        Replace the composition's ``[map] profiles`` (e.g. by the profiles an output folder
        holds); ``{profile}`` entries are repeated for these.

    Returns
    -------
    Composition
        With every ``{profile}`` entry expanded.

    Examples
    --------
    >>> load_composition("overview").title
    'Resource potential — overview'
    >>> load_composition("overview", profiles=["mine"]).rasters[0].file
    'score_mine.tif'
    """
    path = _resolve(composition)
    doc = read_toml(path)  # the study's reader: a byte-order mark is skipped, errors name the line
    if profiles is not None:
        head = doc.get("map")
        if isinstance(head, dict):
            doc = {**doc, "map": {**head, "profiles": list(profiles)}}
    return _parse(doc, path)


def _resolve(composition: str | Path) -> Path:
    text = str(composition)
    if isinstance(composition, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(composition)
        if not path.is_file():
            raise MissingFileError(
                "composition file not found", where=str(path), fix="check the path"
            )
        return path
    names = list_compositions()
    if text not in names:
        raise UnknownNameError(
            f'unknown map composition "{text}"',
            where="--composition",
            fix=f"use one of {', '.join(names)} or the path of a TOML file",
        )
    return composition_dir() / f"{text}.toml"


_T = TypeVar("_T")


class _Table:
    """Typed, strict access to one TOML table: every key must be read or it is unknown."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError("must be a table", where=where, fix="see maps/overview.toml")
        self.data: dict[str, Any] = data
        self.where = where
        self.allowed: set[str] = set()

    def get(self, key: str, kind: type[_T], default: _T | None = None) -> _T:
        self.allowed.add(key)
        if key not in self.data:
            if default is None:
                raise ConfigError(
                    f'missing key "{key}"', where=self.where, fix=f"add {key} = ... to the table"
                )
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ConfigError(
                f'key "{key}" must be a {kind.__name__}, got {value!r}',
                where=self.where,
                fix=f"write {key} as a TOML {kind.__name__}",
            )
        return value

    def optional_float(self, key: str) -> float | None:
        self.allowed.add(key)
        return self.get(key, float) if key in self.data else None

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.allowed)
        if unknown:
            raise ConfigError(
                f'unknown key "{unknown[0]}"',
                where=self.where,
                fix=f"allowed keys: {', '.join(sorted(self.allowed))}",
            )


def _parse(doc: dict[str, Any], path: Path) -> Composition:
    top = _Table(doc, str(path))
    head = _Table(top.get("map", dict), f"{path}: [map]")
    title = head.get("title", str)
    description = head.get("description", str, "")
    profiles = tuple(head.get("profiles", list))
    if not profiles or not all(isinstance(p, str) and p.isidentifier() for p in profiles):
        raise ConfigError(
            f"profiles must be a non-empty list of profile names, got {list(profiles)!r}",
            where=f"{path}: [map] profiles",
            fix='e.g. profiles = ["windfarm"]',
        )
    basemap = head.get("online_basemap", bool, False)
    head.done()

    rasters = [
        layer
        for i, raw in enumerate(top.get("rasters", list, []))
        for layer in _expand(raw, profiles, f"{path}: [[rasters]] #{i + 1}", _raster)
    ]
    vectors = [
        layer
        for i, raw in enumerate(top.get("vectors", list, []))
        for layer in _expand(raw, profiles, f"{path}: [[vectors]] #{i + 1}", _vector)
    ]
    compare = None
    if "compare" in doc:
        cmp = _Table(top.get("compare", dict), f"{path}: [compare]")
        compare = (cmp.get("left", str), cmp.get("right", str))
        cmp.done()
        for side in compare:
            if side not in profiles:
                raise ConfigError(
                    f'compare names profile "{side}" that is not in [map] profiles',
                    where=f"{path}: [compare]",
                    fix=f"use one of {', '.join(profiles)}",
                )
    top.done()
    names = [r.name for r in rasters] + [v.name for v in vectors]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(
            f'two layers are named "{duplicates[0]}"',
            where=str(path),
            fix="give every layer its own name (the layer control lists them by name)",
        )
    if not rasters:
        raise ConfigError("no [[rasters]] entries", where=str(path), fix="add a score raster")
    return Composition(
        name=path.stem,
        source=path,
        title=title,
        description=description,
        profiles=profiles,
        online_basemap=basemap,
        rasters=tuple(rasters),
        vectors=tuple(vectors),
        compare=compare,
    )


_L = TypeVar("_L", RasterLayer, VectorLayer)


def _expand(
    raw: Any, profiles: tuple[str, ...], where: str, build: Callable[[_Table, str | None, bool], _L]
) -> list[_L]:
    """Build one layer per profile if the entry uses ``{profile}``, else one layer."""
    if not isinstance(raw, dict):
        raise ConfigError("must be a table", where=where, fix="write [[rasters]] / [[vectors]]")
    templated = any(isinstance(v, str) and "{profile" in v for v in raw.values())
    if not templated:
        return [build(_Table(raw, where), None, True)]
    out = []
    for i, profile in enumerate(profiles):
        label = PROFILE_LABELS.get(profile, profile)
        filled = {
            k: v.replace("{profile_label}", label).replace("{profile}", profile)
            if isinstance(v, str)
            else v
            for k, v in raw.items()
        }
        out.append(build(_Table(filled, where), profile, i == 0))
    return out


def _color(table: _Table, key: str, default: str | None) -> str:
    from matplotlib.colors import is_color_like, to_hex

    value = table.get(key, str, default)
    if not is_color_like(value):
        raise ConfigError(
            f'"{value}" is not a colour', where=f"{table.where} {key}", fix='use e.g. "#1f78b4"'
        )
    return str(to_hex(value))


def _colormap(table: _Table, key: str, default: str) -> str:
    import matplotlib

    value = table.get(key, str, default)
    if value not in matplotlib.colormaps:
        raise ConfigError(
            f'unknown colormap "{value}"',
            where=f"{table.where} {key}",
            fix="use a matplotlib colormap name such as viridis, YlGn, RdYlGn",
        )
    return value


def _fraction(table: _Table, key: str, default: float) -> float:
    value = table.get(key, float, default)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(
            f"{key} = {value} is outside 0..1", where=table.where, fix=f"set {key} between 0 and 1"
        )
    return value


def _raster(t: _Table, profile: str | None, first: bool) -> RasterLayer:
    kind = t.get("kind", str, "continuous")
    if kind not in ("continuous", "classes"):
        raise ConfigError(
            f'kind "{kind}" is not continuous or classes', where=t.where, fix='kind = "continuous"'
        )
    classes = tuple(_class(_Table(c, f"{t.where} classes")) for c in t.get("classes", list, []))
    classes_from = t.get("classes_from", str, "")
    if kind == "classes" and not classes and not classes_from:
        raise ConfigError(
            "a classes raster needs [[rasters.classes]] entries or classes_from",
            where=t.where,
            fix='add { value = 10, color = "#006400", label = "Tree cover" } entries, or '
            'classes_from = "limiting_codes" (a table in manifest.json)',
        )
    layer = RasterLayer(
        name=t.get("name", str),
        file=t.get("file", str),
        kind=cast(RasterKind, kind),
        colormap=_colormap(t, "colormap", "viridis"),
        vmin=t.optional_float("vmin"),
        vmax=t.optional_float("vmax"),
        units=t.get("units", str, ""),
        opacity=_fraction(t, "opacity", DEFAULT_OPACITY),
        show=t.get("show", bool, False) and first,
        show_for_profile=t.get("show", bool, False),
        legend=t.get("legend", bool, True),
        classes=classes,
        classes_from=classes_from,
        profile=profile,
    )
    t.done()
    if layer.vmin is not None and layer.vmax is not None and not layer.vmin < layer.vmax:
        raise ConfigError(
            f"vmin {layer.vmin} is not below vmax {layer.vmax}", where=t.where, fix="swap them"
        )
    return layer


def _class(t: _Table) -> ClassStyle:
    out = ClassStyle(
        value=t.get("value", int), color=_color(t, "color", None), label=t.get("label", str)
    )
    t.done()
    return out


def _names(table: _Table, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A column name or a list of them (the first one present in the data is used)."""
    table.allowed.add(key)
    raw = table.data.get(key, list(default))
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(
            f'key "{key}" must be a column name or a list of them, got {raw!r}',
            where=table.where,
            fix=f'e.g. {key} = ["potential", "eligible_km2"]',
        )
    return tuple(names)


def _vector(t: _Table, profile: str | None, first: bool) -> VectorLayer:
    kind = t.get("kind", str)
    if kind not in ("sites", "regions", "points", "areas"):
        raise ConfigError(
            f'kind "{kind}" is not one of sites, regions, points, areas',
            where=t.where,
            fix='e.g. kind = "sites"',
        )
    labels = t.get("labels", dict, {})
    if not all(isinstance(v, str) for v in labels.values()):
        raise ConfigError("labels values must be strings", where=f"{t.where} labels", fix="quote")
    simplify = t.optional_float("simplify_m")  # None: half a pixel for sites, else 20 m
    if simplify is not None and simplify < 0:
        raise ConfigError("simplify_m must be >= 0", where=t.where, fix="simplify_m = 20")
    layer = VectorLayer(
        name=t.get("name", str),
        file=t.get("file", str),
        kind=cast(VectorKind, kind),
        color=_color(t, "color", "#333333"),
        fill_color=_color(t, "fill_color", "#ffffff"),
        fill_opacity=_fraction(t, "fill_opacity", 0.2),
        weight=t.get("weight", float, 1.5),
        radius=t.get("radius", float, 5.0),
        show=t.get("show", bool, False) and first,
        show_for_profile=t.get("show", bool, False),
        simplify_m=simplify,
        label_field=t.get("label_field", str, "name"),
        csv=t.get("csv", str, ""),
        geometry=t.get("geometry", str, ""),
        join=t.get("join", str, "region"),
        value=_names(t, "value", ("potential", "eligible_km2")),
        colormap=_colormap(t, "colormap", "YlGn"),
        labels=tuple(sorted(labels.items())),
        legend=t.get("legend", bool, kind == "regions"),
        profile=profile,
        # sites and regions always have a popup: the key is unknown there
        popup=t.get("popup", bool, False) if kind in ("areas", "points") else False,
    )
    t.done()
    return layer
