"""From a study to the stack: every layer lazily on one analysis grid.

``load_stack`` returns an ``xarray.Dataset`` (dims ``y, x``; dask-backed float32; NaN = no data)
with ``attrs["grid"]`` holding the :class:`~geotool.grid.Grid`. Naming is the contract of
:mod:`geotool.requests`. ``check_study`` runs every boundary check and collects the problems.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import xarray as xr

from geotool.catalog import LayerSpec, get_layer, load_catalog
from geotool.errors import ConfigError, CRSError, GeometryError, GeotoolError
from geotool.grid import Grid
from geotool.io.buffers import within_layer
from geotool.io.raster import RasterSource, align_raster, check_overlap, open_raster
from geotool.io.rasterize import build_index, distance_layer, mask_layer
from geotool.io.scan import preflight_values, scan_values, suspect_mean
from geotool.io.vector import apply_filter, reach_bounds, read_vector
from geotool.requests import DEFAULT_MAX_DISTANCE_M, VectorRequest
from geotool.study import MAX_PIXELS, LayerInput, Study

REGION_ID_COLUMN = "region"


def load_region(study: Study, notes: list[str] | None = None) -> gpd.GeoDataFrame:
    """The region units with a ``region`` column holding each unit's id (as text).

    Raises
    ------
    geotool.errors.GeometryError
        The region file holds no features, or points/lines among them.
    geotool.errors.InputError
        The region file holds several layers and ``region_layer`` names none.
    geotool.errors.ConfigError
        ``region_id`` names a field the file lacks.
    """
    if study.region is None:
        assert study.bbox is not None
        # edges densified (1/100 of the box side): projected, the box's sides are the curved
        # parallels and meridians, not chords between its four corners
        box = shapely.box(*study.bbox)
        west, south, east, north = study.bbox
        step = min(east - west, north - south) / 100.0
        return gpd.GeoDataFrame(
            {REGION_ID_COLUMN: [study.name]},
            geometry=[shapely.segmentize(box, step) if step > 0 else box],
            crs=study.bbox_crs,
        )
    gdf = read_vector(
        study.region,
        layer=study.region_layer,
        crs=study.region_crs,
        notes=notes,
        crs_key="region_crs",
        encoding=study.region_encoding,
    )
    check_region_units(gdf, str(study.region))
    field = study.region_id
    if field is None:
        ids = [str(i + 1) for i in range(len(gdf))]
    elif field not in gdf.columns:
        cols = [str(c) for c in gdf.columns if c != gdf.geometry.name]
        close = difflib.get_close_matches(field, cols, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"region_id field {field!r} is not in the region file {study.region.name}",
            where=f"{study.path}: study.region_id",
            fix=f"{hint}fields present: {', '.join(cols) or 'none'}",
        )
    else:
        values = gdf[field]
        blank = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
        ids = values.astype(str).str.strip().tolist()
        if blank.any():
            for i in np.flatnonzero(blank):
                ids[i] = f"#{i + 1}"
            if notes is not None:
                notes.append(
                    f"{study.region}: {int(blank.sum())} region unit(s) have no {field!r}; "
                    "named by their row number (#N)"
                )
        shared = [(i, n) for i, n in Counter(ids).items() if n > 1]
        if shared and notes is not None:
            # merged into one unit downstream (a county stored as several polygons); two
            # places with one name would be summed unnoticed, so the user is told
            listed = ", ".join(f"{i!r} ({n} features)" for i, n in shared[:5])
            more = f" and {len(shared) - 5} more" if len(shared) > 5 else ""
            notes.append(
                f"{study.region}: several features share a {field!r}, each merged into one "
                f"region unit: {listed}{more}; right for a unit made of several polygons, "
                f"wrong for different places with one name (give those distinct {field!r} values)"
            )
    return gpd.GeoDataFrame({REGION_ID_COLUMN: ids}, geometry=gdf.geometry.values, crs=gdf.crs)


def check_region_units(gdf: gpd.GeoDataFrame, where: str) -> None:
    """A region file holds at least one unit, and only polygons (what is summarised over).

    Raises
    ------
    geotool.errors.GeometryError
        An empty file, or points or lines among the features (``where`` names the file).
    """
    if not len(gdf):  # an empty file reads as empty (fine for a layer); a region needs units
        raise GeometryError(
            "the region file has no features",
            where=where,
            fix="use a file with the boundary polygons of the region units",
        )
    kinds = shapely.get_type_id(gdf.geometry.values)
    other = ~np.isin(kinds, (3, 6))  # Polygon, MultiPolygon
    if other.any():
        found = sorted({str(t) for t in gdf.geometry.geom_type[other]})
        raise GeometryError(
            f"a region file must hold polygons, but {int(other.sum())} of its {len(gdf)} "
            f"feature(s) are {', '.join(found)}",
            where=where,
            fix="use the boundary polygons of the region units (points or lines cannot be "
            "summarised)",
        )


def study_grid(study: Study, region: gpd.GeoDataFrame) -> Grid:
    """The analysis grid covering the region at the study's resolution and CRS.

    Raises
    ------
    geotool.errors.ConfigError
        A grid of more than :data:`geotool.study.MAX_PIXELS` pixels (a resolution typo).
    geotool.errors.CRSError
        An analysis CRS that is not metric and projected.
    """
    where = f"{study.path}: study" if study.path else "study"
    try:
        grid = Grid.from_region(region, study.resolution, study.crs)
    except CRSError as exc:
        raise type(exc)(exc.what, where=f"{where}.crs", fix=exc.fix) from None
    except GeotoolError as exc:  # a region without extent: its file (or bbox) is at fault
        at = str(study.region) if study.region is not None else f"{where}.bbox"
        raise type(exc)(exc.what, where=at, fix=exc.fix) from None
    if grid.width * grid.height > MAX_PIXELS:
        raise ConfigError(
            f"the region at {study.resolution:g} m is a grid of {grid.width:,} × "
            f"{grid.height:,} pixels, more than {MAX_PIXELS:,}",
            where=f"{where}.resolution",
            fix="is the resolution in metres? use a coarser one, or split the region",
        )
    if grid.width < MIN_GRID_SIDE or grid.height < MIN_GRID_SIDE:
        left, bottom, right, top = (float(v) for v in region.to_crs(grid.crs).total_bounds)
        width_m, height_m = right - left, top - bottom
        raise ConfigError(
            f"the region at {study.resolution:,.10g} m is a grid of only {grid.width} × "
            f"{grid.height} pixel(s); slopes, distances and sites need at least "
            f"{MIN_GRID_SIDE} × {MIN_GRID_SIDE}",
            where=f"{where}.resolution",
            fix=f"the region is about {width_m:,.0f} × {height_m:,.0f} m: use a finer "
            f"resolution, e.g. resolution = {_nice_below(min(width_m, height_m) / 10.0):g}",
        )
    return grid


MIN_GRID_SIDE = 2
"""Fewest pixels along each side of an analysis grid: a slope or a gradient needs two."""


def _nice_below(value: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above ``value`` (a round resolution to suggest).

    >>> _nice_below(3400.0), _nice_below(0.7)
    (2000.0, 0.5)
    """
    if not (np.isfinite(value) and value > 0):
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    for step in (5.0, 2.0, 1.0):
        if step * power <= value:
            return float(step * power)
    return float(power)  # pragma: no cover - step 1 always fits


