"""Per-site statistics of raster layers from a label raster, one pass over the blocks.

The label raster (int32, 0 = no site, 1..n = site) is held in memory; the layers stay lazy
and are read block by block: each dask block is reduced with ``numpy.bincount`` against the
matching window of the labels, and every layer of one call is reduced in a single
``dask.compute`` so shared upstream work (the evaluation graph) runs once.

Examples
--------
>>> import numpy as np, xarray as xr
>>> labels = np.array([[1, 1, 0], [2, 2, 2]], dtype=np.int32)
>>> v = xr.DataArray(np.array([[1.0, 3.0, 9.0], [4.0, np.nan, 6.0]]), dims=("y", "x"))
>>> label_stats({"v": (v, "mean"), "v_min": (v, "min")}, labels, 2).round(2).values.tolist()
[[2.0, 1.0], [5.0, 4.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import accumulate, product
from typing import Any, Literal

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

Reduction = Literal["mean", "min"]


def _data(arr: xr.DataArray | np.ndarray | da.Array) -> Any:
    if isinstance(arr, xr.DataArray):
        return arr.transpose("y", "x").data
    return arr


def block_slices(arr: xr.DataArray | np.ndarray | da.Array) -> list[tuple[slice, slice]]:
    """Row and column slices of the blocks, in the order :func:`block_tasks` yields them."""
    data = _data(arr)
    if not isinstance(data, da.Array):
        return [(slice(0, data.shape[0]), slice(0, data.shape[1]))]
    ys = [0, *accumulate(data.chunks[0])]
    xs = [0, *accumulate(data.chunks[1])]
    return [
        (slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1]))
        for i, j in product(range(len(ys) - 1), range(len(xs) - 1))
    ]


def block_tasks(
    arr: xr.DataArray | np.ndarray | da.Array,
    func: Callable[..., Any],
    labels: np.ndarray | None = None,
) -> Iterator[Any]:
    """``func(block, labels_window)`` for every block: delayed for dask, direct otherwise.

    Feed the results of several calls to one ``dask.compute`` to share upstream work.
    """
    data = _data(arr)
    if not isinstance(data, da.Array):
        block = np.asarray(data)
        yield func(block, labels) if labels is not None else func(block)
        return
    blocks = data.to_delayed()
    call = dask.delayed(func, pure=False)  # do not hash the label windows for task keys
    nx = blocks.shape[1]
    for k, (ys, xs) in enumerate(block_slices(data)):
        block = blocks[k // nx, k % nx]
        yield call(block) if labels is None else call(block, labels[ys, xs])


def _mean_kernel(values: np.ndarray, labels: np.ndarray, *, n: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    ok = (labels > 0) & np.isfinite(v)
    lab = labels[ok]
    sums = np.bincount(lab, weights=v[ok], minlength=n + 1)
    counts = np.bincount(lab, minlength=n + 1).astype(np.float64)
    return np.stack([sums, counts])


def _min_kernel(values: np.ndarray, labels: np.ndarray, *, n: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    ok = (labels > 0) & np.isfinite(v)
    out = np.full(n + 1, np.inf)
    np.minimum.at(out, labels[ok], v[ok])
    return out


class _Partial:
    """Picklable ``functools.partial`` stand-in with a readable dask key name."""

    def __init__(self, func: Callable[..., np.ndarray], n: int) -> None:
        self.func, self.n = func, n
        self.__name__ = func.__name__.strip("_")

    def __call__(self, values: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return self.func(values, labels, n=self.n)


def label_stats(
    layers: Mapping[str, tuple[xr.DataArray, Reduction]], labels: np.ndarray, n: int
) -> pd.DataFrame:
    """Mean or minimum of each layer over the pixels of each label 1..n.

    Parameters
    ----------
    layers
        ``{column: (DataArray on the label grid, "mean" | "min")}``; NaN pixels are skipped.
    labels
        int32 label raster of the grid's shape, 0 = background.
    n
        Highest label.

    Returns
    -------
    pandas.DataFrame
        Index 1..n, one column per layer; NaN where a label has no valid pixel.
    """
    tasks: dict[str, list[Any]] = {}
    for name, (arr, how) in layers.items():
        if tuple(arr.shape) != tuple(labels.shape):
            raise ValueError(f"layer {name} shape {arr.shape} != labels {labels.shape}")
        kernel = _Partial(_mean_kernel if how == "mean" else _min_kernel, n)
        tasks[name] = list(block_tasks(arr, kernel, labels))
    flat = [t for ts in tasks.values() for t in ts]
    computed = list(dask.compute(*flat)) if flat else []
    out: dict[str, np.ndarray] = {}
    pos = 0
    for name, (_, how) in layers.items():
        parts = computed[pos : pos + len(tasks[name])]
        pos += len(tasks[name])
        if how == "mean":
            total = np.sum(parts, axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[name] = np.where(total[1] > 0, total[0] / total[1], np.nan)[1:]
        else:
            low = np.min(parts, axis=0)
            out[name] = np.where(np.isfinite(low), low, np.nan)[1:]
    return pd.DataFrame(out, index=pd.RangeIndex(1, n + 1, name="label"))


def sample_pixels(arr: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values of ``arr`` at pixel indices (NaN outside the grid), reading only those blocks."""
    data = _data(arr)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    out = np.full(rows.shape, np.nan)
    inside = (rows >= 0) & (cols >= 0) & (rows < data.shape[0]) & (cols < data.shape[1])
    if inside.any():
        if isinstance(data, da.Array):
            vals = data.vindex[rows[inside], cols[inside]].compute()
        else:
            vals = np.asarray(data)[rows[inside], cols[inside]]
        out[inside] = np.asarray(vals, dtype=np.float64)
    return out
