"""Array plumbing shared by the resource modules: one kernel, three kinds of input.

Every physical function in :mod:`geotool.resources` is written once as a NumPy kernel over
broadcastable arrays. :func:`apply_pointwise` runs that kernel on scalars, NumPy arrays, dask
arrays or xarray DataArrays (NumPy- or dask-backed) without ever computing a lazy input:
DataArrays go through :func:`xarray.apply_ufunc` with ``dask="parallelized"``, bare dask
arrays through :func:`dask.array.map_blocks`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import dask.array as da
import numpy as np
import xarray as xr

from geotool.errors import InputError

ArrayLike: TypeAlias = Any
"""A scalar, ``numpy.ndarray``, ``dask.array.Array`` or ``xarray.DataArray``."""


def built_once(maxsize: int) -> Callable[[Callable[..., Any]], Any]:
    """``functools.lru_cache`` whose concurrent first calls build the value once.

    The model tables (wind capacity factor over speed, shape and density; PV yield; free
    cooling) take 0.7-2 s each and are first needed inside dask tasks: with a bare
    ``lru_cache`` the threads of the local scheduler each built the same table at once (2 s of
    CPU lost per table on 2 threads). Calls are serialised by one lock; each takes
    microseconds once the table is cached.
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        cached = functools.lru_cache(maxsize=maxsize)(fn)
        lock = threading.Lock()

        @functools.wraps(fn)
        def wrapper(*args: Any) -> Any:
            with lock:
                return cached(*args)

        wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        wrapper.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return wrapper

    return decorate


def is_lazy(value: Any) -> bool:
    """True when ``value`` is (or wraps) a dask array, i.e. reading it would compute."""
    if isinstance(value, xr.DataArray):
        return isinstance(value.data, da.Array)
    return isinstance(value, da.Array)


def apply_pointwise(
    kernel: Callable[..., np.ndarray],
    *args: ArrayLike,
    kwargs: Mapping[str, Any] | None = None,
    dtype: Any = np.float64,
    name: str | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> ArrayLike:
    """Apply an elementwise NumPy ``kernel`` to broadcastable inputs of any supported kind.

    Parameters
    ----------
    kernel
        ``kernel(*numpy_arrays, **kwargs) -> numpy.ndarray`` of the broadcast shape.
    *args
        Scalars, NumPy arrays, dask arrays or DataArrays; broadcast against each other.
    kwargs
        Scalar keyword arguments passed unchanged to every kernel call.
    dtype
        Output dtype (declared to dask before anything is computed).
    name, attrs
        Name and attributes of the result when it is a DataArray.

    Returns
    -------
    The kernel's result in the richest input kind: DataArray > dask array > NumPy; a Python
    ``float`` when every input was a scalar.

    Examples
    --------
    >>> apply_pointwise(np.add, 1.0, np.array([1.0, 2.0]))
    array([2., 3.])
    """
    kw = dict(kwargs or {})
    if any(isinstance(a, xr.DataArray) for a in args):
        # apply_ufunc hands scalars to the kernel unconverted when the DataArrays are
        # NumPy-backed (dask blocks are always arrays): make every argument an ndarray
        out = xr.apply_ufunc(
            functools.partial(_call, kernel, kw),
            *args,
            dask="parallelized",
            output_dtypes=[dtype],
            keep_attrs=False,
        )
        if name is not None:
            out = out.rename(name)
        if attrs:
            out.attrs.update(attrs)
        return out
    if any(isinstance(a, da.Array) for a in args):
        arrays = [a if isinstance(a, da.Array) else da.asarray(np.asarray(a)) for a in args]
        arrays = list(da.broadcast_arrays(*arrays))
        return da.map_blocks(_call, kernel, kw, *arrays, dtype=dtype)
    arrays_np = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args])
    result = np.asarray(kernel(*arrays_np, **kw), dtype=dtype)
    if result.ndim == 0 and all(np.ndim(a) == 0 for a in args):
        return result.item()
    return result


def _call(kernel: Callable[..., np.ndarray], kw: dict[str, Any], *blocks: Any) -> Any:
    return kernel(*(np.asarray(b) for b in blocks), **kw)


def check_range(
    value: ArrayLike,
    lo: float,
    hi: float,
    *,
    where: str,
    units: str,
    fix: str,
    error: type[InputError] = InputError,
) -> None:
    """Raise ``error`` when a concrete (non-lazy) input has finite values outside ``[lo, hi]``.

    Lazy inputs are not checked here (that would compute them); the kernels turn their
    out-of-range values into NaN instead, and the catalog's range checks guard the stack.
    """
    if value is None or is_lazy(value):
        return
    arr = np.asarray(value.values if isinstance(value, xr.DataArray) else value, dtype=float)
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmin < lo or vmax > hi:
        shown = f"{vmin:g}" if vmin < lo else f"{vmax:g}"
        raise error(
            f"value {shown} {units} is outside {lo:g}..{hi:g} {units}", where=where, fix=fix
        )


def as_float(value: ArrayLike) -> ArrayLike:
    """Concrete numbers become float ndarrays; lazy and labelled inputs pass through."""
    if isinstance(value, xr.DataArray | da.Array):
        return value
    return np.asarray(value, dtype=float)
