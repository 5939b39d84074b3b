"""Exact distances for whole cells of pixels near features: one k-d tree look-up per cell.

Per-pixel k-d tree queries cost about a microsecond each; near features, where setback buffers
and proximity criteria need exact distances, neighbouring pixels share their few nearest
segments. For a cell of ``C`` × ``C`` pixels with centre ``c`` and half-diagonal ``r`` (centre
to farthest pixel centre):

- the nearest *sample* to ``c`` is at ``d_s``, so every pixel ``p`` of the cell has
  ``d(p) ≤ d_s + r``;
- a pixel whose distance matters (``d(p) < cap``) has its nearest feature point ``q`` within
  ``min(d_s + r, cap) + r`` of ``c``, and a sample of ``q``'s segment within ``s/2`` of ``q``;
- so the segments owning the samples within ``R = min(d_s + r, cap) + r + s/2`` of ``c``
  include every pixel's nearest segment, and the minimum of the exact point-to-segment
  distances over them is each pixel's exact distance (or ≥ cap, which is capped).

Cells are evaluated in batches as ``(cells, C², segments)`` arrays (segment lists padded by
repeating one, which leaves the minimum unchanged), so the work is vectorised over many cells.
Cells whose ball would be large (far from every feature under a long cap) or hold many segments
are left to the per-pixel query.

Examples
--------
>>> import numpy as np
>>> p = np.array([[[0.0, 1.0], [5.0, 5.0]]])            # 1 cell, 2 pixels
>>> a = np.array([[[-1.0, 0.0], [9.0, 9.0]]])           # 2 segments (the second a point)
>>> b = np.array([[[1.0, 0.0], [9.0, 9.0]]])
>>> cell_distances(p, a, b).round(3).tolist()
[[1.0, 5.657]]
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

MAX_SEGMENTS = 256
"""Cells with more candidate segments than this go to the per-pixel query (cost bound)."""
MAX_RADIUS_CELLS = 20.0
"""Cells whose candidate ball exceeds this many half-diagonals go to the per-pixel query."""
_BATCH_ELEMENTS = 1 << 20  # pixel-segment pairs per vectorised batch (~8 MB per temporary)


def cell_distances(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact distance from each pixel to the nearest of its cell's segments.

    Parameters
    ----------
    p
        ``(k, n, 2)`` pixel centres of ``k`` cells, ``n`` pixels each.
    a, b
        ``(k, m, 2)`` segment ends of each cell's candidates (``a == b`` for a point).

    Returns
    -------
    numpy.ndarray
        ``(k, n)`` distances in the coordinates' units.
    """
    ax, ay = a[:, None, :, 0], a[:, None, :, 1]  # (k, 1, m)
    abx, aby = b[:, None, :, 0] - ax, b[:, None, :, 1] - ay
    denom = abx * abx + aby * aby
    inv = np.divide(1.0, denom, out=np.zeros_like(denom), where=denom > 0)
    dx = p[:, :, None, 0] - ax  # (k, n, m)
    dy = p[:, :, None, 1] - ay
    t = dx * abx
    t += dy * aby
    t *= inv
    np.clip(t, 0.0, 1.0, out=t)
    dx -= t * abx  # from the nearest point of each segment to the pixel
    dy -= t * aby
    dx *= dx
    dy *= dy
    dx += dy
    return np.sqrt(dx.min(axis=2))


def near_cells_exact(
    index: Any,
    px: np.ndarray,
    centres: np.ndarray,
    d_sample: np.ndarray,
    r: float,
    cap: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact capped distances for the cells that qualify (see the module docstring).

    Parameters
    ----------
    index
        :class:`geotool.io.rasterize.FeatureIndex` (samples in a k-d tree, segments).
    px
        ``(k, n, 2)`` pixel centres of ``k`` candidate cells.
    centres
        ``(k, 2)`` cell centres; ``d_sample`` their nearest-sample distances.
    r, cap
        Cell half-diagonal and distance cap (grid units).

    Returns
    -------
    (done, distances)
        ``done`` (k,) bool: cells solved here; ``distances`` (k, n), capped, valid where done.
    """
    k, n, _ = px.shape
    out = np.full((k, n), cap, dtype=np.float64)
    s = index.spacing
    radius = np.minimum(d_sample + r, cap) + r + s / 2.0
    done = radius <= MAX_RADIUS_CELLS * r + s
    todo = np.flatnonzero(done)
    if todo.size == 0:
        return done, out
    balls = index.tree.query_ball_point(centres[todo], radius[todo], workers=1, return_sorted=False)
    lens = np.fromiter((len(ball) for ball in balls), dtype=np.intp, count=len(balls))
    flat = np.fromiter(chain.from_iterable(balls), dtype=np.intp, count=int(lens.sum()))
    n_seg = len(index.seg_a)
    # unique (cell, segment) pairs, sorted by cell: each cell's candidates are contiguous
    pairs = np.unique(np.repeat(np.arange(len(balls)), lens) * n_seg + index.sample_seg[flat])
    cell_of, seg_of = np.divmod(pairs, n_seg)
    counts = np.bincount(cell_of, minlength=len(balls))
    starts = np.cumsum(counts) - counts
    ok = (counts > 0) & (counts <= MAX_SEGMENTS)
    done[todo[~ok]] = False  # left to the per-pixel query
    padded = np.where(ok, _pad_size(counts), 0)
    for m in np.unique(padded[ok]):
        members = np.flatnonzero(padded == m)
        per_batch = max(1, _BATCH_ELEMENTS // (n * int(m)))
        for start in range(0, members.size, per_batch):
            group = members[start : start + per_batch]
            # each cell's candidates, cycled to m columns (repeats leave the minimum alone)
            col = np.arange(int(m))[None, :] % counts[group, None]
            ids = seg_of[starts[group, None] + col]
            cells = todo[group]
            d = cell_distances(px[cells], index.seg_a[ids], index.seg_b[ids])
            out[cells] = np.minimum(d, cap)
    return done, out


def _pad_size(m: Any) -> Any:
    """Segment counts rounded up to 4, 8, 16, ... (few distinct batch shapes)."""
    return np.maximum(4, 2 ** np.ceil(np.log2(np.maximum(m, 1)))).astype(int)
