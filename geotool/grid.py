"""The analysis grid: one small immutable value (CRS + affine transform + shape).

Every layer of a study is brought onto one :class:`Grid`; every stage after loading works
on arrays of ``grid.shape``. The idea follows ``odc.geo.geobox.GeoBox``: named
constructors, and methods that return a new grid instead of mutating one.

Examples
--------
>>> g = Grid.from_bounds((500_000, 2_700_000, 510_000, 2_705_000), 100, "EPSG:32649")
>>> g.shape, g.res
((50, 100), 100.0)
>>> g.pad(2).shape
(54, 104)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer

from geotool.errors import CRSError, InputError

if TYPE_CHECKING:
    import geopandas as gpd

Bounds = tuple[float, float, float, float]
"""(left, bottom, right, top) in the grid's CRS."""

LatLonBounds = tuple[tuple[float, float], tuple[float, float]]
"""((south, west), (north, east)) in degrees, the order Leaflet/folium expect."""


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS 84 / UTM zone CRS containing a lon/lat point.

    Zones are 6° wide from 180°W (EPSG:326zz north, 327zz south). The Norway/Svalbard
    zone exceptions are not applied: for regional screening a neighbouring zone's
    distortion (< 0.1 % at 3° off the central meridian) is immaterial.

    >>> utm_crs(113.6, 24.8).to_epsg()   # Shaoguan
    32649
    >>> utm_crs(-70.6, -33.4).to_epsg()  # Santiago de Chile
    32719
    """
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise CRSError(
            f"centroid ({lon:.4f}, {lat:.4f}) is not a longitude/latitude",
            where="region",
            fix="give the region a correct CRS",
        )
    zone = min(math.floor((lon + 180.0) / 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: ``crs``, ``transform`` (of pixel corners) and ``shape`` (rows, cols)."""

    crs: CRS
    transform: Affine
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        crs = self.crs if isinstance(self.crs, CRS) else CRS.from_user_input(self.crs)
        object.__setattr__(self, "crs", crs)
        t = self.transform
        if not (t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0):
            raise InputError(
                f"grid transform {tuple(t)[:6]} is not north-up with square-ish pixels",
                where="grid",
                fix="use Grid.from_bounds to build an analysis grid",
            )
        h, w = (int(v) for v in self.shape)
        if h <= 0 or w <= 0:
            raise InputError(f"grid shape {self.shape} is empty", where="grid")
        object.__setattr__(self, "shape", (h, w))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_bounds(cls, bounds: Bounds, resolution: float, crs: Any) -> Grid:
        """Grid covering ``bounds`` with square pixels of ``resolution`` CRS units.

        Pixel edges are snapped outward to multiples of the resolution (like
        ``gdalwarp -tap``), so two grids of one CRS and resolution always line up.
        """
        res = float(resolution)
        if not math.isfinite(res) or res <= 0:
            raise InputError(
                f"resolution must be a positive number of metres, got {resolution!r}",
                where="study.resolution",
                fix="e.g. resolution = 100",
            )
        left, bottom, right, top = (float(v) for v in bounds)
        if not (right > left and top > bottom):
            raise InputError(
                f"bounds {bounds} are empty or inverted",
                where="grid",
                fix="give a region with an area: check its boundary polygons or bbox",
            )
        x0 = math.floor(left / res) * res
        y1 = math.ceil(top / res) * res
        width = max(1, math.ceil(round((right - x0) / res, 9)))
        height = max(1, math.ceil(round((y1 - bottom) / res, 9)))
        return cls(CRS.from_user_input(crs), Affine(res, 0.0, x0, 0.0, -res, y1), (height, width))

    @classmethod
    def from_region(
        cls,
        region: gpd.GeoDataFrame | gpd.GeoSeries,
        resolution: float,
        crs: Any = "auto",
        *,
        pad_m: float = 0.0,
    ) -> Grid:
        """Grid covering region polygons; ``crs="auto"`` picks the UTM zone of their centroid.

        >>> import geopandas as gpd, shapely
        >>> r = gpd.GeoSeries([shapely.box(113.0, 24.0, 114.0, 25.0)], crs="EPSG:4326")
        >>> Grid.from_region(r, 1000).crs.to_epsg()
        32649
        """
        if region.crs is None:
            raise CRSError(
                "region has no CRS",
                where="region",
                fix="set the boundary file's CRS (e.g. EPSG:4326) in the file",
            )
        target = resolve_crs(crs, region)
        projected = region.to_crs(target)
        left, bottom, right, top = (float(v) for v in projected.total_bounds)
        if not all(map(math.isfinite, (left, bottom, right, top))):
            raise InputError(
                "region has no finite extent",
                where="region",
                fix="check the region's coordinates and CRS (they must project to finite numbers)",
            )
        return cls.from_bounds(
            (left - pad_m, bottom - pad_m, right + pad_m, top + pad_m), resolution, target
        )

    # ------------------------------------------------------------------ properties
    @property
    def height(self) -> int:
        return self.shape[0]

    @property
    def width(self) -> int:
        return self.shape[1]

    @property
    def res(self) -> float:
        """Pixel size in CRS units (square pixels)."""
        return float(self.transform.a)

    @property
    def bounds(self) -> Bounds:
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)

    @property
    def pixel_area(self) -> float:
        """Area of one pixel in CRS units squared (m² on a metric grid)."""
        return float(abs(self.transform.a * self.transform.e))

    @property
    def is_metric(self) -> bool:
        return bool(self.crs.is_projected) and _unit_is_metre(self.crs)

    @property
    def xs(self) -> np.ndarray:
        """x of pixel centres, one per column."""
        t = self.transform
        return t.c + t.a * (np.arange(self.width) + 0.5)

    @property
    def ys(self) -> np.ndarray:
        """y of pixel centres, one per row (descending for a north-up grid)."""
        t = self.transform
        return t.f + t.e * (np.arange(self.height) + 0.5)

    # ------------------------------------------------------------------ new grids
    def pad(self, n: int) -> Grid:
        """Grid grown by ``n`` pixels on every side (negative ``n`` shrinks)."""
        t = self.transform
        shape = (self.height + 2 * n, self.width + 2 * n)
        return Grid(self.crs, t @ Affine.translation(-n, -n), shape)

    def window(self, row_off: int, col_off: int, height: int, width: int) -> Grid:
        """The sub-grid of a pixel window (may extend beyond this grid)."""
        return Grid(
            self.crs, self.transform @ Affine.translation(col_off, row_off), (height, width)
        )

    def crop(self, bounds: Bounds) -> Grid:
        """The sub-grid of whole pixels that covers ``bounds`` (clipped to this grid)."""
        inv = ~self.transform
        c0, r0 = inv @ (bounds[0], bounds[3])
        c1, r1 = inv @ (bounds[2], bounds[1])
        c0 = max(0, math.floor(round(c0, 9)))
        r0 = max(0, math.floor(round(r0, 9)))
        c1 = min(self.width, math.ceil(round(c1, 9)))
        r1 = min(self.height, math.ceil(round(r1, 9)))
        if c1 <= c0 or r1 <= r0:
            raise InputError(f"bounds {bounds} do not overlap the grid", where="grid")
        return self.window(r0, c0, r1 - r0, c1 - c0)

    def blocks(self, block: int) -> Iterator[tuple[int, int, int, int]]:
        """Pixel windows ``(row_off, col_off, height, width)`` tiling the grid."""
        for r in range(0, self.height, block):
            for c in range(0, self.width, block):
                yield r, c, min(block, self.height - r), min(block, self.width - c)

    # ------------------------------------------------------------------ coordinates
    def xy(self, row: Any, col: Any) -> tuple[np.ndarray, np.ndarray]:
        """Centre coordinates of pixel(s) ``(row, col)``."""
        t = self.transform
        r = np.asarray(row, dtype="float64") + 0.5
        c = np.asarray(col, dtype="float64") + 0.5
        return t.c + t.a * c, t.f + t.e * r

    def rowcol(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Pixel indices containing point(s) ``(x, y)`` (may be outside the grid)."""
        t = self.transform
        col = np.floor((np.asarray(x, dtype="float64") - t.c) / t.a).astype("int64")
        row = np.floor((np.asarray(y, dtype="float64") - t.f) / t.e).astype("int64")
        return row, col

    def latlon_bounds(self, densify: int = 21) -> LatLonBounds:
        """((south, west), (north, east)) of the grid's pixel *edges*, for web maps."""
        to_ll = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        west, south, east, north = to_ll.transform_bounds(*self.bounds, densify_pts=densify)
        return ((float(south), float(west)), (float(north), float(east)))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``manifest.json``."""
        epsg = self.crs.to_epsg()
        return {
            "crs": f"EPSG:{epsg}" if epsg else self.crs.to_wkt(),
            "transform": list(self.transform)[:6],
            "shape": list(self.shape),
            "resolution": self.res,
            "bounds": list(self.bounds),
        }

    def __repr__(self) -> str:
        epsg = self.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg else self.crs.name
        return f"Grid({crs}, res={self.res:g}, shape={self.shape}, bounds={self.bounds})"


MAX_AREAL_DISTORTION = 0.02
"""Largest accepted ``|areal scale - 1|`` of the analysis CRS over the region's extent.

Areas are pixel counts times the flat pixel area, so the CRS's areal scale is a direct
error on every area. Assumption (geotool default): 2 % — UTM (k0 = 0.9996, Snyder 1987,
*Map Projections: A Working Manual*, USGS PP 1395, ch. 8) stays within 0.9992-1.002 in
its own 6° zone, and even 8° off its central meridian at the equator is under 1.02 (pyproj
``get_factors``); Web Mercator (areal scale 1/cos²φ) is refused beyond ~8° latitude."""


def resolve_crs(
    crs: Any, region: gpd.GeoDataFrame | gpd.GeoSeries | None = None, *, lon: float | None = None
) -> CRS:
    """``"auto"`` → UTM zone of the region's centroid; anything else → that CRS (must be metric).

    With a ``region``, the CRS must also keep areas true to within
    :data:`MAX_AREAL_DISTORTION` over the region's extent (areas are computed flat in it).
    ``lon`` (degrees east), when there is no region yet, names the Gauss-Krüger zone the
    error for a geographic Chinese datum suggests (:func:`gauss_kruger_hint`).

    >>> import geopandas as gpd, shapely
    >>> r = gpd.GeoSeries([shapely.box(113.0, 24.0, 114.0, 25.0)], crs="EPSG:4326")
    >>> resolve_crs("auto", r).to_epsg()
    32649
    >>> resolve_crs("EPSG:3857", r)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    geotool.errors.CRSError: analysis CRS EPSG:3857 distorts areas by +21.3 % ...
    """
    if isinstance(crs, str) and crs.strip().lower() == "auto":
        if region is None:
            raise CRSError(
                'crs = "auto" needs a region',
                where="study.crs",
                fix="give the region, or an EPSG code in metres (e.g. EPSG:32649)",
            )
        out = utm_crs(*region_centre(region))
        _check_areal_scale(out, "auto", region)
        return out
    try:
        out = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError with a long message
        raise CRSError(
            f"unknown CRS {crs!r}", where="study.crs", fix='use "auto" or an EPSG code'
        ) from exc
    if not (out.is_projected and _unit_is_metre(out)):
        raise CRSError(
            f"analysis CRS {crs!r} is not a metric projected CRS",
            where="study.crs",
            fix='use "auto" (UTM zone of the region) or a projected EPSG code in metres'
            + gauss_kruger_hint(out, lon if region is None else region_centre(region)[0]),
        )
    if region is not None:
        _check_areal_scale(out, crs, region)
    return out


CHINESE_GEOGRAPHIC_DATUMS = {4490: "CGCS2000", 4610: "Xian 1980", 4214: "Beijing 1954"}
"""Geographic CRSs of China's national datums (EPSG codes) and the name their projected
Gauss-Krüger CRSs carry in the EPSG registry ("CGCS2000 / 3-degree Gauss-Kruger CM 114E")."""


def gauss_kruger_hint(crs: CRS, lon: float | None = None) -> str:
    """For a geographic CRS of a Chinese datum, the metric CRSs Chinese surveying uses: the
    datum's 3-degree Gauss-Krüger zones without zone number (EPSG lists them by central
    meridian, 75°E to 135°E), the one nearest ``lon`` when it is known; else ``""``.

    >>> gauss_kruger_hint(CRS.from_epsg(4490), 113.6)
    ', e.g. the CGCS2000 3-degree Gauss-Krüger zone of the region, "EPSG:4547" (CM 114°E)'
    """
    code = crs.to_epsg()
    datum = CHINESE_GEOGRAPHIC_DATUMS.get(code) if code is not None else None
    if datum is None:
        return ""
    from pyproj.database import query_crs_info
    from pyproj.enums import PJType

    prefix = f"{datum} / 3-degree Gauss-Kruger CM "
    zones = {
        int(info.name[len(prefix) : -1]): info.code
        for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS)
        if info.name.startswith(prefix) and info.name.endswith("E") and not info.deprecated
    }
    if not zones:
        return ""
    centre = 3 * round(lon / 3) if lon is not None else None
    if centre in zones:
        return (
            f", e.g. the {datum} 3-degree Gauss-Krüger zone of the region, "
            f'"EPSG:{zones[centre]}" (CM {centre}°E)'
        )
    lo, hi = min(zones), max(zones)
    return (
        f", e.g. a {datum} 3-degree Gauss-Krüger zone: EPSG:{zones[lo]}..{zones[hi]} for "
        f"central meridians {lo}°E..{hi}°E (EPSG:{zones.get(114, zones[lo])} for 114°E)"
    )


def _lonlat_bounds(
    region: gpd.GeoDataFrame | gpd.GeoSeries,
) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the region in degrees; across 180° ``east`` exceeds 180
    (a region stored split at 180°, as GeoJSON asks, has parts at -180 and +180: its plain
    bounds span the globe and centre on Greenwich).

    >>> import geopandas as gpd, shapely
    >>> fiji = gpd.GeoSeries([shapely.box(177, -19, 180, -16), shapely.box(-180, -19, -178, -16)],
    ...                      crs="EPSG:4326")
    >>> _lonlat_bounds(fiji)
    (177.0, -19.0, 182.0, -16.0)
    """
    ll = region.to_crs("EPSG:4326")
    bounds = ll.geometry.explode(index_parts=False).bounds
    west, south, east, north = (float(v) for v in ll.total_bounds)
    shifted_west = bounds["minx"].where(bounds["minx"] >= 0, bounds["minx"] + 360.0).min()
    shifted_east = bounds["maxx"].where(bounds["minx"] >= 0, bounds["maxx"] + 360.0).max()
    if shifted_east - shifted_west < east - west:
        west, east = float(shifted_west), float(shifted_east)
    return west, south, east, north


