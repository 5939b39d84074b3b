"""Typed carbon parameters loaded from the TOML package data in ``geotool/carbon/params``.

Three files, each value citing its table next to it:

- ``species.toml``    species groups (SVD, BEF, R, CF, growth curve, parameter CVs);
- ``ipcc_tier1.toml`` IPCC Tier 1 defaults by FAO ecological zone (Tables 4.3, 4.4, 4.7,
  4.9, 4.10);
- ``standards.toml``  uncertainty-deduction rules and buffer rules per crediting standard.

The files are read once and turned into frozen dataclasses; unknown names raise
:class:`geotool.errors.UnknownNameError` with the list of valid ones.

Examples
--------
>>> fir = get_species("chinese_fir")
>>> fir.svd_t_m3, fir.bef
(0.307, 1.634)
>>> get_zone("subtropical_humid").root_shoot(np.array([100.0, 200.0]))
array([0.2 , 0.24])
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import xarray as xr

from geotool.errors import ConfigError, InputError, UnknownNameError

GrowthQuantity = Literal["volume_m3_ha", "agb_t_ha"]
CO2_PER_C = 44.0 / 12.0
"""Molar-mass ratio CO2/C (IPCC 2006 Vol. 4 Eq. 2.x convention)."""


@dataclass(frozen=True)
class GrowthCurve:
    """Chapman-Richards yield curve ``Y(t) = A (1 - exp(-k t))^p`` (t = stand age, years).

    ``quantity`` says what Y is: stem volume (m3/ha) or above-ground biomass (t d.m./ha).
    """

    quantity: GrowthQuantity
    asymptote: float
    rate_per_yr: float
    shape: float

    def __call__(self, age_yr: Any, asymptote: Any = None) -> np.ndarray:
        """Yield at ``age_yr`` (0 for ages <= 0); ``asymptote`` overrides A (Monte Carlo)."""
        a = self.asymptote if asymptote is None else asymptote
        t = np.maximum(np.asarray(age_yr, dtype=float), 0.0)
        return np.asarray(a * (1.0 - np.exp(-self.rate_per_yr * t)) ** self.shape)


@dataclass(frozen=True)
class ParamUncertainty:
    """Coefficients of variation (sd / mean) of the species parameters, for Monte Carlo."""

    svd_cv: float
    bef_cv: float
    root_shoot_cv: float
    carbon_fraction_cv: float
    growth_cv: float


@dataclass(frozen=True)
class Species:
    """One species group.

    ``svd_t_m3`` (basic wood density, t d.m./m3) and ``bef`` (biomass expansion factor,
    stem -> above-ground) are ``None`` for groups without a volume path (Moso bamboo).
    """

    name: str
    label: str
    svd_t_m3: float | None
    bef: float | None
    root_shoot: float
    carbon_fraction: float
    growth: GrowthCurve
    uncertainty: ParamUncertainty

    @property
    def has_volume_path(self) -> bool:
        return self.svd_t_m3 is not None and self.bef is not None

    @property
    def agb_per_m3(self) -> float:
        """SVD x BEF: t above-ground dry matter per m3 of growing stock."""
        if self.svd_t_m3 is None or self.bef is None:
            raise InputError(
                f"species '{self.name}' has no stem-volume conversion (no SVD/BEF)",
                where=f"species.{self.name}",
                fix="give an above-ground biomass map or per-parcel agb_t_ha for this group",
            )
        return self.svd_t_m3 * self.bef

    def stock_tco2e_per_ha(self, age_yr: Any) -> np.ndarray:
        """Tree carbon stock (AGB + BGB) of a plantation of age ``age_yr``, t CO2e/ha."""
        y = self.growth(age_yr)
        agb = y * self.agb_per_m3 if self.growth.quantity == "volume_m3_ha" else y
        return np.asarray(agb * (1.0 + self.root_shoot) * self.carbon_fraction * CO2_PER_C)


@dataclass(frozen=True)
class RootShootClasses:
    """IPCC Table 4.4 style lookup: R depends on the above-ground biomass class.

    ``ratios[i]`` applies for AGB in ``[breaks[i-1], breaks[i])`` (t d.m./ha).
    """

    breaks_t_ha: tuple[float, ...]
    ratios: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.ratios) != len(self.breaks_t_ha) + 1:
            raise ConfigError(
                f"{len(self.ratios)} root-to-shoot ratios for {len(self.breaks_t_ha)} breaks",
                where="root_shoot_ratios",
                fix="give one more ratio than AGB class breaks",
            )
        if list(self.breaks_t_ha) != sorted(self.breaks_t_ha):
            raise ConfigError(
                "AGB class breaks are not increasing",
                where="root_shoot_breaks_t_ha",
                fix="list the breaks in increasing order",
            )

    def _numpy(self, agb: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(np.asarray(self.breaks_t_ha, dtype=float), agb, side="right")
        out = np.asarray(self.ratios, dtype=float)[idx]
        return np.where(np.isnan(agb), np.nan, out).astype(agb.dtype, copy=False)

    def __call__(self, agb_t_ha: Any) -> Any:
        """R for each AGB value (NaN stays NaN); lazy on dask-backed DataArrays."""
        if isinstance(agb_t_ha, xr.DataArray):
            return xr.apply_ufunc(
                self._numpy, agb_t_ha, dask="parallelized", output_dtypes=[agb_t_ha.dtype]
            )
        arr = np.asarray(agb_t_ha, dtype=float)
        return self._numpy(arr)


@dataclass(frozen=True)
class EcoZone:
    """IPCC Tier 1 defaults for one FAO Global Ecological Zone (Asia rows where possible)."""

    name: str
    label: str
    gez_code: int
    agb_natural_t_ha: float
    root_shoot: RootShootClasses
    carbon_fraction: float
    growth_natural_young_t_ha_yr: float | None
    growth_natural_old_t_ha_yr: float | None
    growth_plantation_t_ha_yr: float | None


@dataclass(frozen=True)
class DeductionRule:
    """How a 90 % half-width U (percent of the mean) becomes a deduction fraction."""

    name: str
    upper_bounds_pct: tuple[float, ...] = ()
    shares: tuple[float, ...] = ()
    threshold_pct: float = 0.0
    scale: float = 0.0
    t90: float = 1.0


@dataclass(frozen=True)
class Standard:
    """Crediting-standard preset: deduction rule and non-permanence buffer rule."""

    name: str
    label: str
    rule: DeductionRule
    buffer_mode: Literal["fixed", "risk_tool"]
    buffer_pct: float
    buffer_floor_pct: float
    crediting_years: tuple[int, int]
    min_deduction_pct: float = 0.0  # least uncertainty deduction (% of creditable removals)


def _read(name: str) -> dict[str, Any]:
    text = resources.files("geotool.carbon").joinpath("params", name).read_text("utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # a broken package file is a bug, but say where
        raise ConfigError(str(exc), where=f"geotool/carbon/params/{name}") from exc


def _unknown(kind: str, name: str, known: Mapping[str, Any] | list[str]) -> UnknownNameError:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return UnknownNameError(
        f"unknown {kind} '{name}'", where=kind, fix=f"{hint}choose one of: {', '.join(names)}"
    )


@cache
def _species_table() -> dict[str, Species]:
    out: dict[str, Species] = {}
    for name, t in _read("species.toml")["species"].items():
        g, u = t["growth"], t["uncertainty"]
        out[name] = Species(
            name=name,
            label=t["label"],
            svd_t_m3=t.get("svd_t_m3"),
            bef=t.get("bef"),
            root_shoot=float(t["root_shoot"]),
            carbon_fraction=float(t["carbon_fraction"]),
            growth=GrowthCurve(
                quantity=g["quantity"],
                asymptote=float(g["asymptote"]),
                rate_per_yr=float(g["rate_per_yr"]),
                shape=float(g["shape"]),
            ),
            uncertainty=ParamUncertainty(**{k: float(v) for k, v in u.items()}),
        )
    return out


@cache
def _zone_table() -> dict[str, EcoZone]:
    raw = _read("ipcc_tier1.toml")
    cf = float(raw["carbon_fraction"])
    out: dict[str, EcoZone] = {}
    for name, t in raw["zones"].items():
        out[name] = EcoZone(
            name=name,
            label=t["label"],
            gez_code=int(t["gez_code"]),
            agb_natural_t_ha=float(t["agb_natural_t_ha"]),
            root_shoot=RootShootClasses(
                tuple(float(b) for b in t["root_shoot_breaks_t_ha"]),
                tuple(float(r) for r in t["root_shoot_ratios"]),
            ),
            carbon_fraction=cf,
            growth_natural_young_t_ha_yr=t.get("growth_natural_young_t_ha_yr"),
            growth_natural_old_t_ha_yr=t.get("growth_natural_old_t_ha_yr"),
            growth_plantation_t_ha_yr=t.get("growth_plantation_t_ha_yr"),
        )
    return out


@cache
def _standards_table() -> tuple[dict[str, DeductionRule], dict[str, Standard]]:
    raw = _read("standards.toml")
    rules: dict[str, DeductionRule] = {}
    for name, t in raw["rules"].items():
        rules[name] = DeductionRule(
            name=name,
            upper_bounds_pct=tuple(float(x) for x in t.get("upper_bounds_pct", ())),
            shares=tuple(float(x) for x in t.get("shares", ())),
            threshold_pct=float(t.get("threshold_pct", 0.0)),
            scale=float(t.get("scale", 0.0)),
            t90=float(t.get("t90", 1.0)),
        )
    standards: dict[str, Standard] = {}
    for name, t in raw["standards"].items():
        rule = rules[t["uncertainty_rule"]]
        if "uncertainty_threshold_pct" in t:
            rule = DeductionRule(
                name=rule.name, threshold_pct=float(t["uncertainty_threshold_pct"])
            )
        lo, hi = t["crediting_years"]
        standards[name] = Standard(
            name=name,
            label=t["label"],
            rule=rule,
            buffer_mode=t["buffer_mode"],
            buffer_pct=float(t.get("buffer_pct", 0.0)),
            buffer_floor_pct=float(t.get("buffer_floor_pct", 0.0)),
            crediting_years=(int(lo), int(hi)),
            min_deduction_pct=float(t.get("min_deduction_pct", 0.0)),
        )
    return rules, standards


def species_names() -> list[str]:
    """Names of the built-in species groups."""
    return sorted(_species_table())


def zone_names() -> list[str]:
    """Names of the ecological zones with Tier 1 defaults."""
    return sorted(_zone_table())


def standard_names() -> list[str]:
    """Names of the crediting-standard presets (``ccer``, ``gold_standard``, ``vcs``)."""
    return sorted(_standards_table()[1])


def rule_names() -> list[str]:
    """Names of the uncertainty-deduction rules."""
    return sorted(_standards_table()[0])


def _alias_key(name: str) -> str:
    """``name`` compared case-, width- and space-insensitively (``Chinese fir``, ``CHINESE_FIR``
    and ``杉木 `` with a full-width space all match)."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", name)).casefold()


