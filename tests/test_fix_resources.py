"""Regression tests for reviewed resource bugs: site-metric recomputation with the study's
parameters, heat-flow / gradient units, NumPy-backed inputs, Weibull k range, hub height,
NaN DEM centres and negative heat flow on lazy input."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from scipy.special import gamma

from geotool.catalog import get_layer
from geotool.errors import ConfigError, InputError, ValueRangeError
from geotool.resources import (
    ResourceConfig,
    capacity_factor,
    derive,
    geothermal,
    slope_degrees,
    terrain,
)
from geotool.sites.layers import metric_layers, temperature_layer, wind_cf_layer
from geotool.sites.options import SiteOptions
from geotool.suitability import load_profile
from tests.conftest import write_tif
from tests.test_resources_derive import _pairs
from tests.test_resources_wind import windpowerlib_power

XS, YS = [500.0, 600.0], [1100.0, 1000.0]


def _stack(**layers: float) -> xr.Dataset:
    ds = xr.Dataset(
        {k: (("y", "x"), np.full((2, 2), v)) for k, v in layers.items()},
        coords={"x": XS, "y": YS},
    )
    return ds.rio.write_crs("EPSG:32649")


# --------------------------------------------------------------- 1: site-metric recompute


def test_site_temperature_at_other_depth_uses_the_study_conductivity():
    stack = _stack(air_temperature=10.0, heat_flow=70.0)
    cfg = ResourceConfig(conductivity_w_mk=3.5, geothermal_depth_m=1500.0)
    derived = derive(stack, cfg)
    assert float(derived.temperature_at_depth[0, 0]) == pytest.approx(10 + 70 / 3.5 * 1.5)
    full = stack.merge(derived)  # the merge drops attrs["resource_config"]
    profile = load_profile("geothermal_heat", {"sites": {"target_depth_m": 3000.0}})
    t = temperature_layer(full, profile)
    assert float(t[0, 0]) == pytest.approx(10 + 70 / 3.5 * 3.0)  # 70 °C, not 94 (k = 2.5)
    assert t.attrs["depth_m"] == 3000.0
    # an explicit study config wins over what the layers recorded
    explicit = temperature_layer(full, profile, ResourceConfig(conductivity_w_mk=2.0))
    assert float(explicit[0, 0]) == pytest.approx(10 + 70 / 2.0 * 3.0)
    # the layer itself is used when it is at the profile's depth
    same = load_profile("geothermal_heat", {"sites": {"target_depth_m": 1500.0}})
    assert temperature_layer(full, same).data is full["temperature_at_depth"].data
    cols = metric_layers("geothermal_heat", profile, full, SiteOptions())
    assert float(cols["temperature_c"][0][0, 0]) == pytest.approx(70.0)


def test_site_temperature_without_air_temperature_uses_the_study_surface_temperature():
    stack = _stack(heat_flow=70.0)
    full = stack.merge(derive(stack, ResourceConfig(surface_temp_c=12.0, conductivity_w_mk=3.5)))
    profile = load_profile("geothermal_heat", {"sites": {"target_depth_m": 2000.0}})
    assert float(temperature_layer(full, profile)[0, 0]) == pytest.approx(12 + 20 * 2.0)


def test_site_capacity_factor_of_another_turbine_uses_the_study_weibull_k():
    stack = _stack(wind_speed_100m=6.5).chunk()
    derived = derive(stack, ResourceConfig(weibull_k=1.5, shear_alpha=0.2))
    full = stack.merge(derived)
    profile = load_profile("windfarm", {"sites": {"turbine": "E-82/2350"}})
    cf = wind_cf_layer(full, profile)
    assert cf is not None and isinstance(cf.data, da.Array)
    hub = float(derived.wind_speed_hub[0, 0])
    expected = capacity_factor(hub, "E-82/2350", weibull_k=1.5)
    assert float(cf[0, 0]) == pytest.approx(expected, rel=1e-6)
    assert abs(expected - capacity_factor(hub, "E-82/2350", weibull_k=2.0)) > 1e-3
    # the derived layer is used as is for the study's own turbine
    own = load_profile("windfarm", {"sites": {"turbine": "E-115/3000"}})
    assert wind_cf_layer(full, own).data is full["wind_capacity_factor"].data


# --------------------------------------------------------------- 2: heat-flow / gradient units

T = Affine(0.01, 0, 112.5, 0, -0.01, 25.8)
SHAPE = (220, 250)


def test_catalog_ranges_reject_si_units_and_offer_the_conversion():
    flow, grad = get_layer("heat_flow"), get_layer("geothermal_gradient")
    assert flow.valid_range is not None and grad.valid_range is not None
    assert 0.15 < flow.valid_range[0] <= 20.0  # above any W/m², below any real mW/m² map
    assert 0.1 < grad.valid_range[0] <= 5.0  # above any °C/m, below any real °C/km map
    assert flow.conversion("W/m2") == (1000.0, 0.0)
    assert grad.conversion("degC/m") == (1000.0, 0.0)


@pytest.mark.parametrize(
    ("layer", "values", "hint"),
    [
        ("heat_flow", (0.06, 0.13), 'set units = "W/m2"'),
        ("geothermal_gradient", (0.024, 0.05), 'set units = "degC/m"'),
    ],
)
def test_check_catches_heat_flow_and_gradient_in_si_units(
    tmp_path: Path, shaoguan_counties: Path, layer: str, values: tuple[float, float], hint: str
) -> None:
    lo, hi = values
    data = np.linspace(lo, hi, SHAPE[0] * SHAPE[1]).reshape(SHAPE).astype("float32")
    write_tif(tmp_path / "si.tif", data, crs="EPSG:4326", transform=T)
    study = tmp_path / "study.toml"
    study.write_text(
        f'[study]\nname = "Shaoguan"\nregion = "{shaoguan_counties.as_posix()}"\n'
        f'region_id = "name"\ncrs = "auto"\nresolution = 100\n\n[layers]\n{layer} = "si.tif"\n',
        encoding="utf-8",
    )
    res = subprocess.run(
        [sys.executable, "-m", "geotool", "check", str(study)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert hint in lines[0] and "valid range" in lines[0]
    assert "Traceback" not in res.stderr


def test_geothermal_functions_refuse_si_units():
    with pytest.raises(ValueRangeError, match="mW/m²"):
        geothermal.gradient_from_heat_flow(0.065)
    with pytest.raises(ValueRangeError, match="°C/km"):
        geothermal.temperature_at_depth(10.0, 2000.0, gradient_c_per_km=0.03)


# --------------------------------------------------------------- 3: NumPy-backed DataArrays


@pytest.mark.parametrize("turbine", ["E-82/2350", "E-115/3000"])
def test_capacity_factor_on_numpy_backed_dataarray_with_scalar_defaults(turbine):
    v = xr.DataArray(np.array([[5.0, 6.5], [7.5, 9.0]]), dims=("y", "x"))
    lazy = capacity_factor(v.chunk(1), turbine).compute()
    for kw in ({}, {"weibull_k": 2.0}, {"air_density": 1.15}):
        eager = capacity_factor(v, turbine, **kw)
        assert isinstance(eager, xr.DataArray) and isinstance(eager.data, np.ndarray)
        ref = capacity_factor(v.chunk(1), turbine, **kw).compute()
        np.testing.assert_allclose(eager.values, ref.values, rtol=1e-12)
    np.testing.assert_allclose(capacity_factor(v, turbine).values, lazy.values, rtol=1e-12)


@pytest.mark.parametrize(("label", "func", "values"), _pairs(), ids=[p[0] for p in _pairs()])
def test_every_function_takes_numpy_backed_dataarrays(label, func, values):
    plain = func(values)
    eager = func(xr.DataArray(values, dims=("y", "x")))
    assert isinstance(eager, xr.DataArray) and isinstance(eager.data, np.ndarray), label
    np.testing.assert_allclose(eager.values, plain, rtol=1e-12, equal_nan=True)


def test_derive_in_memory_wind_stack_without_dem_or_weibull_k():
    stack = _stack(wind_speed_100m=6.5)
    eager = derive(stack)
    lazy = derive(stack.chunk()).compute()
    for name in ("wind_speed_hub", "wind_capacity_factor", "wind_energy_mwh_per_mw"):
        assert np.isfinite(eager[name].values).all(), name
        np.testing.assert_allclose(eager[name].values, lazy[name].values, rtol=1e-6)


# --------------------------------------------------------------- 4: Weibull k over 0.5..6

FINE = (0.001, 45.0, 0.001)  # from just above 0: the density is infinite at 0 for k < 1
V = np.arange(*FINE)


def _reference_cf(name: str, mean: float, k: float, rho: float) -> float:
    """windpowerlib's density-corrected power curve integrated over the Weibull density."""
    p, rated = windpowerlib_power(name, rho, FINE)
    c = mean / gamma(1.0 + 1.0 / k)
    pdf = (k / c) * (V / c) ** (k - 1) * np.exp(-((V / c) ** k))
    return float(np.trapezoid(p * pdf, V) / rated)


