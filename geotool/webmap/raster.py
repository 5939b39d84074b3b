"""Raster overlays as plain data: warp to Web Mercator, colour to uint8 RGBA, encode as PNG.

Leaflet's image overlay stretches a picture linearly between two lat/lon corners *in Web
Mercator* (folium #1631, #2054), so a raster must be reprojected to EPSG:3857 first and its corners
must be the lat/lon of the warped grid's outer pixel *edges* — then every pixel lands where it
belongs. Colours are applied here with a vectorised matplotlib lookup, not by folium (which
rescales non-uint8 arrays per channel).

Examples
--------
>>> import numpy as np
>>> rgba = colorize_continuous(np.array([[0.0, 1.0, np.nan]]), "viridis", 0.0, 1.0)
>>> rgba.shape, rgba.dtype, int(rgba[0, 2, 3])
((1, 3, 4), dtype('uint8'), 0)
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform, transform_bounds

from geotool.errors import CRSError, UnreadableFileError

if TYPE_CHECKING:
    import xarray as xr

    from geotool.webmap.compositions import ClassStyle

LatLonBounds = tuple[tuple[float, float], tuple[float, float]]
"""((south, west), (north, east)) in degrees, the order Leaflet expects."""

WEB_MERCATOR = "EPSG:3857"
# WGS 84 semi-major axis, the sphere radius of EPSG:3857 (EPSG Guidance Note 7-2, method 1024).
EARTH_RADIUS_M = 6_378_137.0
# 255 colour steps plus "transparent" fit one 8-bit PNG palette; displays show 8 bits per
# channel, so a 255-step lookup is visually continuous.
COLOR_STEPS = 255
# Robust default range: 2nd–98th percentile, the stretch xarray uses for robust=True plots.
ROBUST_PERCENTILES = (2.0, 98.0)


@dataclass(frozen=True)
class WarpedRaster:
    """A raster band on a Web Mercator grid: ``values`` (NaN = no data) and its corner transform."""

    values: np.ndarray
    transform: Affine
    lon0: float = 0.0

    @property
    def bounds_latlon(self) -> LatLonBounds:
        """Lat/lon of the outer pixel edges, ((south, west), (north, east))."""
        h, w = self.values.shape
        return mercator_edges_to_latlon(self.transform, w, h, self.lon0)


def central_longitude(src_crs: Any, bounds: tuple[float, float, float, float]) -> float:
    """0, or 180 when a raster's extent crosses the antimeridian (Fiji, Chukotka, the Aleutians).

    Leaflet takes longitudes past 180 as they are, so such a map is drawn around 180° with
    longitudes 170..190 instead of being split into two pieces at the two ends of the world.

    >>> central_longitude("EPSG:32649", (500e3, 2.7e6, 510e3, 2.71e6))
    0.0
    >>> central_longitude("EPSG:32760", (800e3, 8.16e6, 830e3, 8.18e6))
    180.0
    """
    west, _, east, _ = transform_bounds(src_crs, "EPSG:4326", *bounds, densify_pts=21)
    return 180.0 if west > east else 0.0


def mercator_crs(lon0: float = 0.0) -> str:
    """Web Mercator (EPSG:3857), or the same sphere and scale centred on ``lon0`` degrees:
    x = R · (lon − lon0), so its grids continue across the antimeridian."""
    if lon0 == 0.0:
        return WEB_MERCATOR
    return (
        f"+proj=merc +a={EARTH_RADIUS_M} +b={EARTH_RADIUS_M} +lat_ts=0 +lon_0={lon0:g} "
        "+x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs"
    )


def mercator_edges_to_latlon(
    transform: Affine, width: int, height: int, lon0: float = 0.0
) -> LatLonBounds:
    """Lat/lon bounds of a north-up EPSG:3857 grid's outer pixel edges.

    Web Mercator is separable (x depends on longitude only, y on latitude only), so the grid's
    edges are exactly a lat/lon rectangle. ``lon0``: the grid's central longitude (see
    :func:`mercator_crs`); longitudes then run past 180 across the antimeridian.

    >>> t = Affine(1000.0, 0.0, 0.0, 0.0, -1000.0, 0.0)
    >>> (s, w), (n, e) = mercator_edges_to_latlon(t, 10, 10)
    >>> round(w, 6), round(e, 6), round(n, 6), round(s, 4)
    (0.0, 0.089832, 0.0, -0.0898)
    """
    left, top = transform.c, transform.f
    right, bottom = left + transform.a * width, top + transform.e * height

    def lon(x: float) -> float:
        return lon0 + math.degrees(x / EARTH_RADIUS_M)

    def lat(y: float) -> float:
        return math.degrees(2.0 * math.atan(math.exp(y / EARTH_RADIUS_M)) - math.pi / 2.0)

    return ((lat(bottom), lon(left)), (lat(top), lon(right)))


def web_mercator_grid(
    src_crs: Any,
    width: int,
    height: int,
    bounds: tuple[float, float, float, float],
    max_size: int,
    lon0: float = 0.0,
) -> tuple[Affine, int, int]:
    """The EPSG:3857 grid covering a raster, at most ``max_size`` pixels on its longer side
    (in :func:`mercator_crs` ``(lon0)``).

    GDAL's default output grid keeps about the source's pixel count; it is coarsened by a
    common factor when its longer side exceeds ``max_size``.

    >>> t, w, h = web_mercator_grid("EPSG:32649", 100, 50, (500e3, 2.7e6, 510e3, 2.705e6), 40)
    >>> max(w, h) <= 40
    True
    """
    transform, w, h = calculate_default_transform(
        src_crs, mercator_crs(lon0), width, height, *bounds
    )
    assert transform is not None and w is not None and h is not None
    factor = max(w, h) / max_size
    if factor > 1.0:
        res_x, res_y = transform.a * factor, -transform.e * factor
        w, h = math.ceil(w / factor), math.ceil(h / factor)
        transform = Affine(res_x, 0.0, transform.c, 0.0, -res_y, transform.f)
    return transform, int(w), int(h)


def warp_to_web_mercator(
    path: Path, *, max_size: int, categorical: bool, lon0: float = 0.0
) -> WarpedRaster:
    """Read band 1 of a raster reprojected to EPSG:3857, at most ``max_size`` pixels wide/high.

    Classes use nearest-neighbour resampling (a class code is never averaged); continuous layers
    bilinear. GDAL reads the source in blocks, so memory follows the output size, not the input.

    Parameters
    ----------
    path
        A GeoTIFF (or any GDAL raster) with a CRS.
    max_size
        Longest side of the output in pixels.
    categorical
        Class codes (nearest) instead of a continuous quantity (bilinear).
    lon0
        Central longitude of the map (:func:`central_longitude`): 0, or 180 across the
        antimeridian.

    Returns
    -------
    WarpedRaster
        float64 values with NaN for no data, and the Web Mercator transform.
    """
    # open *and* read errors (a truncated or corrupt file opens fine and fails on its blocks)
    try:
        return _warp(path, max_size=max_size, categorical=categorical, lon0=lon0)
    except rasterio.errors.RasterioError as exc:
        raise UnreadableFileError(
            f"cannot read raster ({_gdal_message(exc)})",
            where=str(path),
            fix="re-run the stage that wrote it",
        ) from exc


def _gdal_message(exc: BaseException) -> str:
    """One line: rasterio's message plus the GDAL error it wraps ("see previous exception")."""
    parts = [str(exc).replace("See previous exception for details.", "").strip()]
    if exc.__cause__ is not None and str(exc.__cause__) not in parts[0]:
        parts.append(str(exc.__cause__))
    return " ".join(" ".join(parts).split())


