"""Merge a study's ``[profiles.<name>]`` table into a profile's raw TOML data.

Overrides address profile entries by name, mirroring the profile file layout::

    [profiles.windfarm]
    weights = { wind = 0.5 }                 # criterion weights (others keep theirs)
    [profiles.windfarm.criteria.wind]        # one criterion's parameters
    low = 5.0
    [profiles.windfarm.constraints.settlements]
    buffer_m = 1500
    [profiles.windfarm.sites]
    top_share = 0.05                          # replaces the profile's threshold

Rules: unknown top-level keys and unknown criterion or constraint names are errors naming the
key; keys inside a criterion or constraint are checked when the merged profile is parsed.
Changing a criterion's ``membership`` (or a constraint's ``kind``) replaces its parameters;
giving ``threshold`` drops ``top_share`` and vice versa; ``weights`` on an AHP profile must
name every criterion and replaces the AHP matrix; ``[..ahp]`` on a direct-weight profile
replaces the weights. Nothing is added: to add criteria, copy the profile file
(``geotool profiles show NAME > my.toml``) and pass its path.

Examples
--------
>>> base = {"criteria": {"wind": {"layer": "wind_speed_hub", "membership": "linear",
...                               "low": 5.6, "high": 7.5}},
...         "weights": {"wind": 1.0}, "sites": {"threshold": 0.6}}
>>> merged = merge_overrides(base, {"sites": {"top_share": 0.1}}, "[profiles.x]")
>>> merged["sites"]
{'top_share': 0.1}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from geotool.errors import ConfigError

OVERRIDE_KEYS = ("description", "constraints", "criteria", "weights", "ahp", "aggregation", "sites")
_CRITERION_SOURCE_KEYS = ("layer", "distance_to", "where", "units", "source")
_CONSTRAINT_KEEP_KEYS = ("layer", "where", "source", "enabled")


def merge_overrides(
    raw: Mapping[str, Any], overrides: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """A deep copy of ``raw`` with ``overrides`` applied (see the module docstring)."""
    out: dict[str, Any] = copy.deepcopy(dict(raw))
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            f"expected a table of overrides, got {overrides!r:.40}",
            where=where,
            fix=f"write {where} as a table header followed by key = value lines",
        )
    for key in overrides:
        if key not in OVERRIDE_KEYS:
            raise ConfigError(
                f"unknown key {key!r}",
                where=f"{where}.{key}",
                fix=f"use {', '.join(OVERRIDE_KEYS)}",
            )
    if "weights" in overrides and "ahp" in overrides:
        raise ConfigError(
            "give weights or ahp, not both", where=where, fix="keep the one you mean to use"
        )
    if "description" in overrides:
        out["description"] = overrides["description"]
    for section in ("criteria", "constraints"):
        if section in overrides:
            out[section] = _merge_entries(out.get(section, {}), overrides[section], section, where)
    if "weights" in overrides:
        _merge_weights(out, overrides["weights"], where)
    if "ahp" in overrides:
        ahp = _table(overrides["ahp"], f"{where}.ahp")
        if "ahp" in out:
            out["ahp"] = {**out["ahp"], **ahp}
        else:
            out.pop("weights", None)
            out["ahp"] = dict(ahp)
    if "aggregation" in overrides:
        agg = _table(overrides["aggregation"], f"{where}.aggregation")
        base = out.get("aggregation", {})
        same = agg.get("method", base.get("method")) == base.get("method")
        out["aggregation"] = {**base, **agg} if same else dict(agg)
    if "sites" in overrides:
        sites = _table(overrides["sites"], f"{where}.sites")
        base = dict(out.get("sites", {}))
        for a, b in (("threshold", "top_share"), ("top_share", "threshold")):
            if a in sites and b not in sites:
                base.pop(b, None)
        out["sites"] = {**base, **sites}
    return out


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        header = f"{where[:-1]}]" if where.endswith("]") else f"{where.replace('].', '.', 1)}]"
        raise ConfigError(
            f"expected a table, got {value!r:.40}",
            where=where,
            fix=f"write it as a table: a {header} header followed by key = value lines",
        )
    return dict(value)


def _merge_entries(
    base: Mapping[str, Any], changes: Any, section: str, where: str
) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    for name, change in _table(changes, f"{where}.{section}").items():
        at = f"{where}.{section}.{name}"
        if name not in merged:
            known = ", ".join(merged) or "none"
            what = "criterion" if section == "criteria" else "constraint"
            raise ConfigError(
                f"unknown {what} {name!r}",
                where=at,
                fix=f"the profile has: {known} (copy the profile file to add new ones)",
            )
        entry = merged[name]
        change = _table(change, at)
        switch = "membership" if section == "criteria" else "kind"
        if switch in change and change[switch] != entry.get(switch):
            keep = _CRITERION_SOURCE_KEYS if section == "criteria" else _CONSTRAINT_KEEP_KEYS
            entry = {k: v for k, v in entry.items() if k in keep}
        if section == "criteria":
            if "layer" in change:
                entry.pop("distance_to", None)
                entry.pop("where", None)
            if "distance_to" in change:
                entry.pop("layer", None)
        merged[name] = {**entry, **change}
    return merged


def _merge_weights(out: dict[str, Any], weights: Any, where: str) -> None:
    weights = _table(weights, f"{where}.weights")
    names = list(out.get("criteria", {}))
    for name in weights:
        if name not in names:
            raise ConfigError(
                f"unknown criterion {name!r}",
                where=f"{where}.weights.{name}",
                fix=f"the profile has: {', '.join(names)}",
            )
    if "ahp" in out and "weights" not in out:
        missing = [n for n in names if n not in weights]
        if missing:
            raise ConfigError(
                f"this profile uses an AHP matrix; direct weights must name every criterion "
                f"(missing: {', '.join(missing)})",
                where=f"{where}.weights",
                fix="give all weights, or override [..ahp] instead",
            )
        out.pop("ahp")
        out["weights"] = dict(weights)
    else:
        out["weights"] = {**out.get("weights", {}), **weights}