@pytest.mark.parametrize("k", [0.8, 5.5, 0.53, 5.97])
@pytest.mark.parametrize(
    ("name", "mean", "rho"), [("E-82/2350", 7.0, 1.225), ("E-115/3000", 6.2, 1.1)]
)
def test_capacity_factor_for_catalog_k_outside_1_to_5_matches_direct_integration(
    k, name, mean, rho
):
    ours = capacity_factor(mean, name, weibull_k=k, air_density=rho)
    ref = _reference_cf(name, mean, k, rho)
    assert np.isfinite(ours) and ours == pytest.approx(ref, rel=5e-3)
    lazy = capacity_factor(
        xr.DataArray(da.from_array(np.array([[mean]])), dims=("y", "x")),
        name,
        weibull_k=xr.DataArray(da.from_array(np.array([[k]])), dims=("y", "x")),
        air_density=rho,
    )
    assert float(lazy.compute()[0, 0]) == pytest.approx(ours, rel=1e-12)


def test_the_whole_catalog_k_range_is_accepted():
    lo, hi = get_layer("weibull_k").valid_range or (np.nan, np.nan)
    assert np.isfinite(capacity_factor(np.array([7.0, 7.0]), "E-82/2350", weibull_k=[lo, hi])).all()
    assert ResourceConfig(weibull_k=lo).weibull_k == lo
    with pytest.raises(ValueRangeError, match="weibull_k"):
        capacity_factor(7.0, "E-82/2350", weibull_k=hi + 0.5)


