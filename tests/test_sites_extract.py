"""Candidate sites from synthetic evaluated profiles: geometry rules, ranks, attributes."""

from __future__ import annotations

import math
from dataclasses import replace

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from rasterio import features

from geotool.errors import ConfigError, InputError
from geotool.grid import Grid
from geotool.sites import (
    candidate_mask,
    extract_sites,
    label_candidates,
    label_polygons,
    metric_layers,
    shortfall_layers,
    split_large,
    top_share_threshold,
)
from geotool.sites.options import SiteOptions
from geotool.suitability import evaluate
from geotool.suitability.specs import (
    Aggregation,
    Criterion,
    DirectWeights,
    Linear,
    Profile,
    RangeConstraint,
    SitesSpec,
)

CRS = "EPSG:32649"
GRID = Grid.from_bounds((500_000, 2_700_000, 516_000, 2_712_000), 100, CRS)  # 120 x 160 px
SPEC = SitesSpec(threshold=0.5, min_area_km2=0.1, max_area_km2=1.5, min_separation_m=300.0)


def _stack(layers: dict[str, np.ndarray], grid: Grid = GRID, chunks: int | None = 50) -> xr.Dataset:
    def wrap(v: np.ndarray) -> object:
        v = v.astype("float32")
        return da.from_array(v, chunks=chunks) if chunks else v

    return xr.Dataset(
        {k: (("y", "x"), wrap(v)) for k, v in layers.items()},
        coords={"x": grid.xs, "y": grid.ys},
        attrs={"grid": grid},
    )


def _profile(spec: SitesSpec = SPEC, name: str = "test") -> Profile:
    return Profile(
        name,
        "",
        (RangeConstraint("steep", "slope", max=11.3),),
        (Criterion("a", Linear(0.0, 1.0), layer="a"), Criterion("b", Linear(0.0, 1.0), layer="b")),
        DirectWeights({"a": 0.7, "b": 0.3}),
        Aggregation(),
        spec,
    )


def _rough_layers(grid: Grid = GRID) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0 : grid.height, 0 : grid.width]
    a = np.exp(-((xx - 40) ** 2 + (yy - 40) ** 2) / 500) + 0.9 * np.exp(
        -((xx - 115) ** 2 + (yy - 75) ** 2) / 250
    )
    b = 0.5 + 0.5 * np.sin(xx / 7.0) * np.cos(yy / 9.0)
    slope = np.where((xx % 23 == 0) | ((yy - 55) ** 2 + (xx - 60) ** 2 < 40), 20.0, 2.0)
    slope[(yy + xx) % 37 == 0] = 25.0  # diagonal lines of excluded pixels
    return {"a": a, "b": b, "slope": slope}


@pytest.fixture(scope="module")
def rough() -> tuple[xr.Dataset, gpd.GeoDataFrame]:
    ev = evaluate(_stack(_rough_layers()), _profile())
    return ev, extract_sites(ev, _profile(), GRID)


def _centres(mask: np.ndarray, grid: Grid = GRID) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(mask)
    return grid.xy(rows, cols)


def test_sites_never_cover_excluded_or_low_pixels(
    rough: tuple[xr.Dataset, gpd.GeoDataFrame],
) -> None:
    ev, sites = rough
    assert len(sites) >= 3
    union = shapely.union_all(sites.geometry.values)
    excluded = ev["excluded"].values
    assert excluded.sum() > 500
    x, y = _centres(excluded)
    assert not shapely.intersects_xy(union, x, y).any()  # boundary contact counts as inside
    score = ev["score"].values
    x, y = _centres(~(score >= SPEC.threshold))  # NaN or below threshold
    assert not shapely.intersects_xy(union, x, y).any()


def test_area_is_pixel_area_and_size_rules(
    rough: tuple[xr.Dataset, gpd.GeoDataFrame],
) -> None:
    _, sites = rough
    area = sites["area_km2"].to_numpy()
    pixels = area * 1e6 / GRID.pixel_area  # a whole number of 100 m pixels
    np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-9)
    # the simplified outline lies within the site's pixels: a little smaller, never larger
    polygon = sites.to_crs("EPSG:32649").area.to_numpy() / 1e6
    assert (polygon <= area + 1e-9).all()
    np.testing.assert_allclose(polygon, area, rtol=0.03)
    assert (sites["area_km2"] >= SPEC.min_area_km2).all()
    assert (sites["area_km2"] <= SPEC.max_area_km2 + 1e-9).all()
    assert sites.geometry.is_valid.all()


