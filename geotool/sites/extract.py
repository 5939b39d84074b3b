"""Candidate sites of one evaluated profile: select, label, split, outline, separate, rank.

Steps (memory: see :mod:`geotool.sites.candidates`):

1. candidate pixels: ``score >= threshold``, or the best ``top_share`` of eligible pixels
   (finite score), exactly (:func:`~geotool.sites.candidates.top_share_threshold`);
2. 8-connected areas (``scipy.ndimage.label``, in memory as uint16, or int32 past 65,535
   areas); areas below
   ``min_area_km2`` dropped; areas above ``max_area_km2`` split by proportional recursive
   bisection of their pixel coordinates into compact parts of at most ``max_area_km2``
   (a disconnected part becomes one site per connected piece);
3. polygons from the labels (``rasterio.features.shapes``), simplified by half a pixel and
   intersected with the unsimplified outline — never beyond the site's own pixels; they are
   for display and separation only: a site's ``area_km2`` is its pixel count times the pixel
   area (the area every metric and the region totals use), so ``min_area_km2`` is a pixel
   count test (step 2) and a site is never dropped because its outline was simplified;
4. one pass over the score, memberships, per-criterion shortfalls and metric layers gives
   per-site pixel means (:func:`~geotool.sites.zonal.label_stats`);
5. separation: by descending mean score, a site closer than ``min_separation_m`` (polygon to
   polygon) to a site already kept is dropped — so adjacent parts of a split area survive
   only when the separation is 0;
6. ranks 1..n by descending mean score (ties: larger area first), attributes and metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from geotool.errors import ConfigError, InputError
from geotool.grid import Grid
from geotool.sites.candidates import (
    candidate_bits,
    label_candidates,
    label_counts,
    split_large,
    widen_for_split,
)
from geotool.sites.layers import metric_layers
from geotool.sites.metrics import site_metrics
from geotool.sites.options import SiteOptions
from geotool.sites.params import metric_kind
from geotool.sites.polygons import centroid_lonlat, label_polygons, majority_region, separate
from geotool.sites.zonal import Reduction, label_stats
from geotool.suitability.aggregation import shortfalls
from geotool.suitability.specs import Aggregation, Profile

NO_LIMIT = "none"
"""``limiting`` of a site whose every active criterion has membership 1 throughout."""


def _shortfall_kernel(m: np.ndarray, *, weights: np.ndarray, spec: Aggregation) -> np.ndarray:
    mk = np.moveaxis(np.asarray(m, dtype=np.float64), -1, 0)
    return np.moveaxis(shortfalls(mk, weights, spec), 0, -1)


def shortfall_layers(evaluated: xr.Dataset, profile: Profile) -> dict[str, xr.DataArray]:
    """Each active criterion's per-pixel share of the score's shortfall (lazy).

    The same decomposition as the ``limiting`` layer of
    :func:`geotool.suitability.evaluate`: ``w_i (1 − m_i)`` (wlc), ``−w_i ln m_i`` (product),
    ``ω_i (1 − m_i)`` with the pixel's effective OWA weights.
    """
    weights = profile.weights
    active = [c.name for c in profile.criteria if weights[c.name] > 0]
    w = np.array([weights[a] for a in active], dtype=np.float64)
    w = w / w.sum()
    if profile.aggregation.method in ("wlc", "product"):
        # one criterion at a time (the same float64 arithmetic as shortfalls()): no stacked
        # (criterion, y, x) float64 block per position, which dominated the memory of sites
        out = {}
        for a, wa in zip(active, w, strict=True):
            m = evaluated[f"m_{a}"].astype(np.float64)
            if profile.aggregation.method == "wlc":
                out[a] = (wa * (1.0 - m)).transpose("y", "x")
            else:  # -w ln m, +inf at m = 0 (without a divide-by-zero warning per block)
                out[a] = xr.where(m == 0, np.inf, -wa * np.log(m.where(m != 0))).transpose("y", "x")
        return out
    stacked = xr.concat([evaluated[f"m_{a}"] for a in active], dim="criterion")
    if isinstance(stacked.data, da.Array):
        stacked = stacked.chunk({"criterion": -1})
    sf = xr.apply_ufunc(
        _shortfall_kernel,
        stacked,
        input_core_dims=[["criterion"]],
        output_core_dims=[["criterion"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        kwargs={"weights": w, "spec": profile.aggregation},
    )
    return {a: sf.isel(criterion=j).transpose("y", "x") for j, a in enumerate(active)}


def _check(evaluated: xr.Dataset, profile: Profile, grid: Grid) -> None:
    if "score" not in evaluated:
        raise InputError(
            "the evaluated dataset has no 'score'",
            where=f"profile {profile.name}",
            fix="pass the result of geotool.suitability.evaluate(stack, profile)",
        )
    if tuple(evaluated["score"].shape) != tuple(grid.shape):
        raise InputError(
            f"score shape {tuple(evaluated['score'].shape)} does not match the grid {grid.shape}",
            where=f"profile {profile.name}",
            fix="evaluate the profile on the stack of this analysis grid",
        )
    if not grid.is_metric:
        raise InputError(
            f"the grid CRS {grid.crs.name} is not metric",
            where="grid",
            fix="use a projected analysis CRS in metres (study crs = 'auto' picks UTM)",
        )


def extract_sites(
    evaluated: xr.Dataset,
    profile: Profile,
    grid: Grid,
    *,
    regions: gpd.GeoDataFrame | None = None,
    stack: xr.Dataset | None = None,
    vectors: Mapping[str, gpd.GeoDataFrame] | None = None,
    options: SiteOptions | None = None,
    region_field: str | None = None,
    workdir: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Candidate site polygons with attributes, ranked (see the module docstring).

    Parameters
    ----------
    evaluated
        :func:`geotool.suitability.evaluate` output on ``grid`` (``score``, ``m_<criterion>``);
        lazy or in memory. The score is read two or three times: pass a persisted or
        file-backed score to avoid re-running the evaluation.
    profile
        The evaluated profile (``[sites]`` rules and metric parameters).
    grid
        The analysis grid (metric CRS).
    regions
        Region units; each site gets the id of the one covering most of it (``region``).
    stack
        Stack with derived layers for the profile metrics (:mod:`geotool.sites.metrics`).
    vectors
        Optional ``{"demand_centres": gdf, "substations": gdf}`` for exact distances.
    options
        :class:`SiteOptions`.
    region_field
        Column of ``regions`` with the unit id (default ``region``, else the row index).
    workdir
        Folder for the label raster of the whole grid (a file-backed scratch array,
        :mod:`geotool.io.mapped`): the resident memory then does not grow with the grid.
        ``None`` keeps it in memory (2 bytes per pixel).

    Returns
    -------
    geopandas.GeoDataFrame
        In the grid CRS, sorted by rank: ``site_id``, ``rank``, ``score`` (mean), ``area_km2``
        (pixel count × pixel area; the simplified polygon is a little smaller),
        ``m_<criterion>`` (mean membership), ``limiting`` (criterion with the largest mean
        shortfall share, or ``"none"``), ``region``, ``lon``, ``lat`` (centroid, WGS 84) and
        the profile metrics.

    Examples
    --------
    >>> from geotool.suitability.specs import (Criterion, DirectWeights, Linear, SitesSpec)
    >>> g = Grid.from_bounds((0, 0, 1000, 1000), 100, "EPSG:32649")
    >>> v = np.zeros(g.shape); v[2:6, 2:7] = 1.0
    >>> stack = xr.Dataset({"v": (("y", "x"), v)}, coords={"x": g.xs, "y": g.ys})
    >>> p = Profile("demo", "", (), (Criterion("v", Linear(0, 1), layer="v"),),
    ...             DirectWeights({"v": 1.0}), Aggregation(), SitesSpec(threshold=0.5))
    >>> from geotool.suitability import evaluate
    >>> s = extract_sites(evaluate(stack, p), p, g)
    >>> s[["site_id", "rank", "score", "area_km2", "limiting"]].values.tolist()
    [['demo-001', 1, 1.0, 0.2, 'none']]
    """
    opt = options or SiteOptions()
    _check(evaluated, profile, grid)
    spec = profile.sites
    kind = metric_kind(profile, opt)
    score = evaluated["score"].transpose("y", "x")
    px_m2 = grid.pixel_area
    min_px = max(1, math.ceil(spec.min_area_km2 * 1e6 / px_m2 - 1e-9))
    max_px = None
    if spec.max_area_km2 is not None:
        max_px = math.floor(spec.max_area_km2 * 1e6 / px_m2 + 1e-9)
        if max_px < 1:
            raise ConfigError(
                f"max_area_km2 = {spec.max_area_km2} is smaller than one pixel "
                f"({px_m2 / 1e6:g} km²)",
                where=f"profile {profile.name}: [sites] max_area_km2",
                fix="raise max_area_km2 or use a finer resolution",
            )

    packed, threshold = candidate_bits(score, spec)  # 1 bit per pixel
    labels, n = label_candidates(packed, workdir)  # file-backed with a work folder
    del packed
    labels = widen_for_split(labels, n, max_px)
    n = split_large(labels, n, max_px, min_px)
    geoms = label_polygons(labels, n, grid.transform)
    # pixel area, not the simplified polygon's (smaller by up to half a pixel along the edge)
    counts = label_counts(labels, n + 1)[1 : n + 1]
    areas = counts * (px_m2 / 1e6)

    criteria = [c.name for c in profile.criteria]
    layers: dict[str, tuple[xr.DataArray, Reduction]] = {"score": (score, "mean")}
    for c in criteria:
        layers[f"m_{c}"] = (evaluated[f"m_{c}"], "mean")
    short = shortfall_layers(evaluated, profile)
    for c, arr in short.items():
        layers[f"shortfall:{c}"] = (arr, "mean")
    metric_inputs = metric_layers(kind, profile, stack, opt)
    layers.update(metric_inputs)
    stats = label_stats(layers, labels, n)
    del labels

    pos = np.flatnonzero(counts >= min_px)  # split_large already dropped the smaller ones
    mean_score = stats["score"].to_numpy()[pos]
    order = np.lexsort((pos, -areas[pos], -mean_score))
    keep = separate(geoms[pos], order, spec.min_separation_m)
    ranked = pos[order[keep[order]]]

    rows = stats.iloc[ranked].reset_index(drop=True)
    out = pd.DataFrame(
        {
            # dtype=str: an empty list would otherwise make a float64 column (no sites found)
            "site_id": pd.Series(
                [f"{profile.name}-{r:03d}" for r in range(1, ranked.size + 1)], dtype=str
            ),
            "rank": np.arange(1, ranked.size + 1, dtype=np.int64),
            "score": rows["score"].to_numpy(),
            "area_km2": areas[ranked],
        }
    )
    for c in criteria:
        out[f"m_{c}"] = rows[f"m_{c}"].to_numpy()
    out["limiting"] = pd.Series(_limiting(rows, list(short)), dtype=object)
    kept = geoms[ranked]
    if regions is not None:
        from geotool.regions import region_ids, regions_in_crs

        units = regions_in_crs(regions, grid.crs)
        ids = majority_region(kept, units, region_ids(regions, region_field))
        out["region"] = pd.Series(ids, dtype=str)  # text ids (None: no unit), also when empty
    else:
        out["region"] = pd.Series([None] * len(out), dtype=object)
    out["lon"], out["lat"] = centroid_lonlat(kept, grid.crs)
    sites = gpd.GeoDataFrame(out, geometry=list(kept), crs=grid.crs)
    metric_stats = rows[list(metric_inputs)]
    metrics = site_metrics(
        sites,
        profile,
        grid,
        stack=stack,
        vectors=dict(vectors or {}),
        options=opt,
        stats=metric_stats,
    )
    result = pd.concat([sites.drop(columns="geometry"), metrics], axis=1)
    gdf = gpd.GeoDataFrame(result, geometry=list(kept), crs=grid.crs)
    gdf.attrs.update(
        profile=profile.name,
        threshold=threshold,
        candidate_areas=int(n),
        metric_kind=kind or "none",
    )
    if n == 0 and "limiting" in evaluated:
        # no candidate at all: which constraints removed the region (one pass, only then)
        gdf.attrs["exclusions"] = exclusion_shares(evaluated["limiting"], profile)
    return gdf


