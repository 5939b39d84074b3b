"""Raster inputs: open and check at the boundary, then align lazily onto the analysis grid.

Alignment is a dask graph of one task per output block. Each task opens the source, warps just
the source window that block needs (GDAL's warper through a ``WarpedVRT``) and applies the
catalog's no-data codes, unit conversion and range check. Nothing reads a whole raster.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from xml.sax.saxutils import escape

import dask.array as da
import numpy as np
import rasterio
import rasterio.windows
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.enums import TransformDirection
from rasterio._err import CPLE_BaseError
from rasterio.enums import MaskFlags, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds

from geotool.catalog import LayerSpec
from geotool.errors import (
    CRSError,
    CRSMismatchError,
    ExtentError,
    MissingFileError,
    UnreadableFileError,
    ValueRangeError,
)
from geotool.grid import Grid
from geotool.io.zones import check_zone_prefix

GDAL_CACHE_BYTES = 128 * 2**20
"""GDAL block cache for reads and writes. GDAL's default (5 % of RAM) let the COG copy hold a
whole full-resolution image (benchmarks/align_memory.py: 880 MB peak at 10,000² px, 1.58 GB at
20,000²; with 128 MB the peak stays ~490 MB at both). An integer is bytes for rasterio.Env
(the environment variable of that name would be megabytes)."""
DEFAULT_CHUNK = 1024
"""Block edge in pixels: 4 MiB of float32 per block, well inside cache and worker memory."""


@dataclass(frozen=True)
class RasterSource:
    """A raster input as the study names it, checked to be readable and georeferenced.

    ``open_path`` is what GDAL opens (``NETCDF:"file.nc":var`` for a NetCDF variable);
    ``crs`` is the file's CRS or the one the study assigns to a file that lacks it.
    ``bounds`` are (left, bottom, right, top) with left < right and bottom < top whatever the
    pixel order (a south-up file's own bounds have bottom > top); ``res`` is positive.
    ``scale`` and ``offset`` unpack the band's stored values (value = raw × scale + offset,
    the GDAL/CF convention of packed int16 DEMs and NetCDF); ``nodata`` is a raw value.
    """

    path: Path
    open_path: str
    band: int
    crs: CRS
    assigned_crs: bool
    units: str | None
    bounds: tuple[float, float, float, float]
    res: tuple[float, float]
    shape: tuple[int, int]
    nodata: float | None
    scale: float = 1.0
    offset: float = 0.0
    wrapped: bool = False
    """Read through a VRT that repeats a lon/lat file every 360° (:func:`seam_free`): its
    longitudes already include the grid's, no shift applies."""

    @property
    def label(self) -> str:
        return str(self.path)


