"""Membership functions: physical values -> degree of suitability in 0..1.

Each function takes a value in the criterion's physical units (m/s, kWh/kWp/yr, m, °C ...)
and returns float32 memberships in ``[0, 1]``; NaN (no data) in gives NaN out. They accept a
NumPy array, a dask array or an ``xarray.DataArray`` and return the same kind: NumPy work is
done in one vectorised kernel per block, so dask inputs stay lazy and chunk-local.

Examples
--------
>>> import numpy as np
>>> linear(np.array([4.0, 6.0, 9.0, np.nan]), 5.0, 7.0)
array([0. , 0.5, 1. , nan], dtype=float32)
>>> trapezoid(np.array([10.0, 20.0, 30.0]), 15.0, 18.0, 27.0, 32.0)
array([0. , 1. , 0.4], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any, TypeVar

import dask.array as da
import numpy as np
import xarray as xr
from scipy.special import expit

Values = TypeVar("Values", np.ndarray, da.Array, xr.DataArray)
"""An array of physical values: NumPy, dask or xarray (the result has the same type)."""

SIGMOID_TAIL = 9.21
"""Logistic tail in units of ``scale``: beyond ``midpoint ± 9.21·scale`` the sigmoid is within
1e-4 of 0 or 1 (ln(1e4) = 9.21). Used to size distance layers, see :func:`reach`."""

GAUSSIAN_TAIL = 4.29
"""Gaussian tail in units of ``sigma``: beyond ``center ± 4.29·sigma`` the membership is below
1e-4 (sqrt(2·ln 1e4) = 4.29)."""


def _apply(kernel: Callable[..., np.ndarray], x: Values, **params: Any) -> Values:
    """Run a NumPy kernel on NumPy, dask or xarray input, lazily for dask."""
    if isinstance(x, xr.DataArray):
        out = xr.apply_ufunc(
            kernel,
            x,
            kwargs=params,
            dask="parallelized",
            output_dtypes=[np.float32],
        )
        return out
    if isinstance(x, da.Array):
        return x.map_blocks(kernel, dtype=np.float32, **params)  # type: ignore[arg-type]
    return kernel(np.asarray(x), **params)


def _as_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _work_array(x: np.ndarray) -> np.ndarray:
    """``x`` as float32 (stack layers already are) or float64 (other inputs keep their
    precision): the dtype kernels compute in."""
    x = np.asarray(x)
    return x if x.dtype == np.float32 else np.asarray(x, dtype=np.float64)


def _linear_kernel(x: np.ndarray, *, low: float, high: float, increasing: bool) -> np.ndarray:
    v = _work_array(x)
    # in place on one buffer of the input's dtype: 4 passes, no temporaries (float32 for
    # stack layers: memberships are stored as float32 in any case)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # extreme params: inf→clip
        m = np.subtract(v, v.dtype.type(low))
        np.divide(m, v.dtype.type(high - low), out=m)
        np.clip(m, 0.0, 1.0, out=m)
    if not increasing:
        np.subtract(1.0, m, out=m)
    return m.astype(np.float32, copy=False)


def linear(x: Values, low: float, high: float, *, increasing: bool = True) -> Values:
    """Linear ramp between ``low`` and ``high`` (same units as ``x``).

    Increasing: 0 at or below ``low``, 1 at or above ``high``; decreasing is the mirror image
    (1 at or below ``low``, 0 at or above ``high``).

    >>> linear(np.array([0.0, 5_000.0, 20_000.0]), 1_000.0, 11_000.0, increasing=False)
    array([1. , 0.6, 0. ], dtype=float32)
    """
    if not high > low:
        raise ValueError(f"linear membership needs low < high, got {low} and {high}")
    return _apply(_linear_kernel, x, low=float(low), high=float(high), increasing=increasing)


def _sigmoid_kernel(
    x: np.ndarray, *, midpoint: float, scale: float, increasing: bool
) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = (_as_float(x) - midpoint) / scale
        return np.asarray(expit(z if increasing else -z), dtype=np.float32)


def sigmoid(x: Values, midpoint: float, scale: float, *, increasing: bool = True) -> Values:
    """Logistic curve ``1 / (1 + exp(-(x - midpoint) / scale))`` (or its mirror when decreasing).

    ``midpoint`` (membership 0.5) and ``scale`` (> 0) are in the units of ``x``; membership goes
    from 0.12 to 0.88 over ``midpoint ± 2·scale``.

    >>> sigmoid(np.array([6.5, 8.5]), 6.5, 1.0).round(3)
    array([0.5  , 0.881], dtype=float32)
    """
    if not scale > 0:
        raise ValueError(f"sigmoid membership needs scale > 0, got {scale}")
    return _apply(
        _sigmoid_kernel, x, midpoint=float(midpoint), scale=float(scale), increasing=increasing
    )


def _trapezoid_kernel(x: np.ndarray, *, a: float, b: float, c: float, d: float) -> np.ndarray:
    v = _as_float(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        rise = np.where(v >= b, 1.0, (v - a) / (b - a)) if b > a else np.where(v >= a, 1.0, 0.0)
        fall = np.where(v <= c, 1.0, (d - v) / (d - c)) if d > c else np.where(v <= d, 1.0, 0.0)
    m = np.clip(np.minimum(rise, fall), 0.0, 1.0)
    return np.where(np.isnan(v), np.nan, m).astype(np.float32)


def trapezoid(x: Values, a: float, b: float, c: float, d: float) -> Values:
    """Trapezoid: 0 below ``a``, rising to 1 at ``b``, 1 up to ``c``, falling to 0 at ``d``.

    Needs ``a <= b <= c <= d`` and ``a < d``. A vertical side (``a == b`` or ``c == d``) is a
    step that includes its edge: ``trapezoid(a, a, a, c, d) == 1``.

    >>> trapezoid(np.array([16.0, 18.0, 30.0]), 15.0, 18.0, 27.0, 32.0).round(3)
    array([0.333, 1.   , 0.4  ], dtype=float32)
    """
    if not (a <= b <= c <= d and a < d):
        raise ValueError(f"trapezoid membership needs a <= b <= c <= d and a < d, got {a, b, c, d}")
    return _apply(_trapezoid_kernel, x, a=float(a), b=float(b), c=float(c), d=float(d))


def _gaussian_kernel(x: np.ndarray, *, center: float, sigma: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        z = (_as_float(x) - center) / sigma
        return np.exp(-0.5 * z * z).astype(np.float32)


def gaussian(x: Values, center: float, sigma: float) -> Values:
    """Bell curve ``exp(-(x - center)² / (2·sigma²))``: 1 at ``center``, 0.61 at ``± sigma``.

    >>> gaussian(np.array([22.5, 24.5]), 22.5, 2.0).round(3)
    array([1.   , 0.607], dtype=float32)
    """
    if not sigma > 0:
        raise ValueError(f"gaussian membership needs sigma > 0, got {sigma}")
    return _apply(_gaussian_kernel, x, center=float(center), sigma=float(sigma))


def _step_kernel(
    x: np.ndarray, *, thresholds: tuple[float, ...], values: tuple[float, ...]
) -> np.ndarray:
    v = _as_float(x)
    idx = np.searchsorted(np.asarray(thresholds), v, side="right")
    out = np.asarray(values, dtype=np.float64)[np.minimum(idx, len(values) - 1)]
    return np.where(np.isnan(v), np.nan, out).astype(np.float32)


def step(x: Values, thresholds: Sequence[float], values: Sequence[float]) -> Values:
    """Piecewise-constant classes: ``values[i]`` for ``thresholds[i-1] <= x < thresholds[i]``.

    ``thresholds`` strictly ascending; ``values`` one longer, each in 0..1. A value equal to a
    threshold belongs to the class above it.

    >>> step(np.array([0.5, 1.0, 7.0]), [1.0, 5.0], [1.0, 0.5, 0.0])
    array([1. , 0.5, 0. ], dtype=float32)
    """
    t = tuple(float(v) for v in thresholds)
    vals = tuple(float(v) for v in values)
    if len(t) < 1 or any(b <= a for a, b in pairwise(t)):
        raise ValueError(f"step membership needs strictly ascending thresholds, got {t}")
    if len(vals) != len(t) + 1:
        raise ValueError(f"step membership needs {len(t) + 1} values, got {len(vals)}")
    if any(not 0.0 <= v <= 1.0 for v in vals):
        raise ValueError(f"step membership values must lie in 0..1, got {vals}")
    return _apply(_step_kernel, x, thresholds=t, values=vals)


def _categorical_kernel(
    x: np.ndarray, *, table: tuple[tuple[float, float], ...], default: float
) -> np.ndarray:
    v = _work_array(x)
    out = np.full(v.shape, default, dtype=np.float32)
    hit = np.empty(v.shape, dtype=bool)
    for code, value in table:  # a loop over classes (a dozen), not over pixels
        np.equal(v, code, out=hit)
        np.copyto(out, np.float32(value), where=hit)
    np.isnan(v, out=hit)
    np.copyto(out, np.float32(np.nan), where=hit)
    return out


def categorical(x: Values, table: Mapping[int, float], *, default: float = 0.0) -> Values:
    """Class codes -> membership from a table; codes not in the table get ``default``.

    >>> categorical(np.array([20.0, 30.0, 40.0, np.nan]), {20: 1.0, 30: 0.8})
    array([1. , 0.8, 0. , nan], dtype=float32)
    """
    items = tuple((float(k), float(v)) for k, v in table.items())
    if any(not 0.0 <= v <= 1.0 for _, v in items) or not 0.0 <= default <= 1.0:
        raise ValueError("categorical membership values must lie in 0..1")
    return _apply(_categorical_kernel, x, table=items, default=float(default))