def _label_names(label: str) -> list[str]:
    """The names a ``species.toml`` label gives a group: ``"Chinese fir (杉木, Cunninghamia
    lanceolata)"`` -> ``["Chinese fir", "杉木", "Cunninghamia lanceolata"]``."""
    head, _, rest = label.partition("(")
    return [n.strip() for n in [head, *rest.rstrip(")").split(",")] if n.strip()]


@cache
def species_aliases() -> dict[str, str]:
    """Every accepted spelling of a species group (compared by :func:`_alias_key`) -> its name.

    The aliases are the names in each group's ``species.toml`` label: the English and the
    Chinese name (杉木, 马尾松, 桉树, 栎类, 其他阔叶类, 毛竹) and the scientific name, so that
    a 小班 table's species column is read as it is.
    """
    out: dict[str, str] = {}
    for name, sp in _species_table().items():
        for alias in (name, *_label_names(sp.label)):
            key = _alias_key(alias)
            if out.setdefault(key, name) != name:  # a package-data bug, not a user error
                raise ConfigError(
                    f"species alias {alias!r} names both {out[key]} and {name}",
                    where="geotool/carbon/params/species.toml",
                )
    return out


def _species_choices() -> str:
    """``chinese_fir (Chinese fir, 杉木), ...``: the names an unknown species is told."""
    return ", ".join(
        f"{name} ({', '.join(_label_names(sp.label)[:2])})"
        for name, sp in sorted(_species_table().items())
    )