def open_raster(
    path: Path,
    *,
    band: int = 1,
    variable: str | None = None,
    crs: str | None = None,
    units: str | None = None,
    nodata: float | None = None,
) -> RasterSource:
    """Open a raster, check it is geodata with a plausible CRS, and describe it.

    Parameters
    ----------
    crs
        Assign this CRS to a file that has none (never used to override a file's own CRS:
        relabelling and reprojecting are different verbs).
    nodata
        The raw value marking no data, replacing the file's own (e.g. the 0 a heat-flow map
        is filled with offshore, when the file declares none).
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError("file not found", where=str(path), fix="check the path in [layers]")
    if path.is_dir():
        raise UnreadableFileError(
            "is a folder, not a raster file", where=str(path), fix="give the file inside it"
        )
    open_path = f'NETCDF:"{path}":{variable}' if variable else str(path)
    try:
        with warnings.catch_warnings():
            # a file without geotransform is refused below with a clearer message
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(open_path)
        with ds, warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            file_crs = ds.crs
            # a south-up file (positive y pixel size) has bottom > top: GDAL's warper reads it
            # as it is, only the extent checks need (min, max)
            bounds = _normalised(ds.bounds)
            res = (abs(float(ds.res[0])), abs(float(ds.res[1])))
            shape = (ds.height, ds.width)
            nodata = ds.nodata if nodata is None else float(nodata)
            count = ds.count
            gcps = ds.gcps[0]
            transform = ds.transform
            scale, offset = 1.0, 0.0
            dtype = ds.dtypes[band - 1] if 1 <= band <= count else None
            if 1 <= band <= count:
                scale = _or_default(ds.scales[band - 1], 1.0)
                offset = _or_default(ds.offsets[band - 1], 0.0)
                # the last pixel lives in the last block: a truncated file fails here
                ds.read(band, window=rasterio.windows.Window(ds.width - 1, ds.height - 1, 1, 1))
    except (RasterioError, CPLE_BaseError) as exc:
        raise UnreadableFileError(
            f"not a readable raster ({_first_line(exc)})",
            where=str(path),
            fix="re-download or re-export it as GeoTIFF"
            + (f" (is {variable!r} a variable in it?)" if variable else ""),
        ) from exc
    except OSError as exc:
        raise UnreadableFileError(
            f"cannot be read ({exc.strerror or exc})", where=str(path), fix="check its permissions"
        ) from exc
    if not 1 <= band <= count:
        raise UnreadableFileError(
            f"has {count} band(s), band {band} requested",
            where=str(path),
            fix=f"set `band` to 1..{count} in its [layers] entry"
            if count > 1
            else "remove `band` from its [layers] entry (the file has one band)",
        )
    if dtype is not None and str(dtype).startswith("complex"):  # also GDAL's complex_int16
        # read as float the imaginary part is dropped: a radar or FFT product is not a layer
        # value until one says which real quantity (amplitude, phase, real part) is meant
        raise UnreadableFileError(
            f"holds complex numbers ({dtype}), not real values",
            where=str(path),
            fix="save the real quantity you mean (amplitude, phase or real part) as a "
            "real-valued GeoTIFF, e.g. with gdal_calc.py",
        )
    if transform.is_identity and not gcps and file_crs is None:
        raise UnreadableFileError(
            "has no georeferencing (not geodata, or a truncated file)",
            where=str(path),
            fix="re-download it, or georeference it (GeoTIFF with CRS and transform)",
        )
    if gcps and transform.is_identity:
        raise CRSError(
            "is georeferenced by ground control points only",
            where=str(path),
            fix="warp it to a regular grid first (gdalwarp)",
        )
    assigned = False
    if file_crs is None:
        if crs is None:
            raise CRSError(
                "raster has no CRS",
                where=str(path),
                fix='add `crs = "EPSG:xxxx"` to its [layers] entry if you know it, or fix the file',
            )
        try:
            out_crs = CRS.from_user_input(crs)
        except Exception as exc:
            raise CRSError(
                f"unknown CRS {crs!r}", where=str(path), fix='give an EPSG code, e.g. "EPSG:4326"'
            ) from exc
        assigned = True
    else:
        try:
            out_crs = CRS.from_user_input(file_crs.to_wkt())
        except Exception as exc:
            raise CRSError(
                f"its CRS cannot be interpreted ({_first_line(exc)})",
                where=str(path),
                fix="re-export it with an EPSG-coded CRS",
            ) from exc
        if crs is not None:
            _check_assigned_matches(out_crs, crs, str(path))
    _check_crs_plausible(out_crs, bounds, str(path))
    # a Gauss-Krüger zone number the eastings contradict: 1,000 km per zone number away
    check_zone_prefix(
        out_crs,
        bounds[0],
        bounds[2],
        str(path),
        lambda fits: (
            f'set `crs = "{fits}"` in its [layers] entry'
            if assigned
            else f"the file's CRS is wrong, it is {fits}: gdal_edit -a_srs {fits} {path.name}"
        ),
    )
    return RasterSource(
        path=path,
        open_path=open_path,
        band=band,
        crs=out_crs,
        assigned_crs=assigned,
        units=units,
        bounds=bounds,
        res=res,
        shape=shape,
        nodata=None if nodata is None else float(nodata),
        scale=scale,
        offset=offset,
    )


def _normalised(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) with left <= right and bottom <= top."""
    left, bottom, right, top = (float(v) for v in bounds)
    return (min(left, right), min(bottom, top), max(left, right), max(bottom, top))


