"""Load a profile (built-in name or file path), apply study overrides, validate into specs.

A profile TOML file has the top-level keys ``name``, ``description`` and the tables
``[constraints.<name>]``, ``[criteria.<name>]``, ``[weights]`` *or* ``[ahp]``,
``[aggregation]`` and ``[sites]`` — see :mod:`geotool.profiles` for the keys and the
built-ins (``geotool profiles show windfarm``) for examples.

Examples
--------
>>> p = load_profile("windfarm")
>>> p.name, round(sum(p.weights.values()), 6)
('windfarm', 1.0)
>>> p2 = load_profile("windfarm", {"sites": {"top_share": 0.05}})
>>> p2.sites.top_share, p2.sites.threshold
(0.05, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

from geotool.errors import ConfigError
from geotool.study import parse_toml
from geotool.suitability.overrides import merge_overrides
from geotool.suitability.parse import (
    Table,
    check_name,
    parse_constraint,
    parse_criterion,
    parse_judgement,
)
from geotool.suitability.specs import (
    Aggregation,
    AggregationMethod,
    AHPWeights,
    Constraint,
    Criterion,
    DirectWeights,
    MinAreaConstraint,
    ParamValue,
    Profile,
    SitesSpec,
    Weighting,
)
from geotool.suitability.weights import ahp_weights, normalise_weights


@dataclass(frozen=True)
class ParamSpec:
    """A site-metric parameter: its kind, valid range ``(low, high]`` (``[low`` if
    ``low_inclusive``) and meaning."""

    kind: Literal["number", "text"]
    description: str
    low: float = 0.0
    high: float = float("inf")
    low_inclusive: bool = False


SITE_PARAMS: dict[str, ParamSpec] = {
    "capacity_density_mw_per_km2": ParamSpec(
        "number", "installed capacity per km² of site area", 0.0, 500.0
    ),
    "turbine": ParamSpec("text", "wind turbine type in windpowerlib's OEDB turbine library"),
    "hub_height_m": ParamSpec("number", "turbine hub height above ground, m", 10.0, 300.0),
    "it_load_density_mw_per_km2": ParamSpec(
        "number", "data-centre IT load per km² of campus", 0.0, 5000.0
    ),
    "radius_km": ParamSpec(
        "number", "search radius for nearby resources or demand, km", 0.0, 2000.0
    ),
    "grid_emission_factor_tco2_per_mwh": ParamSpec(
        "number", "grid electricity emission factor, tCO2/MWh", 0.0, 2.0, low_inclusive=True
    ),
    "target_depth_m": ParamSpec(
        "number", "reservoir depth for temperature_at_depth, m", 0.0, 10_000.0
    ),
    "removal_tco2_per_ha_yr": ParamSpec(
        "number", "mean net CO2 removal of new forest, tCO2/ha/yr", 0.0, 100.0
    ),
}
"""Known ``[sites]`` metric parameters; any other key in ``[sites]`` is an error."""

_SITE_KEYS = ("threshold", "top_share", "min_area_km2", "max_area_km2", "min_separation_m")
TOP_KEYS = (
    "name",
    "description",
    "constraints",
    "criteria",
    "weights",
    "ahp",
    "aggregation",
    "sites",
)


def load_profile(name_or_path: str | Path, overrides: Mapping[str, Any] | None = None) -> Profile:
    """A validated profile: a built-in by name or a TOML file by path, with study overrides.

    Parameters
    ----------
    name_or_path
        ``"windfarm"`` etc. (see :func:`geotool.profiles.builtin_names`) or a path to a
        ``.toml`` file (a user's edited copy of a built-in).
    overrides
        The study's ``[profiles.<name>]`` table (see :mod:`geotool.suitability.overrides`).

    Raises
    ------
    geotool.errors.UnknownNameError
        An unknown built-in name (the message lists the built-ins).
    geotool.errors.ConfigError
        A syntax error, unknown key, bad value or unknown criterion, naming the key.
    geotool.errors.ConsistencyError
        An AHP matrix that is not reciprocal or has CR > 0.10 without ``allow_inconsistent``.
    """
    from geotool.profiles import is_path_like, read_profile_source

    label, text, stem = read_profile_source(name_or_path)
    raw = parse_toml(text, label)
    if not overrides:
        return parse_profile(raw, origin=label, default_name=stem)
    if is_path_like(name_or_path):
        # a user's file alone first: its own mistakes are reported against it, and the merge
        # below only ever sees a well-formed profile (the built-ins are tested to be)
        parse_profile(raw, origin=label, default_name=stem)
    table = f"[profiles.{raw.get('name', stem)}]"
    merged = merge_overrides(raw, overrides, table)
    return parse_profile(merged, origin=f"{label} with {table} overrides", default_name=stem)


def parse_profile(raw: Mapping[str, Any], *, origin: str, default_name: str) -> Profile:
    """Validate a profile's plain data (as read from TOML) into a :class:`Profile`."""
    top = Table(raw, origin, top=True)
    name = check_name(top.text("name", default_name), top.at("name"))
    description = top.text("description", "")
    constraints = _constraints(top.get("constraints"), origin)
    criteria = _criteria(top.get("criteria"), origin)
    weighting = _weighting(top, criteria, origin)
    aggregation = _aggregation(top.get("aggregation"), criteria, origin)
    sites = _sites(top.get("sites"), origin)
    top.finish(TOP_KEYS)
    return Profile(name, description, constraints, criteria, weighting, aggregation, sites, origin)


def _constraints(raw: Any, origin: str) -> tuple[Constraint, ...]:
    if raw is None:
        return ()
    table = Table(raw, f"{origin}: constraints")
    out = [c for n in table.raw if (c := parse_constraint(n, table.get(n), origin)) is not None]
    if sum(isinstance(c, MinAreaConstraint) for c in out) > 1:
        raise ConfigError(
            "more than one min_area constraint", where=f"{origin}: constraints", fix="keep one"
        )
    return tuple(out)


def _criteria(raw: Any, origin: str) -> tuple[Criterion, ...]:
    if raw is None or (isinstance(raw, Mapping) and not raw):
        raise ConfigError(
            "a profile needs at least one criterion",
            where=f"{origin}: criteria",
            fix="add a [criteria.<name>] table",
        )
    table = Table(raw, f"{origin}: criteria")
    return tuple(parse_criterion(n, table.get(n), origin) for n in table.raw)


def _weighting(top: Table, criteria: tuple[Criterion, ...], origin: str) -> Weighting:
    names = [c.name for c in criteria]
    has_w, has_ahp = top.has("weights"), top.has("ahp")
    if has_w == has_ahp:
        raise ConfigError(
            "give exactly one of [weights] and [ahp]",
            where=origin,
            fix="[weights] with one number per criterion, or an [ahp] pairwise matrix",
        )
    if has_w:
        raw = top.get("weights")
        t = Table(raw, f"{origin}: weights")
        for key in t.raw:
            if key not in names:
                raise ConfigError(
                    f"unknown criterion {key!r}",
                    where=t.at(key),
                    fix=f"criteria: {', '.join(names)}",
                )
        missing = [n for n in names if n not in t.raw]
        if missing:
            raise ConfigError(
                f"no weight for {', '.join(missing)}",
                where=t.where,
                fix="give every criterion a weight",
            )
        values = normalise_weights({n: t.raw[n] for n in names}, where=t.where)
        return DirectWeights(MappingProxyType(values))
    t = Table(top.get("ahp"), f"{origin}: ahp")
    order = t.get("criteria")
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(names):
        raise ConfigError(
            f"ahp.criteria must list each criterion once, got {order!r}",
            where=t.at("criteria"),
            fix=f"criteria = {names!r}",
        )
    rows = t.get("matrix")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        n = len(order)
        raise ConfigError(
            f"expected a list of rows, got {rows!r:.40}",
            where=t.at("matrix"),
            fix=f"write one row per criterion in the order of ahp.criteria ({n} rows of {n} "
            'numbers), e.g. matrix = [[1, 3], ["1/3", 1]] for two',
        )
    matrix = tuple(
        tuple(parse_judgement(v, f"{t.at('matrix')}[{i}][{j}]") for j, v in enumerate(row))
        for i, row in enumerate(rows)
    )
    allow = t.flag("allow_inconsistent", False)
    source = t.text("source", "")
    t.finish(("criteria", "matrix", "allow_inconsistent", "source"))
    w, cr = ahp_weights(matrix, allow_inconsistent=allow, where=t.at("matrix"))
    if len(w) != len(order):
        raise ConfigError(
            f"the matrix is {len(w)}×{len(w)} but ahp.criteria has {len(order)} names",
            where=t.at("matrix"),
            fix=f"give a {len(order)}×{len(order)} matrix: one row and one column per name in "
            "ahp.criteria, in that order",
        )
    values = {str(n): float(v) for n, v in zip(order, w, strict=True)}
    return AHPWeights(tuple(map(str, order)), matrix, MappingProxyType(values), cr, allow, source)


def _aggregation(raw: Any, criteria: tuple[Criterion, ...], origin: str) -> Aggregation:
    t = Table(raw if raw is not None else {}, f"{origin}: aggregation")
    method: AggregationMethod = t.choice("method", get_args(AggregationMethod), "wlc")
    ow = t.get("order_weights")
    t.finish(("method", "order_weights"))
    if method != "owa":
        if ow is not None:
            raise ConfigError(
                'order_weights apply to method = "owa" only',
                where=t.at("order_weights"),
                fix='set method = "owa" in [aggregation], or remove order_weights',
            )
        return Aggregation(method)
    if ow in ("and", "or"):
        return Aggregation(method, ow)
    n = len(criteria)
    if (
        not isinstance(ow, list)
        or len(ow) != n
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in ow)
        or sum(ow) <= 0
    ):
        raise ConfigError(
            f'order_weights must be "and", "or" or {n} numbers ≥ 0 (best to worst), got {ow!r}',
            where=t.at("order_weights"),
            fix=f"e.g. order_weights = {[round(1 / n, 3)] * n} (= weighted mean)",
        )
    total = float(sum(ow))
    return Aggregation(method, tuple(float(v) / total for v in ow))


def _sites(raw: Any, origin: str) -> SitesSpec:
    if raw is None:
        raise ConfigError(
            "missing [sites] table", where=origin, fix="add [sites] with threshold or top_share"
        )
    t = Table(raw, f"{origin}: sites")
    threshold, top_share = t.number("threshold"), t.number("top_share")
    if (threshold is None) == (top_share is None):
        raise ConfigError(
            "give exactly one of threshold and top_share",
            where=t.where,
            fix="threshold = 0.6 (score) or top_share = 0.1 (best 10 % of eligible pixels)",
        )
    for key, value in (("threshold", threshold), ("top_share", top_share)):
        if value is not None and not 0.0 < value <= 1.0:
            raise ConfigError(
                f"{key} must be in (0, 1], got {value:g}", where=t.at(key), fix=_SITES_FIXES[key]
            )
    min_area = t.number("min_area_km2", 0.0)
    max_area = t.number("max_area_km2")
    separation = t.number("min_separation_m", 0.0)
    if min_area < 0:
        raise ConfigError(
            f"min_area_km2 must be ≥ 0, got {min_area:g}",
            where=t.at("min_area_km2"),
            fix="give the smallest site in km², e.g. min_area_km2 = 0.5 (0 keeps every size)",
        )
    if max_area is not None and not max_area > max(min_area, 0.0):
        raise ConfigError(
            f"max_area_km2 must exceed min_area_km2 ({min_area:g}), got {max_area:g}",
            where=t.at("max_area_km2"),
            fix=f"give max_area_km2 > {min_area:g}, or remove it (no upper limit)",
        )
    if separation < 0:
        raise ConfigError(
            f"min_separation_m must be ≥ 0, got {separation:g}",
            where=t.at("min_separation_m"),
            fix="give the spacing in metres, e.g. min_separation_m = 1000 (0 = none)",
        )
    params: dict[str, ParamValue] = {}
    for key in list(t.raw):
        if key in t.used:
            continue
        spec = SITE_PARAMS.get(key)
        if spec is None:
            t.finish((*_SITE_KEYS, *SITE_PARAMS))  # raises: names the unknown key
            raise AssertionError(key)  # pragma: no cover
        if spec.kind == "text":
            params[key] = t.text(key)
            if key == "turbine":
                _check_turbine(str(params[key]), t.at(key))
            continue
        value = t.number(key)
        ok_low = value >= spec.low if spec.low_inclusive else value > spec.low
        if not (ok_low and value <= spec.high):
            bracket = "[" if spec.low_inclusive else "("
            raise ConfigError(
                f"{value} is outside {bracket}{spec.low:g}, {spec.high:g}]",
                where=t.at(key),
                fix=spec.description,
            )
        params[key] = value
    return SitesSpec(threshold, top_share, min_area, max_area, separation, MappingProxyType(params))


_SITES_FIXES = {
    "threshold": "give the lowest score a site may have, e.g. threshold = 0.6",
    "top_share": "give the share of the best eligible pixels, e.g. top_share = 0.1 for the "
    "best 10 % (not 10)",
}


def _check_turbine(name: str, where: str) -> None:
    """A ``[sites] turbine`` must be in windpowerlib's turbine library (checked on load)."""
    from geotool.errors import UnknownNameError
    from geotool.resources.turbines import turbine_info

    try:
        turbine_info(name)
    except UnknownNameError as exc:
        raise UnknownNameError(exc.what, where=where, fix=exc.fix) from None
