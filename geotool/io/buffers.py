"""Buffer zones on the grid, exactly and at about the cost of a mask: the pixels whose centre
lies within ``B`` metres of a vector layer's features.

A point lies within ``B`` of a segment ``a``–``b`` exactly when it lies in the segment's
rectangle ``{a + t·u + s·n : 0 ≤ t ≤ |b − a|, |s| ≤ B}`` or within ``B`` of ``a`` or ``b``. So
the zone of any geometry is the union of the rectangles of its segments (line parts, polygon
rings), the discs of radius ``B`` around its vertices (and points), and the polygon interiors.
Both shapes are convex, so on each pixel row they cover one interval of pixel centres, which
closed-form arithmetic gives directly (for a rectangle, the four half-plane conditions solved
for ``x``; for a disc, ``|x − vx| ≤ sqrt(B² − (y − vy)²)``). The intervals of a block are
painted at once through a difference array.

Unlike a GEOS buffer polygon rasterized by GDAL (what atlite does), the result does not depend
on how arcs are drawn as chords, nor on GEOS simplifying its input lines by up to 1 % of the
buffer distance: a pixel is in the zone if and only if the Euclidean distance from its centre
to the geometry is at most ``B`` (up to floating-point round-off at the boundary itself) —
the same pixels as ``distance_layer(...) <= B`` (:mod:`geotool.io.rasterize`).

Cost: proportional to the pixel rows the shapes span (about ``(L + 2B) / res`` per segment of
length ``L``), not to the pixels they cover. Measured on the 4,000² benchmark scene (30 m, 12,000
road segments, 500 m buffer): 0.1 s against 1.1 s for the exact distance layer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from geotool.grid import Grid
from geotool.io.raster import DEFAULT_CHUNK
from geotool.io.rasterize import FeatureIndex, _block_grid, _inside_polygons, block_layer


@dataclass(frozen=True, eq=False)
class BufferShapes:
    """What :func:`within_block` paints for one layer and buffer distance."""

    buffer_m: float
    index: FeatureIndex  # polygon interiors
    seg_a: np.ndarray  # (n, 2) starts of the segments of non-zero length
    seg_b: np.ndarray  # (n, 2) ends
    seg_box: np.ndarray  # (n, 4) their bounding boxes grown by the buffer
    vertices: np.ndarray  # (m, 2) distinct vertices and points
    vert_box: np.ndarray  # (m, 4) bounding boxes of their discs
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __dask_tokenize__(self) -> str:
        return self.token


def buffer_shapes(index: FeatureIndex, buffer_m: float) -> BufferShapes:
    """Prepare ``index`` (see :func:`geotool.io.rasterize.build_index`) for buffer zones."""
    b = float(buffer_m)
    a, z = index.seg_a, index.seg_b
    keep = np.any(a != z, axis=1)
    a, z = a[keep], z[keep]
    verts = np.unique(np.concatenate([index.seg_a, index.seg_b]), axis=0)
    box = np.concatenate([np.minimum(a, z) - b, np.maximum(a, z) + b], axis=1)
    disc = np.concatenate([verts - b, verts + b], axis=1)
    return BufferShapes(
        buffer_m=b, index=index, seg_a=a, seg_b=z, seg_box=box, vertices=verts, vert_box=disc
    )


def _overlapping(box: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Indices of the (n, 4) boxes (xmin, ymin, xmax, ymax) that meet ``bounds``: a vectorised
    test, a few milliseconds per block for 10⁵ boxes (no tree of 10⁵ box objects to hold)."""
    left, bottom, right, top = bounds
    hit = box[:, 0] <= right
    hit &= box[:, 2] >= left
    hit &= box[:, 1] <= top
    hit &= box[:, 3] >= bottom
    return np.flatnonzero(hit)


