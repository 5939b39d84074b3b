"""Profile metrics of sites, recomputed independently (formulas, windpowerlib, shapely)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from scipy.special import gamma
from windpowerlib import WindTurbine

from geotool.errors import ConfigError, InputError
from geotool.grid import Grid
from geotool.sites import extract_sites, site_metrics
from geotool.sites.options import SiteOptions
from geotool.suitability import evaluate, load_profile
from geotool.suitability.specs import Aggregation, Criterion, DirectWeights, Linear
from tests.conftest import planted_stock_tco2e_per_ha

CRS = "EPSG:32649"
GRID = Grid.from_bounds((600_000, 2_750_000, 612_000, 2_760_000), 100, CRS)  # 100 x 120 px
RECTS = (np.s_[10:40, 10:50], np.s_[60:75, 80:100])  # 3 x 4 km and 1.5 x 2 km
RNG = np.random.default_rng(11)
# [sites] parameters pinned here, so the tests do not follow edits of the built-in profiles
PARAMS: dict[str, dict[str, Any]] = {
    "windfarm": {
        "capacity_density_mw_per_km2": 3.0,
        "turbine": "E-141/4200",
        "hub_height_m": 129.0,
    },
    "solarfarm": {"capacity_density_mw_per_km2": 87.0},
    "datacenter": {
        "it_load_density_mw_per_km2": 100.0,
        "grid_emission_factor_tco2_per_mwh": 0.5703,
    },
    "carbon_sink": {},
    "geothermal_heat": {"target_depth_m": 2000.0},
}


def _stack(
    layers: dict[str, np.ndarray], attrs: dict[str, dict[str, Any]] | None = None
) -> xr.Dataset:
    ds = xr.Dataset(
        {k: (("y", "x"), da.from_array(v.astype("float32"), chunks=40)) for k, v in layers.items()},
        coords={"x": GRID.xs, "y": GRID.ys},
        attrs={"grid": GRID},
    )
    for k, a in (attrs or {}).items():
        ds[k].attrs.update(a)
    return ds


def _q_profile(kind: str, params: dict[str, Any] | None = None, threshold: float = 0.5) -> Any:
    """The built-in ``kind`` scoring one layer ``q`` (linear 0..1), no constraints, sites at
    ``q >= threshold`` with the pinned PARAMS."""
    base = load_profile(kind)
    spec = replace(
        base.sites, threshold=threshold, top_share=None, min_separation_m=0.0, max_area_km2=None
    )
    spec = replace(spec, params={**base.sites.params, **PARAMS[kind], **(params or {})})
    return replace(
        base,
        constraints=(),
        criteria=(Criterion("q", Linear(0.0, 1.0), layer="q"),),
        weighting=DirectWeights({"q": 1.0}),
        aggregation=Aggregation(),
        sites=spec,
    )


def _run(
    kind: str,
    layers: dict[str, np.ndarray],
    *,
    attrs: dict[str, dict[str, Any]] | None = None,
    options: SiteOptions | None = None,
    vectors: dict[str, gpd.GeoDataFrame] | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[gpd.GeoDataFrame, xr.Dataset]:
    p = _q_profile(kind, params)
    q = np.zeros(GRID.shape)
    for r in RECTS:
        q[r] = 1.0
    stack = _stack({"q": q, **layers}, attrs)
    sites = extract_sites(
        evaluate(stack, p), p, GRID, stack=stack, vectors=vectors, options=options
    )
    assert len(sites) == len(RECTS)
    return sites, stack


def _rect_of(site: Any) -> Any:
    """The RECTS slice whose pixel box is the site polygon."""
    for r in RECTS:
        x0, y1 = GRID.transform @ (r[1].start, r[0].start)
        x1, y0 = GRID.transform @ (r[1].stop, r[0].stop)
        if shapely.equals(site.geometry, shapely.box(x0, y0, x1, y1)):
            return r
    raise AssertionError("site is not one of the rectangles")


def test_windfarm_density_energy_is_capacity_times_cf_times_8760() -> None:
    cf = 0.2 + 0.2 * RNG.random(GRID.shape)
    sites, _ = _run(
        "windfarm",
        {"wind_capacity_factor": cf},
        attrs={"wind_capacity_factor": {"turbine": "E-141/4200"}},
    )
    for _, s in sites.iterrows():
        r = _rect_of(s)
        area = cf[r].size * 0.01
        assert s["area_km2"] == pytest.approx(area)
        # PyPSA-Eur 3 MW/km², in whole E-141/4200 turbines (4.2 MW each)
        assert s["capacity_mw"] == pytest.approx(4.2 * math.floor(3.0 * area / 4.2))
        assert s["capacity_factor"] == pytest.approx(cf[r].astype("float32").mean(), rel=1e-6)
        assert s["energy_gwh_per_yr"] == pytest.approx(
            s["capacity_mw"] * s["capacity_factor"] * 8760.0 / 1000.0, rel=1e-12
        )
        assert s["turbines"] == math.floor(3.0 * area / 4.2)


def test_windfarm_energy_is_net_of_the_study_wind_losses() -> None:
    """``[resources] wind_losses`` (here 15 %) is recorded on the derived CF layer and deducted
    from site energy, as in the ``wind_energy_mwh_per_mw`` layer (sites used to report gross
    energy next to that net layer)."""
    from geotool.resources import ResourceConfig, derive

    config = ResourceConfig(turbine="E-141/4200", hub_height_m=129.0, wind_losses=0.15)
    v100 = 5.5 + 2.0 * RNG.random(GRID.shape)
    derived = derive(_stack({"wind_speed_100m": v100}), config)
    cf_layer = derived["wind_capacity_factor"]
    assert cf_layer.attrs["wind_losses"] == 0.15
    cf = cf_layer.values
    sites, _ = _run(
        "windfarm",
        {"wind_capacity_factor": cf},
        attrs={"wind_capacity_factor": dict(cf_layer.attrs)},
    )
    net_layer = derived["wind_energy_mwh_per_mw"].values  # MWh per MW per year, net
    for _, s in sites.iterrows():
        r = _rect_of(s)
        assert s["energy_gwh_per_yr"] == pytest.approx(
            s["capacity_mw"] * s["capacity_factor"] * 8760.0 * 0.85 / 1000.0, rel=1e-9
        )
        assert s["energy_gwh_per_yr"] == pytest.approx(
            s["capacity_mw"] * net_layer[r].mean() / 1000.0, rel=1e-5
        )


def test_windfarm_layout_places_turbines_on_a_5d_by_7d_lattice() -> None:
    wt = WindTurbine(turbine_type="E-141/4200", hub_height=129)
    d, rated_mw = wt.rotor_diameter, wt.nominal_power / 1e6
    cf = np.full(GRID.shape, 0.3)
    sites, _ = _run(
        "windfarm",
        {"wind_capacity_factor": cf},
        attrs={"wind_capacity_factor": {"turbine": "E-141/4200"}},
        options=SiteOptions(wind_capacity="layout"),
    )
    for _, s in sites.iterrows():
        r = _rect_of(s)
        width_m = (r[1].stop - r[1].start) * 100.0
        height_m = (r[0].stop - r[0].start) * 100.0
        n = (math.floor(width_m / (5 * d)) + 1) * (math.floor(height_m / (7 * d)) + 1)
        assert s["turbines"] == n
        assert s["capacity_mw"] == pytest.approx(n * rated_mw)
        assert s["energy_gwh_per_yr"] == pytest.approx(n * rated_mw * 0.3 * 8.76, rel=1e-6)


def _weibull_cf(turbine: str, hub: float, mean: float, k: float = 2.0) -> float:
    """Capacity factor by integrating windpowerlib's power curve over a Weibull density."""
    wt = WindTurbine(turbine_type=turbine, hub_height=hub)
    curve = wt.power_curve
    v = np.linspace(0.0, 40.0, 40001)
    c = mean / gamma(1.0 + 1.0 / k)
    pdf = (k / c) * (v / c) ** (k - 1) * np.exp(-((v / c) ** k))
    power = np.interp(v, curve["wind_speed"], curve["value"], left=0.0, right=0.0)
    return float(np.trapezoid(power * pdf, v) / wt.nominal_power)


