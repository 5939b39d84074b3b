"""Candidate pixels, their connected areas, and splitting of large areas.

Memory: the candidate mask of the whole grid is held 1 bit per pixel (:class:`PackedMask`,
packed a row band at a time as the score's blocks arrive) and the label raster (uint16, 2 bytes
per pixel while there are fewer than 65,536 areas, else int32) in memory or, given a work
folder, in a file-backed scratch array whose pages are released strip by strip
(:mod:`geotool.io.mapped`); everything else works in strips of rows or a few blocks at a time
(labelling with a union-find across strips, pixel counts, relabelling, polygons, per-site
statistics). The score itself is only read block by block (twice for ``threshold``, three
times for ``top_share``: histogram, mask, per-site statistics). Peak of the benchmark's sites
step (``benchmarks/score_vs_peers.py``, best 10 % of a 20,000² px score): see its README.

Examples
--------
>>> import numpy as np
>>> s = np.array([[0.9, 0.8, np.nan], [0.1, 0.7, 0.95]])
>>> top_share_threshold(s, 0.5)  # 5 eligible pixels: the best ceil(2.5) = 3
0.8
>>> mask, t = candidate_mask(s, SitesSpec(threshold=0.75))
>>> labels, n = label_candidates(mask)
>>> n, labels.tolist()
(1, [[1, 1, 0], [0, 0, 1]])
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import numpy as np
from scipy import ndimage

from geotool.errors import ConfigError
from geotool.io.mapped import release, scratch_array, scratch_like
from geotool.sites.zonal import block_slices, block_tasks
from geotool.suitability.specs import SitesSpec

HIST_BINS = 65_536
"""Bins of the score histogram that locates the top-share threshold (refined exactly)."""
QUEEN = np.ones((3, 3), dtype=bool)
"""8-connectivity (diagonal neighbours join), as the suitability min-area constraint."""


def _bin_index(v: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(v * HIST_BINS), 0, HIST_BINS - 1).astype(np.int64)


def _hist_kernel(block: np.ndarray) -> np.ndarray:
    v = np.asarray(block, dtype=np.float64)
    v = v[np.isfinite(v)]
    return np.bincount(_bin_index(v), minlength=HIST_BINS)


class _InBin:
    def __init__(self, b: int) -> None:
        self.b = b
        self.__name__ = "scores_in_bin"

    def __call__(self, block: np.ndarray) -> np.ndarray:
        v = np.asarray(block, dtype=np.float64)
        v = v[np.isfinite(v)]
        return v[_bin_index(v) == self.b]


def _locate(hist: np.ndarray, share: float) -> tuple[int, int, int]:
    """(bin holding the k-th best score, k, pixels in higher bins) for ``k = ceil(share n)``."""
    n = int(hist.sum())
    k = min(n, max(1, math.ceil(share * n - 1e-9)))
    from_top = np.cumsum(hist[::-1])
    b = HIST_BINS - 1 - int(np.searchsorted(from_top, k))
    return b, k, int(hist[b + 1 :].sum())


def _histogram(score: Any, share: float) -> np.ndarray:
    if not 0.0 < share <= 1.0:
        raise ConfigError(
            f"top_share = {share} is not in (0, 1]",
            where="sites.top_share",
            fix="give the share of the best eligible pixels, e.g. top_share = 0.1 for 10 %",
        )
    return np.asarray(np.sum(dask.compute(*block_tasks(score, _hist_kernel)), axis=0))


def _kth(values: np.ndarray, k: int, above: int) -> float:
    return float(np.sort(values)[::-1][k - above - 1])


def top_share_threshold(score: Any, share: float) -> float:
    """The lowest score among the best ``ceil(share × n_eligible)`` pixels.

    Eligible pixels are those with a finite score. Pixels with ``score >= threshold`` are the
    top share (ties at the threshold are all included). A 65,536-bin histogram finds the
    bin holding the k-th best score, then that bin's scores are read back and sorted, so the
    threshold is exact. Returns ``inf`` when no pixel is eligible.
    """
    hist = _histogram(score, share)
    if hist.sum() == 0:
        return math.inf
    b, k, above = _locate(hist, share)
    values = np.concatenate(dask.compute(*block_tasks(score, _InBin(b))))
    return _kth(values, k, above)


def _mask_kernel(block: np.ndarray, *, threshold: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray((block >= threshold) & (block > 0.0), dtype=np.uint8)


class _Split:
    """Block -> (uint8: 1 above bin b, else 0; flat indices and scores of the pixels in bin b)."""

    def __init__(self, b: int) -> None:
        self.b = b
        self.__name__ = "split_at_bin"

    def __call__(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v = np.asarray(block, dtype=np.float64)
        ok = np.isfinite(v)
        idx = np.where(ok, _bin_index(np.where(ok, v, 0.0)), -1)
        inside = np.flatnonzero(idx == self.b)
        return (idx > self.b).astype(np.uint8), inside, v.ravel()[inside]


def candidate_mask(score: Any, spec: SitesSpec) -> tuple[np.ndarray, float]:
    """uint8 mask (in memory) of candidate pixels and the score threshold they pass.

    ``spec.threshold``: ``score >= threshold`` (one pass over the score). ``spec.top_share``:
    the pixels of :func:`top_share_threshold`, in two passes (histogram, then the mask with
    the scores of the threshold's histogram bin). NaN and a score of 0 are never candidates
    (when most eligible land scores 0, the top share can hold fewer pixels than asked).
    """
    packed, t = candidate_bits(score, spec)
    return packed[0 : packed.shape[0]], t


def candidate_bits(score: Any, spec: SitesSpec) -> tuple[PackedMask, float]:
    """:func:`candidate_mask` stored 1 bit per pixel: the blocks of one row band are
    gathered and packed as soon as the band is complete, so no byte-per-pixel mask of the
    whole grid is ever held (50 MB instead of 400 MB at 20,000² px)."""
    if (spec.threshold is None) == (spec.top_share is None):
        raise ConfigError(
            "give exactly one of threshold and top_share",
            where="[sites]",
            fix="threshold = 0.6 (score) or top_share = 0.1 (best 10 % of eligible pixels)",
        )
    out = PackedMask.zeros(_shape(score))
    if spec.threshold is not None:
        t = float(spec.threshold)
        kernel = functools.partial(_mask_kernel, threshold=t)
        _pack_bands(out, _in_rounds(score, kernel))
        return out, t
    assert spec.top_share is not None
    hist = _histogram(score, spec.top_share)
    if hist.sum() == 0:
        return out, math.inf
    b, k, above = _locate(hist, spec.top_share)
    in_bin: list[tuple[tuple[slice, slice], np.ndarray, np.ndarray]] = []

    def codes() -> Iterator[tuple[tuple[slice, slice], np.ndarray]]:
        for where, (code, inside, values) in _in_rounds(score, _Split(b)):
            if inside.size:
                in_bin.append((where, inside, values))
            yield where, code

    _pack_bands(out, codes())
    t = _kth(np.concatenate([v for _, _, v in in_bin] or [np.empty(0)]), k, above)
    band_rows: slice | None = None
    band = np.empty((0, 0), dtype=np.uint8)
    for (ys, xs), inside, values in in_bin:  # the bin's pixels that pass the exact threshold
        if ys != band_rows:
            if band_rows is not None:
                out[band_rows] = band
            band_rows, band = ys, out[ys]
        window = band[:, xs]  # a view into the unpacked band
        rows, cols = np.unravel_index(inside, window.shape)
        window[rows, cols] = (values >= t) & (values > 0.0)
    if band_rows is not None:
        out[band_rows] = band
    return out, t


def _pack_bands(out: PackedMask, blocks: Iterator[tuple[tuple[slice, slice], np.ndarray]]) -> None:
    """Write uint8 blocks arriving in row-major block order into ``out``, a band at a time."""
    band_rows: slice | None = None
    band = np.empty((0, 0), dtype=np.uint8)
    for (ys, xs), block in blocks:
        if ys != band_rows:
            if band_rows is not None:
                out[band_rows] = band
            band_rows = ys
            band = np.zeros((ys.stop - ys.start, out.shape[1]), dtype=np.uint8)
        band[:, xs] = block
    if band_rows is not None:
        out[band_rows] = band


def _in_rounds(score: Any, func: Any, per_round: int = 16) -> Iterator[tuple[Any, Any]]:
    """``(block slices, func(block))`` for every block, computing ``per_round`` at a time."""
    slices = block_slices(score)
    tasks = list(block_tasks(score, func))
    for start in range(0, len(tasks), per_round):
        done = dask.compute(*tasks[start : start + per_round])
        yield from zip(slices[start : start + per_round], done, strict=True)


def _shape(score: Any) -> tuple[int, int]:
    return (int(score.shape[0]), int(score.shape[1]))


class PackedMask:
    """A bool/uint8 mask stored 1 bit per pixel (``np.packbits`` along rows); row slices
    (``packed[r0:r1]``) come back as uint8 0/1 rows, as from the unpacked array."""

    def __init__(self, mask: np.ndarray) -> None:
        self.shape: tuple[int, int] = (int(mask.shape[0]), int(mask.shape[1]))
        self.bits = np.packbits(mask.astype(bool, copy=False), axis=1)

    @classmethod
    def zeros(cls, shape: tuple[int, int]) -> PackedMask:
        """An all-zero mask of ``shape``."""
        out = cls.__new__(cls)
        out.shape = (int(shape[0]), int(shape[1]))
        out.bits = np.zeros((out.shape[0], -(-out.shape[1] // 8)), dtype=np.uint8)
        return out

    def __getitem__(self, rows: slice) -> np.ndarray:
        return np.unpackbits(self.bits[rows], axis=1, count=self.shape[1])

    def __setitem__(self, rows: slice, values: np.ndarray) -> None:
        """Set whole rows (``values`` has the mask's width)."""
        self.bits[rows] = np.packbits(np.asarray(values).astype(bool, copy=False), axis=1)


LABEL_STRIP_ROWS = 256
"""Rows labelled at a time by :func:`label_candidates` (bounds scipy's temporaries)."""


def label_candidates(
    mask: np.ndarray | PackedMask, folder: str | Path | None = None
) -> tuple[np.ndarray, int]:
    """8-connected areas of the mask: labels 1..n (0 = not a candidate), numbered in raster
    order of their first pixel, as ``scipy.ndimage.label`` numbers them.

    The labels are uint16 while there are fewer than 65,536 areas — half the memory of int32
    (0.8 GB instead of 1.6 GB at 20,000² px) — and int32 beyond. Labelling runs in strips of
    ``LABEL_STRIP_ROWS`` rows (scipy's provisional labels would otherwise need a full-size
    int32 temporary) whose areas are joined across strip edges with a union-find
    (``scipy.sparse.csgraph.connected_components``), then written strip by strip.

    With ``folder``, the label raster is a file-backed scratch array there
    (:func:`geotool.io.mapped.scratch_array`) whose pages are released after every strip:
    the resident memory then does not grow with the grid.
    """
    h = mask.shape[0]
    strips = [(r, min(h, r + LABEL_STRIP_ROWS)) for r in range(0, h, LABEL_STRIP_ROWS)]
    offsets, edges, total = [], [], 0
    prev_last: np.ndarray | None = None
    for r0, r1 in strips:
        lab, n = ndimage.label(mask[r0:r1], structure=QUEEN, output=np.int32)
        np.add(lab, total, out=lab, where=lab > 0)  # provisional ids, unique over strips
        if prev_last is not None:
            edges.append(_touching(prev_last, lab[0]))
        prev_last = lab[-1].copy()
        offsets.append(total)
        total += int(n)
        del lab
    final = _merge(total, edges)  # provisional id (1-based) -> final id, 0 -> 0
    n_final = int(final.max()) if final.size else 0
    dtype = np.uint16 if n_final <= np.iinfo(np.uint16).max else np.int32
    labels = scratch_array(mask.shape, dtype, folder)
    ends = [*offsets[1:], total]
    for (r0, r1), offset, end in zip(strips, offsets, ends, strict=True):
        lab, _ = ndimage.label(mask[r0:r1], structure=QUEEN, output=np.int32)
        lookup = final[offset : end + 1].astype(dtype)  # local id -> final id
        lookup[0] = 0
        labels[r0:r1] = lookup[lab]
        release(labels)
    return labels, n_final


def _touching(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """(k, 2) pairs of provisional ids 8-connected across a strip edge (rows upper/lower)."""
    pairs = []
    for shift in (-1, 0, 1):
        a = upper[max(0, shift) : upper.size + min(0, shift)]
        b = lower[max(0, -shift) : lower.size + min(0, -shift)]
        both = (a > 0) & (b > 0)
        pairs.append(np.column_stack([a[both], b[both]]))
    return np.concatenate(pairs) if pairs else np.empty((0, 2), dtype=np.int64)


def _merge(total: int, edges: list[np.ndarray]) -> np.ndarray:
    """Final ids of provisional ids 1..total joined by ``edges``, in order of first id."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if total == 0:
        return np.zeros(1, dtype=np.int64)
    e = np.concatenate(edges) if edges else np.empty((0, 2), dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(e), dtype=np.int8), (e[:, 0] - 1, e[:, 1] - 1)), shape=(total, total)
    )
    _, comp = connected_components(graph, directed=False)
    # number components by their smallest provisional id = raster order of first pixel
    first = np.full(comp.max() + 1, total, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(total))
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(1, first.size + 1)
    return np.concatenate([[0], rank[comp]])


def label_counts(labels: np.ndarray, minlength: int) -> np.ndarray:
    """Pixels per label id (``bincount`` strip by strip: numpy would otherwise convert the
    whole label raster to an int64 temporary, 8 bytes per pixel)."""
    counts = np.zeros(minlength, dtype=np.int64)
    for r0 in range(0, labels.shape[0], LABEL_STRIP_ROWS):
        part = np.bincount(labels[r0 : r0 + LABEL_STRIP_ROWS].ravel(), minlength=minlength)
        release(labels)
        if part.size > counts.size:
            counts = np.concatenate([counts, np.zeros(part.size - counts.size, np.int64)])
        counts[: part.size] += part
    return counts


def _split_id_bound(counts: np.ndarray, n: int, max_px: int) -> int:
    """Largest label id :func:`split_large` can create (each split part gets new ids), from
    the pixel counts of labels 0..n."""
    return n + int(counts[1:][counts[1:] > max_px].sum())


def widen_for_split(labels: np.ndarray, n: int, max_px: int | None) -> np.ndarray:
    """``labels`` as int32 when splitting areas above ``max_px`` could run out of its ids."""
    if max_px is None or np.iinfo(labels.dtype).max >= np.iinfo(np.int32).max:
        return labels
    if _split_id_bound(label_counts(labels, n + 1), n, max_px) <= np.iinfo(labels.dtype).max:
        return labels
    wide = scratch_like(labels, np.int32)  # on disk too when labels are
    for r0 in range(0, labels.shape[0], LABEL_STRIP_ROWS):
        wide[r0 : r0 + LABEL_STRIP_ROWS] = labels[r0 : r0 + LABEL_STRIP_ROWS]
        release(labels, wide)
    return wide


def _bisect(idx: np.ndarray, rr: np.ndarray, cc: np.ndarray, max_px: int) -> list[np.ndarray]:
    """Split pixel indices into ``ceil(n / max_px)`` compact parts, each ≤ ``max_px``.

    Recursive proportional bisection: sort by the longer extent (ties by the other axis)
    and cut at the pixel count proportional to the parts on each side.
    """
    n = idx.size
    k = math.ceil(n / max_px)
    if k <= 1:
        return [idx]
    r, c = rr[idx], cc[idx]
    order = np.lexsort((c, r)) if np.ptp(r) >= np.ptp(c) else np.lexsort((r, c))
    m = round(n * (k // 2) / k)
    return _bisect(idx[order[:m]], rr, cc, max_px) + _bisect(idx[order[m:]], rr, cc, max_px)


def split_large(labels: np.ndarray, n: int, max_px: int | None, min_px: int = 1) -> int:
    """Split areas above ``max_px`` pixels into connected parts of at most ``max_px``.

    Works in place on ``labels``; drops areas (and split parts) of fewer than ``min_px``
    pixels; relabels to 1..m and returns m. A part of a split area that is not connected
    (a cut through a concave area) becomes one site per 8-connected piece.
    """
    counts = label_counts(labels, n + 1)
    drop = np.flatnonzero(counts < min_px)
    if max_px is not None:
        if _split_id_bound(counts, n, max_px) > np.iinfo(labels.dtype).max:
            raise ValueError(f"{labels.dtype} labels cannot hold the split ids: widen_for_split()")
        big = np.flatnonzero(counts > max_px)
        big = big[big > 0]
        next_id = n + 1
        for lab, box in zip(big, _bounding_boxes(labels, big), strict=True):
            window = labels[box]
            rr, cc = np.nonzero(window == lab)
            for part in _bisect(np.arange(rr.size), rr, cc, max_px):
                sub = np.zeros(window.shape, dtype=bool)
                sub[rr[part], cc[part]] = True
                pieces, m = ndimage.label(sub, structure=QUEEN, output=np.int32)
                window[sub] = pieces[sub] + (next_id - 1)
                next_id += int(m)
            release(labels)
        counts = label_counts(labels, next_id)
        drop = np.flatnonzero(counts < min_px)
    lookup = np.arange(counts.size, dtype=labels.dtype)
    keep = np.ones(counts.size, dtype=bool)
    keep[drop] = False
    keep[0] = False
    lookup[keep] = np.arange(1, int(keep.sum()) + 1, dtype=labels.dtype)
    lookup[~keep] = 0
    for r0 in range(0, labels.shape[0], LABEL_STRIP_ROWS):  # in place, a strip at a time
        strip = labels[r0 : r0 + LABEL_STRIP_ROWS]
        strip[...] = lookup[strip]
        release(labels)
    return int(keep.sum())


def _bounding_boxes(labels: np.ndarray, ids: np.ndarray) -> list[tuple[slice, slice]]:
    """Row and column slices of the smallest window holding each label of ``ids`` (as
    ``scipy.ndimage.find_objects``, for these labels only and a strip at a time)."""
    if ids.size == 0:
        return []
    where = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    where[ids] = np.arange(ids.size)
    lo = np.full((ids.size, 2), np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full((ids.size, 2), -1, dtype=np.int64)
    top = ids.max()
    for r0 in range(0, labels.shape[0], LABEL_STRIP_ROWS):
        strip = labels[r0 : r0 + LABEL_STRIP_ROWS]
        rows, cols = np.nonzero((strip > 0) & (strip <= top))
        k = where[strip[rows, cols]]
        release(labels)
        sel = k >= 0
        k, rows, cols = k[sel], rows[sel] + r0, cols[sel]
        np.minimum.at(lo, (k, 0), rows)
        np.minimum.at(lo, (k, 1), cols)
        np.maximum.at(hi, (k, 0), rows)
        np.maximum.at(hi, (k, 1), cols)
    return [
        (slice(int(a), int(b) + 1), slice(int(c), int(d) + 1))
        for (a, c), (b, d) in zip(lo, hi, strict=True)
    ]