def default_requests(study: Study) -> list[VectorRequest]:
    """Unfiltered mask + distance for every vector layer of the study."""
    out = []
    for name in study.layers:
        spec = get_layer(name)
        if spec.kind == "vector" and name != "regions":  # regions feed summaries, not scores
            out.append(VectorRequest(name, None, spec.max_distance_m or DEFAULT_MAX_DISTANCE_M))
    return out


def load_stack(
    study: Study,
    *,
    requests: Sequence[VectorRequest] = (),
    layers: Iterable[str] | None = None,
    region: gpd.GeoDataFrame | None = None,
    grid: Grid | None = None,
    notes: list[str] | None = None,
) -> xr.Dataset:
    """All requested layers of ``study`` lazily on its analysis grid.

    Parameters
    ----------
    requests
        Extra vector requests (filters, larger caps) on top of :func:`default_requests`.
    layers
        Restrict to these layer names (default: all of the study's layers).
    """
    notes = notes if notes is not None else []
    region = region if region is not None else load_region(study, notes)
    grid = grid if grid is not None else study_grid(study, region)
    wanted = set(layers) if layers is not None else set(study.layers)
    catalog = load_catalog()
    variables: dict[str, xr.DataArray] = {}

    for name in sorted(wanted):
        if name not in study.layers:
            continue
        spec = catalog[name]
        if spec.kind == "raster":
            variables[name] = _raster_layer(study.layers[name], spec, grid, study.chunk, notes)

    all_requests = _merge_requests([*default_requests(study), *requests], wanted)
    by_layer: dict[str, list[VectorRequest]] = {}
    for req in all_requests:
        by_layer.setdefault(req.layer, []).append(req)
    for name, reqs in sorted(by_layer.items()):
        if name not in study.layers:
            raise ConfigError(
                f"a profile needs layer {name!r}, which the study does not provide",
                where=f"{study.path}: layers",
                fix=f'add `{name} = "file"` to [layers]',
            )
        inp = study.layers[name]
        reach = max(max((r.max_distance_m, *r.buffers)) for r in reqs)
        gdf = read_vector(
            inp.path,
            layer=inp.layer,
            crs=inp.crs,
            encoding=inp.encoding,
            bbox=reach_bounds(grid.bounds, reach),
            bbox_crs=grid.crs,
            notes=notes,
            layer_key=name,
        )
        for req in reqs:
            sub = apply_filter(gdf, req.where, str(inp.path))
            index = build_index(sub, grid)
            variables[req.distance_var] = distance_layer(
                index, grid, req.max_distance_m, name=req.distance_var, chunk=study.chunk
            )
            variables[req.mask_var] = mask_layer(index, grid, name=req.mask_var, chunk=study.chunk)
            for b in req.buffers:
                variables[req.within_var(b)] = within_layer(
                    index, grid, b, name=req.within_var(b), chunk=study.chunk
                )
    ds = xr.Dataset(variables)
    ds.attrs["grid"] = grid
    ds.attrs["notes"] = notes
    return ds


