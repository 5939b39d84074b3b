"""derive() on a small synthetic stack: every layer, lazily, with plausible values."""

from __future__ import annotations

import doctest
import importlib

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from geotool.errors import ConfigError, CRSError, UnknownNameError
from geotool.grid import Grid
from geotool.resources import DERIVED_LAYERS, ResourceConfig, derive

NY, NX, RES = 40, 60, 250.0


def synthetic_stack(chunks: int | None = 16, **drop: bool) -> xr.Dataset:
    """Shaoguan-like terrain in UTM 49N: hills, forest and farmland, a warm humid climate."""
    grid = Grid.from_bounds(
        (740_000, 2_750_000, 740_000 + NX * RES, 2_750_000 + NY * RES), RES, "EPSG:32649"
    )
    x, y = np.meshgrid(grid.xs, grid.ys)
    u, v = (x - x.min()) / (NX * RES), (y - y.min()) / (NY * RES)
    rng = np.random.default_rng(0)
    layers = {
        "dem": 100 + 900 * np.exp(-((u - 0.6) ** 2 + (v - 0.5) ** 2) / 0.05),
        "land_cover": rng.choice(
            [10, 30, 40, 50, 80], size=(NY, NX), p=[0.5, 0.2, 0.2, 0.05, 0.05]
        ),
        "wind_speed_100m": 4.5 + 3.0 * u,
        "weibull_k": 1.8 + 0.4 * v,
        "ghi": 1250 + 150 * u,
        "air_temperature": 21.0 - 5.0 * np.exp(-((u - 0.6) ** 2 + (v - 0.5) ** 2) / 0.05),
        "heat_flow": 60 + 20 * v,
        "demand_centres_distance_m": np.hypot(x - x.min(), y - y.min()).clip(0, 50_000),
        "protected_areas_mask": (u > 0.8).astype(float),
    }
    ds = xr.Dataset(
        {k: (("y", "x"), val.astype(np.float32)) for k, val in layers.items() if not drop.get(k)},
        coords={"x": grid.xs, "y": grid.ys},
    )
    ds.attrs["grid"] = grid
    return ds.chunk({"y": chunks, "x": chunks}) if chunks else ds


def _refuse_to_compute(*args, **kwargs):
    raise AssertionError("derive() computed something eagerly")


def test_derive_builds_every_layer_lazily_with_units():
    stack = synthetic_stack()
    with dask.config.set(scheduler=_refuse_to_compute):
        out = derive(stack)
    assert set(out.data_vars) == set(DERIVED_LAYERS)
    for name, layer in out.data_vars.items():
        assert isinstance(layer.data, da.Array), name
        assert layer.dtype == np.float32, name
        assert layer.attrs["units"] == DERIVED_LAYERS[name][0]
        assert layer.attrs["long_name"]
        assert layer.dims == ("y", "x")
    assert out.attrs["resource_config"]["turbine"] == "E-115/3000"


def test_derived_values_are_plausible():
    stack = synthetic_stack()
    out = derive(stack).compute()
    hub = out["wind_speed_hub"].values
    assert np.nanmin(hub) > stack["wind_speed_100m"].values.min() * 0.99  # shear adds speed
    assert 4.0 < np.nanmedian(hub) < 9.0
    cf = out["wind_capacity_factor"].values
    assert np.nanmin(cf) > 0.05 and np.nanmax(cf) < 0.6
    assert np.allclose(out["wind_energy_mwh_per_mw"].values, cf * 8760, rtol=1e-5, equal_nan=True)
    rho = out["air_density"].values
    assert 1.05 < np.nanmin(rho) < np.nanmax(rho) < 1.22  # warm, up to 1,100 m + hub
    assert np.nanmin(out["wind_power_density"].values) > 50
    pv = out["pv_yield"].values
    assert np.nanmin(pv) > 950 and np.nanmax(pv) < 1450  # ~0.8 kWh/kWp per kWh/m² of GHI
    slope = out["slope"].values
    assert np.nanmin(slope) >= 0 and np.nanmax(slope) < 30
    t = out["temperature_at_depth"].values
    # 16-21 °C surface + (60..80 mW/m² / 2.5) × 2.9 km
    assert np.nanmin(t) > 16 + 24 * 2.9 - 0.1 and np.nanmax(t) < 21 + 32 * 2.9 + 0.1
    assert set(np.unique(out["geothermal_use_class"].values)) <= {2.0, 3.0}
    hours = out["free_cooling_hours"].values
    assert 3000 < np.nanmin(hours) < np.nanmax(hours) < 8000  # cooler up the hill
    pue = out["pue"].values
    assert np.nanmin(pue) >= 1.1 and np.nanmax(pue) <= 1.58
    assert np.nanmax(out["latency_ms"].values) <= 2 * 50 * 1.5 * 0.0049 + 1e-6
    green = out["green_energy_gwh_per_yr_within_radius"].values
    assert np.all(green > 0) and np.all(np.isfinite(green))
    # PV at 5.1 MW/km² (~1,200 MWh/MW) + wind at 3 MW/km² (~2,000 MWh/MW) ≈ 12 GWh/km²/yr
    # at most; the 30 km disk holds at most the whole 150 km² study area
    assert np.nanmax(green) < 12 * NX * NY * RES**2 / 1e6


