"""Boundary checks of raster values: read part of a source and judge it by the catalog.

Two readers, both bounded in memory and both restricted to the part of the source that covers
the analysis grid (a global file is judged by the study region, not by the rest of the world):

- :func:`scan_values` — ``geotool check``: every block row of the region window, decimated
  past a pixel budget; returns min, max and the share of valid pixels.
- :func:`preflight_values` — before any heavy work in every command that loads a stack: an
  8 × 8 lattice of small windows (a few MB of I/O whatever the file's size), so that a layer
  in the wrong units, with foreign class codes or with no valid value over the region fails
  in a second instead of after the pipeline has run. Every pixel is checked again when it is
  warped (:func:`geotool.io.raster.clean_values`).

Examples
--------
>>> src = open_raster("wind_kmh.tif")                       # doctest: +SKIP
>>> preflight_values(src, get_layer("wind_speed_100m"), grid)  # doctest: +SKIP
Traceback (most recent call last):
ValueRangeError: wind_kmh.tif: wind_speed_100m values 18..29 fall outside its valid range
0..20 m/s — are the values in km/h? set units = "km/h" in its [layers] entry
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import rasterio
import rasterio.windows
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioError
from rasterio.windows import Window

from geotool.catalog import LayerSpec
from geotool.errors import UnreadableFileError, ValueRangeError
from geotool.grid import Grid
from geotool.io.raster import (
    GDAL_CACHE_BYTES,
    RasterSource,
    clean_values,
    grid_bounds_in_source,
    seam_free,
)

PREFLIGHT_SAMPLES = 8
"""Sample windows per side read by :func:`preflight_values`."""
PREFLIGHT_WINDOW = 64
"""Edge of each sample window, pixels (one or at most four 256/512-pixel tiles decoded)."""


@contextmanager
def _reading(src: RasterSource) -> Iterator[rasterio.io.DatasetReader]:
    """Open the source; a damaged file becomes an error naming it."""
    try:
        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES), rasterio.open(src.open_path) as ds:
            yield ds
    except (RasterioError, CPLE_BaseError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFileError(
            f"cannot be read ({text})",
            where=src.label,
            fix="the file is damaged: re-download or re-export it",
        ) from exc


def region_window(ds: rasterio.io.DatasetReader, src: RasterSource, grid: Grid | None) -> Window:
    """The source pixels that cover ``grid`` (one pixel of margin for resampling).

    The grid's bounds are carried into the source CRS and longitude range (a 0..360 global
    file under a region west of Greenwich), and a south-up source is read the same way.
    """
    full = Window(0, 0, ds.width, ds.height)
    if grid is None:
        return full
    try:
        placed = grid_bounds_in_source(src.crs, src.bounds, grid, src.label)
        if placed is None:
            return full
        (left, bottom, right, top), _ = placed
        if ds.transform.e > 0:  # south-up: rows grow northwards
            bottom, top = top, bottom
        win = rasterio.windows.from_bounds(left, bottom, right, top, transform=ds.transform)
        win = Window(win.col_off - 1, win.row_off - 1, win.width + 2, win.height + 2)
        win = win.round_offsets(op="floor").round_lengths(op="ceil")
        return full.intersection(win)
    except Exception:  # a rotated transform, or no intersection: judge the whole file
        return full


def scan_values(
    src: RasterSource, spec: LayerSpec, grid: Grid | None = None, *, max_pixels: int = 4_000_000
) -> dict[str, float]:
    """Read the source's region window once (decimated past ``max_pixels``); check its values.

    Returns
    -------
    dict
        ``min``, ``max``, ``mean`` (catalog units) and ``valid_share`` (0..1) of the pixels
        read.

    Raises
    ------
    geotool.errors.ValueRangeError
        Values outside the catalog's range or class list, infinite values, or no valid
        value in the window (a decimated read that finds none is confirmed at full resolution
        first, so sparse layers are not refused).
    geotool.errors.UnreadableFileError
        A damaged block.
    """
    if grid is not None:
        src = seam_free(src, grid)
    stats = _scan(src, spec, grid, max_pixels)
    if stats["valid_share"] == 0 and stats["step"] > 1:
        stats = _scan(src, spec, grid, None)
    if stats["valid_share"] == 0:
        raise ValueRangeError(
            f"{spec.name} holds no valid values"
            + (" over the study region" if grid is not None else "")
            + " (all no-data)",
            where=src.label,
            fix="check that the file covers the region and that its nodata value is right",
        )
    return {k: float(stats[k]) for k in ("min", "max", "mean", "valid_share")}


def _scan(
    src: RasterSource, spec: LayerSpec, grid: Grid | None, max_pixels: int | None
) -> dict[str, Any]:
    lo, hi, n_valid, n_total, step, total = np.inf, -np.inf, 0, 0, 1, 0.0
    with _reading(src) as ds:
        win = region_window(ds, src, grid)
        c0, r0, width, height = (int(v) for v in win.flatten())
        if max_pixels is not None:
            step = max(1, int(np.ceil(np.sqrt(width * height / max_pixels))))
        rows = max(1, 1024 // step) * step
        for r in range(r0, r0 + height, rows):
            h = min(rows, r0 + height - r)
            out_shape = (max(1, h // step), max(1, width // step))
            block = ds.read(src.band, window=Window(c0, r, width, h), out_shape=out_shape)
            values = clean_values(block, spec, src, check=True)
            finite = values[np.isfinite(values)]
            n_total += values.size
            n_valid += finite.size
            if finite.size:
                lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
                total += float(finite.sum(dtype=np.float64))
    return {
        "min": lo,
        "max": hi,
        "mean": total / n_valid if n_valid else float("nan"),
        "valid_share": n_valid / max(1, n_total),
        "step": step,
    }


def suspect_mean(spec: LayerSpec, mean: float) -> str | None:
    """A note when a layer's mean over the region exceeds the catalog's ``mean_max`` (values
    inside the valid range but in other units, e.g. a calm region's wind in km/h)."""
    if spec.mean_max is None or not mean > spec.mean_max:
        return None
    units = sorted(spec.unit_conversions)
    hint = f'units = "{units[0]}"' + (f" (or {', '.join(units[1:])})" if units[1:] else "")
    return (
        f"{spec.name} averages {mean:.3g} {spec.units} over the region, above the "
        f"{spec.mean_max:g} {spec.units} of the highest regions: are the values in other units?"
        + (f" If so, set {hint} in its [layers] entry" if units else "")
    )


def preflight_values(src: RasterSource, spec: LayerSpec, grid: Grid) -> float:
    """Check a sample of the source's region window against the catalog, cheaply.

    Reads an 8 × 8 lattice of 64 × 64-pixel windows spread over the part of the source that
    covers ``grid``. Values out of range or foreign class codes raise at once; when no sample
    holds a valid value the region window is scanned in full before the layer is declared
    all no-data.

    Returns
    -------
    float
        The mean valid value of what was read (catalog units; NaN when none).

    Raises
    ------
    geotool.errors.ValueRangeError, geotool.errors.UnreadableFileError
        As :func:`scan_values`.
    """
    src = seam_free(src, grid)
    budget = (PREFLIGHT_SAMPLES * PREFLIGHT_WINDOW) ** 2
    any_valid = False
    total, count = 0.0, 0
    with _reading(src) as ds:
        win = region_window(ds, src, grid)
        c0, r0, width, height = (int(v) for v in win.flatten())
        small = width * height <= budget
        if not small:
            size_c, size_r = min(PREFLIGHT_WINDOW, width), min(PREFLIGHT_WINDOW, height)
            cols = np.unique(np.linspace(0, width - size_c, PREFLIGHT_SAMPLES).astype(int))
            rows = np.unique(np.linspace(0, height - size_r, PREFLIGHT_SAMPLES).astype(int))
            for r in rows:
                for c in cols:
                    sample = Window(c0 + int(c), r0 + int(r), size_c, size_r)
                    values = clean_values(ds.read(src.band, window=sample), spec, src)
                    finite = values[np.isfinite(values)]
                    any_valid = any_valid or bool(finite.size)
                    total += float(finite.sum(dtype=np.float64))
                    count += finite.size
    if small or not any_valid:
        return scan_values(src, spec, grid, max_pixels=budget)["mean"]
    return total / count
