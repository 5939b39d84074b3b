"""``CarbonConfig``: every choice the carbon stage makes, as one frozen value.

Built from the ``[carbon]`` table of a study file (or any mapping) by
:meth:`CarbonConfig.from_dict`; unknown keys raise :class:`geotool.errors.ConfigError`,
unknown species / zone / standard / rule names :class:`geotool.errors.UnknownNameError`.

Examples
--------
>>> cfg = CarbonConfig.from_dict({"standard": "gold_standard", "price_cny_per_t": [60, 100]})
>>> cfg.price_cny_per_t, cfg.buffer_pct()
((60.0, 100.0), 20.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from geotool.carbon.params import (
    SpeciesSpec,
    Standard,
    blend_species,
    get_rule,
    get_species,
    get_standard,
    get_zone,
    standard_names,
)
from geotool.errors import ConfigError

WHERE = "[carbon]"


@dataclass(frozen=True)
class CarbonConfig:
    """Parameters of the carbon stage.

    Attributes
    ----------
    standard
        Crediting-standard preset: ``"ccer"``, ``"vcs"`` or ``"gold_standard"``.
    species
        Species group planted (afforestation removals, parcels without a ``species``).
    stock_species
        Growing-stock composition for the volume path, ``((name, share), ...)``; ``None``
        uses ``species`` alone.
    crediting_years
        Length of the crediting period (years); vintages are ``first_vintage ...``.
    first_vintage
        Calendar year of the first vintage (planting is at the start of that year).
    price_cny_per_t
        ``(low, high)`` credit price in CNY/t CO2e; ``None`` leaves value columns NaN.
    buffer_risk_pct
        VCS AFOLU Non-Permanence Risk Tool result (%), required for ``vcs``.
    leakage_pct
        Leakage as % of (gross - baseline) removals.
    baseline_tco2e_per_ha_yr
        Baseline removals per hectare and year (parcels may override in total).
    mc_draws, seed
        Monte Carlo sample size and seed (``numpy.random.default_rng``).
    half_width_pct
        Measured 90 % CI half-width (% of mean); when given, replaces the Monte Carlo.
    ecological_zone
        IPCC/FAO ecological zone of the Tier 1 defaults (``ipcc_tier1.toml``).
    forest_threshold_pct
        Crown cover (%) at or above which a ``forest_cover`` pixel is forest: 20 = China
        (canopy density >= 0.20, GB/T 26424-2010), 10 = FAO FRA definition.
    uncertainty_rule
        Override of the preset's deduction rule (``ar_tool14``, ``excess``,
        ``half_width``, ``art_trees``, ``none``).
    """

    standard: str = "ccer"
    species: str = "chinese_fir"
    stock_species: tuple[tuple[str, float], ...] | None = None
    crediting_years: int = 20
    first_vintage: int = 2025
    price_cny_per_t: tuple[float, float] | None = None
    buffer_risk_pct: float | None = None
    leakage_pct: float = 0.0
    baseline_tco2e_per_ha_yr: float = 0.0
    mc_draws: int = 2000
    seed: int = 20231024  # any fixed seed; this one is CCER-14-001-V01's effective date
    half_width_pct: float | None = None
    ecological_zone: str = "subtropical_humid"
    forest_threshold_pct: float = 20.0
    uncertainty_rule: str | None = None

    def __post_init__(self) -> None:
        std = get_standard(self.standard)
        get_species(self.species)
        get_zone(self.ecological_zone)
        if self.stock_species is not None:
            blend_species(dict(self.stock_species))
        if self.uncertainty_rule is not None:
            get_rule(self.uncertainty_rule)
        _check_range("crediting_years", self.crediting_years, 1, 200)
        _check_range("leakage_pct", self.leakage_pct, 0.0, 100.0)
        _check_range("forest_threshold_pct", self.forest_threshold_pct, 0.0, 100.0)
        _check_range("mc_draws", self.mc_draws, 200, 1_000_000)
        _check_range("seed", self.seed, 0, 2**63 - 1)  # numpy.random.default_rng takes >= 0
        _check_range("baseline_tco2e_per_ha_yr", self.baseline_tco2e_per_ha_yr, 0.0, 1e4)
        if self.half_width_pct is not None:
            _check_range("half_width_pct", self.half_width_pct, 0.0, 1e4)
        if self.price_cny_per_t is not None:
            lo, hi = self.price_cny_per_t
            if not (0 <= lo <= hi) or not math.isfinite(hi):
                raise ConfigError(
                    f"price range {lo}..{hi} is not 0 <= low <= high",
                    where=f"{WHERE} price_cny_per_t",
                    fix="give [low, high] in CNY per t CO2e, e.g. [60, 100]",
                )
        if self.buffer_risk_pct is not None:
            _check_range("buffer_risk_pct", self.buffer_risk_pct, 0.0, 100.0)
            if std.buffer_mode != "risk_tool":  # it would be dropped without a word
                risk = [n for n in standard_names() if get_standard(n).buffer_mode == "risk_tool"]
                raise ConfigError(
                    f"standard '{self.standard}' has a fixed non-permanence buffer of "
                    f"{std.buffer_pct:g} %, so the risk-tool result would be ignored",
                    where=f"{WHERE} buffer_risk_pct",
                    fix=f"remove buffer_risk_pct, or use a risk-tool standard ({', '.join(risk)})",
                )
        if std.buffer_mode == "risk_tool" and self.buffer_risk_pct is None:
            raise ConfigError(
                f"standard '{self.standard}' needs the AFOLU Non-Permanence Risk Tool result",
                where=f"{WHERE} buffer_risk_pct",
                fix="set buffer_risk_pct to the overall risk rating (%) of your risk report",
            )

    @property
    def standard_preset(self) -> Standard:
        return get_standard(self.standard)

    def credit_notes(self, credits: Any) -> list[str]:
        """Notes for the manifest on a credit chain run with this config: the crediting
        period outside the standard's range, and the standard's least deduction kept under
        an overriding ``uncertainty_rule`` (``credits``: the :class:`CreditResult`)."""
        notes = [n for n in (self.crediting_period_note(),) if n is not None]
        if credits.min_deduction_pct > 0 and credits.rule != self.standard_preset.rule.name:
            notes.append(
                f"uncertainty rule {credits.rule!r} replaces {self.standard}'s own, but the "
                f"standard's least deduction of {credits.min_deduction_pct:g} % of the "
                "creditable removals still applies to every vintage"
            )
        return notes

    def crediting_period_note(self) -> str | None:
        """A note when ``crediting_years`` lies outside the standard's crediting-period range
        (``standards.toml``; some ranges there are unverified, so this informs rather than
        refuses: a short period is a legitimate what-if, not a creditable project).

        >>> CarbonConfig(standard="gold_standard", crediting_years=20).crediting_period_note()
        'crediting_years = 20 is outside gold_standard crediting periods of 30-50 years: the credits are an estimate, not an issuable project volume'
        >>> CarbonConfig(standard="gold_standard", crediting_years=30).crediting_period_note()
        """
        lo, hi = self.standard_preset.crediting_years
        if lo <= self.crediting_years <= hi:
            return None
        return (
            f"crediting_years = {self.crediting_years} is outside {self.standard} crediting "
            f"periods of {lo}-{hi} years: the credits are an estimate, not an issuable "
            "project volume"
        )

    @property
    def stock_species_spec(self) -> SpeciesSpec:
        """What the volume path uses: the mix if given, else ``species``."""
        return dict(self.stock_species) if self.stock_species is not None else self.species

    def buffer_pct(self) -> float:
        """Non-permanence buffer (%) of the chosen standard (risk-tool result with floor)."""
        std = self.standard_preset
        if std.buffer_mode == "risk_tool":
            return max(float(self.buffer_risk_pct or 0.0), std.buffer_floor_pct)
        return std.buffer_pct

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> CarbonConfig:
        """Build from a ``[carbon]`` table; unknown keys and bad types are ConfigErrors."""
        raw = dict(raw or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"unknown key(s) {', '.join(unknown)}",
                where=WHERE,
                fix=f"allowed keys: {', '.join(sorted(known))}",
            )
        kw: dict[str, Any] = {}
        for key, value in raw.items():
            kw[key] = _coerce(key, value)
        return cls(**kw)


_INT = {"crediting_years", "first_vintage", "mc_draws", "seed"}
_FLOAT = {
    "buffer_risk_pct",
    "leakage_pct",
    "baseline_tco2e_per_ha_yr",
    "half_width_pct",
    "forest_threshold_pct",
}
_STR = {"standard", "species", "ecological_zone", "uncertainty_rule"}


def _coerce(key: str, value: Any) -> Any:
    where = f"{WHERE} {key}"
    if key in _INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                f"{value!r} is not an integer", where=where, fix="give a whole number"
            )
        return value
    if key in _FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{value!r} is not a number", where=where, fix="give a number")
        return float(value)
    if key in _STR:
        if not isinstance(value, str):
            raise ConfigError(f"{value!r} is not a name", where=where, fix="give a quoted name")
        return value
    if key == "price_cny_per_t":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (float(value), float(value))
        if (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            return (float(value[0]), float(value[1]))
        raise ConfigError(
            f"{value!r} is not a price or [low, high]", where=where, fix="e.g. [60, 100]"
        )
    if key == "stock_species":
        if not isinstance(value, Mapping) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
        ):
            raise ConfigError(
                f"{value!r} is not a table of shares",
                where=where,
                fix="e.g. stock_species = { chinese_fir = 0.5, other_broadleaf = 0.5 }",
            )
        return tuple((str(k), float(v)) for k, v in value.items())
    raise ConfigError(f"unhandled key {key}", where=where)  # pragma: no cover


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not (lo <= value <= hi) or (isinstance(value, float) and math.isnan(value)):
        raise ConfigError(
            f"{value!r} is outside {lo:g}..{hi:g}", where=f"{WHERE} {name}", fix="fix the value"
        )
