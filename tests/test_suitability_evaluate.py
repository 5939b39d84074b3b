"""Evaluation on a synthetic stack: exclusions, weights, limiting factor, aggregation, stability."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import shapely
import xarray as xr
from scipy import ndimage

from geotool.errors import InputError
from geotool.suitability import (
    aggregate,
    evaluate,
    limiting_codes,
    load_profile,
    owa,
    stability,
    weighted_linear,
    weighted_product,
)
from geotool.suitability.specs import Aggregation

RES = 100.0
NY, NX = 48, 64
LINE_KEY = "power_lines[voltage_kv>=110]"

PROFILE = """
name = "synthetic"
description = "test profile"

[constraints.high]
kind = "range"
layer = "dem"
max = 1750.0
max_inclusive = false

[constraints.urban_water]
kind = "classes"
layer = "land_cover"
exclude = [50, 80]

[constraints.settlements]
kind = "vector"
layer = "settlements"
buffer_m = 1000.0

[constraints.near_grid]
kind = "vector"
layer = "power_lines"
where = "voltage_kv >= 110"
buffer_m = 3000.0
exclude = "outside"

[criteria.wind]
layer = "wind_speed_hub"
membership = "linear"
low = 5.0
high = 8.0

[criteria.slope]
layer = "slope"
membership = "linear"
direction = "decreasing"
low = 0.0
high = 15.0

[criteria.grid]
distance_to = "power_lines"
where = "voltage_kv >= 110"
membership = "linear"
direction = "decreasing"
low = 0.0
high = 3000.0

[weights]
wind = 0.5
slope = 0.3
grid = 0.2

