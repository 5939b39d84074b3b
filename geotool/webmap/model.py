"""The render model: everything a web map shows, as plain data, before any map library.

:func:`build_model` reads an output folder through a :class:`Composition` and returns a
:class:`MapModel` of coloured EPSG:3857 RGBA images with the lat/lon of their pixel edges,
GeoJSON with escaped popup/tooltip HTML, legend specs and provenance lines. It can be checked
pixel by pixel in tests; :mod:`geotool.webmap.folium_map` only hands it to folium (the split of
odc-geo's ``_map.py``).

Examples
--------
>>> from geotool.webmap.compositions import load_composition
>>> build_model(Path("/nonexistent"), load_composition("overview"), max_size=64)
Traceback (most recent call last):
...
geotool.errors.InputError: /nonexistent: output folder not found — run `geotool run` or `geotool demo` first, or give the folder that holds score_<profile>.tif
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from geotool.errors import InputError
from geotool.webmap.compositions import (
    DEFAULT_SIMPLIFY_M,
    SITE_SIMPLIFY_PX,
    Composition,
    RasterLayer,
    VectorLayer,
    load_composition,
)
from geotool.webmap.legend import Legend, classes_legend, continuous_legend, manifest_classes
from geotool.webmap.provenance import InputRecord, Provenance, read_manifest, summarise
from geotool.webmap.raster import (
    LatLonBounds,
    WarpedRaster,
    central_longitude,
    colorize_classes,
    colorize_continuous,
    mercator_crs,
    robust_range,
    warp_to_web_mercator,
    web_mercator_grid,
)
from geotool.webmap.vectors import (
    DEFAULT_LABELS,
    labelled_features,
    read_vector,
    region_features,
    require_columns,
    shift_longitudes,
    site_features,
    substation_label,
)

_L = TypeVar("_L", RasterLayer, VectorLayer)


@dataclass(frozen=True)
class ImageOverlay:
    """A coloured raster: ``rgba`` (h, w, 4) uint8 in EPSG:3857 and its pixel-edge lat/lon bounds."""

    key: str
    name: str
    rgba: np.ndarray
    bounds: LatLonBounds
    opacity: float
    show: bool
    show_for_profile: bool
    profile: str | None
    legend: Legend | None
    source: str


@dataclass(frozen=True)
class VectorOverlay:
    """GeoJSON (EPSG:4326, escaped ``_popup``/``_tooltip``) and its Leaflet path style."""

    key: str
    name: str
    kind: Literal["sites", "regions", "points", "areas"]
    geojson: dict[str, Any]
    style: dict[str, Any]
    show: bool
    show_for_profile: bool
    profile: str | None
    legend: Legend | None
    source: str


@dataclass(frozen=True)
class MapModel:
    """Everything one ``map.html`` shows."""

    title: str
    description: str
    images: tuple[ImageOverlay, ...]
    vectors: tuple[VectorOverlay, ...]
    bounds: LatLonBounds
    provenance: Provenance
    compare: tuple[str, str] | None
    online_basemap: bool
    missing: tuple[str, ...]


CARBON_RASTER = "carbon_t_ha.tif"
"""What ``geotool carbon`` writes that a map can show without any score raster."""


def check_outdir(outdir: Path) -> list[Path]:
    """The folder's ``score_<profile>.tif`` files (none in the folder of ``geotool carbon``,
    which holds :data:`CARBON_RASTER`); :class:`InputError` if it has neither."""
    if not outdir.is_dir():
        raise InputError(
            "output folder not found",
            where=str(outdir),
            fix="run `geotool run` or `geotool demo` first, or give the folder that holds "
            "score_<profile>.tif",
        )
    scores = sorted(outdir.glob("score_*.tif"))
    if not scores and not (outdir / CARBON_RASTER).is_file():
        raise InputError(
            f"no score rasters (score_<profile>.tif) nor {CARBON_RASTER} in the output folder",
            where=str(outdir),
            fix="run `geotool run`, `geotool carbon` or `geotool demo` first, or give the "
            "folder that holds them",
        )
    return scores


def folder_profiles(outdir: Path) -> list[str]:
    """The profiles whose ``score_<profile>.tif`` is in the folder, by name.

    >>> folder_profiles(Path("/nonexistent"))
    []
    """
    names = (p.name[len("score_") : -len(".tif")] for p in Path(outdir).glob("score_*.tif"))
    return sorted(n for n in names if n.isidentifier())


OVERVIEW = "overview"
"""The built-in composition that shows every profile of the folder."""


def folder_composition(outdir: Path, composition: str | Path | None = None) -> Composition:
    """The composition a map of ``outdir`` uses: ``composition`` (default
    :func:`default_composition`), the built-in ``overview`` with the folder's own profiles —
    those it lists first, in its order, then any other (a profile file of the user's,
    ``--profile mine.toml``) by name — so it neither fails on a folder of custom profiles
    nor lists profiles the run did not score."""
    name = composition or default_composition(outdir)
    if name != OVERVIEW:
        return load_composition(name)
    listed = load_composition(name)
    present = folder_profiles(outdir)
    ordered = [p for p in listed.profiles if p in present]
    ordered += [p for p in present if p not in ordered]
    return load_composition(name, profiles=ordered) if ordered else listed


def default_composition(outdir: Path) -> str:
    """``overview`` for a folder with score rasters, ``carbon`` for one of ``geotool carbon``.

    >>> default_composition(Path("/nonexistent"))
    'overview'
    """
    if not any(outdir.glob("score_*.tif")) and (outdir / CARBON_RASTER).is_file():
        return "carbon"
    return "overview"


def build_model(
    outdir: Path, composition: Composition, *, max_size: int = 1600, title: str | None = None
) -> MapModel:
    """Read an output folder through a composition into a :class:`MapModel`.

    Parameters
    ----------
    outdir
        A pipeline output folder (``score_<profile>.tif``, ``sites_<profile>.gpkg``, ...).
    composition
        What to show (see :mod:`geotool.webmap.compositions`). Layers whose file is absent are
        skipped and listed in ``MapModel.missing``.
    max_size
        Longest side, in pixels, of every raster overlay.
    title
        Overrides the composition's title.
    """
    outdir = Path(outdir)
    check_outdir(outdir)
    if max_size < 16:
        raise InputError(f"max_size {max_size} is too small", where="max_size", fix="use >= 256")
    composition = _show_present_profile(composition, outdir)
    manifest = read_manifest(outdir)
    provenance = summarise(manifest)
    missing: list[str] = []
    images = []
    present = [outdir / r.file for r in composition.rasters if (outdir / r.file).is_file()]
    lon0, pixel_m = _central_longitude(present), _pixel_metres(present)
    for i, layer in enumerate(composition.rasters):
        path = outdir / layer.file
        if path.is_file():
            warped = warp_to_web_mercator(
                path, max_size=max_size, categorical=layer.kind == "classes", lon0=lon0
            )
            images.append(_image(f"r{i}", layer, warped, path.name, manifest or {}))
            continue
        from_input = _input_raster(layer, outdir, manifest or {}, present, max_size, lon0)
        if from_input is None:
            missing.append(layer.file)
        else:
            warped, source = from_input
            images.append(_image(f"r{i}", layer, warped, source, manifest or {}))
    _check_profiles(outdir, composition, images)
    (south, west), (north, east) = images[0].bounds
    for img in images[1:]:
        (s, w), (n, e) = img.bounds
        south, west, north, east = min(south, s), min(west, w), max(north, n), max(east, e)
    extent = _Extent(
        bounds=((south, west), (north, east)),
        lon0=lon0,
        region_id=_region_id(manifest),
        pixel_m=pixel_m,
    )
    vectors = []
    labels = run_labels(manifest)
    for i, vlayer in enumerate(composition.vectors):
        overlay = _vector(f"v{i}", vlayer, outdir, provenance.locations, extent, missing, labels)
        if overlay is not None:
            vectors.append(overlay)
    head = title or composition.title
    if provenance.study and title is None:
        head = f"{head} — {provenance.study}"
    return MapModel(
        title=head,
        description=composition.description,
        images=tuple(images),
        vectors=tuple(vectors),
        bounds=((south, west), (north, east)),
        provenance=provenance,
        compare=composition.compare,
        online_basemap=composition.online_basemap,
        missing=tuple(missing),
    )


def _show_present_profile(comp: Composition, outdir: Path) -> Composition:
    """``show = true`` on a ``{profile}`` entry shows the first profile of ``[map] profiles``
    whose score raster is in the folder (not merely the first listed): the overview map of a
    one-profile run (``geotool run --profile windfarm``) opens on that profile, not on an
    empty map."""
    lead = next((p for p in comp.profiles if (outdir / f"score_{p}.tif").is_file()), None)
    if lead is None or lead == comp.profiles[0]:
        return comp

    def shown(layer: _L) -> _L:
        if layer.profile is None:
            return layer
        return replace(layer, show=layer.show_for_profile and layer.profile == lead)

    return replace(
        comp,
        rasters=tuple(shown(r) for r in comp.rasters),
        vectors=tuple(shown(v) for v in comp.vectors),
    )


def _central_longitude(rasters: list[Path]) -> float:
    """The map's central longitude, from the first raster that opens (see
    :func:`geotool.webmap.raster.central_longitude`); unreadable files are reported later."""
    import rasterio

    for path in rasters:
        try:
            with rasterio.open(path) as ds:
                if ds.crs is not None:
                    return central_longitude(ds.crs, tuple(ds.bounds))
        except rasterio.errors.RasterioError:
            continue
    return 0.0


def _pixel_metres(rasters: list[Path]) -> float | None:
    """The pixel size, in metres, of the first raster on a projected CRS (the analysis grid's,
    which candidate sites are outlines of); None when there is none."""
    import rasterio

    for path in rasters:
        try:
            with rasterio.open(path) as ds:
                if ds.crs is not None and ds.crs.is_projected:
                    return float(
                        max(abs(ds.res[0]), abs(ds.res[1])) * ds.crs.linear_units_factor[1]
                    )
        except rasterio.errors.RasterioError:
            continue
    return None


@dataclass(frozen=True)
class _Extent:
    """Where the map is: the rasters' lat/lon bounds, the central longitude (0 or 180), the
    study's region id field (names the regions in the study's regions file) and the grid's
    pixel size in metres."""

    bounds: LatLonBounds
    lon0: float
    region_id: str | None = None
    pixel_m: float | None = None


def _simplify_m(layer: VectorLayer, pixel_m: float | None) -> float:
    """The composition's ``simplify_m``, else half a pixel for sites (see
    :data:`~geotool.webmap.compositions.SITE_SIMPLIFY_PX`) and 20 m for the rest."""
    if layer.simplify_m is not None:
        return layer.simplify_m
    if layer.kind == "sites" and pixel_m is not None:
        return SITE_SIMPLIFY_PX * pixel_m
    return DEFAULT_SIMPLIFY_M


def run_labels(manifest: dict[str, Any] | None) -> dict[str, str]:
    """Popup labels that depend on the run: the least substation voltage its site distances
    counted (``sites.substation_min_kv``, recorded by ``geotool run``); none when the manifest
    does not say (an older run), so no voltage is claimed that the run may not have used.

    >>> run_labels({"sites": {"substation_min_kv": 110.0}})
    {'distance_to_substation_km': 'Distance to ≥ 110 kV substation (km)'}
    >>> run_labels({}), run_labels(None)
    ({}, {})
    """
    sites = (manifest or {}).get("sites")
    kv = sites.get("substation_min_kv") if isinstance(sites, dict) else None
    if isinstance(kv, bool) or not isinstance(kv, int | float) or not 0 < kv < float("inf"):
        return {}
    return {"distance_to_substation_km": substation_label(float(kv))}


def _region_id(manifest: dict[str, Any] | None) -> str | None:
    study = (manifest or {}).get("study")
    value = study.get("region_id") if isinstance(study, dict) else None
    return value if isinstance(value, str) and value else None


# Vectors read from study inputs (a country's substations or protected areas) are cut to the
# map's extent plus this share of its width/height on each side: what lies just outside still
# shows at the edge; the rest of the country is not embedded in map.html.
EXTENT_MARGIN = 0.1


def _within(gdf: Any, extent: _Extent) -> Any:
    """The features of ``gdf`` that touch the map's extent (with :data:`EXTENT_MARGIN`)."""
    import shapely

    if len(gdf) == 0:
        return gdf
    (south, west), (north, east) = extent.bounds
    dx, dy = (east - west) * EXTENT_MARGIN, (north - south) * EXTENT_MARGIN
    rect = shapely.box(west - dx, south - dy, east + dx, north + dy)
    lonlat = shift_longitudes(np.asarray(gdf.geometry.to_crs("EPSG:4326").values), extent.lon0)
    return gdf[~shapely.is_missing(lonlat) & shapely.intersects(lonlat, rect)]