def exclusion_shares(limiting: xr.DataArray, profile: Profile) -> dict[str, float]:
    """Share of the pixels with data (``limiting`` >= 0) that each constraint excludes
    (codes 1..n, the first excluding constraint), largest first, zeros left out.

    >>> from geotool.suitability.specs import DirectWeights, RangeConstraint, SitesSpec
    >>> p = Profile("p", "", (RangeConstraint("high", "dem", max=1750.0),), (),
    ...             DirectWeights({}), Aggregation(), SitesSpec(threshold=0.5))
    >>> exclusion_shares(xr.DataArray(np.array([[1, 1], [1, -1]])), p)
    {'high': 1.0}
    """
    n = len(profile.constraints)
    codes = limiting.data
    shifted = codes.ravel().astype("int64") + 1  # nodata (-1) -> 0
    if isinstance(codes, da.Array):
        counts = np.asarray(da.bincount(shifted.clip(0, n + 2), minlength=n + 3).compute())
    else:
        counts = np.bincount(np.clip(np.asarray(shifted), 0, n + 2), minlength=n + 3)
    total = int(codes.size) - int(counts[0])  # pixels with data (limiting >= 0)
    if total <= 0:
        return {}
    shares = {c.name: int(counts[i + 2]) / total for i, c in enumerate(profile.constraints)}
    return {k: v for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v > 0}


def _limiting(rows: pd.DataFrame, active: list[str]) -> list[str]:
    if not active:
        return [NO_LIMIT] * len(rows)
    sf = np.column_stack([rows[f"shortfall:{a}"].to_numpy() for a in active])
    sf = np.where(np.isnan(sf), -np.inf, sf)
    top = np.argmax(sf, axis=1)
    best = sf[np.arange(len(rows)), top]
    return [active[t] if b > 0 else NO_LIMIT for t, b in zip(top, best, strict=True)]
