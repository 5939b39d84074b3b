"""Membership functions: range 0..1, monotonicity, NaN propagation, analytic values, laziness."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from geotool.suitability import categorical, gaussian, linear, sigmoid, step, trapezoid

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
values = arrays(
    np.float64,
    st.integers(1, 40),
    elements=st.one_of(finite, st.just(np.nan)),
)
positive = st.floats(min_value=1e-3, max_value=1e5)


def _sorted_finite(x: np.ndarray) -> np.ndarray:
    return np.sort(x[np.isfinite(x)])


def _check_common(x: np.ndarray, m: np.ndarray) -> None:
    assert m.dtype == np.float32 and m.shape == x.shape
    assert np.array_equal(np.isnan(m), np.isnan(x)), "NaN in must give NaN out, and only then"
    ok = m[~np.isnan(m)]
    assert np.all((ok >= 0.0) & (ok <= 1.0))


@settings(max_examples=150, deadline=None)
@given(x=values, low=finite, width=positive, increasing=st.booleans())
def test_linear_properties(x: np.ndarray, low: float, width: float, increasing: bool) -> None:
    high = low + width
    m = linear(x, low, high, increasing=increasing)
    _check_common(x, m)
    xs = _sorted_finite(x)
    ms = linear(xs, low, high, increasing=increasing)
    d = np.diff(ms.astype(np.float64))
    assert np.all(d >= 0) if increasing else np.all(d <= 0)
    # analytic values at and beyond the ends
    ends = linear(np.array([low - width, low, high, high + width]), low, high)
    assert ends.tolist() == [0.0, 0.0, 1.0, 1.0]


@settings(max_examples=150, deadline=None)
@given(x=values, mid=finite, scale=positive, increasing=st.booleans())
def test_sigmoid_properties(x: np.ndarray, mid: float, scale: float, increasing: bool) -> None:
    m = sigmoid(x, mid, scale, increasing=increasing)
    _check_common(x, m)
    ms = sigmoid(_sorted_finite(x), mid, scale, increasing=increasing).astype(np.float64)
    d = np.diff(ms)
    assert np.all(d >= 0) if increasing else np.all(d <= 0)
    assert float(sigmoid(np.array([mid]), mid, scale)[0]) == pytest.approx(0.5)


@settings(max_examples=150, deadline=None)
@given(
    x=values,
    a=finite,
    gaps=st.tuples(st.floats(0, 1e4), st.floats(0, 1e4), st.floats(0, 1e4)).filter(
        lambda g: sum(g) >= 1e-3
    ),
)
def test_trapezoid_properties(x: np.ndarray, a: float, gaps: tuple[float, float, float]) -> None:
    b = a + gaps[0]
    c = b + gaps[1]
    d = c + gaps[2]
    m = trapezoid(x, a, b, c, d)
    _check_common(x, m)
    xs = _sorted_finite(x)
    ms = trapezoid(xs, a, b, c, d).astype(np.float64)
    left, right = ms[xs <= b], ms[xs >= c]
    assert np.all(np.diff(left) >= 0) and np.all(np.diff(right) <= 0)
    core = ms[(xs >= b) & (xs <= c)]
    assert np.all(core == 1.0)


@settings(max_examples=150, deadline=None)
@given(x=values, center=finite, sigma=positive)
def test_gaussian_properties(x: np.ndarray, center: float, sigma: float) -> None:
    m = gaussian(x, center, sigma)
    _check_common(x, m)
    xs = _sorted_finite(x)
    ms = gaussian(xs, center, sigma).astype(np.float64)
    assert np.all(np.diff(ms[xs <= center]) >= 0) and np.all(np.diff(ms[xs >= center]) <= 0)


@settings(max_examples=150, deadline=None)
@given(
    x=values,
    thresholds=st.lists(finite, min_size=1, max_size=6, unique=True).map(sorted),
    data=st.data(),
)
def test_step_properties(x: np.ndarray, thresholds: list[float], data: st.DataObject) -> None:
    vals = sorted(
        data.draw(
            st.lists(st.floats(0, 1), min_size=len(thresholds) + 1, max_size=len(thresholds) + 1)
        )
    )
    m = step(x, thresholds, vals)
    _check_common(x, m)
    ms = step(_sorted_finite(x), thresholds, vals).astype(np.float64)
    assert np.all(np.diff(ms) >= 0), "non-decreasing values give a non-decreasing step"
    # a value equal to a threshold belongs to the class above it
    at = step(np.array(thresholds), thresholds, vals).astype(np.float64)
    assert np.allclose(at, np.array(vals[1:], dtype=np.float32))


@settings(max_examples=100, deadline=None)
@given(
    codes=arrays(
        np.float64, st.integers(1, 30), elements=st.sampled_from([10.0, 20.0, 30.0, 40.0, np.nan])
    ),
    default=st.floats(0, 1),
)
def test_categorical_properties(codes: np.ndarray, default: float) -> None:
    table = {20: 1.0, 30: 0.8}
    m = categorical(codes, table, default=default)
    _check_common(codes, m)
    expected = np.where(codes == 20, 1.0, np.where(codes == 30, 0.8, default))
    ok = ~np.isnan(codes)
    assert np.allclose(m[ok], expected[ok].astype(np.float32))


def test_analytic_values() -> None:
    # linear: halfway between low and high
    assert linear(np.array([6.55]), 5.6, 7.5)[0] == pytest.approx(0.5, abs=1e-6)
    # sigmoid at midpoint ± 2 scale: 1/(1+e^-2) = 0.8808
    assert sigmoid(np.array([8.5]), 6.5, 1.0)[0] == pytest.approx(1 / (1 + np.exp(-2)), abs=1e-6)
    # gaussian at 1 sigma: e^-0.5
    assert gaussian(np.array([3.0]), 1.0, 2.0)[0] == pytest.approx(np.exp(-0.5), abs=1e-6)
    # trapezoid ASHRAE-like 15/18/27/32: 16 °C -> 1/3, 30 °C -> 0.4
    t = trapezoid(np.array([16.0, 30.0]), 15.0, 18.0, 27.0, 32.0)
    assert t.tolist() == pytest.approx([1 / 3, 0.4], abs=1e-6)
    # vertical sides include their edge
    assert trapezoid(np.array([5.0, 10.0]), 5.0, 5.0, 10.0, 10.0).tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (linear, (7.0, 5.0)),
        (sigmoid, (1.0, 0.0)),
        (trapezoid, (1.0, 0.5, 2.0, 3.0)),
        (gaussian, (0.0, -1.0)),
        (step, ([2.0, 1.0], [0.0, 0.5, 1.0])),
        (step, ([1.0], [0.0])),
        (step, ([1.0], [0.0, 1.5])),
    ],
)
def test_bad_parameters_raise(func, args) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        func(np.zeros(3), *args)


def test_dask_and_xarray_stay_lazy_and_agree() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 12, size=(40, 50))
    x[3, 4] = np.nan
    eager = linear(x, 5.6, 7.5)
    lazy = linear(da.from_array(x, chunks=(16, 16)), 5.6, 7.5)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.float32
    np.testing.assert_array_equal(lazy.compute(), eager)
    xa = xr.DataArray(da.from_array(x, chunks=(16, 16)), dims=("y", "x"))
    out = sigmoid(xa, 6.5, 0.5)
    assert isinstance(out, xr.DataArray) and isinstance(out.data, da.Array)
    np.testing.assert_array_equal(out.values, sigmoid(x, 6.5, 0.5))
