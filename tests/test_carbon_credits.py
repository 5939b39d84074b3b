"""Credit chain: a hand-worked parcel, the standards' deduction rules, seeded Monte Carlo."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from geotool.carbon import (
    CarbonConfig,
    CreditInputs,
    co2e_from_carbon,
    credit_chain,
    deduction_fraction,
    get_rule,
    get_species,
    get_standard,
    half_width_pct,
    monte_carlo_removals,
    project_credits,
    stock_from_agb,
)
from geotool.carbon.params import ParamUncertainty
from geotool.errors import ConfigError, UnknownNameError

# ---------------------------------------------------------------- hand-worked example
# One parcel of 100 ha. During the vintage its above-ground biomass grows by 10 t d.m./ha;
# R = 0.25, CF = 0.5.
#   gross     = 100 ha x 10 x (1 + 0.25) x 0.5 t C/ha x 44/12      = 2291.6667 t CO2e
#   baseline  = 200 t CO2e (given)
#   leakage   = 5 % x (2291.6667 - 200)                           =  104.5833
#   net       = 2291.6667 - 200 - 104.5833                        = 1987.0833
# Gold Standard (GS 403 s.3.11.5: +/-20 % allowed, excess deducted), half-width 23 %:
#   deduction = (23 - 20) % = 3 % of net                          =   59.6125
#   after     = 1987.0833 - 59.6125                               = 1927.4708
#   buffer    = 20 % (GS Product Requirements s.11.1.1)           =  385.4942
#   issuable  = 1927.4708 - 385.4942                              = 1541.9767  (1541 units)
#   value     = 1541.9767 x 60 CNY = 92,518.60 ; x 100 CNY = 154,197.67
GROSS = 100 * co2e_from_carbon(stock_from_agb(10.0, root_shoot=0.25, carbon_fraction=0.5))


def test_hand_worked_parcel_gold_standard_every_intermediate() -> None:
    assert pytest.approx(6875 / 3, rel=1e-12) == GROSS
    res = credit_chain(
        CreditInputs(
            vintages=(2026,),
            gross_removals_tco2e=GROSS,
            baseline_tco2e=200.0,
            leakage_pct=5.0,
            half_width_pct=23.0,
            standard=get_standard("gold_standard"),
            price_cny_per_t=(60.0, 100.0),
        )
    )
    row = res.to_frame().iloc[0]
    expected = {
        "vintage": 2026,
        "gross_removals_tco2e": 2291.666667,
        "baseline_tco2e": 200.0,
        "leakage_tco2e": 104.583333,
        "net_tco2e": 1987.083333,
        "half_width_pct": 23.0,
        "deduction_pct": 3.0,
        "uncertainty_deduction_tco2e": 59.6125,
        "after_deduction_tco2e": 1927.470833,
        "buffer_pct": 20.0,
        "buffer_credits_tco2e": 385.494167,
        "issuable_tco2e": 1541.976667,
        "issuable_units": 1541.0,
        "value_low_cny": 92518.60,
        "value_high_cny": 154197.666667,
    }
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    assert row["standard"] == "gold_standard" and row["uncertainty_rule"] == "excess"


def test_hand_worked_parcel_ccer_and_vcs() -> None:
    net = 6275 / 3 * 0.95  # 1987.0833 as above
    # CCER with the CDM AR-TOOL14 v04.2 Appendix 2 bands: U = 18 % is in 15 < U <= 20,
    # discount 50 % of U = 9 % of net = 178.8375 -> issuable 1808.2458 (no buffer).
    ccer = credit_chain(CreditInputs((2026,), GROSS, 200.0, 5.0, 18.0, get_standard("ccer")))
    assert ccer.deduction_pct[0] == pytest.approx(9.0)
    assert ccer.uncertainty_deduction_tco2e[0] == pytest.approx(0.09 * net)
    assert ccer.issuable_tco2e[0] == pytest.approx(0.91 * net)
    assert np.isnan(ccer.value_low_cny[0])  # no price given
    # VCS: whole half-width deducted (12 %); NPRT result 8 % is raised to the 10 % floor.
    #   after = 0.88 x 1987.0833 = 1748.6333 ; buffer 174.8633 ; issuable 1573.77
    vcs = credit_chain(
        CreditInputs((2026,), GROSS, 200.0, 5.0, 12.0, get_standard("vcs"), buffer_pct=8.0)
    )
    assert vcs.buffer_pct[0] == 10.0
    assert vcs.issuable_tco2e[0] == pytest.approx(net * 0.88 * 0.90)
    with pytest.raises(ConfigError, match="risk"):
        credit_chain(CreditInputs((2026,), GROSS, 0.0, 0.0, 5.0, get_standard("vcs")))


def test_no_credits_when_net_is_not_positive() -> None:
    res = credit_chain(
        CreditInputs((1, 2), [100.0, 300.0], 150.0, 10.0, 40.0, get_standard("ccer"))
    )
    assert res.net_tco2e[0] == -50.0 and res.issuable_tco2e[0] == 0.0
    assert res.deduction_pct[0] == 0.0
    # vintage 2: net = 150 - 10 % x 150 = 135, less the 50 t deficit carried forward = 85
    # creditable; U = 40 % > 30 -> 100 % of U = 40 % deducted
    assert res.net_tco2e[1] == pytest.approx(135.0)
    assert res.creditable_tco2e[1] == pytest.approx(85.0)
    assert res.issuable_tco2e[1] == pytest.approx(85 * 0.6)


def test_deficits_are_carried_forward_and_never_over_credited() -> None:
    # net per vintage: -9, -7, +20, -5, +3, +10 (no leakage, no deduction, no buffer)
    net = np.array([-9.0, -7.0, 20.0, -5.0, 3.0, 10.0])
    res = credit_chain(
        CreditInputs(tuple(range(6)), net + 10.0, 10.0, 0.0, 0.0, get_standard("ccer"))
    )
    # cumulative net: -9, -16, 4, -1, 2, 12 -> credited through: 0, 0, 4, 4, 4, 12
    np.testing.assert_allclose(res.creditable_tco2e, [0, 0, 4, 0, 0, 8])
    np.testing.assert_allclose(res.issuable_tco2e, [0, 0, 4, 0, 0, 8])
    assert res.issuable_tco2e.sum() == pytest.approx(net.sum())
    # a young plantation with a baseline (reviewer's case: credits exceeded net removals)
    cfg = CarbonConfig(
        standard="ccer", crediting_years=20, baseline_tco2e_per_ha_yr=10.0, half_width_pct=5.0
    )
    young = project_credits([("chinese_fir", 1.0)], 10.0, cfg)
    assert young.net_tco2e[:2].max() < 0  # the first years remove less than the baseline
    assert young.issuable_tco2e.sum() <= young.net_tco2e.sum() + 1e-9
    assert (young.issuable_tco2e >= 0).all()


def test_vcs_ex_ante_deduction_is_at_least_10_percent() -> None:
    # VM0047 s.8.7: ex-ante estimates carry at least a 10 % uncertainty deduction
    vcs = get_standard("vcs")
    res = credit_chain(CreditInputs((1, 2), [100.0, 100.0], 0.0, 0.0, [5.0, 12.0], vcs, None, 10))
    np.testing.assert_allclose(res.deduction_pct, [10.0, 12.0])
    np.testing.assert_allclose(res.issuable_tco2e, [100 * 0.9 * 0.9, 100 * 0.88 * 0.9])


def test_an_overriding_rule_never_deducts_less_than_the_standards_floor() -> None:
    # rule "none" under VCS: VM0047's 10 % ex-ante minimum still applies, and the result says
    # so; under CCER (no floor) "none" deducts nothing
    none = get_rule("none")
    vcs = credit_chain(
        CreditInputs((1, 2), [100.0, 100.0], 0.0, 0.0, [5.0, 12.0], get_standard("vcs"), none, 10)
    )
    np.testing.assert_allclose(vcs.deduction_pct, [10.0, 10.0])
    assert vcs.rule == "none" and vcs.min_deduction_pct == 10.0
    ccer = credit_chain(
        CreditInputs((1,), [100.0], 0.0, 0.0, 12.0, get_standard("ccer"), none, None)
    )
    assert ccer.deduction_pct[0] == 0.0 and ccer.min_deduction_pct == 0.0


def test_excess_rule_named_explicitly_keeps_the_gs_threshold() -> None:
    # GS 403 worked example: 23 % -> 3 % deducted, whether the rule comes from the preset or
    # is named
    gs = get_standard("gold_standard")
    preset = credit_chain(CreditInputs((1,), [100.0], 0.0, 0.0, 23.0, gs))
    named = credit_chain(CreditInputs((1,), [100.0], 0.0, 0.0, 23.0, gs, get_rule("excess")))
    assert preset.deduction_pct[0] == pytest.approx(3.0) == named.deduction_pct[0]


def test_measured_half_width_is_converted_to_the_net() -> None:
    # gross G, fixed baseline B: the absolute half-width U x G is the net's too, so
    # U_net = U x G / (G - B). VCS half_width rule: U_net > 100 % credits nothing.
    cfg = CarbonConfig(
        standard="vcs",
        buffer_risk_pct=10,
        crediting_years=20,
        half_width_pct=26.0,
        baseline_tco2e_per_ha_yr=0.0,
    )
    gross = project_credits([("chinese_fir", 1.0)], 0.0, cfg).gross_removals_tco2e
    base = float(np.min(gross[gross > 0]) * 0.9)  # some vintages barely above the baseline
    res = project_credits([("chinese_fir", 1.0)], base, cfg)
    gain = gross - base
    expect = np.where(gain > 0, 26.0 * gross / np.where(gain > 0, gain, 1.0), 0.0)
    np.testing.assert_allclose(res.half_width_pct, expect)
    over = (res.half_width_pct > 100) & (res.creditable_tco2e > 0)
    assert over.any() and (res.issuable_tco2e[over] == 0).all()


def _ar_tool14_reference(u: float) -> float:
    """AR-TOOL14 v04.2 Appendix 2 Table 1, written out independently (U in %)."""
    if u <= 10:
        share = 0.0
    elif u <= 15:
        share = 0.25
    elif u <= 20:
        share = 0.50
    elif u <= 30:
        share = 0.75
    else:
        share = 1.0
    return min(share * u / 100, 1.0)


@pytest.mark.parametrize("u", [0.0, 5.0, 10.0, 10.01, 15.0, 15.5, 20.0, 25.0, 30.0, 31.0, 150.0])
def test_deduction_rules(u: float) -> None:
    assert deduction_fraction(u, get_rule("ar_tool14")) == pytest.approx(_ar_tool14_reference(u))
    assert deduction_fraction(u, get_rule("excess", 20.0)) == pytest.approx(
        min(max(u - 20, 0) / 100, 1.0)
    )
    assert deduction_fraction(u, get_rule("half_width")) == pytest.approx(min(u / 100, 1.0))
    assert deduction_fraction(u, get_rule("art_trees")) == pytest.approx(
        min(0.524417 * (u / 100) / 1.645006, 1.0)
    )
    assert deduction_fraction(u, get_rule("none")) == 0.0


def test_monte_carlo_is_seeded_and_its_half_width_is_the_5_95_percentile() -> None:
    plantings = [("chinese_fir", 40.0), ("eucalyptus", 10.0)]
    a = monte_carlo_removals(plantings, 15, draws=3000, seed=7)
    b = monte_carlo_removals(plantings, 15, draws=3000, seed=7)
    c = monte_carlo_removals(plantings, 15, draws=3000, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    q05, q95 = np.percentile(a, [5, 95], axis=0)
    np.testing.assert_allclose(half_width_pct(a), (q95 - q05) / 2 / a.mean(axis=0) * 100)


def test_monte_carlo_matches_the_lognormal_interval_analytically() -> None:
    # Only CF uncertain (CV 10 %): removals scale with one lognormal factor of mean 1, so
    # HW% = (exp(mu + 1.6449 s) - exp(mu - 1.6449 s)) / 2 x 100, s^2 = ln(1 + 0.1^2), mu = -s^2/2
    sp = dataclasses.replace(
        get_species("chinese_fir"), uncertainty=ParamUncertainty(0.0, 0.0, 0.0, 0.10, 0.0)
    )
    s = math.sqrt(math.log1p(0.01))
    mu = -s * s / 2
    z = 1.6448536269514722
    expected = (math.exp(mu + z * s) - math.exp(mu - z * s)) / 2 * 100
    hw = half_width_pct(monte_carlo_removals([(sp, 1.0)], 5, draws=200_000, seed=3))
    np.testing.assert_allclose(hw, expected, atol=0.15)


def test_project_credits_deduction_follows_the_stated_rule() -> None:
    cfg = CarbonConfig(standard="ccer", crediting_years=10, mc_draws=2000, seed=11)
    res = project_credits([("chinese_fir", 50.0)], 0.0, cfg)
    again = project_credits([("chinese_fir", 50.0)], 0.0, cfg)
    np.testing.assert_array_equal(res.half_width_pct, again.half_width_pct)
    assert (res.half_width_pct > 10).all()  # default CVs give more than 10 % -> deductions
    for u, d in zip(res.half_width_pct, res.deduction_pct, strict=True):
        assert d == pytest.approx(100 * _ar_tool14_reference(float(u)))
    np.testing.assert_allclose(
        res.issuable_tco2e, res.creditable_tco2e * (1 - res.deduction_pct / 100)
    )
    measured = project_credits(
        [("chinese_fir", 50.0)], 0.0, dataclasses.replace(cfg, half_width_pct=8.0)
    )
    assert (measured.deduction_pct == 0).all()  # 8 % <= 10 %: no AR-TOOL14 discount


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="colour"):
        CarbonConfig.from_dict({"colour": "green"})
    with pytest.raises(UnknownNameError, match="gold_standard"):
        CarbonConfig.from_dict({"standard": "gold"})
    with pytest.raises(UnknownNameError):
        CarbonConfig.from_dict({"species": "baobab"})
    with pytest.raises(ConfigError, match="buffer_risk_pct"):
        CarbonConfig.from_dict({"standard": "vcs"})
    with pytest.raises(ConfigError, match="price"):
        CarbonConfig.from_dict({"price_cny_per_t": [100, 60]})
    with pytest.raises(ConfigError):
        CarbonConfig.from_dict({"crediting_years": "20"})
    with pytest.raises(ConfigError, match="seed"):
        CarbonConfig.from_dict({"seed": -1})
    cfg = CarbonConfig.from_dict({"standard": "vcs", "buffer_risk_pct": 7, "price_cny_per_t": 80})
    assert cfg.buffer_pct() == 10.0 and cfg.price_cny_per_t == (80.0, 80.0)


def test_monte_carlo_half_width_is_that_of_the_net_removals() -> None:
    # a fixed baseline B and leakage l shift and scale every draw: the net's interval is
    # ((hi - B)(1 - l) - (lo - B)(1 - l)) / 2 over (mean - B)(1 - l) = (hi - lo) / 2 / (mean - B)
    years, base = 15, 3.0
    cfg = CarbonConfig(
        crediting_years=years,
        mc_draws=1000,
        seed=3,
        baseline_tco2e_per_ha_yr=base,
        leakage_pct=10.0,
    )
    res = project_credits([("chinese_fir", 1.0)], base, cfg)
    draws = monte_carlo_removals([("chinese_fir", 1.0)], years, draws=1000, seed=3)
    lo, hi = np.percentile(draws, [5.0, 95.0], axis=0)
    mean = draws.mean(axis=0)
    ok = (mean > base) & (lo > base)  # leakage applies to every draw of these vintages
    assert ok.sum() >= 5
    expect = (hi - lo) / 2 / (mean - base) * 100
    np.testing.assert_allclose(res.half_width_pct[ok], expect[ok], rtol=1e-9)
    assert (res.half_width_pct[ok] > half_width_pct(draws)[ok]).all()