def test_ranks_follow_descending_score(rough: tuple[xr.Dataset, gpd.GeoDataFrame]) -> None:
    _, sites = rough
    assert sites["rank"].tolist() == list(range(1, len(sites) + 1))
    assert (np.diff(sites["score"].to_numpy()) <= 0).all()
    assert sites["site_id"].is_unique


def test_sites_are_separated(rough: tuple[xr.Dataset, gpd.GeoDataFrame]) -> None:
    _, sites = rough
    g = sites.geometry.to_numpy()
    for i in range(len(g)):
        for j in range(i + 1, len(g)):
            assert shapely.distance(g[i], g[j]) >= SPEC.min_separation_m


def test_greedy_separation_keeps_the_better_of_two_close_sites() -> None:
    a = np.zeros(GRID.shape)
    a[10:20, 10:20] = 0.9  # better
    a[10:20, 22:32] = 0.8  # 200 m east of the first: dropped at 300 m separation
    a[60:70, 10:20] = 0.7  # far away: kept
    layers = {"a": a, "b": np.ones(GRID.shape), "slope": np.zeros(GRID.shape)}
    p = _profile(replace(SPEC, threshold=0.5))
    sites = extract_sites(evaluate(_stack(layers), p), p, GRID)
    assert sites["score"].round(4).tolist() == [0.93, 0.79]
    p0 = _profile(replace(SPEC, min_separation_m=0.0))
    assert len(extract_sites(evaluate(_stack(layers), p0), p0, GRID)) == 3


def test_large_area_is_split_into_parts_below_max() -> None:
    a = np.zeros(GRID.shape)
    a[20:50, 30:90] = 1.0  # 30 x 60 px = 18 km²
    layers = {"a": a, "b": np.ones(GRID.shape), "slope": np.zeros(GRID.shape)}
    p = _profile(SitesSpec(threshold=0.5, min_area_km2=0.1, max_area_km2=1.5))
    sites = extract_sites(evaluate(_stack(layers), p), p, GRID)
    assert len(sites) >= math.ceil(18.0 / 1.5)
    assert (sites["area_km2"] <= 1.5 + 1e-9).all()
    union = shapely.union_all(sites.geometry.values)
    assert union.area / 1e6 == pytest.approx(18.0, rel=0.02)  # parts tile the area
    assert shapely.area(shapely.intersection_all(sites.geometry.values[:2])) == 0.0


def test_split_large_pixel_counts() -> None:
    mask = np.zeros((40, 40), dtype=np.uint8)
    mask[0:30, 0:25] = 1  # 750 px
    mask[35:40, 35:40] = 1  # 25 px: below min_px
    labels, n = label_candidates(mask)
    m = split_large(labels, n, max_px=100, min_px=30)
    counts = np.bincount(labels.ravel())[1:]
    assert m == len(counts) >= 8
    assert counts.max() <= 100 and counts.sum() == 750


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    density=st.floats(0.2, 0.8),
    max_px=st.integers(3, 40),
    min_px=st.integers(1, 5),
)
def test_split_large_keeps_connected_parts_within_limits(
    seed: int, density: float, max_px: int, min_px: int
) -> None:
    rng = np.random.default_rng(seed)
    mask = (rng.random((30, 30)) < density).astype(np.uint8)
    labels, n = label_candidates(mask)
    m = split_large(labels, n, max_px=max_px, min_px=min_px)
    counts = np.bincount(labels.ravel(), minlength=m + 1)[1:]
    assert len(counts) == m and (counts >= min_px).all() and (counts <= max_px).all()
    assert ((labels > 0) <= (mask > 0)).all()  # never adds pixels
    for lab in range(1, m + 1):  # every site is one 8-connected piece
        assert label_candidates((labels == lab).astype(np.uint8))[1] == 1


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), density=st.floats(0.3, 0.9))
def test_label_polygons_stay_within_their_own_pixels(seed: int, density: float) -> None:
    rng = np.random.default_rng(seed)
    labels, n = label_candidates((rng.random((25, 25)) < density).astype(np.uint8))
    grid = Grid.from_bounds((0, 0, 2500, 2500), 100, CRS)
    geoms = label_polygons(labels, n, grid.transform)
    rows, cols = np.mgrid[0:25, 0:25]
    x, y = grid.xy(rows.ravel(), cols.ravel())
    for lab, geom in enumerate(geoms, start=1):
        assert geom.is_valid and geom.area > 0
        hit = shapely.intersects_xy(geom, x, y)
        assert (labels.ravel()[hit] == lab).all()  # no centre of another pixel
        own = labels.ravel() == lab
        assert geom.area <= own.sum() * 1e4 + 1e-6  # inside its pixels (never larger)
        outline = shapely.union_all(
            [
                shapely.box(*grid.transform @ (c, r + 1), *grid.transform @ (c + 1, r))
                for r, c in zip(*np.nonzero(labels == lab), strict=True)
            ]
        )
        assert shapely.hausdorff_distance(geom, outline) <= 50.0 * np.sqrt(2) + 1e-6


