"""Per-site statistics of raster layers from a label raster, one pass over the blocks.

The label raster (0 = no site, 1..n = site) is in memory or file-backed
(:mod:`geotool.io.mapped`, its pages released after every round); the layers stay lazy and are
read block by block: each dask block is reduced with ``numpy.bincount`` against the matching
window of the labels, and the blocks of every layer at a few positions are reduced in one
``dask.compute`` so shared upstream work (the evaluation graph) runs once while only those
positions are in memory.

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

from geotool.io.mapped import release

Reduction = Literal["mean", "min"]
POSITIONS_PER_ROUND = 2
"""Block positions reduced per ``dask.compute`` in :func:`label_stats` (bounds memory)."""


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
    # unoptimised: the blocks of several layers keep the keys of their shared upstream tasks
    # (one evaluation feeding score and shortfalls), which one dask.compute then runs once
    blocks = data.to_delayed(optimize_graph=False)
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
    # a few block positions at a time: the blocks of every layer at one position share their
    # upstream work (one evaluation), only those positions are in memory, and the per-block
    # partial sums (2 × (n + 1) values each) are folded in at once rather than kept
    totals: dict[str, np.ndarray | None] = dict.fromkeys(tasks)
    rounds = max((len(ts) for ts in tasks.values()), default=0)
    for start in range(0, rounds, POSITIONS_PER_ROUND):
        batch = {name: ts[start : start + POSITIONS_PER_ROUND] for name, ts in tasks.items()}
        computed = dask.compute(*[t for ts in batch.values() for t in ts])
        release(labels)  # a file-backed label raster: drop the windows' pages
        pos = 0
        for name, ts in batch.items():
            parts = computed[pos : pos + len(ts)]
            pos += len(ts)
            if not parts:
                continue
            fold = np.sum if layers[name][1] == "mean" else np.min
            acc = totals[name]
            totals[name] = fold(parts if acc is None else [acc, *parts], axis=0)
    out: dict[str, np.ndarray] = {}
    for name, (_, how) in layers.items():
        total = totals[name]
        if total is None:
            out[name] = np.full(n, np.nan)
        elif how == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                out[name] = np.where(total[1] > 0, total[0] / total[1], np.nan)[1:]
        else:
            out[name] = np.where(np.isfinite(total), total, np.nan)[1:]
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
