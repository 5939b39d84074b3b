"""Slope and aspect of a DEM, on metric grids and on geographic (lon/lat) grids.

Gradients use Horn's (1981) 3×3 weighted finite differences, the method of GDAL
``gdaldem`` and ArcGIS. On a geographic CRS the pixel size in metres is computed per row
from the ellipsoid — east-west ``Δλ · N(φ) cos φ``, north-south ``Δφ · M(φ)`` with the prime
vertical and meridional radii of curvature — instead of treating degrees as metres.

The outermost rows and columns are extrapolated linearly (odd reflection), so a plane has
the same slope at the edges as inside. Dask arrays are processed with ``map_overlap``
(depth 1): nothing is computed until asked.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from pyproj import CRS

from geotool.errors import CRSError, CRSMismatchError, InputError
from geotool.resources._array import ArrayLike


def _pad_linear(a: Any) -> Any:
    """Pad one row/column on each side by linear extrapolation (odd reflection)."""
    if isinstance(a, da.Array):
        top, bottom = 2 * a[:1] - a[1:2], 2 * a[-1:] - a[-2:-1]
        a = da.concatenate([top, a, bottom], axis=0)
        left, right = 2 * a[:, :1] - a[:, 1:2], 2 * a[:, -1:] - a[:, -2:-1]
        return da.concatenate([left, a, right], axis=1)
    return np.pad(a, 1, mode="reflect", reflect_type="odd")


def _horn_block(z: np.ndarray, axis: int) -> np.ndarray:
    """Horn gradient per pixel step along columns (axis 1) or rows (axis 0).

    The output has the block's shape; its outer ring is NaN (no full 3×3 window there).
    Horn's weights skip the centre pixel, so a NaN centre is carried over explicitly: no
    elevation, no slope (gdaldem writes nodata there too).
    """
    out = np.full(z.shape, np.nan)
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, e, f = z[1:-1, :-2], z[1:-1, 1:-1], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    if axis == 1:
        step = ((c + 2 * f + i) - (a + 2 * d + g)) / 8.0
    else:
        step = ((g + 2 * h + i) - (a + 2 * b + c)) / 8.0
    out[1:-1, 1:-1] = np.where(np.isnan(e), np.nan, step)
    return out


def _gradient_steps(z: Any) -> tuple[Any, Any]:
    """dz per column step and dz per row step (same units as ``z``), lazily for dask."""
    if z.ndim != 2 or min(z.shape) < 2:
        raise InputError(
            f"a DEM must be a 2-D array of at least 2×2 pixels, got shape {z.shape}",
            where="dem",
            fix="pass a (rows, cols) raster",
        )
    padded = _pad_linear(z.astype(np.float64))
    if isinstance(padded, da.Array):
        steps = [
            padded.map_overlap(_horn_block, depth=1, boundary="none", axis=axis, dtype=np.float64)
            for axis in (1, 0)
        ]
    else:
        steps = [_horn_block(padded, axis) for axis in (1, 0)]
    return steps[0][1:-1, 1:-1], steps[1][1:-1, 1:-1]


def _ellipsoid(crs: CRS) -> tuple[float, float]:
    ell = crs.ellipsoid
    if ell is None:
        return 6_378_137.0, 1 / 298.257223563  # WGS 84
    a = float(ell.semi_major_metre)
    inv_f = float(ell.inverse_flattening or 0.0)
    return a, (1.0 / inv_f if inv_f else 0.0)


def _row_spacing_m(x: np.ndarray, y: np.ndarray, crs: CRS | None) -> tuple[np.ndarray, np.ndarray]:
    """Signed metres per column step (east +) and per row step (north +), one value per row."""
    dx, dy = _regular_step(x, "x"), _regular_step(y, "y")
    if crs is not None and crs.is_geographic:
        a, f = _ellipsoid(crs)
        e2 = f * (2 - f)
        phi = np.radians(np.asarray(y, dtype=float))
        w = np.sqrt(1 - e2 * np.sin(phi) ** 2)
        prime_vertical = a / w  # N(φ)
        meridional = a * (1 - e2) / w**3  # M(φ)
        return np.radians(dx) * prime_vertical * np.cos(phi), np.radians(dy) * meridional
    unit = 1.0
    if crs is not None and crs.axis_info:
        unit = float(crs.axis_info[0].unit_conversion_factor or 1.0)
    return np.full(len(y), dx * unit), np.full(len(y), dy * unit)


def _regular_step(coord: np.ndarray, label: str) -> float:
    c = np.asarray(coord, dtype=float)
    if c.size < 2:
        raise InputError(f"{label} coordinate has fewer than 2 values", where="dem")
    steps = np.diff(c)
    if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
        raise InputError(
            f"{label} coordinates are not evenly spaced",
            where="dem",
            fix="reproject the DEM to a regular grid first",
        )
    return float(steps[0])


def _resolve_crs(dem: Any, crs: Any) -> CRS | None:
    given = CRS.from_user_input(crs) if crs is not None else None
    found = None
    if isinstance(dem, xr.DataArray):
        try:
            import rioxarray  # noqa: F401  (registers the .rio accessor)

            found = dem.rio.crs
        except Exception:  # no accessor or no CRS written
            found = None
        found = CRS.from_user_input(found) if found is not None else None
    if given is not None and found is not None and not given.equals(found):
        raise CRSMismatchError(
            f"crs argument {given.to_string()} differs from the DEM's {found.to_string()}",
            where="dem",
            fix="drop the crs argument or reproject the DEM",
        )
    return given or found


def surface_gradient(
    dem: ArrayLike,
    *,
    crs: Any = None,
    x: Any = None,
    y: Any = None,
    spacing_m: tuple[float, float] | None = None,
) -> tuple[ArrayLike, ArrayLike]:
    """Terrain gradient ``(dz/dx east, dz/dy north)`` in metres per metre.

    Parameters
    ----------
    dem
        Elevation in metres: a 2-D NumPy or dask array, or a DataArray with ``y``/``x`` coords.
    crs
        CRS of the coordinates; for a DataArray taken from ``dem.rio.crs`` when not given.
        Geographic CRSs (e.g. EPSG:4326) get per-row metric pixel sizes.
    x, y
        Pixel-centre coordinates for plain arrays (default: the DataArray's coords).
    spacing_m
        ``(dx, dy)`` pixel size in metres for plain metric arrays whose first row is the
        northernmost, instead of ``x``/``y``/``crs``.
    """
    if isinstance(dem, xr.DataArray):
        if "x" not in dem.coords or "y" not in dem.coords:
            raise InputError(
                "the DEM DataArray has no x / y coordinates",
                where="dem",
                fix="build it with x and y pixel-centre coordinates",
            )
        x = dem["x"].values if x is None else x
        y = dem["y"].values if y is None else y
        data = dem.transpose("y", "x").data
    else:
        data = dem if isinstance(dem, da.Array) else np.asarray(dem, dtype=float)
    resolved = _resolve_crs(dem, crs)
    if spacing_m is not None:
        dx_m, dy_m = (float(v) for v in spacing_m)
        if not (dx_m > 0 and dy_m > 0):
            raise InputError(
                f"spacing_m = {spacing_m} must be two positive numbers",
                where="spacing_m",
                fix="e.g. spacing_m=(30, 30)",
            )
        per_col, per_row = np.full(data.shape[0], dx_m), np.full(data.shape[0], -dy_m)
    elif x is not None and y is not None:
        if isinstance(dem, xr.DataArray) and resolved is None:
            raise CRSError(
                "the DEM has no CRS, so its pixel size in metres is unknown",
                where="dem",
                fix="pass crs=... or write one with dem.rio.write_crs(...)",
            )
        if resolved is not None and not resolved.is_geographic and not resolved.is_projected:
            raise CRSError(
                f"CRS {resolved.to_string()} is neither geographic nor projected", where="dem"
            )
        per_col, per_row = _row_spacing_m(np.asarray(x), np.asarray(y), resolved)
    else:
        raise InputError(
            "the DEM's pixel size is unknown",
            where="dem",
            fix="pass a DataArray with x/y coords and a CRS, or spacing_m=(dx, dy)",
        )
    d_col, d_row = _gradient_steps(data)
    gx = d_col / per_col[:, None]
    gy = d_row / per_row[:, None]
    if isinstance(dem, xr.DataArray):
        template = dem.transpose("y", "x")
        return template.copy(data=gx), template.copy(data=gy)
    return gx, gy


def slope_degrees(
    dem: ArrayLike,
    *,
    crs: Any = None,
    x: Any = None,
    y: Any = None,
    spacing_m: tuple[float, float] | None = None,
) -> ArrayLike:
    """Terrain slope in degrees (0 = flat, 90 = vertical), Horn's method.

    See :func:`surface_gradient` for the parameters.

    Examples
    --------
    >>> xs = np.arange(5) * 10.0
    >>> plane = np.tile(xs * np.tan(np.radians(20.0)), (5, 1))   # rises 20° to the east
    >>> round(float(slope_degrees(plane, spacing_m=(10, 10))[2, 2]), 6)
    20.0
    """
    gx, gy = surface_gradient(dem, crs=crs, x=x, y=y, spacing_m=spacing_m)
    out = np.degrees(np.arctan(np.hypot(gx, gy)))
    return _label(out, "slope", "terrain slope", "degree")


def aspect_degrees(
    dem: ArrayLike,
    *,
    crs: Any = None,
    x: Any = None,
    y: Any = None,
    spacing_m: tuple[float, float] | None = None,
    flat_value: float = np.nan,
) -> ArrayLike:
    """Direction the slope faces (downhill), degrees clockwise from north (0..360).

    90 = east-facing, 180 = south-facing. Exactly flat pixels get ``flat_value``
    (default NaN). On a projected grid "north" is grid north.

    Examples
    --------
    >>> xs = np.arange(5) * 10.0
    >>> plane = np.tile(xs * 0.1, (5, 1))                 # rises to the east, faces west
    >>> float(aspect_degrees(plane, spacing_m=(10, 10))[2, 2])
    270.0
    """
    gx, gy = surface_gradient(dem, crs=crs, x=x, y=y, spacing_m=spacing_m)
    angle = np.degrees(np.arctan2(-gx, -gy)) % 360.0
    flat = (gx == 0) & (gy == 0)
    if isinstance(angle, xr.DataArray):
        out: Any = angle.where(~flat, flat_value)
    elif isinstance(angle, da.Array):
        out = da.where(flat, flat_value, angle)
    else:
        out = np.where(flat, flat_value, angle)
    return _label(out, "aspect", "terrain aspect (downslope direction, from north)", "degree")


def _label(out: Any, name: str, long_name: str, units: str) -> Any:
    if isinstance(out, xr.DataArray):
        out = out.rename(name)
        out.attrs = {"units": units, "long_name": long_name}
    return out