def _or_default(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def _check_assigned_matches(file_crs: CRS, assigned: str, where: str) -> None:
    """``crs`` in a [layers] entry assigns a CRS to a file that has none; it never relabels.

    A file whose own CRS differs from the one the study states is ambiguous: either the study
    or the file is wrong, and guessing would silently misplace the layer.
    """
    try:
        stated = CRS.from_user_input(assigned)
    except Exception as exc:
        raise CRSError(
            f"unknown CRS {assigned!r}", where=where, fix='give an EPSG code, e.g. "EPSG:4326"'
        ) from exc
    if not file_crs.equals(stated, ignore_axis_order=True):
        raise CRSMismatchError(
            f"the file's CRS is {_crs_name(file_crs)} but its [layers] entry says "
            f"crs = {assigned!r}",
            where=where,
            fix="remove `crs` (it only assigns a CRS to a file that has none), or fix the file",
        )


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_crs_plausible(crs: CRS, bounds: tuple[float, float, float, float], where: str) -> None:
    """Catch a CRS that contradicts the coordinates (degrees labelled metres and vice versa)."""
    left, bottom, right, top = bounds
    if crs.is_geographic:
        if not (-181 <= left <= 361 and -181 <= right <= 361 and -91 <= bottom <= top <= 91):
            raise CRSError(
                f"CRS {crs.name} is geographic but the bounds {bounds} are not degrees",
                where=where,
                fix="the file's CRS is wrong: set the correct projected CRS in the file",
            )
    elif crs.is_projected:
        # A projected grid whose whole extent fits inside ±180 × ±90 with sub-unit pixels is
        # almost certainly longitude/latitude mislabelled as metres.
        span = max(right - left, top - bottom)
        if span < 10 and all(abs(v) <= 180 for v in (left, right)) and abs(top) <= 90:
            raise CRSError(
                f"CRS {crs.name} is in metres but the bounds {bounds} look like degrees",
                where=where,
                fix="the file is probably EPSG:4326: fix its CRS",
            )


def check_overlap(src: RasterSource | Grid, grid: Grid, where: str) -> float:
    """Share of the grid's extent covered by the source (0..1); no overlap raises.

    The grid's bounds are carried into the source CRS, never the other way: a global
    lon/lat raster projected whole into a UTM zone gives meaningless bounds. A global lon/lat
    file whose longitude seam the region crosses is read re-centred (:func:`seam_free`).
    """
    crs, bounds = src.crs, _normalised(src.bounds)
    placed = grid_bounds_in_source(crs, bounds, grid, where)
    if placed is None:
        raise ExtentError(
            "does not overlap the study region",
            where=where,
            fix="check the file covers the region (and that its CRS is right)",
        )
    box, _ = placed
    if (
        crs.is_geographic
        and _crosses_seam(box, bounds)
        and not (isinstance(src, RasterSource) and seam_free(src, grid).wrapped)
    ):
        # a file seam_free cannot repeat (its pixels do not tile 360°): the part of the
        # region across its seam (0° for a 0..360 file, 180° for a -180..180 one) would come
        # out empty
        centre = 0 if bounds[2] > 180.0 else 180
        raise ExtentError(
            f"the study region crosses the file's {bounds[0]:g}/{bounds[2]:g}° longitude seam",
            where=where,
            fix=f"re-centre the file on {centre}°, e.g. gdalwarp --config CENTER_LONG "
            f"{centre} -t_srs EPSG:4326 in.tif out.tif",
        )
    share = _covered_share(crs, bounds, grid, crs.is_geographic)
    if share > 0:
        return share
    # the source falls between the sample points: the share of the grid's box it covers
    w = min(box[2], bounds[2]) - max(box[0], bounds[0])
    h = min(box[3], bounds[3]) - max(box[1], bounds[1])
    return float(min(1.0, (w * h) / ((box[2] - box[0]) * (box[3] - box[1]))))


def seam_free(src: RasterSource, grid: Grid) -> RasterSource:
    """``src`` as it is, or, when ``grid`` needs longitudes the lon/lat file holds only
    360° away (a region west of Greenwich under a 0..360 file such as ERA5's, London across
    0° under one, Fiji across 180° under either), the same band read through a GDAL VRT that
    repeats the file every 360° (no pixel resampled or copied to disk).

    The VRT spans PROJ's longitudes (-180..180, where GDAL's warper looks up the grid's
    pixels) and the grid's box made continuous across 180° (Fiji 175..185), each with a
    margin for the resampling kernel, so every block reads real neighbours on both sides of
    either seam. A file whose width is not a whole number of columns per 360° keeps its
    seam (and :func:`check_overlap` names the re-centring command).
    """
    if not src.crs.is_geographic or src.wrapped:
        return src
    left, bottom, right, top = _normalised(src.bounds)
    try:
        gl, _, gr, _ = transform_bounds(grid.crs, src.crs, *grid.bounds, densify_pts=21)
    except Exception:  # check_overlap names the problem
        return src
    if not np.isfinite([gl, gr]).all():
        return src
    crossing = gr < gl  # across the antimeridian, where PROJ's longitudes jump 360°
    if crossing:
        gr += 360.0  # continuous longitudes
    res = src.res[0]
    # margin: 8 source pixels and 4 grid pixels of longitude for the resampling kernel
    margin = 8 * res + 4 * (gr - gl) / max(grid.width, 1)
    if not crossing and left <= gl - margin and gr + margin <= right:
        return src  # the file holds the grid, with its neighbours, where the grid is
    per_turn = 360.0 / res
    if abs(per_turn - round(per_turn)) > 1e-6 * per_turn:
        return src
    with _read_env(), rasterio.open(src.open_path) as ds:
        t = ds.transform
        dtype = ds.dtypes[src.band - 1]
    if t.a <= 0 or t.b != 0 or t.d != 0:
        return src
    turn, width = round(per_turn), src.shape[1]
    fill = ""  # what the VRT holds where no copy of the file lies (a gap, or past its edge)
    if src.nodata is not None:
        fill = f"<NoDataValue>{src.nodata!r}</NoDataValue>"
    elif np.issubdtype(np.dtype(dtype), np.floating):
        fill = "<NoDataValue>nan</NoDataValue>"
    elif width != turn:
        return src  # integers without a nodata value: uncovered VRT pixels would read as 0
    lo, hi = min(-180.0, gl) - margin, max(180.0, gr) + margin
    first = math.ceil((t.c - lo) / res)  # VRT columns before the file's own first column
    columns = first + math.ceil((hi - t.c) / res)
    name = escape(src.open_path)
    sources = []
    for n in (-1, 0, 1):  # the file, and its copies 360° west and east
        start = first + n * turn
        c0, c1 = max(0, start), min(columns, start + width)
        if c1 > c0:
            sources.append(
                f'<SimpleSource><SourceFilename relativeToVRT="0">{name}</SourceFilename>'
                f"<SourceBand>{src.band}</SourceBand>"
                f'<SrcRect xOff="{c0 - start}" yOff="0" xSize="{c1 - c0}" '
                f'ySize="{src.shape[0]}"/>'
                f'<DstRect xOff="{c0}" yOff="0" xSize="{c1 - c0}" ySize="{src.shape[0]}"/>'
                "</SimpleSource>"
            )
    if len(sources) < 2:
        return src  # no copy 360° away reaches the grid: nothing to repeat
    x0 = t.c - first * res
    # PROJ hands the warper longitudes around the grid's centre (+lon_wrap), continuous across
    # 180°: a block straddling it then reads neighbouring VRT columns, not both ends of it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # to_proj4 notes what PROJ strings omit
        wrap = CRS.from_proj4(f"{src.crs.to_proj4()} +lon_wrap={(gl + gr) / 2!r}")
    vrt = (
        f'<VRTDataset rasterXSize="{columns}" rasterYSize="{src.shape[0]}">'
        f"<SRS>{escape(wrap.to_wkt())}</SRS>"
        f"<GeoTransform>{x0!r},{res!r},0,{t.f!r},0,{t.e!r}</GeoTransform>"
        f'<VRTRasterBand dataType="{_GDAL_TYPES[dtype]}" band="1">{fill}'
        f"{''.join(sources)}</VRTRasterBand></VRTDataset>"
    )
    return replace(
        src,
        open_path=vrt,
        band=1,
        crs=wrap,
        bounds=(x0, bottom, x0 + columns * res, top),
        shape=(src.shape[0], columns),
        wrapped=True,
    )


_GDAL_TYPES = {
    "uint8": "Byte",
    "int8": "Int8",
    "uint16": "UInt16",
    "int16": "Int16",
    "uint32": "UInt32",
    "int32": "Int32",
    "uint64": "UInt64",
    "int64": "Int64",
    "float32": "Float32",
    "float64": "Float64",
}
"""GDAL data type names of the NumPy dtypes rasterio reports (VRT ``dataType``)."""


def _crosses_seam(box: tuple[float, ...], bounds: tuple[float, ...]) -> bool:
    """A global lon/lat file (360° wide) whose edge longitude falls inside the grid's box."""
    if bounds[2] - bounds[0] < 359.0:
        return False
    return box[0] < bounds[0] < box[2] or box[0] < bounds[2] < box[2]


def grid_bounds_in_source(
    crs: CRS, bounds: tuple[float, float, float, float], grid: Grid, where: str
) -> tuple[tuple[float, float, float, float], float] | None:
    """The grid's bounds in a source's CRS and longitude range, or None if they do not meet.

    Returns ``(box, shift)``: ``box`` is (left, bottom, right, top) in the source CRS and
    ``shift`` the degrees (0 or ±360) added to the grid's longitudes to bring them into the
    source's longitude range (a 0..360 global file under a region west of Greenwich).
    ``bounds`` are the source's normalised bounds.
    """
    try:
        left, bottom, right, top = transform_bounds(grid.crs, crs, *grid.bounds, densify_pts=21)
    except Exception as exc:
        raise CRSError(
            f"cannot transform the study region to its CRS ({_first_line(exc)})",
            where=where,
            fix="check the file's CRS covers the region; re-export it with an EPSG-coded CRS",
        ) from exc
    if not np.isfinite([left, bottom, right, top]).all():
        return None
    shifts: tuple[float, ...] = (0.0,)
    if crs.is_geographic:
        if right < left:  # the grid crosses the antimeridian: make its longitudes continuous
            right += 360.0
        shifts = (0.0, 360.0, -360.0)
    best: tuple[tuple[float, float, float, float], float] | None = None
    best_area = 0.0
    for shift in shifts:
        w = min(right + shift, bounds[2]) - max(left + shift, bounds[0])
        h = min(top, bounds[3]) - max(bottom, bounds[1])
        if w > 0 and h > 0 and w * h > best_area:
            best, best_area = ((left + shift, bottom, right + shift, top), shift), w * h
    return best


def source_lon_shift(src: RasterSource, grid: Grid) -> float:
    """Degrees to add to the grid's longitudes to reach ``src``'s (0 unless the source is a
    lon/lat raster reaching past ±180°, such as a 0..360 global file)."""
    left, _, right, _ = src.bounds
    if not src.crs.is_geographic or src.wrapped or (left >= -180.0 and right <= 180.0):
        return 0.0
    placed = grid_bounds_in_source(src.crs, src.bounds, grid, src.label)
    return 0.0 if placed is None else placed[1]


COVERAGE_SAMPLES = 32
"""Sample points per grid side used to measure the share of the grid a source covers."""


def _covered_share(
    crs: CRS,
    bounds: tuple[float, float, float, float],
    grid: Grid,
    geographic: bool,
) -> float:
    """Share of a lattice of points over the grid that fall inside ``bounds`` (source CRS).

    For a ``geographic`` source a point counts at its longitude or 360° either side (a
    0..360 file holds -70° at 290°; :func:`seam_free` reads it there).
    """
    n = COVERAGE_SAMPLES
    gl, gb, gr, gt = grid.bounds
    frac = (np.arange(n) + 0.5) / n
    xs, ys = np.meshgrid(gl + frac * (gr - gl), gb + frac * (gt - gb))
    try:
        x, y = Transformer.from_crs(grid.crs, crs, always_xy=True).transform(xs, ys)
    except Exception:
        return 0.0
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    turns = (0.0, -360.0, 360.0) if geographic else (0.0,)
    across = np.zeros(x.shape, dtype=bool)
    for turn in turns:
        across |= (x + turn >= bounds[0]) & (x + turn <= bounds[2])
    inside = across & (y >= bounds[1]) & (y <= bounds[3])
    return float(inside.mean())


def choose_resampling(spec: LayerSpec, src: RasterSource, grid: Grid) -> Resampling:
    """Nearest/mode for classes, bilinear/average for continuous values.

    When the source is markedly finer than the grid (> 1.5× by pixel size, compared in the
    grid CRS), ``mode``/``average`` use every source pixel instead of sampling a few.
    """
    src_res = _res_in_grid_units(src, grid)
    finer = src_res * 1.5 < grid.res
    if spec.categorical:
        return Resampling.mode if finer else Resampling.nearest
    return Resampling.average if finer else Resampling.bilinear


def _res_in_grid_units(src: RasterSource, grid: Grid) -> float:
    """Source pixel size in grid units, measured at the grid's centre.

    One source pixel placed at the grid's centre is carried into the grid CRS (never the
    source's whole extent: a global raster has no meaningful extent in a UTM zone).
    """
    xres, yres = abs(src.res[0]), abs(src.res[1])
    if src.crs == grid.crs:
        return min(xres, yres)
    gl, gb, gr, gt = grid.bounds
    try:
        to_src = Transformer.from_crs(grid.crs, src.crs, always_xy=True)
        cx, cy = to_src.transform((gl + gr) / 2.0, (gb + gt) / 2.0)
        px = np.array([cx - xres / 2, cx + xres / 2, cx, cx])
        py = np.array([cy, cy, cy - yres / 2, cy + yres / 2])
        gx, gy = to_src.transform(px, py, direction=TransformDirection.INVERSE)
    except Exception:  # cannot measure it: treat the source as not finer (bilinear/nearest)
        return float(grid.res)
    dx = float(np.hypot(gx[1] - gx[0], gy[1] - gy[0]))
    dy = float(np.hypot(gx[3] - gx[2], gy[3] - gy[2]))
    size = min(dx, dy)
    return size if np.isfinite(size) and size > 0 else float(grid.res)


def _nodata_codes(spec: LayerSpec, src: RasterSource) -> tuple[float, ...]:
    codes = list(spec.nodata)
    if src.nodata is not None and np.isfinite(src.nodata):
        codes.append(src.nodata)
    return tuple(codes)


def clean_values(
    values: np.ndarray,
    spec: LayerSpec,
    src: RasterSource,
    *,
    check: bool = True,
    copy: bool = True,
) -> np.ndarray:
    """No-data codes → NaN, units converted, then the catalog's range/classes checked.

    ``values`` are the band's stored (raw) values: no-data codes are matched on them, then
    they are unpacked with the band's scale and offset (value = raw × scale + offset).
    Works in place on a float32 array when ``copy`` is False.
    """
    out = values.astype("float32", copy=copy)
    for code in dict.fromkeys(_nodata_codes(spec, src)):  # each distinct code once
        if float(np.float32(code)) == code:  # -9999, 65535 ...: float32 holds it exactly
            hit = out == np.float32(code)
        else:  # float32 round-off of codes such as 1e20 or -3.4e38 written as float64
            tol = abs(code) * 1e-6 + 1e-6
            hit = out >= np.float32(code - tol)
            hit &= out <= np.float32(code + tol)
        if hit.any():  # a masked store costs ~10 plain passes even when nothing is hit
            np.putmask(out, hit, np.float32(np.nan))
    factor, offset = spec.conversion(src.units)
    # unpack, then convert units, in one multiply-add: (raw × s + o) × f + u
    factor, offset = src.scale * factor, src.offset * factor + offset
    if factor != 1.0 or offset != 0.0:
        out *= np.float32(factor)
        out += np.float32(offset)
    if check:
        lo, hi = _finite_range(out)
        if lo == -np.inf or hi == np.inf:
            raise ValueRangeError(
                f"{spec.name} holds infinite values",
                where=src.label,
                fix="mark them as nodata (e.g. gdal_edit.py -a_nodata) or fill them",
            )
        check_values(out, spec, src.label, value_range=(lo, hi))
    return out


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) ignoring NaN (±inf included), NaN if every value is NaN: two passes, no copy."""
    if values.size == 0:
        return (np.nan, np.nan)
    return float(np.fmin.reduce(values, axis=None)), float(np.fmax.reduce(values, axis=None))


def check_values(
    values: np.ndarray,
    spec: LayerSpec,
    where: str,
    *,
    value_range: tuple[float, float] | None = None,
) -> None:
    """Raise if finite values leave the catalog's valid range or class list.

    ``value_range`` is the (min, max) of the values when the caller already knows it.
    """
    if value_range is None:
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return
        lo, hi = float(finite.min()), float(finite.max())
    else:
        lo, hi = value_range
        if np.isnan(lo):
            return
    if spec.valid_range is not None:
        vmin, vmax = spec.valid_range
        if lo < vmin or hi > vmax:
            raise ValueRangeError(
                f"{spec.name} values {lo:g}..{hi:g} fall outside its valid range "
                f"{vmin:g}..{vmax:g} {spec.units}",
                where=where,
                fix=_units_hint(spec, lo, hi),
            )
    if spec.categorical and spec.classes:
        present = np.unique(values)
        present = present[np.isfinite(present)]
        bad = np.setdiff1d(present, np.asarray(spec.classes, dtype="float32"))
        if bad.size:
            raise ValueRangeError(
                f"{spec.name} has codes {bad[:8].tolist()} that are not in its class list",
                where=where,
                fix=f"recode to {list(spec.classes)} or declare them as nodata",
            )


def _units_hint(spec: LayerSpec, lo: float, hi: float) -> str:
    if spec.valid_range is not None:
        vmin, vmax = spec.valid_range
        if lo == 0.0 < vmin and hi <= vmax:
            return (
                f"0 is below any physical {spec.name} ({vmin:g} {spec.units} at least): if it "
                "fills cells without data, set nodata = 0 in its [layers] entry"
            )
        for units, (factor, offset) in spec.unit_conversions.items():
            if vmin <= lo * factor + offset and hi * factor + offset <= vmax:
                return f'are the values in {units}? set units = "{units}" in its [layers] entry'
    return f"convert it to {spec.units} or mark the bad values as nodata"


def align_raster(
    src: RasterSource,
    spec: LayerSpec,
    grid: Grid,
    *,
    chunk: int = DEFAULT_CHUNK,
    resampling: Resampling | None = None,
) -> xr.DataArray:
    """A lazy float32 DataArray of ``src`` on ``grid`` (NaN outside the source or for no data)."""
    src = seam_free(src, grid)
    method = resampling if resampling is not None else choose_resampling(spec, src, grid)
    template = da.empty(grid.shape, chunks=(chunk, chunk), dtype="float32")
    data = da.map_blocks(
        _warp_block,
        template,
        dtype="float32",
        meta=np.empty((0, 0), dtype="float32"),
        src=src,
        spec=spec,
        grid=grid,
        resampling=method,
    )
    out = to_dataarray(data, grid, spec.name)
    out.attrs.update(units=spec.units, long_name=spec.description, resampling=method.name)
    return out


def to_dataarray(data: da.Array | np.ndarray, grid: Grid, name: str) -> xr.DataArray:
    """Wrap a grid-shaped array as a DataArray with pixel-centre coords and the grid's CRS."""
    arr = xr.DataArray(
        data, dims=("y", "x"), coords={"y": grid.ys, "x": grid.xs}, name=name, attrs={}
    )
    return arr.rio.write_crs(grid.crs).rio.write_transform(grid.transform)