def test_windfarm_cf_is_recomputed_for_the_profile_turbine() -> None:
    sites, _ = _run(
        "windfarm",
        {
            "wind_capacity_factor": np.full(GRID.shape, 0.99),
            "wind_speed_hub": np.full(GRID.shape, 7.0),
        },
        attrs={"wind_capacity_factor": {"turbine": "E-82/2350"}},  # derived for another turbine
    )
    expected = _weibull_cf("E-141/4200", 129, 7.0)
    np.testing.assert_allclose(sites["capacity_factor"], expected, rtol=0.01)


def test_solarfarm_energy_is_capacity_times_yield() -> None:
    pv = 1000.0 + 300.0 * RNG.random(GRID.shape)
    sites, _ = _run("solarfarm", {"pv_yield": pv})
    for _, s in sites.iterrows():
        r = _rect_of(s)
        mean = pv[r].astype("float32").mean()
        assert s["capacity_mwp"] == pytest.approx(87.0 * s["area_km2"])  # Bolinger & Bolinger 2022
        assert s["pv_yield_kwh_per_kwp"] == pytest.approx(mean, rel=1e-6)
        assert s["energy_gwh_per_yr"] == pytest.approx(s["capacity_mwp"] * mean / 1000.0, rel=1e-6)


def _points(xy: list[tuple[float, float]], **cols: list[Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(p) for p in xy], crs=CRS)