def test_top_share_threshold_selects_exactly_the_best_share() -> None:
    rng = np.random.default_rng(7)
    score = rng.random((97, 83)).astype("float32")
    score[rng.random(score.shape) < 0.3] = np.nan
    valid = np.sort(score[np.isfinite(score)])[::-1]
    for share in (0.01, 0.1, 0.5, 1.0):
        k = math.ceil(share * valid.size)
        lazy = xr.DataArray(da.from_array(score, chunks=20), dims=("y", "x"))
        t = top_share_threshold(lazy, share)
        assert t == pytest.approx(float(valid[k - 1]))
        assert int(np.sum(score >= t)) == k


def test_top_share_mask_matches_the_threshold_and_skips_zero_scores() -> None:
    rng = np.random.default_rng(9)
    score = rng.random((64, 70)).astype("float32")
    score[rng.random(score.shape) < 0.2] = np.nan
    lazy = xr.DataArray(da.from_array(score, chunks=16), dims=("y", "x"))
    mask, t = candidate_mask(lazy, SitesSpec(top_share=0.25))
    k = math.ceil(0.25 * np.isfinite(score).sum())
    assert t == pytest.approx(float(np.sort(score[np.isfinite(score)])[::-1][k - 1]))
    np.testing.assert_array_equal(mask.astype(bool), score >= t)
    score[:, :60] = np.where(np.isfinite(score[:, :60]), 0.0, np.nan)  # mostly unsuitable land
    mask, t = candidate_mask(score, SitesSpec(top_share=0.5))
    assert t == 0.0
    np.testing.assert_array_equal(mask.astype(bool), score > 0)


def test_means_and_limiting_match_independent_rasterisation() -> None:
    rng = np.random.default_rng(3)
    a = np.zeros(GRID.shape)
    b = np.zeros(GRID.shape)
    a[10:30, 10:40] = 0.9 + 0.1 * rng.random((20, 30))
    b[10:30, 10:40] = 0.4 + 0.6 * rng.random((20, 30))  # b limits
    a[60:80, 60:100] = 0.9 + 0.1 * rng.random((20, 40))
    b[60:80, 60:100] = 0.97 + 0.03 * rng.random((20, 40))  # a limits
    layers = {"a": a, "b": b, "slope": np.zeros(GRID.shape)}
    p = _profile(SitesSpec(threshold=0.5))
    ev = evaluate(_stack(layers), p)
    sites = extract_sites(ev, p, GRID)
    assert len(sites) == 2
    score, ma, mb = (ev[v].values for v in ("score", "m_a", "m_b"))
    for _, site in sites.iterrows():
        inside = features.rasterize(
            [(site.geometry, 1)], out_shape=GRID.shape, transform=GRID.transform
        ).astype(bool)
        assert site["area_km2"] == pytest.approx(inside.sum() * 0.01)
        assert site["score"] == pytest.approx(score[inside].mean(), rel=1e-6)
        assert site["m_a"] == pytest.approx(ma[inside].mean(), rel=1e-6)
        assert site["m_b"] == pytest.approx(mb[inside].mean(), rel=1e-6)
        short = {"a": 0.7 * (1 - ma[inside].mean()), "b": 0.3 * (1 - mb[inside].mean())}
        assert site["limiting"] == max(short, key=short.__getitem__)
    assert set(sites["limiting"]) == {"a", "b"}


def test_region_lonlat_and_numpy_equals_dask() -> None:
    layers = _rough_layers()
    p = _profile()
    left, bottom, right, top = GRID.bounds
    cut = left + 7_000.0
    regions = gpd.GeoDataFrame(
        {"name": ["西", "东"]},
        geometry=[shapely.box(left, bottom, cut, top), shapely.box(cut, bottom, right, top)],
        crs=CRS,
    ).to_crs("EPSG:4326")
    lazy = extract_sites(evaluate(_stack(layers), p), p, GRID, regions=regions, region_field="name")
    eager = extract_sites(
        evaluate(_stack(layers, chunks=None), p), p, GRID, regions=regions, region_field="name"
    )
    cols = ["rank", "score", "area_km2", "m_a", "m_b", "limiting", "region", "lon", "lat"]
    pd.testing.assert_frame_equal(lazy[cols], eager[cols], check_exact=False, rtol=1e-9)
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    for _, site in lazy.iterrows():
        west = shapely.intersection(site.geometry, shapely.box(left, bottom, cut, top)).area
        assert site["region"] == ("西" if west > site.geometry.area / 2 else "东")
        lon, lat = to_ll.transform(site.geometry.centroid.x, site.geometry.centroid.y)
        assert (site["lon"], site["lat"]) == pytest.approx((lon, lat), abs=1e-9)
    assert set(lazy["region"]) == {"西", "东"}