def _check_profiles(outdir: Path, comp: Composition, images: list[ImageOverlay]) -> None:
    """The composition's score rasters, and both sides of a comparison, must be there."""
    wanted = [r.file for r in comp.rasters if Path(r.file).name.startswith("score_")]
    found = {img.source for img in images}
    if (wanted and not found & {Path(w).name for w in wanted}) or not images:
        carbon = default_composition(outdir) == "carbon"
        raise InputError(
            f'none of the score rasters of composition "{comp.name}" is in the folder '
            f"({', '.join(wanted or [r.file for r in comp.rasters])})",
            where=str(outdir),
            fix="this is a `geotool carbon` folder: use --composition carbon"
            if carbon
            else "run the profile(s) the composition shows, or choose another --composition",
        )
    for side in comp.compare or ():
        if not (outdir / f"score_{side}.tif").is_file():
            raise InputError(
                f'cannot compare profile "{side}": score_{side}.tif is not in the folder',
                where=str(outdir),
                fix=f"run the {side} profile, or compare two profiles that were run",
            )


def _input_raster(
    layer: RasterLayer,
    outdir: Path,
    manifest: dict[str, Any],
    present: list[Path],
    max_size: int,
    lon0: float = 0.0,
) -> tuple[WarpedRaster, str] | None:
    """A composition raster named like a study layer (``wind_speed_100m.tif``,
    ``land_cover.tif``) that ``geotool run`` does not write: read from the input file the
    manifest lists for that layer, through geotool's loader (no-data codes, NetCDF variable,
    scale/offset, units converted to the catalog's, the catalog's resampling), onto the Web
    Mercator grid of the folder's first raster (the study's extent, not the input's, which
    may cover the globe). None when there is no such input or raster to place it on."""
    from geotool.catalog import get_layer
    from geotool.errors import UnknownNameError
    from geotool.grid import Grid
    from geotool.io.raster import choose_resampling, open_raster, warp_to

    stem = Path(layer.file).stem
    records = manifest.get("inputs")
    if not present or not isinstance(records, list):
        return None
    rec = next((r for r in records if isinstance(r, dict) and r.get("role") == stem), None)
    try:
        spec = get_layer(stem)
    except UnknownNameError:
        return None
    if rec is None or spec.kind != "raster" or not isinstance(rec.get("path"), str):
        return None
    path = Path(rec["path"]) if Path(rec["path"]).is_absolute() else outdir / rec["path"]
    if not path.is_file():
        return None
    src = open_raster(
        path,
        band=int(rec.get("band", 1)),
        variable=rec.get("variable"),
        crs=rec.get("crs"),
        units=rec.get("units"),
        nodata=rec.get("nodata"),
    )
    import rasterio

    with rasterio.open(present[0]) as ds:
        transform, w, h = web_mercator_grid(ds.crs, ds.width, ds.height, ds.bounds, max_size, lon0)
    from pyproj import CRS

    grid = Grid(CRS.from_user_input(mercator_crs(lon0)), transform, (h, w))
    values = warp_to(src, spec, grid, choose_resampling(spec, src, grid))
    warped = WarpedRaster(values=values.astype(np.float64), transform=transform, lon0=lon0)
    return warped, path.name