def test_datacenter_latency_substation_and_co2() -> None:
    pue = 1.2 + 0.2 * RNG.random(GRID.shape)
    green = 100.0 + 800.0 * RNG.random(GRID.shape)
    demand = _points([(590_000.0, 2_740_000.0), (640_000.0, 2_770_000.0)]).to_crs("EPSG:4326")
    subs = _points(
        [(603_000.0, 2_757_000.0), (611_000.0, 2_751_000.0), (560_000.0, 2_700_000.0)],
        voltage_kv=[110.0, 220.0, 500.0],
    )
    sites, _ = _run(
        "datacenter",
        {"pue": pue, "green_energy_gwh_per_yr_within_radius": green},
        attrs={"green_energy_gwh_per_yr_within_radius": {"radius_m": 50_000.0}},
        vectors={"demand_centres": demand, "substations": subs},
        options=SiteOptions(max_it_load_mw=1000.0),
    )
    demand_utm = demand.to_crs(CRS).geometry
    for _, s in sites.iterrows():
        r = _rect_of(s)
        c = s.geometry.centroid
        d_km = min(c.distance(p) for p in demand_utm) / 1000.0
        assert s["demand_distance_km"] == pytest.approx(d_km)
        assert s["latency_ms"] == pytest.approx(2.0 * d_km * 1.5 * 0.0049)  # round trip, 4.9 µs/km
        sub_km = min(s.geometry.distance(p) for p in subs.geometry[1:]) / 1000.0  # >= 220 kV
        assert s["distance_to_substation_km"] == pytest.approx(sub_km)
        it = min(100.0 * s["area_km2"], 1000.0)
        assert s["it_load_mw"] == pytest.approx(it)
        assert s["pue"] == pytest.approx(pue[r].astype("float32").mean(), rel=1e-6)
        row, col = GRID.rowcol(c.x, c.y)
        g = float(green.astype("float32")[row, col])
        assert s["green_energy_gwh_per_yr"] == pytest.approx(g)
        assert s["green_radius_km"] == 50.0
        demand_mwh = it * s["pue"] * 8760.0
        assert s["co2_t_per_yr"] == pytest.approx(demand_mwh * 0.5703)  # MEE 2023 grid factor
        expected = max(0.0, demand_mwh - g * 1000.0) * 0.5703
        assert s["co2_t_per_yr_local_green"] == pytest.approx(expected)
        assert s["local_green_share"] == pytest.approx(min(1.0, g * 1000.0 / demand_mwh))
    assert (sites["it_load_mw"] == 1000.0).sum() == 1  # the 12 km² site hits the cap


