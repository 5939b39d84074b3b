"""Carbon stock per pixel: analytic chain, path choice, laziness, and the Shaoguan seed check."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from geotool.carbon import (
    CarbonConfig,
    agb_from_volume,
    blend_species,
    carbon_stock,
    forest_mask,
    get_species,
    get_zone,
    stock_from_agb,
)
from geotool.carbon.params import RootShootClasses
from geotool.carbon.stock import SOURCE_AGB_MAP, SOURCE_NONE, SOURCE_TIER1, SOURCE_VOLUME
from geotool.errors import ConfigError, InputError


def _stack(**layers: np.ndarray) -> xr.Dataset:
    """A small UTM 49N stack (100 m pixels), every layer dask-backed float32."""
    shape = next(iter(layers.values())).shape
    x = 500_050.0 + 100.0 * np.arange(shape[1])
    y = 2_700_050.0 - 100.0 * np.arange(shape[0])
    return xr.Dataset(
        {
            k: (("y", "x"), da.from_array(np.asarray(v, dtype="float32"), chunks=2))
            for k, v in layers.items()
        },
        coords={"x": x, "y": y},
        attrs={"crs": "EPSG:32649"},
    )


def test_stock_from_agb_is_agb_times_one_plus_r_times_cf() -> None:
    # 150 t AGB, R 0.24, CF 0.47: (150 + 36) x 0.47 = 87.42 t C/ha
    assert stock_from_agb(150.0, root_shoot=0.24, carbon_fraction=0.47) == pytest.approx(87.42)
    agb = xr.DataArray(da.from_array(np.array([150.0, 0.0]), chunks=1), dims="x")
    out = stock_from_agb(agb, root_shoot=0.24, carbon_fraction=0.47)
    assert isinstance(out.data, da.Array)  # stays lazy
    np.testing.assert_allclose(out.values, [87.42, 0.0])


def test_root_shoot_classes_follow_ipcc_table_4_4_bounds() -> None:
    r = get_zone("subtropical_humid").root_shoot  # Table 4.4: <125 -> 0.20, >125 -> 0.24
    np.testing.assert_array_equal(r(np.array([0.0, 124.99, 125.0, 400.0])), [0.2, 0.2, 0.24, 0.24])
    assert np.isnan(r(np.array([np.nan]))[0])
    conifer = get_zone("temperate_continental").root_shoot  # <50 0.40, 50-150 0.29, >150 0.20
    np.testing.assert_array_equal(conifer(np.array([10.0, 100.0, 200.0])), [0.40, 0.29, 0.20])
    with pytest.raises(ConfigError):
        RootShootClasses((125.0,), (0.2,))


def test_volume_path_uses_svd_and_bef() -> None:
    fir = get_species("chinese_fir")
    # 100 m3/ha x 0.307 t/m3 x 1.634 = 50.1638 t AGB/ha
    assert agb_from_volume(100.0, "chinese_fir") == pytest.approx(100 * 0.307 * 1.634)
    assert fir.agb_per_m3 == pytest.approx(0.501638)
    with pytest.raises(InputError, match="moso_bamboo"):
        agb_from_volume(10.0, "moso_bamboo")


def test_species_blend_reproduces_share_weighted_stock() -> None:
    mix = {"chinese_fir": 0.3, "masson_pine": 0.7}
    b = blend_species(mix)
    v = 80.0
    blended = v * b.svd_t_m3 * b.bef * (1 + b.root_shoot) * b.carbon_fraction
    by_group = sum(
        w * v * s.svd_t_m3 * s.bef * (1 + s.root_shoot) * s.carbon_fraction
        for s, w in ((get_species(n), w) for n, w in mix.items())
    )
    assert blended == pytest.approx(by_group, rel=1e-12)
    with pytest.raises(ConfigError):
        blend_species({"chinese_fir": 0.3, "masson_pine": 0.3})


def test_forest_mask_threshold_and_worldcover_tree_class() -> None:
    st = _stack(
        forest_cover=np.array([[19.9, 20.0], [np.nan, 5.0]]),
        land_cover=np.array([[30.0, 30.0], [10.0, 40.0]]),
    )
    m = forest_mask(st, 20.0)
    np.testing.assert_array_equal(m.values, [[False, True], [True, False]])
    assert forest_mask(_stack(dem=np.zeros((2, 2))), 20.0) is None


def test_carbon_stock_picks_best_source_per_pixel_and_stays_lazy() -> None:
    nan = np.nan
    # pixel (0,0): AGB map 100 t/ha (wins over volume); (0,1): volume 100 m3/ha;
    # (1,0): forest only -> Tier 1; (1,1): not forest, no data -> nothing
    st = _stack(
        biomass=np.array([[100.0, nan], [nan, nan]]),
        growing_stock=np.array([[50.0, 100.0], [nan, nan]]),
        forest_cover=np.array([[80.0, 80.0], [60.0, 10.0]]),
    )
    cfg = CarbonConfig(species="chinese_fir", ecological_zone="subtropical_humid")

    def forbid(*args: object, **kwargs: object) -> None:
        raise AssertionError("carbon_stock computed a dask graph")

    with dask.config.set(scheduler=forbid):  # building the stock must not compute
        ds = carbon_stock(st, cfg)
    for name in ("agb_t_ha", "carbon_t_ha", "co2e_t_ha", "stock_source", "root_shoot"):
        assert isinstance(ds[name].data, da.Array), name
    src = ds["stock_source"].values
    np.testing.assert_array_equal(
        src, [[SOURCE_AGB_MAP, SOURCE_VOLUME], [SOURCE_TIER1, SOURCE_NONE]]
    )
    c = ds["carbon_t_ha"].values
    # AGB map: 100 x (1 + 0.20 [Table 4.4, <125]) x 0.47 = 56.4
    assert c[0, 0] == pytest.approx(56.4, rel=1e-6)
    # volume: 100 x 0.307 x 1.634 x (1 + 0.246) x 0.520 = 32.5022...
    assert c[0, 1] == pytest.approx(100 * 0.307 * 1.634 * 1.246 * 0.520, rel=1e-6)
    # Tier 1: 180 x (1 + 0.24 [>125]) x 0.47 = 104.904
    assert c[1, 0] == pytest.approx(104.904, rel=1e-6)
    assert np.isnan(c[1, 1])
    np.testing.assert_allclose(ds["co2e_t_ha"].values, c * 44 / 12, rtol=1e-6)
    np.testing.assert_allclose(ds["root_shoot"].values[0], [0.20, 0.246], rtol=1e-6)
    np.testing.assert_allclose(ds["carbon_fraction"].values[0], [0.47, 0.52], rtol=1e-6)


def test_carbon_stock_without_any_carbon_layer_is_an_input_error() -> None:
    with pytest.raises(InputError, match="biomass"):
        carbon_stock(_stack(dem=np.zeros((2, 2))), CarbonConfig())


def test_shaoguan_seed_volume_path_vs_ipcc_tier1(capsys: pytest.CaptureFixture[str]) -> None:
    """Shaoguan: 89.66 million m3 growing stock on ~13,800 km2 of forest (~65 m3/ha).

    Volume path, half Chinese fir / half other broadleaf (the two subtropical groups):
      fir       65.0 x 0.307 x 1.634 x 1.246 x 0.520 = 21.12 t C/ha
      broadleaf 65.0 x 0.598 x 1.514 x 1.289 x 0.483 = 36.64 t C/ha
      mix (volume shares 0.5/0.5)                     = 28.88 t C/ha  -> inside 20-30
    IPCC Tier 1 (subtropical humid, Asia continental, Table 4.7): 180 t AGB/ha
      180 x (1 + 0.24) x 0.47 = 104.90 t C/ha, ~3.6 x the inventory-based density.
    """
    volume = 89.66e6 / (13_800 * 100)  # m3/ha
    assert volume == pytest.approx(64.97, abs=0.01)
    forest = np.full((4, 4), 90.0)
    mix = {"chinese_fir": 0.5, "other_broadleaf": 0.5}
    vol_cfg = CarbonConfig.from_dict({"stock_species": mix})
    by_volume = carbon_stock(
        _stack(growing_stock=np.full((4, 4), volume), forest_cover=forest), vol_cfg
    )
    tier1 = carbon_stock(_stack(forest_cover=forest), CarbonConfig())
    c_vol = float(by_volume["carbon_t_ha"].mean())
    c_t1 = float(tier1["carbon_t_ha"].mean())
    fir = volume * 0.307 * 1.634 * 1.246 * 0.520
    broadleaf = volume * 0.598 * 1.514 * 1.289 * 0.483
    print(
        f"Shaoguan volume path {c_vol:.2f} t C/ha (fir {fir:.2f}, broadleaf {broadleaf:.2f}); "
        f"IPCC Tier 1 {c_t1:.2f} t C/ha"
    )
    assert c_vol == pytest.approx((fir + broadleaf) / 2, rel=1e-5)
    assert 20.0 <= c_vol <= 30.0  # Guangdong inventory band (23.0 t C/ha in 2012)
    assert c_t1 == pytest.approx(180 * 1.24 * 0.47, rel=1e-6)
    assert c_t1 > 3 * c_vol
    assert "IPCC Tier 1" in capsys.readouterr().out