def _warp(path: Path, *, max_size: int, categorical: bool, lon0: float) -> WarpedRaster:
    with rasterio.open(path) as src:
        if src.crs is None:
            raise CRSError(
                "raster has no CRS", where=str(path), fix="write it with a CRS (e.g. EPSG:32649)"
            )
        transform, w, h = web_mercator_grid(
            src.crs, src.width, src.height, src.bounds, max_size, lon0
        )
        nodata = src.nodata
        if nodata is None:
            # NaN marks no data in geotool's float outputs (DESIGN.md); ESA WorldCover and most
            # class rasters use 0. Either way the area outside the source becomes no data too.
            floating = np.issubdtype(np.dtype(src.dtypes[0]), np.floating)
            nodata = float("nan") if floating else 0
        with WarpedVRT(
            src,
            crs=mercator_crs(lon0),
            transform=transform,
            width=w,
            height=h,
            resampling=Resampling.nearest if categorical else Resampling.bilinear,
            src_nodata=nodata,
            nodata=nodata,
            num_threads="ALL_CPUS",  # GDAL warper threads: ~1.5x faster on 2 cores
            warp_mem_limit=256,  # MB per warp chunk; bounds memory for any input size
        ) as vrt:
            band = vrt.read(1, masked=True)
    values = np.ma.filled(band.astype(np.float64), np.nan)
    return WarpedRaster(values=values, transform=transform, lon0=lon0)