def test_datacenter_latency_from_the_distance_layer() -> None:
    demand = np.array([590_000.0, 2_740_000.0])
    gx, gy = np.meshgrid(GRID.xs, GRID.ys)
    dist = np.hypot(gx - demand[0], gy - demand[1])
    sites, _ = _run(
        "datacenter",
        {"pue": np.full(GRID.shape, 1.3), "demand_centres_distance_m": dist},
        attrs={"demand_centres_distance_m": {"max_distance_m": 1e6}},
    )
    for _, s in sites.iterrows():
        c = s.geometry.centroid
        row, col = GRID.rowcol(c.x, c.y)
        d_km = float(dist.astype("float32")[row, col]) / 1000.0
        assert s["demand_distance_km"] == pytest.approx(d_km)
        assert s["latency_ms"] == pytest.approx(2.0 * d_km * 1.5 * 0.0049)
    assert sites["distance_to_substation_km"].isna().all()  # no substation data: NaN
    assert sites["co2_t_per_yr_local_green"].isna().all()  # no green layer: NaN, not a guess
    assert sites["local_green_share"].isna().all()
    assert (sites["co2_t_per_yr"] > 0).all()  # location-based: the grid factor needs no layer
    capped, _ = _run(
        "datacenter",
        {"pue": np.full(GRID.shape, 1.3), "demand_centres_distance_m": np.minimum(dist, 20_000.0)},
        attrs={"demand_centres_distance_m": {"max_distance_m": 20_000.0}},
    )
    assert capped["latency_ms"].isna().all()  # beyond the layer's cap the distance is unknown


def test_carbon_sink_removals_follow_the_chinese_fir_volume_path() -> None:
    sites, _ = _run("carbon_sink", {})
    # Chapman-Richards V(20) = 400 (1 - e^{-0.08·20})^2.5 m³/ha; SVD 0.307, BEF 1.634, R 0.246,
    # CF 0.520 (species.toml, 省级温室气体清单编制指南 table); 20-year crediting, planted bare
    v20 = 400.0 * (1.0 - math.exp(-0.08 * 20)) ** 2.5
    per_ha = v20 * 0.307 * 1.634 * 1.246 * 0.520 * 44.0 / 12.0
    for _, s in sites.iterrows():
        assert s["area_ha"] == pytest.approx(100.0 * s["area_km2"])
        assert s["tco2e_total"] == pytest.approx(s["area_ha"] * per_ha, rel=1e-9)
        assert s["tco2e_per_yr"] == pytest.approx(s["tco2e_total"] / 20.0)
        assert s["species"] == "chinese_fir"


def test_geothermal_heat_in_place_and_thermal_power() -> None:
    surface = np.full(GRID.shape, 18.0)
    gradient = 25.0 + 10.0 * RNG.random(GRID.shape)
    stale = np.full(GRID.shape, 105.0)  # a layer derived at 2,900 m, not the target 2,000 m
    sites, _ = _run(
        "geothermal_heat",
        {
            "air_temperature": surface,
            "geothermal_gradient": gradient,
            "temperature_at_depth": stale,
        },
        attrs={"temperature_at_depth": {"depth_m": 2900.0}},
    )
    for _, s in sites.iterrows():
        r = _rect_of(s)
        t = float(np.mean(18.0 + gradient[r].astype("float32") * 2.0))
        assert s["temperature_c"] == pytest.approx(t, rel=1e-6)
        # USGS volumetric: [ρr cr (1-φ) + ρf cf φ] A h (T - 15 °C), ρr 2700, cr 1000, ρf 1000,
        # cf 4180, φ 0.1, h 1 km; 10 % recovered over 30 years
        heat_j = (2700 * 1000 * 0.9 + 1000 * 4180 * 0.1) * s["area_km2"] * 1e6 * 1000 * (t - 15)
        assert s["heat_in_place_pj"] == pytest.approx(heat_j / 1e15, rel=1e-6)
        mw = heat_j * 0.10 / (30 * 365.25 * 86400) / 1e6
        assert s["mw_thermal"] == pytest.approx(mw, rel=1e-6)
    with pytest.raises(InputError, match="target_depth_m"):
        _run(
            "geothermal_heat",
            {"temperature_at_depth": stale},
            attrs={"temperature_at_depth": {"depth_m": 2900.0}},
        )