def _warp_block(
    block: np.ndarray,
    *,
    src: RasterSource,
    spec: LayerSpec,
    grid: Grid,
    resampling: Resampling,
    block_info: dict | None = None,
) -> np.ndarray:
    assert block_info is not None
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    sub = grid.window(r0, c0, r1 - r0, c1 - c0)
    try:
        return warp_to(src, spec, sub, resampling)
    except (RasterioError, CPLE_BaseError) as exc:  # e.g. a damaged block inside the file
        raise UnreadableFileError(
            f"cannot be read ({_first_line(exc)})",
            where=src.label,
            fix="the file is damaged: re-download or re-export it",
        ) from exc


def warp_to(src: RasterSource, spec: LayerSpec, grid: Grid, resampling: Resampling) -> np.ndarray:
    """Eagerly warp ``src`` onto a (small) grid and clean its values."""
    # Source no-data is handled by GDAL so that it never bleeds into bilinear neighbours.
    src_nodata = src.nodata if src.nodata is not None else _first_code(spec)
    with _source(src.open_path) as ds:
        return _warp_from(ds, src, spec, grid, resampling, src_nodata)


def _warp_from(
    ds: rasterio.io.DatasetReader,
    src: RasterSource,
    spec: LayerSpec,
    grid: Grid,
    resampling: Resampling,
    src_nodata: float | None,
) -> np.ndarray:
    window = same_grid_window(ds, src, grid)
    if window is not None:
        # the block is a window of the source: any resampling is the identity, read it
        # (source no-data codes become NaN in clean_values)
        values = ds.read(src.band, window=window, out_dtype="float32")
        return clean_values(values, spec, src, copy=False)
    vrt_kwargs = {
        "crs": grid.crs,
        "transform": grid.transform,
        "width": grid.width,
        "height": grid.height,
        "resampling": resampling,
        "dtype": "float32",
        "nodata": np.nan,
    }
    if src.assigned_crs:
        vrt_kwargs["src_crs"] = src.crs
    shift = source_lon_shift(src, grid)
    if shift:
        # GDAL's warper maps the grid to longitudes in -180..180: move a 0..360 source there
        vrt_kwargs["src_transform"] = Affine.translation(-shift, 0.0) @ ds.transform
    if src_nodata is not None:
        vrt_kwargs["src_nodata"] = src_nodata
    with _read_env(), WarpedVRT(ds, **vrt_kwargs) as vrt:
        values = vrt.read(src.band, masked=False)
    return clean_values(values, spec, src, copy=False)