[sites]
threshold = 0.5
"""


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profiles") / "synthetic.toml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


def make_stack(seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    xs = 500_000.0 + RES * (np.arange(NX) + 0.5)
    ys = 2_700_000.0 - RES * (np.arange(NY) + 0.5)
    xx, yy = np.meshgrid(xs, ys)
    wind = 4.0 + 5.0 * (xx - xs[0]) / (xs[-1] - xs[0]) + rng.normal(0, 0.3, xx.shape)
    slope = rng.uniform(0, 20, xx.shape)
    dem = 1200.0 + 900.0 * (yy - ys[-1]) / (ys[0] - ys[-1])
    lc = rng.choice([10, 20, 30, 40, 50, 80], size=xx.shape).astype(float)
    wind[5, 7] = np.nan  # missing input
    town = shapely.Point(xs[40], ys[30])
    line = shapely.LineString([(xs[0] - 500, ys[10]), (xs[-1] + 500, ys[25])])
    pts = shapely.points(xx, yy)
    d_town = shapely.distance(pts, town)
    d_line = shapely.distance(pts, line)
    f32 = np.float32
    return xr.Dataset(
        {
            "wind_speed_hub": (("y", "x"), wind.astype(f32)),
            "slope": (("y", "x"), slope.astype(f32)),
            "dem": (("y", "x"), dem.astype(f32)),
            "land_cover": (("y", "x"), lc.astype(f32)),
            "settlements_distance_m": (("y", "x"), d_town.astype(f32)),
            "settlements_mask": (("y", "x"), (d_town < RES / 2).astype(f32)),
            f"{LINE_KEY}_distance_m": (("y", "x"), d_line.astype(f32)),
            f"{LINE_KEY}_mask": (("y", "x"), (d_line < RES / 2).astype(f32)),
        },
        coords={"x": xs, "y": ys},
    )


def independent_exclusion(ds: xr.Dataset) -> np.ndarray:
    """First excluding constraint code (0 = none), re-derived with plain NumPy."""
    dem = ds["dem"].values
    lc = ds["land_cover"].values
    town = ds["settlements_distance_m"].values
    line = ds[f"{LINE_KEY}_distance_m"].values
    rules = [dem >= 1750.0, np.isin(lc, [50, 80]), town <= 1000.0, line > 3000.0]
    code = np.zeros(dem.shape, dtype=int)
    for i, rule in reversed(list(enumerate(rules, start=1))):
        code = np.where(rule, i, code)
    return code


def independent_memberships(ds: xr.Dataset) -> dict[str, np.ndarray]:
    w = ds["wind_speed_hub"].values.astype(float)
    s = ds["slope"].values.astype(float)
    g = ds[f"{LINE_KEY}_distance_m"].values.astype(float)
    return {
        "wind": np.clip((w - 5.0) / 3.0, 0, 1),
        "slope": np.clip(1 - s / 15.0, 0, 1),
        "grid": np.clip(1 - g / 3000.0, 0, 1),
    }


def test_no_eligible_pixel_inside_an_exclusion(profile_path: Path) -> None:
    ds = make_stack()
    out = evaluate(ds, load_profile(profile_path))
    code = independent_exclusion(ds)
    score = out["score"].values
    assert code.min() == 0 and code.max() == 4 and (code > 0).sum() > 100
    assert np.all(np.isnan(score[code > 0]))
    assert np.array_equal(out["excluded"].values, code > 0)
    kept = (code == 0) & ~np.isnan(ds["wind_speed_hub"].values)
    assert np.all(np.isfinite(score[kept])) and kept.sum() > 50
    assert np.all((score[kept] >= 0) & (score[kept] <= 1))
    # the first excluding constraint is reported
    assert np.array_equal(out["limiting"].values[code > 0], code[code > 0])


def test_score_matches_an_independent_weighted_sum(profile_path: Path) -> None:
    ds = make_stack()
    out = evaluate(ds, load_profile(profile_path))
    m = independent_memberships(ds)
    expected = 0.5 * m["wind"] + 0.3 * m["slope"] + 0.2 * m["grid"]
    ok = np.isfinite(out["score"].values)
    np.testing.assert_allclose(out["score"].values[ok], expected[ok], atol=1e-6)
    np.testing.assert_allclose(out["m_wind"].values[ok], m["wind"][ok], atol=1e-6)
    # a missing input gives no score but is not "excluded"
    assert np.isnan(out["score"].values[5, 7])
    assert out["limiting"].values[5, 7] in (-1, *range(1, 5))


def test_raising_a_weight_moves_the_score_towards_that_membership(profile_path: Path) -> None:
    ds = make_stack()
    base = evaluate(ds, load_profile(profile_path))
    more = evaluate(ds, load_profile(profile_path, {"weights": {"wind": 0.8}}))
    s0, s1, mw = base["score"].values, more["score"].values, base["m_wind"].values
    ok = np.isfinite(s0)
    up = ok & (mw > s0 + 1e-4)
    down = ok & (mw < s0 - 1e-4)
    assert up.sum() > 10 and down.sum() > 10
    assert np.all(s1[up] > s0[up]) and np.all(s1[down] < s0[down])


def test_zero_weight_makes_the_score_independent_of_that_layer(profile_path: Path) -> None:
    ds = make_stack()
    profile = load_profile(profile_path, {"weights": {"slope": 0.0}})
    a = evaluate(ds, profile)["score"].values
    noisy = ds.copy()
    slope = np.random.default_rng(9).uniform(0, 90, (NY, NX)).astype(np.float32)
    slope[::7, ::5] = np.nan  # even missing values must not matter
    noisy["slope"] = (("y", "x"), slope)
    out = evaluate(noisy, profile)
    np.testing.assert_array_equal(out["score"].values, a)
    assert not np.any(out["limiting"].values == 6)  # code 6 = criterion "slope": never limits


def test_limiting_codes_match_a_recomputation(profile_path: Path) -> None:
    ds = make_stack()
    profile = load_profile(profile_path)
    out = evaluate(ds, profile)
    codes = limiting_codes(profile)
    assert codes[5] == "criterion:wind" and codes[3] == "constraint:settlements"
    code = independent_exclusion(ds)
    m = independent_memberships(ds)
    w = {"wind": 0.5, "slope": 0.3, "grid": 0.2}
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, NY, 300), rng.integers(0, NX, 300)
    checked = 0
    for r, c in zip(rows, cols, strict=True):
        got = int(out["limiting"].values[r, c])
        if code[r, c] > 0:
            assert got == code[r, c]
        elif np.isnan(ds["wind_speed_hub"].values[r, c]):
            assert got == -1
        else:
            short = [w[n] * (1 - m[n][r, c]) for n in ("wind", "slope", "grid")]
            expected = 0 if max(short) == 0 else 5 + int(np.argmax(short))
            assert got == expected, (r, c, short)
            checked += 1
    assert checked > 20


def test_evaluation_is_lazy_and_matches_numpy(profile_path: Path) -> None:
    ds = make_stack()
    profile = load_profile(profile_path)
    eager = evaluate(ds, profile)
    lazy = evaluate(ds.chunk({"y": 16, "x": 16}), profile)
    for name in ("score", "m_wind", "excluded", "limiting"):
        assert isinstance(lazy[name].data, da.Array), name
    assert lazy["score"].dtype == np.float32 and lazy["limiting"].dtype == np.int16
    assert lazy["excluded"].dtype == bool
    xr.testing.assert_equal(lazy.compute(), eager)


@pytest.mark.parametrize("method", ["wlc", "product", "owa"])
@pytest.mark.parametrize("chunked", [False, True])
def test_one_pass_evaluation_equals_the_layered_graph(
    profile_path: Path, method: str, chunked: bool
) -> None:
    # evaluate() runs one fused task per block; the layered graph of array operations (kept for
    # min-area profiles) is an independent implementation of the same rules
    from dataclasses import replace

    from geotool.suitability.evaluate import _evaluate_fused, _evaluate_layered

    profile = load_profile(profile_path)
    agg = Aggregation(method=method, order_weights=(0.5, 0.3, 0.2) if method == "owa" else None)
    profile = replace(profile, aggregation=agg)
    ds = make_stack(3)
    ds["slope"][10:14, 20:30] = np.nan  # criterion input missing
    ds["dem"][0:3, 0:5] = np.nan  # constraint input missing
    ds = ds.chunk({"y": 16, "x": 24}) if chunked else ds
    fused = _evaluate_fused(ds, profile)
    layered = _evaluate_layered(ds, profile)
    for a, b in zip(fused[1:], layered[1:], strict=True):
        np.testing.assert_array_equal(a.values, b.values)
        assert a.dtype == b.dtype
    for name in fused[0]:
        np.testing.assert_array_equal(fused[0][name].values, layered[0][name].values)
    assert np.isnan(fused[1].values).any() and (fused[3].values > 0).any()


@pytest.mark.parametrize("chunked", [False, True])
def test_exclusion_codes_are_the_excluding_limiting_codes(
    profile_path: Path, chunked: bool
) -> None:
    from geotool.suitability import exclusion_codes

    profile = load_profile(profile_path)
    ds = make_stack(5)
    ds["dem"][0:3, 0:5] = np.nan
    ds = ds.chunk({"y": 16, "x": 24}) if chunked else ds
    codes = exclusion_codes(ds, profile)
    assert isinstance(codes.data, da.Array) == chunked
    ev = evaluate(ds, profile)
    expected = np.where(ev["excluded"].values, ev["limiting"].values, 0)
    np.testing.assert_array_equal(codes.values, expected)
    np.testing.assert_array_equal(
        codes.values, independent_exclusion(ds.compute()) * (codes.values > 0)
    )
    assert set(np.unique(codes.values)) == {0, 1, 2, 3, 4}


def test_min_area_constraint_in_a_profile(profile_path: Path) -> None:
    text = PROFILE + '\n[constraints.min_patch]\nkind = "min_area"\nmin_area_km2 = 0.05\n'
    path = profile_path.with_name("with_area.toml")
    path.write_text(text, encoding="utf-8")
    profile = load_profile(path)
    ds = make_stack()
    base = evaluate(ds, load_profile(profile_path))
    out = evaluate(ds.chunk({"y": 16, "x": 16}), profile)
    assert isinstance(out["score"].data, da.Array)
    out = out.compute()
    assert limiting_codes(profile)[5] == "constraint:min_patch"
    removed = out["limiting"].values == 5
    kept = np.isfinite(out["score"].values)
    assert removed.sum() > 0
    # every removed pixel was eligible before and sits in a patch < 5 pixels (1 ha each)
    assert np.all(np.isfinite(base["score"].values[removed]))
    labels, _ = ndimage.label(np.isfinite(base["score"].values), structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())
    assert np.all(sizes[labels[removed]] < 5) and np.all(sizes[labels[kept]] >= 5)


def test_missing_layer_is_reported(profile_path: Path) -> None:
    ds = make_stack().drop_vars("slope")
    with pytest.raises(InputError, match=r"does not give: slope \(from dem\)"):
        evaluate(ds, load_profile(profile_path))


# ------------------------------------------------------------------ aggregation


def test_owa_ends_and_middle() -> None:
    rng = np.random.default_rng(4)
    m = rng.uniform(0, 1, size=(4, 200))
    w = np.array([0.4, 0.3, 0.2, 0.1])
    np.testing.assert_allclose(owa(m, w, "and"), m.min(axis=0))
    np.testing.assert_allclose(owa(m, w, "or"), m.max(axis=0))
    # equal order weights: the weighted mean (WOWA reduces to WLC)
    np.testing.assert_allclose(owa(m, w, (0.25,) * 4), weighted_linear(m, w), atol=1e-12)
    # equal importance: Yager's OWA, e.g. all weight on the worst = minimum
    eq = np.full(4, 0.25)
    np.testing.assert_allclose(owa(m, eq, (0.0, 0.0, 0.0, 1.0)), m.min(axis=0), atol=1e-12)
    np.testing.assert_allclose(owa(m, eq, (1.0, 0.0, 0.0, 0.0)), m.max(axis=0), atol=1e-12)
    # Yager's OWA with order weights (0.1, 0.2, 0.3, 0.4) on sorted values
    v = np.array([0.1, 0.2, 0.3, 0.4])
    expected = (np.sort(m, axis=0)[::-1] * v[:, None]).sum(axis=0)
    np.testing.assert_allclose(owa(m, eq, tuple(v)), expected, atol=1e-12)
    # andness: more weight on the worst never raises the score above the mean
    assert np.all(owa(m, w, (0.1, 0.2, 0.3, 0.4)) <= weighted_linear(m, w) + 1e-12)


def test_weighted_product_and_nan() -> None:
    m = np.array([[0.25, 0.0, np.nan], [1.0, 0.9, 0.5]])
    w = np.array([0.5, 0.5])
    s = weighted_product(m, w)
    assert s[0] == pytest.approx(0.5) and s[1] == 0.0 and np.isnan(s[2])
    for spec in (Aggregation("wlc"), Aggregation("owa", (0.5, 0.5)), Aggregation("owa", "and")):
        assert np.isnan(aggregate(m, w, spec)[2])


# ------------------------------------------------------------------ stability


def test_stability_shares(profile_path: Path) -> None:
    ds = make_stack()
    profile = load_profile(profile_path)
    out = evaluate(ds, profile)
    s_np = stability(ds, profile, 30, perturbation=0.2, seed=1)
    s_da = stability(ds.chunk({"y": 16, "x": 16}), profile, 30, perturbation=0.2, seed=1)
    assert isinstance(s_da.data, da.Array)
    np.testing.assert_array_equal(s_da.values, s_np.values)
    v = s_np.values
    ok = np.isfinite(out["score"].values)
    assert np.array_equal(np.isfinite(v), ok)
    assert np.all((v[ok] >= 0) & (v[ok] <= 1))
    # unperturbed (p = 0): exactly the top decile of the score, up to the histogram resolution
    s0 = stability(ds, profile, 3, perturbation=0.0).values
    q90 = np.quantile(out["score"].values[ok], 0.9)
    top = out["score"].values[ok] >= q90
    agree = (s0[ok] == 1.0) == top
    assert agree.mean() > 0.98
    assert 0.1 <= (s0[ok] == 1.0).mean() < 0.12
    # pixels far above every draw's threshold stay top; far below never are
    score = out["score"].values
    assert np.all(v[ok & (score > q90 + 0.1)] == 1.0)
    assert np.all(v[ok & (score < q90 - 0.2)] == 0.0)
