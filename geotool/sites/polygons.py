"""Site polygons from a label raster, the separation rule, and each site's region.

Polygons come from ``rasterio.features.shapes`` (pixel-edge outlines of every label), are
simplified with a tolerance of half a pixel and then intersected with the unsimplified
outline: a site never reaches beyond its own pixels, so it never contains the centre of an
excluded or below-threshold pixel, and its boundary deviates from the pixel staircase by at
most half a pixel.

Examples
--------
>>> import numpy as np
>>> from affine import Affine
>>> labels = np.zeros((4, 4), dtype=np.int32); labels[1:3, 1:3] = 1
>>> geoms = label_polygons(labels, 1, Affine(100, 0, 0, 0, -100, 400))
>>> geoms[0].area, geoms[0].bounds
(40000.0, (100.0, 100.0, 300.0, 300.0))
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio import features

from geotool.io.mapped import release

SIMPLIFY_FRACTION = 0.5
"""Simplification tolerance as a fraction of the pixel size (half a pixel)."""
STRIP_ROWS = 2048
"""Rows of the label raster polygonized at a time (bounded GDAL temporaries)."""


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of an intersection result (drops stray lines and points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon") or geom.is_empty:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def label_polygons(labels: np.ndarray, n: int, transform: Affine) -> np.ndarray:
    """One (Multi)Polygon per label 1..n, simplified within each label's pixels.

    Returns an object array of shapely geometries (index 0 = label 1); a label without
    pixels gets an empty polygon.
    """
    pieces: list[list[shapely.Geometry]] = [[] for _ in range(n)]
    # strips of rows bound the temporaries of GDAL's polygonizer; a site crossing a strip
    # edge comes in pieces sharing exact pixel edges, which union_all dissolves
    for r0 in range(0, labels.shape[0] if n > 0 else 0, STRIP_ROWS):
        strip = labels[r0 : r0 + STRIP_ROWS]
        for geojson, value in features.shapes(
            strip,
            mask=strip > 0,
            connectivity=4,
            transform=transform @ Affine.translation(0, r0),
        ):
            pieces[int(value) - 1].append(shapely.geometry.shape(geojson))
        release(labels)  # a file-backed label raster: drop the strip's pages
    raw = np.array(
        [
            p[0] if len(p) == 1 else (shapely.union_all(p) if p else shapely.Polygon())
            for p in pieces
        ],
        dtype=object,
    )
    if n == 0:
        return raw
    tolerance = SIMPLIFY_FRACTION * abs(transform.a)
    simple = shapely.simplify(raw, tolerance, preserve_topology=True)
    clipped = shapely.intersection(simple, raw)
    return np.array([_polygonal(g) for g in clipped], dtype=object)


def separate(geoms: np.ndarray, order: np.ndarray, min_separation_m: float) -> np.ndarray:
    """Greedy separation: keep sites in ``order`` unless closer than the distance to a kept one.

    Distances are between polygons (``shapely.distance``, 0 when they touch). Returns a
    boolean keep-mask aligned with ``geoms``.
    """
    keep = np.zeros(len(geoms), dtype=bool)
    if len(geoms) == 0:
        return keep
    if min_separation_m <= 0:
        keep[:] = True
        return keep
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=min_separation_m)
    pair = left != right
    left, right = left[pair], right[pair]
    close = shapely.distance(geoms[left], geoms[right]) < min_separation_m
    left, right = left[close], right[close]
    neighbours: dict[int, list[int]] = {}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        neighbours.setdefault(a, []).append(b)
    for i in order.tolist():
        if not any(keep[j] for j in neighbours.get(i, ())):
            keep[i] = True
    return keep


def majority_region(geoms: np.ndarray, regions: gpd.GeoDataFrame, ids: np.ndarray) -> np.ndarray:
    """For each site, the id of the region polygon covering most of it (None if none).

    ``regions`` must already be in the sites' CRS; ``ids`` aligns with its rows.
    """
    out = np.full(len(geoms), None, dtype=object)
    if len(geoms) == 0 or len(regions) == 0:
        return out
    region_geoms = regions.geometry.to_numpy()
    tree = shapely.STRtree(region_geoms)
    site_i, region_i = tree.query(geoms, predicate="intersects")
    if site_i.size == 0:
        return out
    shared = shapely.area(shapely.intersection(geoms[site_i], region_geoms[region_i]))
    best: dict[int, tuple[float, int]] = {}
    for s, r, a in zip(site_i.tolist(), region_i.tolist(), shared.tolist(), strict=True):
        if a > 0 and (s not in best or a > best[s][0]):
            best[s] = (a, r)
    for s, (_, r) in best.items():
        out[s] = ids[r]
    return out


def centroid_lonlat(geoms: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees, WGS 84) of each polygon's centroid."""
    if len(geoms) == 0:
        return np.empty(0), np.empty(0)
    c = shapely.centroid(geoms)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(shapely.get_x(c), shapely.get_y(c))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
