"""Parse profile TOML tables into typed specs, rejecting every bad key with its name.

The functions here turn the plain dicts of a profile file (after study overrides are merged,
see :mod:`geotool.suitability.overrides`) into the dataclasses of
:mod:`geotool.suitability.specs`. Every error is a :class:`geotool.errors.ConfigError` whose
``where`` is ``<file>: <key path>``, e.g. ``windfarm.toml: criteria.wind.high``.

Examples
--------
>>> c = parse_criterion("wind", {"layer": "wind_speed_hub", "membership": "linear",
...                              "low": 5.6, "high": 7.5}, "demo.toml")
>>> c.membership
Linear(low=5.6, high=7.5, direction='increasing', kind='linear')
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Any, get_args

import numpy as np

from geotool.errors import ConfigError, UnknownNameError
from geotool.suitability.specs import (
    Categorical,
    ClassConstraint,
    ClassMode,
    Constraint,
    Criterion,
    Direction,
    ExcludeSide,
    Gaussian,
    Linear,
    Membership,
    MinAreaConstraint,
    RangeConstraint,
    Sigmoid,
    Step,
    Trapezoid,
    VectorConstraint,
)

DERIVED_LAYERS: dict[str, str] = {
    "wind_speed_hub": "m/s",
    "air_density": "kg/m3",
    "wind_capacity_factor": "1",
    "wind_power_density": "W/m2",
    "wind_energy_mwh_per_mw": "MWh/MW/yr",
    "pv_yield": "kWh/kWp/yr",
    "slope": "degree",
    "aspect": "degree",
    "pole_facing_slope": "degree",
    "temperature_at_depth": "degC",
    "geothermal_use_class": "1",
    "free_cooling_hours": "h/yr",
    "pue": "1",
    "latency_ms": "ms",
    "green_energy_gwh_per_yr_within_radius": "GWh/yr",
}
"""Derived physical layers a criterion may read, with units — the names and units of
``geotool.resources.derive.DERIVED_LAYERS`` (kept here so that parsing a profile does not
import the resource models)."""

_GEOTHERMAL_INPUTS = (
    "geothermal_gradient or heat_flow, with air_temperature or [resources] surface_temp_c"
)
DERIVED_INPUTS: dict[str, str] = {
    "wind_speed_hub": "wind_speed_100m",
    "air_density": "dem",
    "wind_capacity_factor": "wind_speed_100m",
    "wind_power_density": "wind_speed_100m",
    "wind_energy_mwh_per_mw": "wind_speed_100m",
    "pv_yield": "ghi or pvout",
    "slope": "dem",
    "aspect": "dem",
    "pole_facing_slope": "dem",
    "temperature_at_depth": _GEOTHERMAL_INPUTS,
    "geothermal_use_class": _GEOTHERMAL_INPUTS,
    "free_cooling_hours": "air_temperature",
    "pue": "air_temperature",
    "latency_ms": "demand_centres",
    "green_energy_gwh_per_yr_within_radius": "wind_speed_100m, or ghi or pvout",
}
"""The study layers each derived layer is computed from (``geotool.resources.derive``), named
in the error for a profile whose derived layer the study cannot give."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MEMBERSHIP_KEYS: dict[str, tuple[str, ...]] = {
    "linear": ("low", "high", "direction"),
    "sigmoid": ("midpoint", "scale", "direction"),
    "trapezoid": ("a", "b", "c", "d"),
    "gaussian": ("center", "sigma"),
    "step": ("thresholds", "values"),
    "categorical": ("table", "default"),
}
MEMBERSHIP_KINDS = tuple(_MEMBERSHIP_KEYS)
CONSTRAINT_KINDS = ("range", "classes", "vector", "min_area")