def _rows(ymin: np.ndarray, ymax: np.ndarray, sub: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(shape index, row) pairs: every row of ``sub`` whose centre y lies in [ymin, ymax]."""
    t = sub.transform
    y0 = t.f + 0.5 * t.e  # centre of row 0; t.e < 0
    r_lo = np.maximum(np.ceil((ymax - y0) / t.e), 0).astype(np.int64)
    r_hi = np.minimum(np.floor((ymin - y0) / t.e), sub.height - 1).astype(np.int64)
    counts = np.maximum(r_hi - r_lo + 1, 0)
    shape = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    rows = r_lo[shape] + (np.arange(int(counts.sum())) - starts[shape])
    return shape, rows


_Intervals = tuple[np.ndarray, np.ndarray, np.ndarray]


def _solve(
    k: np.ndarray, c: np.ndarray, lo: float | np.ndarray, hi: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of ``dx`` with ``lo <= k·dx + c <= hi`` (±inf when ``k`` is 0 and it holds,
    an empty interval when it does not)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x1, x2 = (lo - c) / k, (hi - c) / k
    left, right = np.minimum(x1, x2), np.maximum(x1, x2)
    flat = k == 0
    if flat.any():
        ok = (lo <= c) & (c <= hi)
        left = np.where(flat, np.where(ok, -np.inf, np.inf), left)
        right = np.where(flat, np.where(ok, np.inf, -np.inf), right)
    return left, right


def _rect_intervals(a: np.ndarray, z: np.ndarray, b: float, sub: Grid) -> _Intervals:
    """Per (segment, row) pair: the row and the x interval of the segment's rectangle."""
    shape, rows = _rows(np.minimum(a[:, 1], z[:, 1]) - b, np.maximum(a[:, 1], z[:, 1]) + b, sub)
    d = z - a
    length = np.hypot(d[:, 0], d[:, 1])
    ux, uy = d[:, 0] / length, d[:, 1] / length
    y = sub.transform.f + (rows + 0.5) * sub.transform.e
    ax, dy = a[shape, 0], y - a[shape, 1]
    ux, uy = ux[shape], uy[shape]
    # along the segment: 0 <= ux·dx + uy·dy <= L ; across: -B <= -uy·dx + ux·dy <= B
    t_lo, t_hi = _solve(ux, uy * dy, 0.0, length[shape])
    s_lo, s_hi = _solve(-uy, ux * dy, -b, b)
    return rows, ax + np.maximum(t_lo, s_lo), ax + np.minimum(t_hi, s_hi)


def _disc_intervals(v: np.ndarray, b: float, sub: Grid) -> _Intervals:
    """Per (vertex, row) pair: the row and the x interval of the vertex's disc."""
    shape, rows = _rows(v[:, 1] - b, v[:, 1] + b, sub)
    y = sub.transform.f + (rows + 0.5) * sub.transform.e
    dy = y - v[shape, 1]
    half = np.sqrt(np.maximum(b * b - dy * dy, 0.0))
    vx = v[shape, 0]
    return rows, vx - half, vx + half


def _paint(sub: Grid, parts: list[_Intervals]) -> np.ndarray:
    """Bool raster of ``sub``: True at pixel centres inside any (row, x_from, x_to) interval."""
    h, w = sub.shape
    t = sub.transform
    x0 = t.c + 0.5 * t.a
    starts, ends = [], []
    for rows, xl, xh in parts:
        c_lo = np.maximum(np.ceil((xl - x0) / t.a), 0)
        c_hi = np.minimum(np.floor((xh - x0) / t.a), w - 1)
        ok = c_lo <= c_hi
        base = rows[ok] * (w + 1)
        starts.append(base + c_lo[ok].astype(np.int64))
        ends.append(base + c_hi[ok].astype(np.int64) + 1)
    size = h * (w + 1)
    diff = np.bincount(np.concatenate(starts), minlength=size)
    diff -= np.bincount(np.concatenate(ends), minlength=size)
    cover = np.cumsum(diff.reshape(h, w + 1), axis=1)[:, :w]
    return cover > 0


def within_block(shapes: BufferShapes, sub: Grid) -> np.ndarray:
    """Bool: pixel centres of ``sub`` within ``shapes.buffer_m`` of a feature."""
    out = _inside_polygons(shapes.index, sub)
    b = shapes.buffer_m
    segs = _overlapping(shapes.seg_box, sub.bounds)
    verts = _overlapping(shapes.vert_box, sub.bounds)
    parts = []
    if len(segs):
        parts.append(_rect_intervals(shapes.seg_a[segs], shapes.seg_b[segs], b, sub))
    if len(verts):
        parts.append(_disc_intervals(shapes.vertices[verts], b, sub))
    if parts:
        out |= _paint(sub, parts)
    return out


def _within_block(
    block: np.ndarray, shapes: BufferShapes, *, grid: Grid, block_info: dict | None = None
) -> np.ndarray:
    return within_block(shapes, _block_grid(grid, block_info)).astype("float32")


def within_layer(
    index: FeatureIndex, grid: Grid, buffer_m: float, *, name: str, chunk: int = DEFAULT_CHUNK
) -> xr.DataArray:
    """Lazy float32 0/1: pixel centre within ``buffer_m`` (> 0) of a feature (module notes)."""
    if not buffer_m > 0:
        raise ValueError(f"within_layer needs buffer_m > 0, got {buffer_m}")
    shapes = buffer_shapes(index, buffer_m)
    out = block_layer(_within_block, shapes, grid, name=name, chunk=chunk)
    out.attrs.update(units="1", buffer_m=float(buffer_m))
    return out
