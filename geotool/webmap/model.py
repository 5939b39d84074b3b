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
from typing import Any, Literal

import numpy as np

from geotool.errors import CRSError, InputError
from geotool.webmap.compositions import Composition, RasterLayer, VectorLayer
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
)


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


def check_outdir(outdir: Path) -> list[Path]:
    """The folder's ``score_<profile>.tif`` files; :class:`InputError` if there are none."""
    if not outdir.is_dir():
        raise InputError(
            "output folder not found",
            where=str(outdir),
            fix="run `geotool run` or `geotool demo` first, or give the folder that holds "
            "score_<profile>.tif",
        )
    scores = sorted(outdir.glob("score_*.tif"))
    if not scores:
        raise InputError(
            "no score rasters (score_<profile>.tif) in the output folder",
            where=str(outdir),
            fix="run `geotool run` or `geotool demo` first, or give the folder that holds them",
        )
    return scores


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
    manifest = read_manifest(outdir)
    provenance = summarise(manifest)
    missing: list[str] = []
    images = []
    present = [outdir / r.file for r in composition.rasters if (outdir / r.file).is_file()]
    lon0 = _central_longitude(present)
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
        bounds=((south, west), (north, east)), lon0=lon0, region_id=_region_id(manifest)
    )
    vectors = []
    for i, vlayer in enumerate(composition.vectors):
        overlay = _vector(f"v{i}", vlayer, outdir, provenance.locations, extent)
        if overlay is None:
            missing.append(vlayer.file)
        else:
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


@dataclass(frozen=True)
class _Extent:
    """Where the map is: the rasters' lat/lon bounds, the central longitude (0 or 180) and the
    study's region id field (names the regions in the study's regions file)."""

    bounds: LatLonBounds
    lon0: float
    region_id: str | None = None


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
        raise InputError(
            f'none of the score rasters of composition "{comp.name}" is in the folder '
            f"({', '.join(wanted or [r.file for r in comp.rasters])})",
            where=str(outdir),
            fix="run the profile(s) the composition shows, or choose another --composition",
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
        legend = classes_legend(title, classes, layer.opacity)
    else:
        lo, hi = robust_range(warped.values)
        vmin = layer.vmin if layer.vmin is not None else lo
        vmax = layer.vmax if layer.vmax is not None else hi
        if not vmax > vmin:
            vmax = vmin + 1.0
        rgba = colorize_continuous(warped.values, layer.colormap, vmin, vmax)
        legend = continuous_legend(title, layer.colormap, vmin, vmax, layer.opacity)
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


def _locate(outdir: Path, name: str, inputs: tuple[InputRecord, ...]) -> tuple[Path, str | None]:
    """A vector file in the output folder, else the same-named input listed in the manifest.

    A manifest path may point at a GeoPackage holding several layers (roads, substations, ...):
    the layer named like the wanted file is read then.
    """
    path = outdir / name
    if path.is_file() or not name:
        return path, None
    stem = Path(name).stem
    for rec in inputs:
        if rec.name != stem or not rec.path:
            continue
        candidate = Path(rec.path)
        candidate = candidate if candidate.is_absolute() else outdir / candidate
        if candidate.is_file():
            return candidate, rec.layer or _layer_named(candidate, stem)
    return path, None


def _layer_named(path: Path, stem: str) -> str | None:
    import pyogrio

    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception:  # not a readable vector file: read_vector reports it properly
        return None
    return stem if len(names) > 1 and stem in names else None


def _read(path: Path, layer: str | None) -> Any:
    if layer is None:
        return read_vector(path)
    import geopandas as gpd

    gdf = gpd.read_file(path, layer=layer)
    if gdf.crs is None:
        raise CRSError("vector layer has no CRS", where=f"{path}:{layer}", fix="set its CRS")
    return gdf


def _vector(
    key: str,
    layer: VectorLayer,
    outdir: Path,
    inputs: tuple[InputRecord, ...],
    extent: _Extent,
) -> VectorOverlay | None:
    path, sub = _locate(outdir, layer.file, inputs)
    labels = dict(layer.labels)
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
        gdf = _regions(layer, outdir, inputs, path, sub, extent.region_id)
        if gdf is None:
            return None
        value = next((v for v in layer.value if v in gdf.columns), layer.value[0])
        what = labels.get(value) or DEFAULT_LABELS.get(value) or value.replace("_", " ")
        title = layer.name if what.lower() in layer.name.lower() else f"{layer.name}: {what}"
        geojson, cl = region_features(
            gdf,
            value=value,
            cmap=layer.colormap,
            simplify_m=layer.simplify_m,
            labels=labels,
            legend_title=title,
            where=str(path),
            lon0=extent.lon0,
        )
        style["fillOpacity"] = max(layer.fill_opacity, 0.5)
        legend = replace(cl, opacity=style["fillOpacity"]) if layer.legend else None
    elif not path.is_file():
        return None
    elif layer.kind == "sites":
        gdf = _read(path, sub)
        geojson = site_features(
            gdf, simplify_m=layer.simplify_m, labels=labels, where=str(path), lon0=extent.lon0
        )
    else:
        gdf = _within(_read(path, sub), extent)
        geojson = labelled_features(
            gdf, label_field=layer.label_field, simplify_m=layer.simplify_m, lon0=extent.lon0
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
    path: Path,
    sub: str | None,
    region_id: str | None,
) -> Any:
    """Region summaries with geometry: the GeoPackage, or the CSV joined to a regions layer.

    The CSV's ``join`` column is matched to the same-named column of the regions layer or, when
    that has none, to the study's region id field (the study's own regions file names its
    regions there, e.g. ``name``)."""
    if path.is_file():
        return _read(path, sub)
    table = outdir / layer.csv if layer.csv else None
    if table is None or not table.is_file() or not layer.geometry:
        return None
    geo_path, geo_sub = _locate(outdir, layer.geometry, inputs)
    if not geo_path.is_file():
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
    shapes = _read(geo_path, geo_sub)
    require_columns(summary, (layer.join,), str(table))
    key = layer.join
    if key not in shapes.columns and region_id is not None and region_id in shapes.columns:
        key = region_id
    require_columns(shapes, (key,), str(geo_path))
    shapes = shapes[[key, shapes.geometry.name]].rename(columns={key: layer.join})
    if layer.join in summary.columns:
        summary[layer.join] = summary[layer.join].astype(str)
        shapes[layer.join] = shapes[layer.join].astype(str)
    merged = shapes.merge(summary, on=layer.join, how="inner")
    if merged.empty:
        raise InputError(
            f'no value of column "{layer.join}" matches between the CSV and the regions layer',
            where=f"{table} + {geo_path}",
            fix="join on the column that holds the same region names in both",
        )
    return merged.rename(columns={layer.join: "region"}) if layer.join != "region" else merged