def robust_range(values: np.ndarray) -> tuple[float, float]:
    """2nd–98th percentile of the finite values (``(0, 1)`` when there are none).

    >>> robust_range(np.linspace(0, 100, 101))
    (2.0, 98.0)
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, ROBUST_PERCENTILES))
    if not hi > lo:
        hi = lo + 1.0
    return lo, hi


def _apply(func: Any, values: Any, *args: Any) -> Any:
    """Run an array -> RGBA function on numpy, or lazily per chunk on an xarray DataArray."""
    import xarray as xr

    if isinstance(values, xr.DataArray):
        return xr.apply_ufunc(
            func,
            values,
            *args,
            output_core_dims=[["rgba"]],
            dask="parallelized",
            output_dtypes=[np.uint8],
            dask_gufunc_kwargs={"output_sizes": {"rgba": 4}},
        )
    return func(np.asarray(values), *args)


def colorize_continuous(
    values: np.ndarray | xr.DataArray, cmap: str, vmin: float, vmax: float
) -> Any:
    """Map values to uint8 RGBA with a matplotlib colormap; NaN -> fully transparent.

    Values are clipped to ``vmin..vmax`` and looked up in ``COLOR_STEPS`` steps (one vectorised
    table lookup, no per-pixel Python). Works on numpy arrays and, lazily, on DataArrays (a new
    trailing dimension ``rgba``).

    >>> rgba = colorize_continuous(np.array([0.0, 0.5, 1.0]), "gray", 0.0, 1.0)
    >>> rgba[:, 0].tolist(), rgba[:, 3].tolist()
    ([0, 127, 255], [255, 255, 255])
    """
    import matplotlib

    table = matplotlib.colormaps[cmap].resampled(COLOR_STEPS)

    def run(arr: np.ndarray) -> np.ndarray:
        valid = np.isfinite(arr)
        scaled = np.clip((np.where(valid, arr, vmin) - vmin) / (vmax - vmin), 0.0, 1.0)
        rgba = np.asarray(table(scaled, bytes=True), dtype=np.uint8)
        rgba[~valid] = 0
        return rgba

    return _apply(run, values)


def colorize_classes(values: np.ndarray | xr.DataArray, classes: tuple[ClassStyle, ...]) -> Any:
    """Map class codes to uint8 RGBA; codes without a style and NaN -> fully transparent.

    >>> from geotool.webmap.compositions import ClassStyle
    >>> rgba = colorize_classes(np.array([10.0, 80.0, 3.0]), (ClassStyle(10, "#006400", "Tree"),
    ...                         ClassStyle(80, "#0064c8", "Water")))
    >>> rgba[:, :3].tolist(), rgba[:, 3].tolist()
    ([[0, 100, 0], [0, 100, 200], [0, 0, 0]], [255, 255, 0])
    """
    from matplotlib.colors import to_rgba_array

    codes = np.array([c.value for c in classes], dtype=np.float64)
    colors = np.round(to_rgba_array([c.color for c in classes]) * 255).astype(np.uint8)
    order = np.argsort(codes)
    codes, colors = codes[order], colors[order]

    def run(arr: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(codes, arr), 0, len(codes) - 1)
        hit = np.isfinite(arr) & (codes[pos] == arr)
        rgba = colors[pos]
        rgba[~hit] = 0
        return rgba

    return _apply(run, values)


def encode_png(rgba: np.ndarray) -> bytes:
    """Lossless PNG of an (h, w, 4) uint8 image; a palette PNG when it has <= 256 colours.

    Colormapped overlays have at most ``COLOR_STEPS + 1`` colours, so the palette form (one byte
    per pixel instead of four) is exact and about 3-4x smaller.

    >>> png = encode_png(np.zeros((2, 2, 4), np.uint8))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    from PIL import Image

    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"need an (h, w, 4) uint8 array, got {rgba.shape} {rgba.dtype}")
    packed = np.ascontiguousarray(rgba).view(np.uint32)[..., 0]
    colors, index = np.unique(packed, return_inverse=True)
    buf = io.BytesIO()
    if colors.size <= 256:
        palette = colors.view(np.uint8).reshape(-1, 4)
        image = Image.fromarray(index.reshape(packed.shape).astype(np.uint8))  # "L", then "P"
        image.putpalette(palette.tobytes(), rawmode="RGBA")
        image.save(buf, format="PNG", optimize=True)
    else:
        Image.fromarray(np.ascontiguousarray(rgba)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def png_data_url(rgba: np.ndarray) -> str:
    """``data:image/png;base64,...`` URL of an RGBA image (embeds the image in the HTML file)."""
    return "data:image/png;base64," + base64.b64encode(encode_png(rgba)).decode("ascii")
