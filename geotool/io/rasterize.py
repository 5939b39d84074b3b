"""Vector features on the grid: masks and exact distance-in-metres layers, chunk by chunk.

Distances are measured from each pixel centre to the nearest feature *geometry* — not to the
nearest rasterized pixel, which errs by up to a pixel diagonal. Method: every segment (line
parts, polygon rings; points as zero-length segments) is sampled at a spacing ``s`` of a third
of a pixel and the samples go into a k-d tree (scipy). For each pixel centre the nearest
samples name candidate segments, whose exact point-to-segment distance is then taken. If the
truly nearest segment is not among the candidates, the answer still lies within
``sqrt(d² + s²/4) - d ≤ min(s/2, s²/8d)`` of the true distance ``d`` — a sixth of a pixel at
the feature and under 1 % beyond two pixels. Pixel centres inside polygons get 0.

Pixels are handled by cells of 16 × 16, with one k-d tree query at each cell centre:

- cells provably beyond the distance cap hold the cap (:func:`beyond_cap`), so a short cap (a
  setback buffer) costs little more than the mask;
- cells near features, whose pixels share a few candidate segments, get *exact* distances
  (:mod:`geotool.io.cells`: every segment that can be nearest to a pixel of the cell is found
  from one ball query, then all pixel-segment distances are taken at once);
- the remaining cells (far from every feature under a long cap) query pixel by pixel as above.

Measured on a 1024² block at 30 m with 18,000 road segments: 0.07 s at a 500 m cap, 0.6 s at
5 km and 0.7 s at 50 km, against 0.25 s, 1.3 s and 1.7 s querying every pixel.

Each dask task handles one block; the k-d tree is built once per layer from the features within
the grid's reach (bounds + distance cap) and shared by all tasks, so memory grows with the
vector data, not with the raster.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
import xarray as xr
from scipy.spatial import cKDTree

from geotool.grid import Grid
from geotool.io.cells import near_cells_exact
from geotool.io.raster import DEFAULT_CHUNK, to_dataarray

_BATCH = 1 << 18  # pixel centres per k-d tree query batch: bounds temporary memory (~30 MB)
_CANDIDATES = 1  # nearest samples whose segments are checked exactly (1 meets the bound)
_CELL = 16  # pixels per cell edge of the coarse pass that skips pixels beyond the cap


@dataclass(frozen=True, eq=False)
class FeatureIndex:
    """Features of one vector layer prepared for masks and distances on a grid's CRS.

    The samples and their k-d tree, which only distances need, are built on first use (once,
    under a lock: tasks of several threads may ask at the same time).
    """

    polygons: np.ndarray  # shapely polygons (pixel centre inside -> distance 0)
    others: np.ndarray  # shapely lines and points (mask by touch)
    seg_a: np.ndarray  # (n, 2) segment starts
    seg_b: np.ndarray  # (n, 2) segment ends
    spacing: float
    poly_tree: shapely.STRtree
    other_tree: shapely.STRtree
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __dask_tokenize__(self) -> str:
        return self.token

    def __getstate__(self) -> dict:  # to dask workers: without the lock and the lazy tree
        state = {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_samples")}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "_lock", threading.Lock())

    def _sampled(self) -> tuple[cKDTree | None, np.ndarray]:
        with self._lock:
            if "_samples" not in self.__dict__:
                samples, sample_seg = _densify(self.seg_a, self.seg_b, self.spacing)
                # Unbalanced, non-compact trees query 2-3x faster on samples strung along
                # lines (many nearly equidistant candidates) than scipy's default median-split
                # tree (measured here).
                tree = (
                    cKDTree(samples, leafsize=32, balanced_tree=False, compact_nodes=False)
                    if len(samples)
                    else None
                )
                self.__dict__["_samples"] = (tree, sample_seg)
            return self.__dict__["_samples"]

    @property
    def tree(self) -> cKDTree | None:
        """k-d tree of samples every ``spacing`` along every segment (None without features)."""
        return self._sampled()[0]

    @property
    def sample_seg(self) -> np.ndarray:
        """(m,) segment of each sample."""
        return self._sampled()[1]

    @property
    def empty(self) -> bool:
        return len(self.seg_a) == 0


def build_index(gdf: gpd.GeoDataFrame, grid: Grid, spacing: float | None = None) -> FeatureIndex:
    """Prepare ``gdf`` (any CRS) for :func:`distance_layer` and :func:`mask_layer` on ``grid``."""
    geoms = gdf.to_crs(grid.crs).geometry.values if len(gdf) else np.array([], dtype=object)
    parts = _simple_parts(np.asarray(geoms, dtype=object))
    is_poly = shapely.get_type_id(parts) == 3
    polygons, others = parts[is_poly], parts[~is_poly]
    s = float(spacing if spacing is not None else grid.res / 3.0)

    segs_a, segs_b = [], []
    rings = shapely.get_rings(polygons) if len(polygons) else np.array([], dtype=object)
    lines = others[np.isin(shapely.get_type_id(others), (1, 2))] if len(others) else others
    for chains in (rings, lines):
        if len(chains):
            coords, idx = shapely.get_coordinates(chains, return_index=True)
            same = idx[1:] == idx[:-1]
            segs_a.append(coords[:-1][same])
            segs_b.append(coords[1:][same])
    points = others[shapely.get_type_id(others) == 0] if len(others) else others
    if len(points):
        pc = shapely.get_coordinates(points)
        segs_a.append(pc)
        segs_b.append(pc)
    if segs_a:
        a = np.concatenate(segs_a)
        b = np.concatenate(segs_b)
    else:
        a = b = np.empty((0, 2))
    return FeatureIndex(
        polygons=polygons,
        others=others,
        seg_a=a,
        seg_b=b,
        spacing=s,
        poly_tree=shapely.STRtree(polygons),
        other_tree=shapely.STRtree(others),
    )


def _simple_parts(geoms: np.ndarray) -> np.ndarray:
    """Points, lines and polygons of ``geoms``, with multi-parts and (nested) collections
    flattened — ``get_parts`` takes off one level only, so a MultiPolygon inside a
    GeometryCollection needs a second pass — and empty parts dropped."""
    parts = shapely.get_parts(geoms)
    while len(parts) and np.isin(shapely.get_type_id(parts), (4, 5, 6, 7)).any():
        parts = shapely.get_parts(parts)
    return parts[~shapely.is_empty(parts)] if len(parts) else parts


def _densify(a: np.ndarray, b: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples along segments at spacing ≤ ``s`` (both ends included)."""
    if len(a) == 0:
        return np.empty((0, 2)), np.empty(0, dtype=np.int64)
    length = np.hypot(*(b - a).T)
    n = np.maximum(1, np.ceil(length / s)).astype(np.int64)
    counts = n + 1
    seg = np.repeat(np.arange(len(a)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    t = (np.arange(counts.sum()) - starts) / np.repeat(n, counts)
    samples = a[seg] + t[:, None] * (b - a)[seg]
    return samples, seg


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance from points ``p`` to segments ``a``–``b`` (row-wise, all (n, 2))."""
    ab = b - a
    denom = np.einsum("ij,ij->i", ab, ab)
    t = np.einsum("ij,ij->i", p - a, ab) / np.where(denom > 0, denom, 1.0)
    t = np.clip(np.where(denom > 0, t, 0.0), 0.0, 1.0)
    nearest = a + t[:, None] * ab
    return np.hypot(*(p - nearest).T)


def distances_at(index: FeatureIndex, xy: np.ndarray, max_distance: float) -> np.ndarray:
    """Exact distances (see module notes) from points ``xy`` (n, 2), capped at ``max_distance``."""
    out = np.full(len(xy), max_distance, dtype="float64")
    if index.empty:
        return out
    assert index.tree is not None
    k = min(_CANDIDATES, index.tree.n)
    bound = max_distance + index.spacing
    for start in range(0, len(xy), _BATCH):
        p = xy[start : start + _BATCH]
        _, idx = index.tree.query(p, k=k, distance_upper_bound=bound, workers=1)
        idx = idx.reshape(len(p), k)
        best = np.full(len(p), np.inf)
        for j in range(k):
            found = idx[:, j] < index.tree.n
            if not found.any():
                continue
            seg = index.sample_seg[idx[found, j]]
            d = point_segment_distance(p[found], index.seg_a[seg], index.seg_b[seg])
            best[found] = np.minimum(best[found], d)
        out[start : start + len(p)] = np.minimum(best, max_distance)
    return out


def _block_grid(grid: Grid, block_info: dict | None) -> Grid:
    assert block_info is not None
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    return grid.window(r0, c0, r1 - r0, c1 - c0)


def _inside_polygons(index: FeatureIndex, sub: Grid) -> np.ndarray:
    hits = index.poly_tree.query(shapely.box(*sub.bounds))
    if len(hits) == 0:
        return np.zeros(sub.shape, dtype=bool)
    return rasterio.features.geometry_mask(
        index.polygons[hits], out_shape=sub.shape, transform=sub.transform, invert=True
    )


@dataclass(frozen=True)
class _Cells:
    """The ``_CELL`` × ``_CELL`` cells of a block (padded to whole cells) and, for each, the
    distance from its centre to the nearest sample."""

    xs: np.ndarray  # padded pixel-centre x, length nc * _CELL
    ys: np.ndarray  # padded pixel-centre y, length nr * _CELL
    centres: np.ndarray  # (nr * nc, 2), row-major
    d_sample: np.ndarray  # (nr * nc,), inf beyond the query bound
    r: float  # centre to the farthest pixel centre of a cell
    lower: np.ndarray  # (nr * nc,) lower bound of any pixel's distance


def _cells(index: FeatureIndex, grid: Grid, max_distance: float) -> _Cells:
    assert index.tree is not None
    h, w = grid.shape
    padded = grid.window(0, 0, -(-h // _CELL) * _CELL, -(-w // _CELL) * _CELL)
    xs, ys = padded.xs, padded.ys
    cx = xs.reshape(-1, _CELL).mean(axis=1)
    cy = ys.reshape(-1, _CELL).mean(axis=1)
    gx, gy = np.meshgrid(cx, cy)
    centres = np.column_stack([gx.ravel(), gy.ravel()])
    r = float(np.hypot(*(np.array([grid.res, grid.res]) * (_CELL - 1) / 2.0)))
    bound = max_distance + index.spacing / 2.0 + r
    d_sample, _ = index.tree.query(centres, k=1, distance_upper_bound=bound, workers=1)
    lower = d_sample - index.spacing / 2.0 - r
    return _Cells(xs, ys, centres, d_sample, r, lower)


def beyond_cap(index: FeatureIndex, grid: Grid, max_distance: float) -> np.ndarray:
    """Pixels of ``grid`` provably at least ``max_distance`` from every feature (bool).

    One k-d tree query per cell of ``_CELL`` × ``_CELL`` pixels instead of one per pixel: the
    nearest sample to the cell centre is at ``d_c``, so the true distance from the centre is at
    least ``d_c - s/2`` (every point of a segment lies within ``s/2`` of a sample) and, distance
    being 1-Lipschitz, every pixel centre within ``r`` of the cell centre is at least
    ``d_c - s/2 - r`` away. Cells where that bound reaches the cap hold the cap exactly.
    """
    h, w = grid.shape
    if index.empty:
        return np.ones((h, w), dtype=bool)
    cells = _cells(index, grid, max_distance)
    far = (cells.lower >= max_distance).reshape(cells.ys.size // _CELL, cells.xs.size // _CELL)
    return np.repeat(np.repeat(far, _CELL, axis=0), _CELL, axis=1)[:h, :w]


def _distance_block(
    block: np.ndarray,
    index: FeatureIndex,
    *,
    grid: Grid,
    max_distance: float,
    block_info: dict | None = None,
) -> np.ndarray:
    sub = _block_grid(grid, block_info)
    h, w = sub.shape
    if index.empty:
        return np.full(sub.shape, max_distance, dtype="float32")
    cells = _cells(index, sub, max_distance)
    nr, nc = cells.ys.size // _CELL, cells.xs.size // _CELL
    d = np.full((nr, nc, _CELL, _CELL), max_distance, dtype="float64")  # cell-major
    near = np.flatnonzero(cells.lower < max_distance)
    if near.size:
        ii, jj = np.divmod(near, nc)
        xs = cells.xs.reshape(nc, _CELL)[jj]  # (k, C)
        ys = cells.ys.reshape(nr, _CELL)[ii]
        px = np.stack(np.broadcast_arrays(xs[:, None, :], ys[:, :, None]), axis=-1)
        px = px.reshape(near.size, _CELL * _CELL, 2)
        done, exact = near_cells_exact(
            index, px, cells.centres[near], cells.d_sample[near], cells.r, max_distance
        )
        d[ii[done], jj[done]] = exact[done].reshape(-1, _CELL, _CELL)
        rest = ~done
        if rest.any():
            pts = px[rest].reshape(-1, 2)
            per_pixel = distances_at(index, pts, max_distance)
            d[ii[rest], jj[rest]] = per_pixel.reshape(-1, _CELL, _CELL)
    out = d.transpose(0, 2, 1, 3).reshape(nr * _CELL, nc * _CELL)[:h, :w]
    out = np.ascontiguousarray(out, dtype="float32")
    out[_inside_polygons(index, sub)] = 0.0
    return out


def _mask_block(
    block: np.ndarray, index: FeatureIndex, *, grid: Grid, block_info: dict | None = None
) -> np.ndarray:
    sub = _block_grid(grid, block_info)
    out = _inside_polygons(index, sub)
    hits = index.other_tree.query(shapely.box(*sub.bounds))
    if len(hits):
        touched = rasterio.features.geometry_mask(
            index.others[hits],
            out_shape=sub.shape,
            transform=sub.transform,
            invert=True,
            all_touched=True,
        )
        out |= touched
    return out.astype("float32")


def block_layer(
    kernel: Any, shared: Any, grid: Grid, *, name: str, chunk: int, **kwargs: Any
) -> xr.DataArray:
    """Lazy float32 layer on ``grid`` whose blocks are ``kernel(block, shared, grid=grid,
    block_info=..., **kwargs)``; ``shared`` (a feature index) is one graph node for all."""
    template = da.empty(grid.shape, chunks=(chunk, chunk), dtype="float32")
    data = da.map_blocks(
        kernel,
        template,
        dask.delayed(shared, pure=True),
        dtype="float32",
        meta=np.empty((0, 0), dtype="float32"),
        grid=grid,
        **kwargs,
    )
    return to_dataarray(data, grid, name)


def distance_layer(
    index: FeatureIndex, grid: Grid, max_distance_m: float, *, name: str, chunk: int = DEFAULT_CHUNK
) -> xr.DataArray:
    """Lazy float32 distance (m) from each pixel centre to the nearest feature, capped."""
    out = block_layer(
        _distance_block, index, grid, name=name, chunk=chunk, max_distance=float(max_distance_m)
    )
    out.attrs.update(units="m", max_distance_m=float(max_distance_m))
    return out


def mask_layer(
    index: FeatureIndex, grid: Grid, *, name: str, chunk: int = DEFAULT_CHUNK
) -> xr.DataArray:
    """Lazy float32 0/1: pixel centre inside a polygon, or a line/point touching the pixel."""
    out = block_layer(_mask_block, index, grid, name=name, chunk=chunk)
    out.attrs.update(units="1")
    return out