def _merge_requests(requests: Iterable[VectorRequest], wanted: set[str]) -> list[VectorRequest]:
    """One request per (layer, filter) with the largest cap and every buffer asked for."""
    merged: dict[tuple[str, str | None], float] = {}
    buffers: dict[tuple[str, str | None], set[float]] = {}
    for r in requests:
        if r.layer not in wanted and r.where is None:
            continue
        key = (r.layer, r.where)
        merged[key] = max(merged.get(key, 0.0), r.max_distance_m)
        buffers.setdefault(key, set()).update(r.buffers)
    return [
        VectorRequest(layer, where, cap, tuple(sorted(buffers[(layer, where)])))
        for (layer, where), cap in merged.items()
    ]


def open_input(inp: LayerInput) -> RasterSource:
    """The raster a ``[layers]`` entry names, opened with the entry's band, variable, CRS,
    units and no-data value."""
    return open_raster(
        inp.path,
        band=inp.band,
        variable=inp.variable,
        crs=inp.crs,
        units=inp.units,
        nodata=inp.nodata,
    )


def _raster_layer(
    inp: LayerInput, spec: LayerSpec, grid: Grid, chunk: int, notes: list[str]
) -> xr.DataArray:
    src = open_input(inp)
    check_overlap(src, grid, str(inp.path))
    mean = preflight_values(src, spec, grid)  # wrong units or no data fail here, not mid-way
    note = suspect_mean(spec, mean)
    if note is not None:
        notes.append(f"{inp.path}: {note}")
    return align_raster(src, spec, grid, chunk=chunk)


def check_study(study: Study) -> tuple[list[str], dict[str, Any]]:
    """Run every boundary check; return ``(problems, report)`` — one line per problem.

    Each raster is opened, its CRS and overlap with the region checked and its values scanned
    against the catalog (streaming, decimated for very large files); each vector file is read
    and its geometries checked.
    """
    problems: list[str] = []
    report: dict[str, Any] = {"layers": {}}
    notes: list[str] = []
    try:
        region = load_region(study, notes)
        grid = study_grid(study, region)
    except GeotoolError as exc:
        return [str(exc)], report
    report["grid"] = grid.to_dict()
    report["regions"] = len(region)
    catalog = load_catalog()
    for name, inp in study.layers.items():
        spec = catalog[name]
        try:
            if spec.kind == "raster":
                src = open_input(inp)
                coverage = check_overlap(src, grid, str(inp.path))
                stats = scan_values(src, spec, grid)
                note = suspect_mean(spec, stats["mean"])
                if note is not None:
                    notes.append(f"{inp.path}: {note}")
                report["layers"][name] = {"coverage": round(coverage, 4), **stats}
            else:
                gdf = read_vector(
                    inp.path,
                    layer=inp.layer,
                    crs=inp.crs,
                    encoding=inp.encoding,
                    bbox=reach_bounds(grid.bounds, spec.max_distance_m or DEFAULT_MAX_DISTANCE_M),
                    bbox_crs=grid.crs,
                    notes=notes,
                    layer_key=name,
                )
                report["layers"][name] = {"features_in_reach": len(gdf)}
                if len(gdf) == 0:
                    notes.append(
                        f"{inp.path}: no feature of {name} within reach of the region "
                        "(is it the right file, with the right CRS?)"
                    )
        except GeotoolError as exc:
            problems.append(str(exc))
    report["notes"] = notes
    return problems, report