def test_site_metrics_on_given_polygons_rasterises_them() -> None:
    pv = np.full(GRID.shape, 1200.0)
    pv[:, 60:] = 1400.0
    stack = _stack({"pv_yield": pv})
    x0, _, _, y1 = GRID.bounds
    polys = gpd.GeoDataFrame(
        geometry=[
            shapely.box(x0 + 1000, y1 - 3000, x0 + 3000, y1 - 1000),
            shapely.box(x0 + 5000, y1 - 3000, x0 + 7000, y1 - 1000),  # half on each yield
        ],
        crs=CRS,
    )
    base = load_profile("solarfarm")
    solar = replace(base, sites=replace(base.sites, params=PARAMS["solarfarm"]))
    m = site_metrics(polys, solar, GRID, stack=stack)
    assert m["pv_yield_kwh_per_kwp"].tolist() == pytest.approx([1200.0, 1300.0])
    assert m["energy_gwh_per_yr"].tolist() == pytest.approx([87 * 4 * 1.2, 87 * 4 * 1.3])


def test_missing_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="turbine"):
        _run(
            "windfarm",
            {"wind_capacity_factor": np.full(GRID.shape, 0.3)},
            options=SiteOptions(wind_capacity="layout"),
            params={"turbine": None},
        )
    with pytest.raises(ConfigError, match="route_factor"):
        SiteOptions(route_factor=0.5)


# ----------------------------------------------------------------------------- wind machine


def _wind_profile(name: str = "windfarm", **sites: Any) -> Any:
    return replace(load_profile("windfarm", {"sites": sites}), name=name)


def test_wind_machine_takes_hub_height_and_turbine_from_the_windfarm_profile() -> None:
    from geotool.sites.params import wind_machine

    wind = _wind_profile(hub_height_m=149.0, turbine="e-82/2350")
    out = wind_machine({"pv_tilt": 20}, [load_profile("solarfarm"), wind], "s.toml")
    assert out == {"pv_tilt": 20, "hub_height_m": 149.0, "turbine": "E-82/2350"}
    # the study's own values win when they agree; nothing to add without wind profiles
    same = wind_machine({"hub_height_m": 149, "turbine": "E-115/3000"}, [wind], "s.toml")
    assert same == {"hub_height_m": 149.0, "turbine": "E-115/3000"}
    assert wind_machine({}, [load_profile("datacenter")], "s.toml") == {}


def test_wind_machine_refuses_two_hub_heights() -> None:
    from geotool.sites.params import wind_machine

    builtin = load_profile("windfarm")  # hub_height_m = 122
    with pytest.raises(ConfigError) as info:
        wind_machine({"hub_height_m": 135}, [builtin], "s.toml")
    message = str(info.value)
    assert "122" in message and "135" in message and "s.toml: [resources]" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="windfarm_tall: \\[sites\\] hub_height_m: 149 m, but"):
        wind_machine({}, [builtin, _wind_profile("windfarm_tall", hub_height_m=149.0)], "s")


def test_wind_machine_leaves_differing_turbines_to_the_site_layers() -> None:
    from geotool.sites.params import wind_machine

    a = _wind_profile(turbine="E-82/2350")
    b = _wind_profile("windfarm_b", turbine="E-141/4200")
    assert "turbine" not in wind_machine({}, [a, b], "s.toml")


