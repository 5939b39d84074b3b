"""Parameter-uncertainty Monte Carlo and the standards' uncertainty-deduction rules.

Monte Carlo: for each draw, every species group gets one multiplicative factor per
parameter (SVD, BEF, R, CF, yield-curve asymptote), lognormal with mean 1 and the group's
coefficient of variation from ``species.toml`` (parameter errors are systematic: the same
draw applies to every parcel of that group and every year). The removals of each crediting
year are recomputed per draw; the 90 % confidence interval is the 5th-95th percentile.

Deduction: the half-width U (percent of the mean) becomes a fraction of net removals by the
rule of the standard (``standards.toml``).

Examples
--------
>>> from geotool.carbon.params import get_rule
>>> deduction_fraction(9.0, get_rule("ar_tool14")), deduction_fraction(15.0, get_rule("ar_tool14"))
(0.0, 0.0375)
>>> round(deduction_fraction(10.0, get_rule("art_trees")), 6)
0.031879
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from geotool.carbon.growth import _species_shares, _years
from geotool.carbon.params import CO2_PER_C, DeductionRule, Species, SpeciesSpec
from geotool.errors import ConfigError


def _lognormal_factors(rng: np.random.Generator, cv: float, draws: int) -> np.ndarray:
    """Draws of a lognormal factor with mean 1 and coefficient of variation ``cv``."""
    if cv <= 0:
        return np.ones(draws)
    sigma = np.sqrt(np.log1p(cv * cv))
    return rng.lognormal(mean=-0.5 * sigma * sigma, sigma=sigma, size=draws)


def _species_draws(
    sp: Species, ages: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Stock (t CO2e/ha) per draw and age for one group, shape ``(draws, len(ages))``."""
    u = sp.uncertainty
    f_a = _lognormal_factors(rng, u.growth_cv, draws)
    f_r = _lognormal_factors(rng, u.root_shoot_cv, draws)
    f_cf = _lognormal_factors(rng, u.carbon_fraction_cv, draws)
    y = sp.growth(ages[None, :], asymptote=sp.growth.asymptote * f_a[:, None])
    if sp.growth.quantity == "volume_m3_ha":
        f_svd = _lognormal_factors(rng, u.svd_cv, draws)
        f_bef = _lognormal_factors(rng, u.bef_cv, draws)
        y = y * (sp.agb_per_m3 * f_svd * f_bef)[:, None]
    r = sp.root_shoot * f_r
    cf = np.minimum(sp.carbon_fraction * f_cf, 1.0)
    return np.asarray(y * ((1.0 + r) * cf * CO2_PER_C)[:, None])


def monte_carlo_removals(
    plantings: Sequence[tuple[SpeciesSpec, float]],
    years: int,
    *,
    draws: int,
    seed: int | np.random.Generator,
    age_at_start_yr: float = 0.0,
) -> np.ndarray:
    """Sampled gross removals (t CO2e) per crediting year, shape ``(draws, years)``.

    ``plantings`` is a list of ``(species, area_ha)``; groups appearing in several plantings
    share their draws. Reproducible for a given integer ``seed``.

    >>> a = monte_carlo_removals([("chinese_fir", 1.0)], 5, draws=500, seed=1)
    >>> b = monte_carlo_removals([("chinese_fir", 1.0)], 5, draws=500, seed=1)
    >>> a.shape, bool((a == b).all())
    ((500, 5), True)
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    ages = age_at_start_yr + np.concatenate([[0.0], _years(years).astype(float)])
    area_by_group: dict[str, tuple[Species, float]] = {}
    for spec, area in plantings:
        for sp, share in _species_shares(spec):
            prev = area_by_group.get(sp.name, (sp, 0.0))[1]
            area_by_group[sp.name] = (sp, prev + share * float(area))
    total = np.zeros((draws, years))
    for name in sorted(area_by_group):  # fixed order -> reproducible streams
        sp, area = area_by_group[name]
        stock = _species_draws(sp, ages, draws, rng)
        total += np.diff(stock, axis=1) * area
    return total


def half_width_pct(samples: np.ndarray, axis: int = 0) -> np.ndarray:
    """Half-width of the two-sided 90 % interval (5th-95th percentile), % of the mean.

    >>> s = np.random.default_rng(0).normal(100.0, 10.0, 200_000)
    >>> round(float(half_width_pct(s)), 1)  # 1.645 x 10 / 100
    16.4
    """
    lo, hi = np.percentile(samples, [5.0, 95.0], axis=axis)
    mean = np.mean(samples, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(mean > 0, (hi - lo) / 2.0 / mean * 100.0, np.nan))


def deduction_fraction(half_width: Any, rule: DeductionRule) -> Any:
    """Fraction of net removals deducted for a 90 % half-width ``half_width`` (% of mean).

    Rules (see ``standards.toml`` for the citations):

    - ``ar_tool14``  share(U) x U with the CDM AR-TOOL14 v04.2 Appendix 2 bands;
    - ``excess``     max(0, U - threshold) (Gold Standard GS 403: threshold 20 %);
    - ``half_width`` U, i.e. the lower 90 % bound is credited; 100 % when U > 100 %;
    - ``art_trees``  0.524417 x U / 1.645006 (ART-TREES v2.0 Eq. 11);
    - ``none``       0.

    Results are clipped to 0..1. Works element-wise on arrays.
    """
    u = np.asarray(half_width, dtype=float) / 100.0
    if np.any(u < 0):
        raise ConfigError("negative uncertainty", where="half_width_pct", fix="give U >= 0")
    if rule.name == "ar_tool14":
        bounds = np.asarray(rule.upper_bounds_pct) / 100.0
        shares = np.asarray(rule.shares)
        # band i holds bounds[i-1] < U <= bounds[i]; "U <= 10 %" is the zero band
        idx = np.searchsorted(bounds, u, side="left")
        out = shares[idx] * u
    elif rule.name == "excess":
        out = np.maximum(u - rule.threshold_pct / 100.0, 0.0)
    elif rule.name == "half_width":
        out = u
    elif rule.name == "art_trees":
        out = rule.scale * u / rule.t90
    elif rule.name == "none":
        out = np.zeros_like(u)
    else:
        raise ConfigError(f"no implementation for rule '{rule.name}'", where="uncertainty_rule")
    out = np.clip(out, 0.0, 1.0)
    return float(out) if np.ndim(out) == 0 else out