def region_centre(region: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[float, float]:
    """(lon, lat) centre of the region's extent (multi-part regions; across 180° too)."""
    west, south, east, north = _lonlat_bounds(region)
    lon = (west + east) / 2.0
    return (lon + 180.0) % 360.0 - 180.0, (south + north) / 2.0


def _equal_area_hint(region: gpd.GeoDataFrame | gpd.GeoSeries) -> str:
    """An Albers equal-area CRS for the region: standard parallels at 1/6 and 5/6 of its
    latitude span (the usual rule for conic projections, Snyder 1987, ch. 14)."""
    west, south, east, north = _lonlat_bounds(region)
    if south < 0.0 < north:  # Albers degenerates for parallels symmetric about the equator
        lon0 = ((west + east) / 2.0 + 180.0) % 360.0 - 180.0
        # the cylindrical equal-area projection keeps areas everywhere (Snyder 1987, ch. 10)
        return f'crs = "+proj=cea +lat_ts=0 +lon_0={lon0:.1f} +datum=WGS84 +units=m"'
    span = north - south
    lat1, lat2 = south + span / 6.0, north - span / 6.0
    lon0, lat0 = ((west + east) / 2.0 + 180.0) % 360.0 - 180.0, (south + north) / 2.0
    return (
        f'crs = "+proj=aea +lat_1={lat1:.1f} +lat_2={lat2:.1f} +lat_0={lat0:.1f} '
        f'+lon_0={lon0:.1f} +datum=WGS84 +units=m"'
    )


def _check_areal_scale(crs: CRS, name: Any, region: gpd.GeoDataFrame | gpd.GeoSeries) -> None:
    """Refuse a CRS whose areal scale is off by more than 2 % anywhere on the region's
    extent (its centre, corners and edge midpoints: a UTM zone is true near its central
    meridian only, so a region much wider than a zone is refused too)."""
    from pyproj import Proj

    west, south, east, north = _lonlat_bounds(region)
    lons = [west, (west + east) / 2.0, east]
    lats = [south, (south + north) / 2.0, north]
    points = [(x, y) for x in lons for y in lats]
    scales: list[float] = []
    for x, y in points:
        try:
            scales.append(float(Proj(crs).get_factors(x, y).areal_scale))
        except Exception:  # pyproj raises its own errors for points outside the projection
            scales.append(math.nan)
    label = crs.to_string() if isinstance(name, str) and name == "auto" else str(name)
    which = "UTM zone of the region's centre" if name == "auto" else "the study's CRS"
    fix = f"use an equal-area CRS for the region, e.g. {_equal_area_hint(region)}"
    bad = [(s, p) for s, p in zip(scales, points, strict=True) if not (math.isfinite(s) and s > 0)]
    if bad:
        lon, lat = bad[0][1]
        raise CRSError(
            f"analysis CRS {label} ({which}) cannot be evaluated at ({lon:.2f}, {lat:.2f}) of "
            "the region: it does not cover the region",
            where="study.crs",
            fix=fix,
        )
    worst, (lon, lat) = max(zip(scales, points, strict=True), key=lambda sp: abs(sp[0] - 1.0))
    if abs(worst - 1.0) > MAX_AREAL_DISTORTION:
        raise CRSError(
            f"analysis CRS {label} ({which}) distorts areas by {100.0 * (worst - 1.0):+.1f} % "
            f"at ({lon:.2f}, {lat:.2f}) of the region; areas are computed flat in it and "
            f"would be wrong by that much (at most {100 * MAX_AREAL_DISTORTION:g} % is accepted)",
            where="study.crs",
            fix=fix,
        )


def _unit_is_metre(crs: CRS) -> bool:
    axes = crs.axis_info
    return bool(axes) and all((a.unit_name or "").lower() in {"metre", "meter", "m"} for a in axes)