# --------------------------------------------------------------- 5: hub height vs rotor


def test_hub_height_below_the_rotor_radius_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="hub_height_m") as info:
        ResourceConfig(hub_height_m=40.0)  # E-115: 116 m rotor, blade tips 18 m underground
    assert "\n" not in str(info.value) and "58" in str(info.value)
    with pytest.raises(ConfigError, match="hub_height_m"):
        ResourceConfig.from_dict({"turbine": "E-126/4200", "hub_height_m": 60})
    assert ResourceConfig(turbine="E-82/2350", hub_height_m=60.0).hub_height_m == 60.0


def test_derive_passes_the_hub_height_to_the_rotor_check():
    cfg = ResourceConfig()
    object.__setattr__(cfg, "hub_height_m", 40.0)  # past the config's own check
    with pytest.raises(InputError, match="hub height 40"):
        derive(_stack(wind_speed_100m=6.5), cfg)


def test_site_capacity_factor_refuses_a_turbine_too_big_for_the_hub_height():
    stack = _stack(wind_speed_100m=6.5)
    full = stack.merge(derive(stack, ResourceConfig(turbine="E-82/2350", hub_height_m=60.0)))
    profile = load_profile("windfarm", {"sites": {"turbine": "E-126/4200"}})  # 127 m rotor
    with pytest.raises(ConfigError, match="profile windfarm"):
        wind_cf_layer(full, profile)


# --------------------------------------------------------------- 6: NaN DEM centre


def test_nan_dem_pixel_has_nan_slope_and_aspect():
    z = np.tile(np.arange(5) * 10.0, (5, 1))
    z[2, 2] = np.nan
    s = slope_degrees(z, spacing_m=(100, 100))
    a = terrain.aspect_degrees(z, spacing_m=(100, 100))
    assert np.isnan(s[2, 2]) and np.isnan(a[2, 2])
    # only the pixel and its 3×3 neighbours (whose windows hold it) lose their slope
    assert np.isnan(s).sum() == 9
    lazy = slope_degrees(da.from_array(z, chunks=2), spacing_m=(100, 100)).compute()
    np.testing.assert_array_equal(np.isnan(lazy), np.isnan(s))
    edge = z.copy()
    edge[0, 0] = np.nan
    assert np.isnan(slope_degrees(edge, spacing_m=(100, 100))[0, 0])


# --------------------------------------------------------------- 7: negative heat flow, lazy


def test_non_positive_heat_flow_or_gradient_gives_nan_on_dask_input():
    q = np.array([[-50.0, 65.0, 0.0, 0.065]])
    lazy_q = xr.DataArray(da.from_array(q, chunks=1), dims=("y", "x"))
    t = geothermal.temperature_at_depth(15.0, 2900.0, heat_flow_mw_m2=lazy_q)
    assert isinstance(t.data, da.Array)
    np.testing.assert_allclose(t.values, [[np.nan, 15 + 26 * 2.9, np.nan, np.nan]])
    g = np.array([[-5.0, 30.0, 0.0]])
    lazy_g = xr.DataArray(da.from_array(g, chunks=1), dims=("y", "x"))
    t = geothermal.temperature_at_depth(15.0, 2900.0, gradient_c_per_km=lazy_g)
    np.testing.assert_allclose(t.values, [[np.nan, 15 + 30 * 2.9, np.nan]])
    # the eager path refuses the same values
    with pytest.raises(ValueRangeError, match="heat_flow"):
        geothermal.temperature_at_depth(15.0, 2900.0, heat_flow_mw_m2=q)
    with pytest.raises(ValueRangeError, match="gradient"):
        geothermal.temperature_at_depth(15.0, 2900.0, gradient_c_per_km=g)


def test_config_replace_keeps_validation():
    with pytest.raises(ConfigError):
        dataclasses.replace(ResourceConfig(), hub_height_m=30.0)