def test_l_shaped_site_area_is_its_pixel_area() -> None:
    # 3 pixels of 0.01 km² in an L: the simplified outline cuts the inner corner (0.0275 km²)
    a = np.zeros(GRID.shape)
    a[2, 2] = a[3, 2] = a[3, 3] = 1.0
    layers = {"a": a, "b": np.ones(GRID.shape), "slope": np.zeros(GRID.shape)}
    p = _profile(SitesSpec(threshold=0.5, min_area_km2=0.03))
    sites = extract_sites(evaluate(_stack(layers), p), p, GRID)
    assert len(sites) == 1
    assert sites["area_km2"].iloc[0] == pytest.approx(0.03, abs=1e-12)
    assert sites.geometry.area.iloc[0] / 1e6 <= 0.03 + 1e-12
    p4 = _profile(SitesSpec(threshold=0.5, min_area_km2=0.031))  # 4 pixels needed
    assert len(extract_sites(evaluate(_stack(layers), p4), p4, GRID)) == 0


def test_empty_table_has_the_dtypes_of_a_full_one() -> None:
    zero = {"a": np.zeros(GRID.shape), "b": np.zeros(GRID.shape), "slope": np.zeros(GRID.shape)}
    some = {**zero, "b": np.ones(GRID.shape)}
    some["a"] = np.zeros(GRID.shape)
    some["a"][10:20, 10:20] = 1.0
    units = gpd.GeoDataFrame({"region": ["W"]}, geometry=[shapely.box(*GRID.bounds)], crs=CRS)
    p = _profile()
    wind = replace(
        p, name="windfarm", sites=replace(SPEC, params={"capacity_density_mw_per_km2": 3.0})
    )
    for prof in (p, wind):
        for regions in (None, units):
            empty = extract_sites(evaluate(_stack(zero), prof), prof, GRID, regions=regions)
            full = extract_sites(evaluate(_stack(some), prof), prof, GRID, regions=regions)
            assert len(empty) == 0 and len(full) == 1
            pd.testing.assert_series_equal(empty.dtypes, full.dtypes)


def test_no_candidates_gives_an_empty_table() -> None:
    layers = {"a": np.zeros(GRID.shape), "b": np.zeros(GRID.shape), "slope": np.zeros(GRID.shape)}
    p = _profile()
    sites = extract_sites(evaluate(_stack(layers), p), p, GRID)
    assert len(sites) == 0 and {"site_id", "rank", "score", "m_a"} <= set(sites.columns)
    assert sites.crs == GRID.crs
    wind = replace(
        p, name="windfarm", sites=replace(SPEC, params={"capacity_density_mw_per_km2": 3.0})
    )
    sites = extract_sites(evaluate(_stack(layers), wind), wind, GRID)
    assert {"capacity_mw", "capacity_factor", "energy_gwh_per_yr"} <= set(sites.columns)


def test_shortfall_and_metric_layers_stay_lazy() -> None:
    p = _profile()
    ev = evaluate(_stack(_rough_layers()), p)
    for arr in shortfall_layers(ev, p).values():
        assert isinstance(arr.data, da.Array)
    wind = replace(p, name="windfarm", sites=replace(SPEC, params={"turbine": "E-141/4200"}))
    stack = _stack({"wind_speed_hub": np.full(GRID.shape, 7.0)})
    layers = metric_layers("windfarm", wind, stack, SiteOptions())
    assert isinstance(layers["capacity_factor"][0].data, da.Array)


def test_bad_inputs_raise_clear_errors() -> None:
    p = _profile()
    ev = evaluate(_stack(_rough_layers()), p)
    with pytest.raises(InputError, match="does not match the grid"):
        extract_sites(ev, p, GRID.pad(1))
    tiny = _profile(replace(SPEC, max_area_km2=0.001, min_area_km2=0.0))
    with pytest.raises(ConfigError, match="smaller than one pixel"):
        extract_sites(ev, tiny, GRID)
    with pytest.raises(ConfigError, match="exactly one"):
        extract_sites(ev, _profile(SitesSpec()), GRID)
