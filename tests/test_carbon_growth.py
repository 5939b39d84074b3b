"""Sequestration of new planting: yield curves, annual removals, the Guangdong CCER band."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geotool.carbon import (
    afforestation_removals,
    get_species,
    ipcc_removals_by_year,
    removals_by_year,
)
from geotool.errors import InputError, UnknownNameError

C_TO_CO2 = 44 / 12


def test_chapman_richards_matches_the_formula() -> None:
    g = get_species("chinese_fir").growth  # A = 400 m3/ha, k = 0.08, p = 2.5
    assert g(20) == pytest.approx(400 * (1 - math.exp(-0.08 * 20)) ** 2.5)
    assert g(0) == 0.0 and g(-3) == 0.0
    assert g(500) == pytest.approx(400.0, rel=1e-12)


def test_removals_telescope_to_the_stock_at_the_end_of_the_period() -> None:
    df = removals_by_year("chinese_fir", 20, area_ha=3.0, first_vintage=2025)
    v20 = 400 * (1 - math.exp(-0.08 * 20)) ** 2.5
    stock20 = v20 * 0.307 * 1.634 * 1.246 * 0.520 * C_TO_CO2  # t CO2e/ha at age 20
    assert df["removals_tco2e_per_ha"].sum() == pytest.approx(stock20, rel=1e-12)
    assert df["removals_tco2e"].sum() == pytest.approx(3 * stock20, rel=1e-12)
    assert df["vintage"].tolist() == list(range(2025, 2045))
    assert (df["removals_tco2e_per_ha"] > 0).all()


def test_afforestation_with_subtropical_plantation_defaults_is_in_the_ccer_band(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Registered Guangdong CCER afforestation: Changlong 866.7 ha, 347,000 t / 20 yr
    (20.0 t/ha/yr); Shantou Chaoyang 200 ha, 60,610 t / 20 yr (15.2 t/ha/yr)."""
    changlong = 347_000 / 866.7 / 20
    fir = afforestation_removals(866.7, "chinese_fir", 20)
    per_ha_yr = float(fir.tco2e_per_yr) / 866.7
    tier1 = ipcc_removals_by_year("subtropical_humid", 20, origin="plantation")
    tier1_per_ha_yr = float(tier1["removals_tco2e_per_ha"].mean())
    print(
        f"20-yr mean: Chinese fir curve {per_ha_yr:.1f}, IPCC Tier 1 plantation "
        f"{tier1_per_ha_yr:.1f}, Changlong PDD {changlong:.1f} t CO2e/ha/yr"
    )
    assert 10.0 <= per_ha_yr <= 25.0
    assert 10.0 <= tier1_per_ha_yr <= 25.0
    assert float(fir.tco2e_total) == pytest.approx(float(fir.by_year.sum()))
    assert float(fir.tco2e_per_yr) == pytest.approx(float(fir.tco2e_total) / 20)
    assert "Changlong" in capsys.readouterr().out


def test_area_arrays_scale_linearly_and_mixes_weight_by_area() -> None:
    r = afforestation_removals(np.array([0.0, 1.0, 2.5]), "masson_pine", 10)
    assert r.by_year.shape == (3, 10)
    np.testing.assert_allclose(r.tco2e_total, np.array([0.0, 1.0, 2.5]) * r.tco2e_total[1])
    mixed = removals_by_year({"chinese_fir": 0.25, "eucalyptus": 0.75}, 10)
    fir = removals_by_year("chinese_fir", 10)
    euc = removals_by_year("eucalyptus", 10)
    np.testing.assert_allclose(
        mixed["removals_tco2e_per_ha"],
        0.25 * fir["removals_tco2e_per_ha"] + 0.75 * euc["removals_tco2e_per_ha"],
    )


def test_ipcc_tier1_plantation_growth_is_capped_and_uses_r_classes() -> None:
    # Table 4.10 (2019) subtropical humid Asia plantation: 8 t d.m./ha/yr, cap 180 (Table 4.7)
    df = ipcc_removals_by_year("subtropical_humid", 30)
    ages = np.arange(1, 31)
    agb = np.minimum(8.0 * ages, 180.0)
    r = np.where(agb < 125.0, 0.20, 0.24)
    stock = agb * (1 + r) * 0.47 * C_TO_CO2
    np.testing.assert_allclose(df["stock_tco2e_per_ha"], stock, rtol=1e-12)
    assert df["removals_tco2e_per_ha"].iloc[0] == pytest.approx(8 * 1.2 * 0.47 * C_TO_CO2)
    assert df["removals_tco2e_per_ha"].iloc[-1] == 0.0  # capped at 180 t AGB/ha
    nat = ipcc_removals_by_year("subtropical_humid", 25, origin="natural")
    agb_nat = 2.5 * np.minimum(np.arange(1, 26), 20) + 1.0 * np.maximum(np.arange(1, 26) - 20, 0)
    np.testing.assert_allclose(
        nat["stock_tco2e_per_ha"], agb_nat * 1.2 * 0.47 * C_TO_CO2, rtol=1e-12
    )


def test_bad_inputs() -> None:
    with pytest.raises(UnknownNameError, match="chinese_fir"):
        removals_by_year("chinese_firr", 5)
    with pytest.raises(InputError):
        removals_by_year("chinese_fir", 0)
    with pytest.raises(InputError):
        afforestation_removals(-1.0, "chinese_fir", 5)
    with pytest.raises(InputError):
        ipcc_removals_by_year("temperate_continental", 5, origin="natural")
