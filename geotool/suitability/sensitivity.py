"""Weight sensitivity: how often a pixel stays in the top decile when weights wobble.

For each of ``n`` Monte Carlo draws the active criterion weights become ``w_i·(1 + u_i)``,
``u_i ~ U(−p, +p)``, renormalised; the score is recomputed with the profile's aggregation and
the draw's top-decile threshold is taken over the eligible pixels. The result is the share of
draws in which each eligible pixel scores at or above its draw's threshold.

Thresholds come from histograms (``BINS`` bins on 0..1, bin of a score = ``floor(score·BINS)``)
summed over all blocks, so the computation stays blockwise and lazy: the threshold bin is the
highest bin whose count from the top reaches 10 % of the eligible pixels, and "top decile"
means "in that bin or above" (resolution 1/BINS; ties at the edge are all in). Computing the
result runs two passes over the memberships (histograms, then shares); dask keeps the
membership blocks between them, so memory grows with ``criteria × pixels`` — persist a large
stack, or run per region.

Examples
--------
>>> import numpy as np, xarray as xr
>>> from geotool.suitability.specs import (Aggregation, Criterion, DirectWeights, Linear,
...     Profile, SitesSpec)
>>> x = np.linspace(0, 1, 100).reshape(10, 10)
>>> ds = xr.Dataset({"pue": (("y", "x"), x), "slope": (("y", "x"), x)})
>>> p = Profile("demo", "", (), (Criterion("a", Linear(0, 1), layer="pue"),
...             Criterion("b", Linear(0, 1), layer="slope")),
...             DirectWeights({"a": 0.5, "b": 0.5}), Aggregation(), SitesSpec(top_share=0.1))
>>> s = stability(ds, p, 20)
>>> float(s.values[-1, -1]), float(s.values[0, 0])
(1.0, 0.0)
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import xarray as xr

from geotool.errors import ConfigError
from geotool.suitability.aggregation import aggregate
from geotool.suitability.evaluate import prepare
from geotool.suitability.specs import Aggregation, Profile
from geotool.suitability.weights import perturb_weights

BINS = 4096
"""Histogram bins on 0..1 for the per-draw top-decile threshold (resolution 1/4096)."""
TOP_SHARE = 0.10
"""The top decile."""


def _bins(m: np.ndarray, w: np.ndarray, spec: Aggregation) -> np.ndarray:
    """Score bins of one draw (int64); −1 where the score is NaN."""
    score = aggregate(m, w, spec)
    b = np.minimum(np.floor(np.clip(score, 0.0, 1.0) * BINS), BINS - 1)
    return np.where(np.isnan(score), -1, b).astype(np.int64)


def _hist_block(
    m: np.ndarray, eligible: np.ndarray, draws: np.ndarray, spec: Aggregation
) -> np.ndarray:
    """(n, BINS) histogram of the eligible pixels' scores, one row per draw."""
    m = np.asarray(m, dtype=np.float64)
    ok = np.asarray(eligible, dtype=bool)
    counts = np.zeros((draws.shape[0], BINS), dtype=np.int64)
    for d, w in enumerate(draws):  # a loop over draws, each vectorised over the block
        b = _bins(m, w, spec)
        counts[d] = np.bincount(b[ok & (b >= 0)], minlength=BINS)
    return counts


def _threshold_bins(counts: np.ndarray) -> np.ndarray:
    """Per draw: the highest bin holding, with all bins above it, ≥ 10 % of eligible pixels."""
    total = counts.sum(axis=1)
    from_top = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]
    need = np.ceil(TOP_SHARE * total)
    ok = from_top >= np.maximum(need, 1)[:, None]
    # last True along bins (ok is True for low bins, False above the threshold)
    last = BINS - 1 - np.argmax(ok[:, ::-1], axis=1)
    return np.where(total > 0, last, BINS).astype(np.int64)


def _share_block(
    m: np.ndarray,
    eligible: np.ndarray,
    thresholds: np.ndarray,
    draws: np.ndarray,
    spec: Aggregation,
) -> np.ndarray:
    """Share of draws whose score bin reaches the draw's threshold bin (NaN if not eligible)."""
    m = np.asarray(m, dtype=np.float64)
    hits = np.zeros(m.shape[1:], dtype=np.int32)
    for w, t in zip(draws, np.asarray(thresholds), strict=True):
        hits += _bins(m, w, spec) >= t
    share = (hits / draws.shape[0]).astype(np.float32)
    return np.where(np.asarray(eligible, dtype=bool), share, np.float32(np.nan))


def stability(
    stack: xr.Dataset,
    profile: Profile,
    n: int,
    *,
    perturbation: float = 0.2,
    seed: int = 0,
) -> xr.DataArray:
    """Share (0..1) of ``n`` weight perturbations keeping each pixel in the top decile.

    Parameters
    ----------
    stack, profile
        As for :func:`geotool.suitability.evaluate`.
    n
        Number of Monte Carlo draws (≥ 1).
    perturbation
        Half-width ``p`` of the uniform relative perturbation of each weight (0.2 = ±20 %).
    seed
        Seed of ``numpy.random.default_rng`` (results are reproducible).

    Returns
    -------
    xarray.DataArray
        float32 ``stability`` on the stack's grid; NaN where the pixel has no score.
    """
    if n < 1:
        raise ConfigError(f"n must be ≥ 1, got {n}", where="stability", fix="e.g. n = 100")
    prep = prepare(stack, profile)
    draws = perturb_weights(prep.weights, n, perturbation, np.random.default_rng(seed))
    spec = profile.aggregation
    eligible = (prep.code == 0) & prep.valid
    m = prep.stacked.transpose("criterion", ...)
    if isinstance(m.data, da.Array):
        md = m.data
        ed = eligible.data if isinstance(eligible.data, da.Array) else da.from_array(eligible.data)
        ed = ed.rechunk(md.chunks[1:])
        parts = [
            dask.delayed(_hist_block)(bm, be, draws, spec)
            for bm, be in zip(md.to_delayed().ravel(), ed.to_delayed().ravel(), strict=True)
        ]
        while len(parts) > 1:  # tree sum: bounded memory however many blocks
            parts = [
                dask.delayed(np.sum)(parts[i : i + 8], axis=0) for i in range(0, len(parts), 8)
            ]
        thr = da.from_delayed(dask.delayed(_threshold_bins)(parts[0]), (n,), dtype=np.int64)
        data = da.blockwise(
            _share_block,
            "yx",
            md,
            "kyx",
            ed,
            "yx",
            thr,
            "d",
            concatenate=True,
            dtype=np.float32,
            draws=draws,
            spec=spec,
        )
    else:
        mn, en = np.asarray(m.data), np.asarray(eligible.data)
        thresholds = _threshold_bins(_hist_block(mn, en, draws, spec))
        data = _share_block(mn, en, thresholds, draws, spec)
    template = eligible.copy(data=data)
    return template.rename("stability").assign_attrs(
        long_name=f"share of {n} weight perturbations (±{perturbation:.0%}) in the top decile",
        units="1",
        draws=n,
        perturbation=perturbation,
        seed=seed,
    )