def _image(
    key: str, layer: RasterLayer, warped: WarpedRaster, source: str, manifest: dict[str, Any]
) -> ImageOverlay:
    title = f"{layer.name} ({layer.units})" if layer.units else layer.name
    legend: Legend | None
    if layer.kind == "classes":
        classes = layer.classes or manifest_classes(
            manifest, layer.classes_from, layer.profile, layer.colormap, warped.values
        )
        rgba = colorize_classes(warped.values, classes)
        # the legend explains what is drawn: classes absent from the map (snow and mangroves
        # over a subtropical county) are left out; colours stay those of the full list
        drawn = np.unique(warped.values[np.isfinite(warped.values)])
        legend = classes_legend(
            title, tuple(c for c in classes if c.value in drawn) or classes, layer.opacity
        )
    else:
        lo, hi = robust_range(warped.values)
        vmin = layer.vmin if layer.vmin is not None else lo
        vmax = layer.vmax if layer.vmax is not None else hi
        if not vmax > vmin:
            vmax = vmin + 1.0
        rgba = colorize_continuous(warped.values, layer.colormap, vmin, vmax)
        finite = warped.values[np.isfinite(warped.values)]
        # values beyond the colour range are drawn in its end colours: the legend's end
        # ticks then read "≤ vmin" / "≥ vmax" instead of passing the stretch off as the range
        legend = continuous_legend(
            title,
            layer.colormap,
            vmin,
            vmax,
            layer.opacity,
            below=bool(finite.size and finite.min() < vmin),
            above=bool(finite.size and finite.max() > vmax),
        )
    return ImageOverlay(
        key=key,
        name=layer.name,
        rgba=rgba,
        bounds=warped.bounds_latlon,
        opacity=layer.opacity,
        show=layer.show,
        show_for_profile=layer.show_for_profile,
        profile=layer.profile,
        legend=legend if layer.legend else None,
        source=source,
    )