def _read_env() -> rasterio.Env:
    return rasterio.Env(GDAL_NUM_THREADS="1", GDAL_CACHEMAX=GDAL_CACHE_BYTES)


_CONNECTION = re.compile(r'^[A-Za-z0-9_]+:"[^"]+":')
"""A GDAL connection string naming a file and a subdataset: ``NETCDF:"file.nc":var``."""
_READERS = threading.local()
READERS_PER_THREAD = 16
"""Open source datasets kept per worker thread (least recently used closed first)."""


@contextlib.contextmanager
def _source(open_path: str) -> Iterator[rasterio.io.DatasetReader]:
    """The dataset to read ``open_path`` from: this thread's cached handle for a plain file,
    a fresh one (closed after use) for a GDAL connection string such as
    ``NETCDF:"file.nc":var``. The netCDF/HDF5 libraries hand out the content of an already
    open file to a new open of the same name, so a handle kept open would serve a NetCDF
    file replaced on disk with its old values (observed with GDAL 3.10's netCDF driver)."""
    if _CONNECTION.match(open_path) or open_path.startswith("<VRTDataset"):
        # (a re-centring VRT may wrap a NetCDF variable: never kept open either)
        with _read_env(), rasterio.open(open_path) as ds:
            yield ds
    else:
        yield _reader(open_path)