def test_derive_uses_what_is_there():
    only_pvout = synthetic_stack(chunks=None, ghi=True, wind_speed_100m=True)
    only_pvout["pvout"] = xr.full_like(only_pvout["dem"], 1234.0)
    out = derive(only_pvout)
    assert float(out["pv_yield"].max()) == pytest.approx(1234.0)
    assert "wind_capacity_factor" not in out
    bare = derive(
        synthetic_stack(
            dem=True, air_temperature=True, heat_flow=True, ghi=True, demand_centres_distance_m=True
        )
    )
    assert set(bare.data_vars) == {
        "wind_speed_hub",
        "wind_capacity_factor",
        "wind_power_density",
        "wind_energy_mwh_per_mw",
        "green_energy_gwh_per_yr_within_radius",
    }
    assert any("1.225" in n for n in bare.attrs["notes"])


def test_config_changes_results():
    stack = synthetic_stack(chunks=None)
    deep = derive(stack, ResourceConfig(geothermal_depth_m=4000.0))
    base = derive(stack)
    assert float((deep["temperature_at_depth"] - base["temperature_at_depth"]).min()) > 20
    alpha = derive(stack, ResourceConfig(shear_alpha=0.3, hub_height_m=150.0))
    assert float(alpha["wind_speed_hub"].mean()) > float(base["wind_speed_hub"].mean())


def test_resource_config_from_dict_validates():
    cfg = ResourceConfig.from_dict({"turbine": "e-82/2350", "green_radius_m": 10_000})
    assert cfg.turbine == "E-82/2350" and cfg.green_radius_m == 10_000
    with pytest.raises(ConfigError, match="hub_height_m"):
        ResourceConfig.from_dict({"hub_heigth_m": 120})  # typo: close match offered
    with pytest.raises(UnknownNameError, match="turbine"):
        ResourceConfig.from_dict({"turbine": "Z-999"})
    with pytest.raises(ConfigError, match="outside"):
        ResourceConfig(performance_ratio=80.0)
    with pytest.raises(ConfigError, match="not a number"):
        ResourceConfig.from_dict({"geothermal_depth_m": "deep"})
    with pytest.raises(ConfigError, match="pv_tilt"):
        ResourceConfig(pv_tilt="flat")


def test_stack_without_crs_is_refused_when_it_matters():
    stack = synthetic_stack(chunks=None)
    del stack.attrs["grid"]
    with pytest.raises(CRSError, match="CRS"):
        derive(stack)