@dataclass(frozen=True)
class _Found:
    """Where a composition's vector file is: ``path`` (and ``layer`` of a multi-layer file);
    ``study_input``: a file of the study (read like the pipeline reads it), not an output."""

    path: Path
    layer: str | None = None
    study_input: bool = False


# The composition file that stands for the study's region units (`County boundaries`, the
# geometry that region CSVs are joined to).
REGION_UNITS = "regions"


def _locate(outdir: Path, name: str, inputs: tuple[InputRecord, ...]) -> _Found:
    """A vector file in the output folder, else the same-named input listed in the manifest.

    A manifest path may point at a GeoPackage holding several layers (roads, substations, ...):
    the layer named like the wanted file is read then. ``regions.gpkg`` (the region units) is
    also found as a ``regions_<profile>.gpkg`` summary of the run (the pipeline's own reading
    of the boundaries, ids in ``region``) or, failing that, as the study's ``region`` file —
    a study need not list its boundary twice (``[layers] regions``), and ``geotool carbon``
    writes no GeoPackage of its regions.
    """
    path = outdir / name
    if path.is_file() or not name:
        return _Found(path)
    stem = Path(name).stem
    found = _input(outdir, stem, stem, inputs)
    if found is not None or stem != REGION_UNITS:
        return found or _Found(path)
    summaries = sorted(outdir.glob(f"{REGION_UNITS}_*.gpkg"))
    if summaries:
        return _Found(summaries[0])
    return _input(outdir, "region", stem, inputs) or _Found(path)