def test_profile_hub_height_reaches_the_derived_wind_layers(tmp_path: Any) -> None:
    """``[profiles.windfarm.sites] hub_height_m`` alone moves wind_speed_hub to that height:
    the power law ``v = v100 (h / 100)^α`` (α fixed in [resources])."""
    from geotool.resources import ResourceConfig, derive
    from geotool.runner import _resource_config
    from geotool.study import loads_study

    study = loads_study(
        '[study]\nname = "w"\nbbox = [600000, 2750000, 612000, 2760000]\n'
        'bbox_crs = "EPSG:32649"\ncrs = "EPSG:32649"\nresolution = 100\n'
        '[layers]\nwind_speed_100m = "w.tif"\n'
        "[resources]\nshear_alpha = 0.2\n"
        "[profiles.windfarm.sites]\nhub_height_m = 149\n",
        tmp_path / "study.toml",
    )
    profile = load_profile("windfarm", study.profiles["windfarm"])
    config = _resource_config(study, ResourceConfig, [profile])
    assert config.hub_height_m == 149.0
    v100 = np.full(GRID.shape, 7.0)
    derived = derive(_stack({"wind_speed_100m": v100}), config)
    np.testing.assert_allclose(derived["wind_speed_hub"].values, 7.0 * 1.49**0.2, rtol=1e-6)


def test_profile_radius_reaches_the_green_energy_layer(tmp_path: Any) -> None:
    """``[profiles.datacenter.sites] radius_km`` sets the radius of the green-energy layer
    (it was only a label: the layer kept [resources] green_radius_m = 30 km); a study radius
    that disagrees is an error naming both."""
    from geotool.resources import ResourceConfig, derive
    from geotool.runner import _resource_config
    from geotool.study import loads_study

    head = (
        '[study]\nname = "d"\nbbox = [600000, 2750000, 612000, 2760000]\n'
        'bbox_crs = "EPSG:32649"\ncrs = "EPSG:32649"\nresolution = 100\n'
        '[layers]\nghi = "g.tif"\n'
    )
    study = loads_study(
        head + "[profiles.datacenter.sites]\nradius_km = 5\n", tmp_path / "study.toml"
    )
    profile = load_profile("datacenter", study.profiles["datacenter"])
    config = _resource_config(study, ResourceConfig, [profile])
    assert config.green_radius_m == 5_000.0
    ghi = np.full(GRID.shape, 1300.0)
    layer = derive(_stack({"ghi": ghi}), config)["green_energy_gwh_per_yr_within_radius"]
    assert layer.attrs["radius_m"] == 5_000.0
    clash = loads_study(
        head + "[resources]\ngreen_radius_m = 30000\n[profiles.datacenter.sites]\nradius_km = 5\n",
        tmp_path / "study.toml",
    )
    profile = load_profile("datacenter", clash.profiles["datacenter"])
    with pytest.raises(ConfigError, match=r"radius_km: 5 km, but .*green_radius_m gives 30 km"):
        _resource_config(clash, ResourceConfig, [profile])


def test_carbon_sink_removals_follow_the_species_and_period_of_the_options() -> None:
    from geotool.carbon.config import CarbonConfig

    options = SiteOptions(carbon=CarbonConfig(species="eucalyptus", crediting_years=10))
    sites, _ = _run("carbon_sink", {}, options=options)
    per_ha = planted_stock_tco2e_per_ha("eucalyptus", 10)
    assert per_ha != pytest.approx(planted_stock_tco2e_per_ha("chinese_fir", 20))
    for _, s in sites.iterrows():
        assert s["species"] == "eucalyptus" and s["crediting_years"] == 10
        assert s["tco2e_total"] == pytest.approx(s["area_ha"] * per_ha, rel=1e-9)
        assert s["tco2e_per_yr"] == pytest.approx(s["tco2e_total"] / 10.0)