class Table:
    """Strict reader of one TOML table: typed ``take``, then ``finish`` rejects leftovers."""

    def __init__(self, raw: Any, where: str, *, top: bool = False) -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(
                f"expected a table, got {type(raw).__name__} {raw!r:.40}",
                where=where,
                fix="write it as a [table] header followed by key = value lines",
            )
        self.raw = dict(raw)
        self.where = where
        self.prefix = f"{where}: " if top else f"{where}."
        self.used: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def has(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str) -> Any:
        self.used.add(key)
        return self.raw.get(key)

    def number(self, key: str, default: float | None = None, *, required: bool = False) -> Any:
        value = self.get(key)
        if value is None:
            if required:
                raise ConfigError("missing number", where=self.at(key), fix=f"add {key} = ...")
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"expected a number, got {value!r}",
                where=self.at(key),
                fix=f"write it without quotes, e.g. {key} = 4.0",
            )
        if not np.isfinite(value):
            raise ConfigError(
                f"expected a finite number, got {value!r}",
                where=self.at(key),
                fix=f"give {key} a finite number (not nan or inf)",
            )
        return float(value)

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.get(key)
        if value is None:
            if required:
                raise ConfigError("missing text", where=self.at(key), fix=f'add {key} = "..."')
            return default
        if not isinstance(value, str):
            raise ConfigError(
                f"expected text, got {value!r}",
                where=self.at(key),
                fix=f'write text in quotes, e.g. {key} = "..."',
            )
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(
                f"expected true or false, got {value!r}",
                where=self.at(key),
                fix=f"write {key} = true or {key} = false (no quotes)",
            )
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> Any:
        value = self.get(key)
        if value is None:
            if default is None:
                raise ConfigError(
                    "missing choice", where=self.at(key), fix=f"one of: {', '.join(options)}"
                )
            return default
        if value not in options:
            raise ConfigError(
                f"unknown value {value!r}", where=self.at(key), fix=f"one of: {', '.join(options)}"
            )
        return value

    def numbers(self, key: str, *, required: bool = True) -> tuple[float, ...] | None:
        value = self.get(key)
        if value is None:
            if required:
                raise ConfigError("missing list", where=self.at(key), fix=f"add {key} = [...]")
            return None
        if not isinstance(value, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(
                f"expected a list of numbers, got {value!r}",
                where=self.at(key),
                fix=f"write numbers without quotes in brackets, e.g. {key} = [10, 20]",
            )
        return tuple(float(v) for v in value)

    def finish(self, allowed: tuple[str, ...] | None = None) -> None:
        unknown = [k for k in self.raw if k not in self.used]
        if unknown:
            key = unknown[0]
            options = allowed if allowed is not None else tuple(sorted(self.used))
            close = difflib.get_close_matches(key, list(options), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(options)}"
            raise ConfigError(f"unknown key {key!r}", where=self.at(key), fix=hint)


def check_name(name: str, where: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(
            f"name {name!r} is not an identifier",
            where=where,
            fix="use letters, digits and underscores, starting with a letter",
        )
    return name


def _catalog() -> dict[str, Any]:
    from geotool.catalog import load_catalog

    return load_catalog()


def _unknown_layer(name: str, options: list[str], where: str, what: str) -> UnknownNameError:
    close = difflib.get_close_matches(name, options, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"{what}: {', '.join(sorted(options))}"
    return UnknownNameError(f"unknown layer {name!r}", where=where, fix=hint)


def raster_units(layer: str, where: str, *, categorical: bool | None = None) -> str:
    """Units of a raster or derived layer; unknown names and wrong value kinds raise."""
    if layer in DERIVED_LAYERS:
        if categorical:
            raise ConfigError(
                f"layer {layer!r} is continuous", where=where, fix='use kind = "range"'
            )
        return DERIVED_LAYERS[layer]
    cat = _catalog()
    spec = cat.get(layer)
    if spec is None or spec.kind != "raster":
        options = [n for n, s in cat.items() if s.kind == "raster"] + list(DERIVED_LAYERS)
        if layer.endswith("_distance_m") or (spec is not None and spec.kind == "vector"):
            raise ConfigError(
                f"{layer!r} is a vector layer or distance",
                where=where,
                fix='write distance_to = "<vector layer>" (and where = "...") instead',
            )
        raise _unknown_layer(layer, options, where, "raster and derived layers")
    if categorical is not None and spec.categorical != categorical:
        kind = "categorical" if spec.categorical else "continuous"
        fix = 'use kind = "classes"' if spec.categorical else 'use kind = "range"'
        raise ConfigError(f"layer {layer!r} is {kind}", where=where, fix=fix)
    return str(spec.units)


def check_class_codes(layer: str, codes: Iterable[int], where: str) -> None:
    """Every code is one of the categorical ``layer``'s catalog classes: a code the layer
    cannot hold (the loader refuses such values in the file) would match no pixel, and the
    constraint or criterion would silently do nothing."""
    spec = _catalog().get(layer)
    known = spec.classes if spec is not None else ()
    bad = sorted(set(codes) - set(known))
    if known and bad:
        listed = ", ".join(map(str, bad))
        raise ConfigError(
            f"{'classes' if len(bad) > 1 else 'class'} {listed} {'are' if len(bad) > 1 else 'is'}"
            f" not a code of layer {layer!r}",
            where=where,
            fix=f"use its codes: {', '.join(map(str, known))} (geotool layers)",
        )


def check_vector_layer(layer: str, where_filter: str | None, where: str) -> None:
    """A vector catalog layer, and a filter the loader can parse."""
    cat = _catalog()
    spec = cat.get(layer)
    if spec is None or spec.kind != "vector":
        options = [n for n, s in cat.items() if s.kind == "vector"]
        raise _unknown_layer(layer, options, where, "vector layers")
    if where_filter is not None:
        from geotool.io.vector import parse_filter

        try:
            parse_filter(where_filter)
        except ConfigError as exc:
            raise ConfigError(exc.what, where=f"{where} where", fix=exc.fix) from exc


def parse_membership(t: Table) -> Membership:
    """The ``membership = "..."`` key and its parameters, validated by a trial evaluation."""
    kind = t.choice("membership", MEMBERSHIP_KINDS)
    direction: Direction = t.choice("direction", get_args(Direction), "increasing")
    spec: Membership
    if kind == "linear":
        spec = Linear(t.number("low", required=True), t.number("high", required=True), direction)
    elif kind == "sigmoid":
        spec = Sigmoid(
            t.number("midpoint", required=True), t.number("scale", required=True), direction
        )
    elif kind == "trapezoid":
        a, b, c, d = (t.number(k, required=True) for k in ("a", "b", "c", "d"))
        spec = Trapezoid(a, b, c, d)
    elif kind == "gaussian":
        spec = Gaussian(t.number("center", required=True), t.number("sigma", required=True))
    elif kind == "step":
        spec = Step(t.numbers("thresholds") or (), t.numbers("values") or ())
    else:
        spec = Categorical(_class_table(t), t.number("default", 0.0))
    if kind in ("trapezoid", "gaussian", "step", "categorical") and t.has("direction"):
        raise ConfigError(
            f"{kind} membership has no direction", where=t.at("direction"), fix="remove the key"
        )
    try:
        spec(np.zeros(1))
    except ValueError as exc:
        raise ConfigError(str(exc), where=t.where, fix=_MEMBERSHIP_FIXES[kind]) from exc
    return spec


_MEMBERSHIP_FIXES: dict[str, str] = {
    "linear": "give low < high; for a falling curve keep low < high and set "
    'direction = "decreasing"',
    "sigmoid": "give scale > 0 (the width of the ramp); for a falling curve set "
    'direction = "decreasing"',
    "trapezoid": "order the corners so that a <= b <= c <= d (and a < d)",
    "gaussian": "give sigma > 0 (the half-width of the bell)",
    "step": "list thresholds in ascending order and one more value than thresholds, each "
    "in 0..1, e.g. thresholds = [5, 10] and values = [1.0, 0.5, 0.0]",
    "categorical": "give every class in table, and default, a membership in 0..1",
}
"""How to fix a membership whose parameters its function refuses (by kind)."""


def _class_table(t: Table) -> Mapping[int, float]:
    raw = t.get("table")
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(
            "categorical membership needs a table", where=t.at("table"), fix="table = {20 = 1.0}"
        )
    table: dict[int, float] = {}
    for key, value in raw.items():
        try:
            code = int(str(key))
        except ValueError as exc:
            raise ConfigError(
                f"class code {key!r} is not an integer",
                where=t.at("table"),
                fix="key the table by the layer's class codes, e.g. table = { 10 = 1.0, 20 = 0.5 }",
            ) from exc
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"membership {value!r} is not a number",
                where=t.at(f"table.{key}"),
                fix=f"give a number in 0..1 without quotes, e.g. {key} = 0.8",
            )
        table[code] = float(value)
    return MappingProxyType(table)


def parse_criterion(name: str, raw: Any, origin: str) -> Criterion:
    """One ``[criteria.<name>]`` table."""
    t = Table(raw, f"{origin}: criteria.{check_name(name, f'{origin}: criteria')}")
    layer = t.text("layer")
    distance_to = t.text("distance_to")
    where_filter = t.text("where")
    if (layer is None) == (distance_to is None):
        raise ConfigError(
            "give exactly one of layer and distance_to",
            where=t.where,
            fix='layer = "<raster or derived layer>" or distance_to = "<vector layer>"',
        )
    if layer is not None:
        if where_filter is not None:
            raise ConfigError(
                "where filters apply to distance_to only", where=t.at("where"), fix="remove it"
            )
        units = raster_units(layer, t.at("layer"))
    else:
        check_vector_layer(distance_to, where_filter, t.at("distance_to"))
        units = "m"
    given_units = t.text("units")
    if given_units is not None and given_units != units:
        raise ConfigError(
            f"units {given_units!r} differ from the layer's {units!r}",
            where=t.at("units"),
            fix=f"give the membership parameters in {units}",
        )
    spec = parse_membership(t)
    if isinstance(spec, Categorical) and layer is not None:
        check_class_codes(layer, spec.table, t.at("table"))
    source = t.text("source", "")
    t.finish(
        ("layer", "distance_to", "where", "units", "source", "membership")
        + _MEMBERSHIP_KEYS[spec.kind]
    )
    return Criterion(name, spec, layer, distance_to, where_filter, units, source)


def parse_constraint(name: str, raw: Any, origin: str) -> Constraint | None:
    """One ``[constraints.<name>]`` table; ``None`` when ``enabled = false``."""
    t = Table(raw, f"{origin}: constraints.{check_name(name, f'{origin}: constraints')}")
    kind = t.choice("kind", CONSTRAINT_KINDS)
    enabled = t.flag("enabled", True)
    source = t.text("source", "")
    common = ("kind", "enabled", "source")
    c: Constraint
    if kind == "range":
        layer = t.text("layer", required=True)
        raster_units(layer, t.at("layer"), categorical=False)
        lo, hi = t.number("min"), t.number("max")
        if lo is None and hi is None:
            raise ConfigError("give min, max or both", where=t.where, fix="e.g. max = 11.3")
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(
                f"min {lo:g} exceeds max {hi:g}",
                where=t.where,
                fix="make min ≤ max (values outside min..max are excluded)",
            )
        c = RangeConstraint(
            name,
            layer,
            lo,
            hi,
            t.flag("min_inclusive", True),
            t.flag("max_inclusive", True),
            source,
        )
        t.finish((*common, "layer", "min", "max", "min_inclusive", "max_inclusive"))
    elif kind == "classes":
        layer = t.text("layer", required=True)
        raster_units(layer, t.at("layer"), categorical=True)
        excl, allow = t.numbers("exclude", required=False), t.numbers("allow", required=False)
        if (excl is None) == (allow is None):
            raise ConfigError(
                "give exactly one of exclude and allow", where=t.where, fix="exclude = [50, 80]"
            )
        codes = excl if excl is not None else allow
        assert codes is not None
        if not codes or any(v != int(v) for v in codes):
            raise ConfigError(
                f"class codes must be a non-empty list of integers, got {list(codes)}",
                where=t.at("exclude" if excl is not None else "allow"),
                fix=f"give whole class codes of {layer}, e.g. "
                f"{'exclude' if excl is not None else 'allow'} = [50, 80]",
            )
        check_class_codes(
            layer, (int(v) for v in codes), t.at("exclude" if excl is not None else "allow")
        )
        mode: ClassMode = "exclude" if excl is not None else "allow"
        c = ClassConstraint(name, layer, frozenset(int(v) for v in codes), mode, source)
        t.finish((*common, "layer", "exclude", "allow"))
    elif kind == "vector":
        layer = t.text("layer", required=True)
        where_filter = t.text("where")
        check_vector_layer(layer, where_filter, t.at("layer"))
        buffer_m = t.number("buffer_m", 0.0)
        if buffer_m < 0:
            raise ConfigError(
                f"buffer_m must be ≥ 0, got {buffer_m:g}",
                where=t.at("buffer_m"),
                fix="give the setback in metres, e.g. buffer_m = 500 (0 = the features only)",
            )
        side: ExcludeSide = t.choice("exclude", get_args(ExcludeSide), "inside")
        c = VectorConstraint(name, layer, where_filter, buffer_m, side, source)
        t.finish((*common, "layer", "where", "buffer_m", "exclude"))
    else:
        area = t.number("min_area_km2", required=True)
        if area <= 0:
            raise ConfigError(
                f"min_area_km2 must be > 0, got {area:g}",
                where=t.at("min_area_km2"),
                fix="give the smallest patch to keep, e.g. min_area_km2 = 1.0, or set "
                "enabled = false",
            )
        conn: Any = t.get("connectivity")
        if conn is None:
            conn = 8
        whole = type(conn) is int  # not 4.0, not true
        if not whole or conn not in (4, 8):
            raise ConfigError(
                f"connectivity must be 4 or 8, got {conn!r}",
                where=t.at("connectivity"),
                fix="connectivity = 8 (diagonal neighbours join a patch) or 4 (edges only)",
            )
        c = MinAreaConstraint(name, area, conn, source)
        t.finish((*common, "min_area_km2", "connectivity"))
    return c if enabled else None


def parse_judgement(value: Any, where: str) -> float:
    """An AHP matrix entry: a number or a fraction written as text (``"1/3"``)."""
    if isinstance(value, bool):
        raise ConfigError(
            f"expected a number, got {value!r}", where=where, fix='e.g. 3, 0.5 or "1/3"'
        )
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Fraction(value.replace(" ", "")))
        except (ValueError, ZeroDivisionError) as exc:
            raise ConfigError(
                f"cannot read {value!r} as a number", where=where, fix='e.g. 3, 0.5 or "1/3"'
            ) from exc
    raise ConfigError(
        f"expected a number or a fraction, got {value!r}", where=where, fix='e.g. 3, 0.5 or "1/3"'
    )