def _input(outdir: Path, role: str, stem: str, inputs: tuple[InputRecord, ...]) -> _Found | None:
    for rec in inputs:
        if rec.name != role or not rec.path:
            continue
        candidate = Path(rec.path)
        candidate = candidate if candidate.is_absolute() else outdir / candidate
        if candidate.is_file():
            return _Found(candidate, rec.layer or _layer_named(candidate, stem), True)
    return None


def _layer_named(path: Path, stem: str) -> str | None:
    import pyogrio

    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception:  # not a readable vector file: read_vector reports it properly
        return None
    return stem if len(names) > 1 and stem in names else None


def _read(found: _Found) -> Any:
    """An output file as written; a study input through geotool's reader, as the pipeline
    read it (the text encoding of a Shapefile without ``.cpg`` — GBK county names — guessed,
    geometries repaired)."""
    if found.study_input:
        from geotool.io.vector import read_vector as read_input

        return read_input(found.path, layer=found.layer)
    return read_vector(found.path)


def _vector(
    key: str,
    layer: VectorLayer,
    outdir: Path,
    inputs: tuple[InputRecord, ...],
    extent: _Extent,
    missing: list[str],
    run: dict[str, str] | None = None,
) -> VectorOverlay | None:
    """The overlay of a composition's vector layer; None, with a line in ``missing``, when the
    folder lacks its file (or a region table lacks every column ``value`` lists). ``run``:
    labels from the run's manifest (:func:`run_labels`); the composition's own labels win."""
    found = _locate(outdir, layer.file, inputs)
    path = found.path
    labels = {**(run or {}), **dict(layer.labels)}
    simplify_m = _simplify_m(layer, extent.pixel_m)
    legend: Legend | None = None
    style: dict[str, Any] = {
        "color": layer.color,
        "weight": layer.weight,
        "fillColor": layer.fill_color,
        "fillOpacity": layer.fill_opacity,
    }
    if layer.fill_opacity == 0.0:
        # an outline only: without a fill the inside lets clicks through to the layers below
        style["fill"] = False
    if layer.kind == "regions":
        gdf = _regions(layer, outdir, inputs, found, extent.region_id)
        if gdf is None:
            missing.append(layer.file)
            return None
        value = next((v for v in layer.value if v in gdf.columns), None)
        if value is None:  # e.g. carbon_regions.csv of an older geotool: skipped, not fatal
            table = layer.csv if layer.csv and not path.is_file() else layer.file
            missing.append(f"{table} (no column {' or '.join(layer.value)})")
            return None
        what = labels.get(value) or DEFAULT_LABELS.get(value) or value.replace("_", " ")
        title = layer.name if what.lower() in layer.name.lower() else f"{layer.name}: {what}"
        geojson, cl = region_features(
            gdf,
            value=value,
            cmap=layer.colormap,
            simplify_m=simplify_m,
            labels=labels,
            legend_title=title,
            where=str(path),
            lon0=extent.lon0,
        )
        style["fillOpacity"] = max(layer.fill_opacity, 0.5)
        legend = replace(cl, opacity=style["fillOpacity"]) if layer.legend else None
    elif not path.is_file():
        missing.append(layer.file)
        return None
    elif layer.kind == "sites":
        gdf = _read(found)
        geojson = site_features(
            gdf, simplify_m=simplify_m, labels=labels, where=str(path), lon0=extent.lon0
        )
    else:
        gdf = _within(_read(found), extent)
        geojson = labelled_features(
            gdf,
            label_field=layer.label_field,
            simplify_m=simplify_m,
            lon0=extent.lon0,
            popup_labels=labels if layer.popup else None,
        )
        if layer.kind == "points":
            style["radius"] = layer.radius
    return VectorOverlay(
        key=key,
        name=layer.name,
        kind=layer.kind,
        geojson=geojson,
        style=style,
        show=layer.show,
        show_for_profile=layer.show_for_profile,
        profile=layer.profile,
        legend=legend,
        source=path.name,
    )