def test_carbon_sink_flat_removal_rate_of_the_profile() -> None:
    sites, _ = _run("carbon_sink", {}, params={"removal_tco2_per_ha_yr": 15.0})
    for _, s in sites.iterrows():
        assert s["species"] == "flat rate"
        assert s["tco2e_per_yr"] == pytest.approx(15.0 * s["area_ha"], rel=1e-12)
        assert s["tco2e_total"] == pytest.approx(15.0 * s["area_ha"] * 20, rel=1e-12)


def test_datacenter_co2_is_not_summed_per_region() -> None:
    from geotool.sites.params import additive_columns

    # each site nets its demand against all green supply within its radius (as if built
    # alone): two sites next to one wind farm would both claim its output
    assert "co2_t_per_yr_local_green" not in additive_columns("datacenter")
    assert {"it_load_mw", "electricity_gwh_per_yr", "co2_t_per_yr"} <= set(
        additive_columns("datacenter")
    )


def test_windfarm_density_columns_read_capacity_then_turbines() -> None:
    cf = np.full(GRID.shape, 0.3)
    sites, _ = _run(
        "windfarm",
        {"wind_capacity_factor": cf},
        attrs={"wind_capacity_factor": {"turbine": "E-141/4200"}},
    )
    columns = list(sites.columns)
    assert columns.index("capacity_mw") < columns.index("turbines")


def test_a_fixed_threshold_above_every_score_names_the_threshold() -> None:
    """`[sites] threshold = 0.95` and a best score of 0.9: no candidate pixel at all, so the
    reason is the threshold, not min_area_km2."""
    from geotool.sites import format_top

    p = _q_profile("solarfarm", threshold=0.95)
    stack = _stack({"q": np.full(GRID.shape, 0.9)})
    sites = extract_sites(evaluate(stack, p), p, GRID, stack=stack)
    assert len(sites) == 0 and sites.attrs["candidate_areas"] == 0
    assert format_top(sites).startswith("no candidate sites: no pixel scores 0.95 or more")


def test_chinas_grid_factor_is_noted_for_a_study_outside_china() -> None:
    from geotool.sites.params import emission_factor_note

    dc = load_profile("datacenter")
    assert emission_factor_note(dc, 113.6, 24.8) is None  # Shaoguan
    note = emission_factor_note(dc, 19.0, 69.6)  # Tromsø
    assert note is not None and "China's national grid average" in note
    assert "[profiles.datacenter.sites] grid_emission_factor_tco2_per_mwh" in note
    own = load_profile("datacenter", {"sites": {"grid_emission_factor_tco2_per_mwh": 0.02}})
    assert emission_factor_note(own, 19.0, 69.6) is None  # the study set its own


def test_no_eligible_pixel_names_the_constraint_that_removed_the_region() -> None:
    """The Altiplano under the windfarm profile: `high_elevation` (dem > 1,750 m) excludes
    every pixel; the message named no constraint ("the limiting raster names it")."""
    from geotool.sites import format_top
    from geotool.suitability.specs import RangeConstraint

    p = replace(
        _q_profile("windfarm"),
        constraints=(
            RangeConstraint("high_elevation", "dem", max=1750.0),
            RangeConstraint("steep", "slope", max=11.3),
        ),
    )
    dem = np.full(GRID.shape, 4000.0)
    dem[:, :30] = 1000.0  # a quarter low enough, but too steep there
    slope = np.where(np.arange(GRID.width) < 30, 20.0, 2.0) * np.ones(GRID.shape)
    stack = _stack({"q": np.full(GRID.shape, 0.9), "dem": dem, "slope": slope})
    sites = extract_sites(evaluate(stack, p), p, GRID, stack=stack)
    assert len(sites) == 0
    assert sites.attrs["exclusions"] == pytest.approx({"high_elevation": 0.75, "steep": 0.25})
    text = format_top(sites)
    assert "high_elevation excludes 75%; steep excludes 25% of the pixels with data" in text
    assert "[profiles.windfarm.constraints.high_elevation]" in text
