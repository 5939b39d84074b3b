"""Exclusion masks of constraints on a stack, and the minimum-contiguous-area filter.

Every function returns lazy ``xarray.DataArray`` booleans when the stack is dask-backed.
A constraint yields two masks: ``excluded`` (the rule removes the pixel) and ``valid`` (its
input has data there). A pixel whose constraint input is NaN is not excluded by that rule but
has no score.

Examples
--------
>>> import numpy as np, xarray as xr
>>> from geotool.suitability.specs import VectorConstraint
>>> d = xr.DataArray(np.array([[0.0, 999.0, 1000.0, 1001.0]]), dims=("y", "x"))
>>> ds = xr.Dataset({"settlements_distance_m": d})  # a distance layer stands in for the zone
>>> excl, ok = constraint_masks(ds, VectorConstraint("s", "settlements", buffer_m=1000.0))
>>> excl.values.tolist()
[[True, True, True, False]]
"""

from __future__ import annotations

from functools import partial

import dask.array as da
import numpy as np
import xarray as xr
from scipy import ndimage

from geotool.errors import InputError
from geotool.suitability.specs import (
    ClassConstraint,
    Constraint,
    MinAreaConstraint,
    RangeConstraint,
    VectorConstraint,
)


def constraint_masks(stack: xr.Dataset, c: Constraint) -> tuple[xr.DataArray, xr.DataArray]:
    """``(excluded, valid)`` boolean masks of one (non-min-area) constraint."""
    if isinstance(c, MinAreaConstraint):
        raise TypeError("min_area constraints act on the eligible mask: use small_patches()")
    var = constraint_variable(stack, c)
    hit, valid = xr.apply_ufunc(
        constraint_block,
        stack[var],
        kwargs={"c": c, "distance": var != c.variable},
        output_core_dims=[[], []],
        dask="parallelized",
        output_dtypes=[bool, bool],
    )
    return hit.rename(c.name), valid


def constraint_block(
    x: np.ndarray, c: Constraint, distance: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """NumPy ``(excluded, valid)`` of constraint ``c`` on the values ``x`` of its variable
    (``distance``: ``x`` is the distance layer standing in for a buffer zone)."""
    x = np.asarray(x)
    valid = ~np.isnan(x)
    if isinstance(c, RangeConstraint):
        ok = valid.copy()
        if c.min is not None:
            ok &= (x >= c.min) if c.min_inclusive else (x > c.min)
        if c.max is not None:
            ok &= (x <= c.max) if c.max_inclusive else (x < c.max)
        hit = ~ok
    elif isinstance(c, ClassConstraint):
        listed = np.isin(x, sorted(c.codes))
        hit = listed if c.mode == "exclude" else ~listed
    elif isinstance(c, VectorConstraint):
        # buffer > 0: exact disc / rounded corridor (pixel centres within the buffer: the
        # zone layer, or a distance layer); buffer == 0: the features themselves (mask:
        # centre inside polygon, line/point touch)
        zone = (x <= c.buffer_m) if distance else (x > 0.5)
        hit = zone if c.exclude == "inside" else ~zone
    else:
        raise TypeError(f"constraint_block cannot apply {type(c).__name__}")
    hit &= valid
    return hit, valid


def constraint_variable(stack: xr.Dataset, c: Constraint) -> str:
    """The stack variable a constraint reads: its own, or for a buffered vector constraint
    the layer's distance when the stack has no zone variable."""
    var = c.variable
    if (
        isinstance(c, VectorConstraint)
        and c.buffer_m > 0
        and var not in stack.data_vars
        and c.distance_variable in stack.data_vars
    ):
        return c.distance_variable
    if var is None:
        raise TypeError(f"constraint {c.name!r} reads no single variable")
    return var


def pixel_area_m2(stack: xr.Dataset) -> float:
    """Area of one pixel from the x/y coordinate spacing (or ``stack.attrs['grid']``)."""
    grid = stack.attrs.get("grid")
    if grid is not None and hasattr(grid, "pixel_area"):
        return float(grid.pixel_area)
    try:
        dx = abs(float(stack["x"][1] - stack["x"][0]))
        dy = abs(float(stack["y"][1] - stack["y"][0]))
    except (KeyError, IndexError) as exc:
        raise InputError(
            "cannot tell the pixel size: the stack has no x/y coordinates of length ≥ 2",
            where="stack",
            fix="build the stack on the analysis grid (it sets attrs['grid'])",
        ) from exc
    return dx * dy


def _small_patch_kernel(
    eligible: np.ndarray, *, min_area_m2: float, pixel_area_m2: float, connectivity: int
) -> np.ndarray:
    structure = ndimage.generate_binary_structure(2, 2 if connectivity == 8 else 1)
    labels, n = ndimage.label(eligible, structure=structure, output=np.int32)
    if n == 0:
        return np.zeros(eligible.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    small = sizes * pixel_area_m2 < min_area_m2
    small[0] = False  # background
    return np.asarray(small[labels])


def small_patches(eligible: xr.DataArray, c: MinAreaConstraint, pixel_area: float) -> xr.DataArray:
    """Pixels of eligible patches smaller than ``c.min_area_km2`` (True = to exclude).

    Not chunk-local: a dask mask is rechunked to one block and labelled in one task
    (``scipy.ndimage.label`` on the uint8-sized mask plus int32 labels, about 5 bytes per
    pixel), then rechunked back; the result stays lazy.

    >>> m = xr.DataArray(np.array([[1, 1, 0, 1], [1, 1, 0, 0]], dtype=bool), dims=("y", "x"))
    >>> small_patches(m, MinAreaConstraint("a", 0.03), 100.0 * 100.0).values.astype(int).tolist()
    [[0, 0, 0, 1], [0, 0, 0, 0]]
    """
    kernel = partial(
        _small_patch_kernel,
        min_area_m2=c.min_area_km2 * 1e6,
        pixel_area_m2=float(pixel_area),
        connectivity=int(c.connectivity),
    )
    data = eligible.data
    if isinstance(data, da.Array):
        out = data.rechunk(-1).map_blocks(kernel, dtype=bool).rechunk(data.chunks)
    else:
        out = kernel(np.asarray(data, dtype=bool))
    return eligible.copy(data=out).rename(c.name)