def _regions(
    layer: VectorLayer,
    outdir: Path,
    inputs: tuple[InputRecord, ...],
    found: _Found,
    region_id: str | None,
) -> Any:
    """Region summaries with geometry: the GeoPackage, or the CSV joined to a regions layer.

    The CSV's ``join`` column is matched to the same-named column of the regions layer or, when
    that has none, to the study's region id field (the study's own regions file names its
    regions there, e.g. ``name``) or, when the manifest does not name that field (``geotool
    carbon``'s), to the column of the regions layer holding the most of the CSV's ids."""
    if found.path.is_file():
        return _read(found)
    table = outdir / layer.csv if layer.csv else None
    if table is None or not table.is_file() or not layer.geometry:
        return None
    geo = _locate(outdir, layer.geometry, inputs)
    if not geo.path.is_file():
        return None
    import pandas as pd

    try:
        # the join key as written (admin codes keep leading zeros, a region "NA" stays "NA");
        # empty cells of the other columns are missing values
        columns = pd.read_csv(table, nrows=0).columns
        missing = {c: ["", "NA", "N/A", "NaN", "nan", "null"] for c in columns if c != layer.join}
        summary = pd.read_csv(
            table, dtype={layer.join: str}, keep_default_na=False, na_values=missing
        )
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read CSV ({exc})", where=str(table), fix="re-run") from exc
    shapes = _read(geo)
    require_columns(summary, (layer.join,), str(table))
    key = _join_key(shapes, summary[layer.join], layer.join, region_id)
    require_columns(shapes, (key,), str(geo.path))
    shapes = shapes[[key, shapes.geometry.name]].rename(columns={key: layer.join})
    if layer.join in summary.columns:
        summary[layer.join] = summary[layer.join].astype(str)
        shapes[layer.join] = shapes[layer.join].astype(str)
    merged = shapes.merge(summary, on=layer.join, how="inner")
    if merged.empty:
        raise InputError(
            f'no value of column "{layer.join}" matches between the CSV and the regions layer',
            where=f"{table} + {geo.path}",
            fix="join on the column that holds the same region names in both",
        )
    return merged.rename(columns={layer.join: "region"}) if layer.join != "region" else merged


def _join_key(shapes: Any, ids: Any, join: str, region_id: str | None) -> str:
    """The column of ``shapes`` that holds the region ids ``ids`` (see :func:`_regions`)."""
    if join in shapes.columns:
        return join
    if region_id is not None and region_id in shapes.columns:
        return region_id
    wanted = set(ids.astype(str))
    hits = {
        str(c): int(shapes[c].astype(str).isin(wanted).sum())
        for c in shapes.columns
        if c != shapes.geometry.name
    }
    best = max(hits, key=lambda c: hits[c], default=join)
    return best if hits.get(best, 0) > 0 else join