@pytest.mark.parametrize(
    "module",
    [
        "wind",
        "atmosphere",
        "turbines",
        "solar",
        "geothermal",
        "terrain",
        "datacenter",
        "config",
        "derive",
        "_array",
    ],
)
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"geotool.resources.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_cli_writes_derived_cogs(tmp_path, tif_writer):
    import json

    import rasterio
    from affine import Affine

    from geotool.cli import main

    deg = 0.005
    transform = Affine(deg, 0, 113.2, 0, -deg, 25.0)
    rows, cols = np.mgrid[0:80, 0:100]
    lon, lat = 113.2 + deg * (cols + 0.5), 25.0 - deg * (rows + 0.5)
    tif_writer(
        "dem.tif",
        (200 + 300 * (lon - 113.2)).astype("float32"),
        crs="EPSG:4326",
        transform=transform,
    )
    tif_writer(
        "wind.tif", (5 + 2 * (lat - 24.6)).astype("float32"), crs="EPSG:4326", transform=transform
    )
    tif_writer(
        "temp.tif", np.full(lon.shape, 20.0, "float32"), crs="EPSG:4326", transform=transform
    )
    study = tmp_path / "study.toml"
    study.write_text(
        '[study]\nname = "t"\nbbox = [113.3, 24.7, 113.6, 24.9]\nbbox_crs = "EPSG:4326"\n'
        'crs = "auto"\nresolution = 500\n\n'
        '[layers]\ndem = "dem.tif"\nwind_speed_100m = "wind.tif"\nair_temperature = "temp.tif"\n\n'
        '[resources]\nturbine = "E-82/2350"\nhub_height_m = 108\n'
    )
    out = tmp_path / "out"
    main(["resources", str(study), "--out", str(out), "--quiet"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resources"]["turbine"] == "E-82/2350"
    for name in ("wind_capacity_factor", "air_density", "slope", "free_cooling_hours", "pue"):
        with rasterio.open(out / f"{name}.tif") as ds:
            values = ds.read(1)
            assert ds.tags()["units"] == DERIVED_LAYERS[name][0]
        assert np.isfinite(values).all(), name
    with rasterio.open(out / "wind_capacity_factor.tif") as ds:
        assert 0.1 < float(ds.read(1).mean()) < 0.4
    bad = tmp_path / "bad.toml"
    bad.write_text(study.read_text().replace("hub_height_m", "hub_heigth_m"))
    with pytest.raises(SystemExit) as exit_info:
        main(["resources", str(bad), "--out", str(tmp_path / "out2")])
    assert exit_info.value.code == 2


def _pairs():
    """(label, function, numpy args): every public pointwise function of the package."""
    from geotool.resources import datacenter as dc
    from geotool.resources import geothermal as geo
    from geotool.resources import solar, wind

    a = np.array([[5.0, 6.0], [7.0, 8.0]])
    return [
        ("wind_at_height", lambda v: wind.wind_at_height(v, 100.0, 120.0), a),
        (
            "wind_at_height_z0",
            lambda v: wind.wind_at_height(v, 100.0, 120.0, roughness_m=v / 10),
            a,
        ),
        ("roughness", wind.roughness_from_land_cover, np.array([[10.0, 30.0], [40.0, 80.0]])),
        ("shear", lambda v: wind.shear_exponent_from_roughness(v / 20, 10.0, 100.0), a),
        ("air_density", lambda v: wind.air_density(v * 100, v * 3), a),
        ("capacity_factor", lambda v: wind.capacity_factor(v, "E-82/2350", weibull_k=v / 3), a),
        ("energy", lambda v: wind.annual_energy_mwh_per_mw(v, "E-53/800"), a),
        ("power_density", lambda v: wind.power_density(v, v / 3, 1.2), a),
        ("pv_yield", lambda v: solar.pv_specific_yield(v * 200, v * 5, temperature_c=v), a),
        ("optimal_tilt", lambda v: solar.optimal_tilt(v * 200, v * 5), a),
        ("t_at_depth", lambda v: geo.temperature_at_depth(v, 2900.0, gradient_c_per_km=v * 4), a),
        ("depth_to_t", lambda v: geo.depth_to_temperature(v * 10, v, gradient_c_per_km=v * 4), a),
        ("gradient", lambda v: geo.gradient_from_heat_flow(v * 10), a),
        ("heat", lambda v: geo.heat_in_place(v * 20, v * 100), a),
        ("power", lambda v: geo.recoverable_thermal_power_mw(v * 1e16), a),
        ("use_class", lambda v: geo.use_class(v * 15), a),
        ("free_cooling", lambda v: dc.free_cooling_hours(v * 3, annual_amplitude_c=v), a),
        ("pue", lambda v: dc.pue_estimate(v * 1000), a),
        ("latency", dc.latency_ms, a),
    ]


@pytest.mark.parametrize(("label", "func", "values"), _pairs(), ids=[p[0] for p in _pairs()])
def test_every_function_is_lazy_on_dask_and_equal_on_numpy(label, func, values):
    plain = func(values)
    assert isinstance(plain, np.ndarray) and plain.shape == values.shape
    lazy_input = xr.DataArray(da.from_array(values, chunks=1), dims=("y", "x"))
    with dask.config.set(scheduler=_refuse_to_compute):
        lazy = func(lazy_input)
    assert isinstance(lazy, xr.DataArray) and isinstance(lazy.data, da.Array), label
    np.testing.assert_allclose(lazy.compute().values, plain, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize(
    ("crs", "bounds", "res"),
    [
        ("EPSG:3413", (0.0, -1_500_000.0, 300_000.0, -1_300_000.0), 5_000.0),  # N polar stereo
        ("EPSG:3031", (-800_000.0, 1_000_000.0, -500_000.0, 1_200_000.0), 5_000.0),  # S polar
        ("EPSG:32649", (740_000.0, 2_750_000.0, 830_000.0, 2_810_000.0), 1_500.0),  # UTM 49N
        ("EPSG:32749", (740_000.0, 7_250_000.0, 830_000.0, 7_310_000.0), 1_500.0),  # UTM 49S
        ("EPSG:4326", (113.0, 24.0, 114.0, 24.6), 0.02),
    ],
)
@pytest.mark.parametrize("towards_pole", [True, False])
def test_pole_facing_slope_of_a_dem_that_varies_with_latitude_only(
    crs: str, bounds: tuple[float, float, float, float], res: float, towards_pole: bool
) -> None:
    """Ground whose height depends on latitude alone faces a pole: its pole-facing slope is
    its whole slope (+ falling towards the nearer pole, − rising), whatever bearing true north
    has on the grid (on a polar grid, any)."""
    from pyproj import Transformer

    grid = Grid.from_bounds(bounds, res, crs)
    x, y = np.meshgrid(grid.xs, grid.ys)
    _, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    falls = -1.0 if towards_pole else 1.0  # height per degree away from the equator
    dem = 3000.0 + falls * 2000.0 * np.abs(lat)  # ~1° slope (2 km per 111 km)
    stack = xr.Dataset(
        {"dem": (("y", "x"), dem.astype(np.float32))}, coords={"x": grid.xs, "y": grid.ys}
    )
    stack.attrs["grid"] = grid
    out = derive(stack.chunk({"y": 16, "x": 16})).compute()
    inner = (slice(2, -2), slice(2, -2))  # Horn's method extrapolates the outer ring
    slope = out["slope"].values[inner]
    pole = out["pole_facing_slope"].values[inner]
    assert np.all(slope > 0.5)
    expected = slope if towards_pole else -slope
    np.testing.assert_allclose(pole, expected, atol=0.02)


def test_pv_yield_beyond_70_degrees_is_noted() -> None:
    """The PV model's table stops at ±70°: a grid reaching past it gets a note (the pixels
    there have no yield), one within it none."""
    for crs, bounds, noted in (
        ("EPSG:32634", (400_000.0, 7_700_000.0, 500_000.0, 7_900_000.0), True),  # 69.4-71.2°N
        ("EPSG:32649", (740_000.0, 2_750_000.0, 840_000.0, 2_850_000.0), False),  # Shaoguan
    ):
        grid = Grid.from_bounds(bounds, 10_000.0, crs)
        ghi = np.full(grid.shape, 900.0, dtype=np.float32)
        stack = xr.Dataset({"ghi": (("y", "x"), ghi)}, coords={"x": grid.xs, "y": grid.ys})
        stack.attrs["grid"] = grid
        out = derive(stack.chunk({"y": 8, "x": 8}))
        notes = [n for n in out.attrs["notes"] if n.startswith("pv_yield:")]
        assert bool(notes) is noted, notes
        if noted:
            assert "±70°" in notes[0]
            yield_north = out["pv_yield"].values[0]  # the top row, beyond 70°
            assert np.isnan(yield_north).all()


def test_model_tables_are_built_once_when_dask_threads_first_need_them_together() -> None:
    # the free-cooling table takes ~0.7 s to build: two threads asking for it at once must
    # wait for one build (a bare lru_cache let each thread build its own)
    from concurrent.futures import ThreadPoolExecutor

    from geotool.resources import datacenter, solar, turbines

    for fn in (datacenter._cooling_table, solar._yield_table, turbines._cf_interpolator):
        assert hasattr(fn, "cache_info"), fn
    datacenter._cooling_table.cache_clear()
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: datacenter._cooling_table(), range(2))
    assert first is second
    assert datacenter._cooling_table.cache_info().misses == 1


def test_per_pixel_coordinates_keep_the_grid_blocks_without_dask_warnings() -> None:
    # latitude and true-north bearing are computed per pixel: built as an outer product of
    # 1-D chunked coordinates they had 10x the blocks of either input, and dask printed
    # "PerformanceWarning: Increasing number of chunks" on every large grid
    import warnings

    from dask.array.core import PerformanceWarning
    from pyproj import Transformer

    stack = synthetic_stack(chunks=4)  # 10 x 15 blocks
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerformanceWarning)
        out = derive(stack)
    lat = importlib.import_module("geotool.resources.derive")._latitude(stack, stack["dem"])
    assert lat.data.chunks == stack["dem"].data.chunks
    to_ll = Transformer.from_crs("EPSG:32649", "EPSG:4326", always_xy=True)
    _, expected = to_ll.transform(stack["x"].values[7], stack["y"].values[33])
    assert float(lat[33, 7]) == pytest.approx(expected, abs=1e-9)
    assert out["pole_facing_slope"].data.chunks == stack["dem"].data.chunks