def _reader(open_path: str) -> rasterio.io.DatasetReader:
    """This thread's open dataset for the file ``open_path``, opened on first use.

    Opening a GeoTIFF parses its header and tile index (~5 ms, measured at 4,000² deflate):
    done per block it cost more than decompressing the block. A GDAL dataset must not be
    shared between threads, so each worker thread keeps its own handles, keyed by path and by
    the file's identity (inode, size, mtime), so a file replaced on disk is opened anew.
    """
    try:
        st = os.stat(open_path)
        key: tuple = (open_path, st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:  # not a local file (e.g. a /vsicurl/ URL)
        key = (open_path,)
    cache = getattr(_READERS, "cache", None)
    if cache is None:
        cache = _READERS.cache = OrderedDict()
    ds = cache.get(key)
    if ds is not None and not ds.closed:
        cache.move_to_end(key)
        return ds
    with _read_env():
        ds = rasterio.open(open_path)
    cache[key] = ds
    while len(cache) > READERS_PER_THREAD:
        _, old = cache.popitem(last=False)
        old.close()
    return ds


def close_readers() -> None:
    """Close the calling thread's cached source datasets."""
    cache = getattr(_READERS, "cache", None)
    while cache:
        _, ds = cache.popitem()
        ds.close()


def same_grid_window(
    ds: rasterio.io.DatasetReader, src: RasterSource, grid: Grid
) -> rasterio.windows.Window | None:
    """The window of ``ds`` whose pixels are exactly ``grid``'s, or None.

    Same CRS, same north-up pixel size (never a south-up source, whose ``e`` is positive),
    a whole-pixel offset, inside the source and no mask band or alpha (which only the warper
    honours): then a plain windowed read gives what the warper would, at the cost of
    decompressing the tiles alone. Scale and offset are applied after the read, as after a
    warp (:func:`clean_values`).
    """
    t, g = ds.transform, grid.transform
    if src.crs != grid.crs or t.b != 0 or t.d != 0 or g.b != 0 or g.d != 0:
        return None
    if not (np.isclose(t.a, g.a, rtol=1e-9) and np.isclose(t.e, g.e, rtol=1e-9)):
        return None
    col, row = (g.c - t.c) / t.a, (g.f - t.f) / t.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    c0, r0 = round(col), round(row)
    if c0 < 0 or r0 < 0 or c0 + grid.width > ds.width or r0 + grid.height > ds.height:
        return None
    flags = ds.mask_flag_enums[src.band - 1]
    if MaskFlags.per_dataset in flags or MaskFlags.alpha in flags:
        return None
    return rasterio.windows.Window(c0, r0, grid.width, grid.height)


def _first_code(spec: LayerSpec) -> float | None:
    return spec.nodata[0] if spec.nodata else None


def scan_values(
    src: RasterSource, spec: LayerSpec, grid: Grid | None = None, max_pixels: int = 4_000_000
) -> dict:
    """Stream through the source once (decimated past ``max_pixels``) and check its values.

    With ``grid``, only the part of the source covering the grid is read. See
    :func:`geotool.io.scan.scan_values` (where it lives, with the pre-flight sampler).
    """
    from geotool.io.scan import scan_values as scan

    return scan(src, spec, grid, max_pixels=max_pixels)