def canonical_species(name: str) -> str:
    """The group name of ``name``, given as a group name or one of its :func:`species_aliases`.

    >>> canonical_species("杉木"), canonical_species(" Masson Pine ")
    ('chinese_fir', 'masson_pine')
    """
    found = species_aliases().get(_alias_key(name))
    if found is None:
        close = difflib.get_close_matches(name, species_names(), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UnknownNameError(
            f"unknown species '{name}'",
            where="species",
            fix=f"{hint}choose one of: {_species_choices()}; their English, Chinese and "
            "scientific names work too, in any case and spacing",
        )
    return found


def get_species(name: str) -> Species:
    """The species group ``name`` (or one of its aliases, e.g. ``杉木``, see
    :func:`species_aliases`); :class:`UnknownNameError` lists the accepted names."""
    return _species_table()[canonical_species(name)]


def get_zone(name: str) -> EcoZone:
    """IPCC Tier 1 defaults of ecological zone ``name``."""
    table = _zone_table()
    if name not in table:
        raise _unknown("ecological_zone", name, table)
    return table[name]


def get_standard(name: str) -> Standard:
    """Crediting-standard preset ``name``."""
    table = _standards_table()[1]
    if name not in table:
        raise _unknown("standard", name, table)
    return table[name]


def get_rule(name: str, threshold_pct: float | None = None) -> DeductionRule:
    """Deduction rule ``name``; ``threshold_pct`` sets the threshold of the ``excess`` rule."""
    table = _standards_table()[0]
    if name not in table:
        raise _unknown("uncertainty_rule", name, table)
    rule = table[name]
    if threshold_pct is not None:
        rule = DeductionRule(
            name=rule.name,
            upper_bounds_pct=rule.upper_bounds_pct,
            shares=rule.shares,
            threshold_pct=float(threshold_pct),
            scale=rule.scale,
            t90=rule.t90,
        )
    return rule


SpeciesSpec = str | Species | Mapping[str, float]
"""A species group name, a :class:`Species`, or a mix ``{name: share}`` (shares sum to 1)."""


def blend_species(mix: Mapping[str, float]) -> Species:
    """One effective species for a growing-stock mix ``{name: volume share}``.

    The blend is exact for stocks: with shares w_i of the volume,
    ``SVD x BEF = sum w_i SVD_i BEF_i``, ``R = sum w_i SVD_i BEF_i R_i / (SVD x BEF)`` and
    ``CF = sum w_i SVD_i BEF_i (1+R_i) CF_i / sum w_i SVD_i BEF_i (1+R_i)``, so
    ``V x SVD x BEF x (1+R) x CF`` equals the share-weighted sum of the group stocks.

    >>> b = blend_species({"chinese_fir": 0.5, "other_broadleaf": 0.5})
    >>> round(b.svd_t_m3 * b.bef, 4)
    0.7035
    """
    if not mix:
        raise ConfigError("empty species mix", where="species mix", fix="give {name = share}")
    total = sum(mix.values())
    if any(v < 0 for v in mix.values()) or not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ConfigError(
            f"species shares sum to {total:g}, not 1",
            where="species mix",
            fix="give non-negative shares that add up to 1",
        )
    groups = [(get_species(n), w) for n, w in mix.items()]
    for sp, _ in groups:
        sp.agb_per_m3  # noqa: B018  (raises InputError for groups without a volume path)
    agb = sum(w * sp.agb_per_m3 for sp, w in groups)
    tot = sum(w * sp.agb_per_m3 * (1 + sp.root_shoot) for sp, w in groups)
    svd = sum(w * (sp.svd_t_m3 or 0.0) for sp, w in groups)
    first = groups[0][0]
    return Species(
        name="+".join(f"{n}:{w:g}" for n, w in mix.items()),
        label="mix of " + ", ".join(mix),
        svd_t_m3=svd,
        bef=agb / svd,
        root_shoot=tot / agb - 1.0,
        carbon_fraction=sum(
            w * sp.agb_per_m3 * (1 + sp.root_shoot) * sp.carbon_fraction for sp, w in groups
        )
        / tot,
        growth=first.growth,
        uncertainty=first.uncertainty,
    )


def resolve_species(spec: SpeciesSpec) -> Species:
    """A :class:`Species` from a name, a Species or a ``{name: share}`` mix."""
    if isinstance(spec, Species):
        return spec
    if isinstance(spec, str):
        return get_species(spec)
    return blend_species(spec)
