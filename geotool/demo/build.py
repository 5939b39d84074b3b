"""Write the demo region's input files and its ``study.toml``.

The inputs deliberately come in the mix of CRSs and resolutions that real downloads have:
terrain, land cover, forest and biomass on a 100 m UTM grid (like national products), wind in
EPSG:4326 at 0.0025° (like the Global Wind Atlas), irradiance and climate at 0.01°, heat flow
at 0.02°; vectors as GeoJSON (WGS 84) and GeoPackage (UTM, several layers in one file).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import shapely
import tomli_w
from affine import Affine
from pandas.api.types import is_object_dtype, is_string_dtype
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds

from geotool.demo.fields import make_fields
from geotool.demo.vectors import SHAOGUAN_LONLAT, make_vectors
from geotool.errors import ConfigError
from geotool.grid import Grid, utm_crs
from geotool.io.vector import read_vector
from geotool.stack import check_region_units

DEMO_SEED = 20_240_122  # fixed: the demo is the same on every machine
DEMO_SIZE_M = (150_000.0, 170_000.0)  # east–west × north–south, about Shaoguan's extent
DEMO_RESOLUTION_M = 100.0
DEMO_CHUNK = 512  # ~12 blocks on the 1,500 × 1,700 demo grid keep both cores busy

# (layer, degrees per pixel) of inputs delivered in EPSG:4326, like the global atlases.
GEOGRAPHIC_LAYERS = {
    "wind_speed_100m": 0.0025,  # Global Wind Atlas 3: 250 m
    "weibull_k": 0.0025,
    "ghi": 0.01,
    "air_temperature": 0.01,
    "precipitation": 0.01,
    "heat_flow": 0.02,
    "geothermal_gradient": 0.02,
}


MAX_DEMO_PIXELS = 30_000_000
"""Largest demo grid: the synthetic layers are generated whole, in memory (~140 bytes a pixel
measured on the default 1,500 × 1,700 grid), so 30 million pixels (e.g. 550 × 550 km at
100 m) take about 4 GB; a country would exhaust any machine's memory."""


def demo_grid(region: gpd.GeoDataFrame | None = None, where: str = "--region") -> Grid:
    """The demo's analysis grid: the default box near Shaoguan, or a user region's extent.

    Raises
    ------
    geotool.errors.GeotoolError
        A user region (the file ``where``) too large for the demo's in-memory layers (more
        than :data:`MAX_DEMO_PIXELS`), smaller than 2 × 2 pixels, or too wide for one UTM
        zone: the demo's 100 m UTM grid cannot be changed, so the fix is another region.
    """
    if region is not None:
        return _user_demo_grid(region, where)
    crs = utm_crs(*SHAOGUAN_LONLAT)
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*SHAOGUAN_LONLAT)
    w, h = DEMO_SIZE_M
    return Grid.from_bounds((x - w / 2, y - h / 2, x + w / 2, y + h / 2), DEMO_RESOLUTION_M, crs)


def _user_demo_grid(region: gpd.GeoDataFrame, where: str) -> Grid:
    from geotool.errors import GeotoolError
    from geotool.stack import MIN_GRID_SIDE

    smaller = "give a smaller region (a prefecture or a province)"
    try:
        tight = Grid.from_region(region, DEMO_RESOLUTION_M, "auto")  # the demo study's grid
        grid = Grid.from_region(region, DEMO_RESOLUTION_M, "auto", pad_m=2 * DEMO_RESOLUTION_M)
    except GeotoolError as exc:  # e.g. a UTM zone distorting a continent: no study key helps
        raise type(exc)(
            exc.what,
            where=where,
            fix=f"the demo's grid is {DEMO_RESOLUTION_M:g} m in the UTM zone of the region: "
            f"{smaller}, or write a study file for your region (README § Study file)",
        ) from None
    width_km, height_km = (n * DEMO_RESOLUTION_M / 1000.0 for n in tight.shape[::-1])
    if grid.width * grid.height > MAX_DEMO_PIXELS:
        raise ConfigError(
            f"the region is about {width_km:,.0f} × {height_km:,.0f} km: {grid.width:,} × "
            f"{grid.height:,} pixels at the demo's {DEMO_RESOLUTION_M:g} m, more than the "
            f"{MAX_DEMO_PIXELS:,} its synthetic layers are generated for in memory",
            where=where,
            fix=f"{smaller}, or run `geotool run` on a study of your own data (it streams "
            "regions of any size)",
        )
    if min(tight.shape) < MIN_GRID_SIDE:
        raise ConfigError(
            f"the region is a grid of only {tight.width} × {tight.height} pixel(s) at the "
            f"demo's {DEMO_RESOLUTION_M:g} m; slopes, distances and sites need at least "
            f"{MIN_GRID_SIDE} × {MIN_GRID_SIDE}",
            where=where,
            fix=f"give a larger region (the demo's resolution is fixed at "
            f"{DEMO_RESOLUTION_M:g} m; a study file sets its own)",
        )
    return grid


def build_demo(inputs: Path, *, region_file: Path | None = None, seed: int = DEMO_SEED) -> Path:
    """Generate every demo input under ``inputs`` and return the path of ``study.toml``."""
    inputs = Path(inputs)
    inputs.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    region_id = "name"
    user_regions = None
    if region_file is not None:
        user_regions = read_vector(Path(region_file))
        # checked here, against the user's file: the staged copy is what the study reads
        check_region_units(user_regions, str(region_file))
        region_id = _name_field(user_regions, Path(region_file))
        user_regions = user_regions[[region_id, user_regions.geometry.name]]
    grid = demo_grid(user_regions, str(region_file))
    vec = make_vectors(grid, rng, user_regions)

    water = _rasterize(grid, vec.water_bodies.geometry, all_touched=True)
    built = _rasterize(grid, vec.settlements.geometry, all_touched=False)
    to_ll = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    xs, ys = np.meshgrid(grid.xs, grid.ys)
    _, lat = to_ll.transform(xs, ys)
    fields = make_fields(grid, rng, water=water, built=built, latitude=lat.astype("float32"))

    _write(inputs / "dem.tif", grid, np.round(fields.dem).astype("int16"), nodata=-32768)
    _write(inputs / "land_cover.tif", grid, fields.land_cover, nodata=0)
    _write(
        inputs / "forest_cover.tif", grid, np.round(fields.forest_cover).astype("uint8"), nodata=255
    )
    _write(inputs / "biomass.tif", grid, fields.biomass, nodata=-9999.0)
    _write(inputs / "growing_stock.tif", grid, fields.growing_stock, nodata=-9999.0)
    for name, deg in GEOGRAPHIC_LAYERS.items():
        _write_geographic(inputs / f"{name}.tif", grid, getattr(fields, name), deg)

    counties = vec.counties.to_crs("EPSG:4326")
    counties.to_file(inputs / "regions.geojson", driver="GeoJSON")
    vec.settlements.to_crs("EPSG:4326").to_file(inputs / "settlements.geojson", driver="GeoJSON")
    vec.demand_centres.to_crs("EPSG:4326").to_file(
        inputs / "demand_centres.geojson", driver="GeoJSON"
    )
    infra = inputs / "infrastructure.gpkg"
    for layer in ("roads", "power_lines", "substations"):
        getattr(vec, layer).to_file(infra, layer=layer, driver="GPKG")
    vec.protected_areas.to_file(inputs / "protected_areas.gpkg", driver="GPKG")
    vec.water_bodies.to_file(inputs / "water_bodies.gpkg", driver="GPKG")

    layers: dict[str, Any] = {
        name: {"path": f"{name}.tif", "synthetic": True}
        for name in (
            "dem",
            "land_cover",
            "forest_cover",
            "biomass",
            "growing_stock",
            *GEOGRAPHIC_LAYERS,
        )
    }
    layers.update(
        {
            "regions": {"path": "regions.geojson", "synthetic": user_regions is None},
            "settlements": {"path": "settlements.geojson", "synthetic": True},
            "demand_centres": {
                "path": "demand_centres.geojson",
                "synthetic": vec.demand_centres_synthetic,
            },
            "roads": {"path": "infrastructure.gpkg", "layer": "roads", "synthetic": True},
            "power_lines": {
                "path": "infrastructure.gpkg",
                "layer": "power_lines",
                "synthetic": True,
            },
            "substations": {
                "path": "infrastructure.gpkg",
                "layer": "substations",
                "synthetic": True,
            },
            "protected_areas": {"path": "protected_areas.gpkg", "synthetic": True},
            "water_bodies": {"path": "water_bodies.gpkg", "synthetic": True},
        }
    )
    study = {
        "study": {
            "name": "Demo region (synthetic, modelled on northern Guangdong)"
            if user_regions is None
            else f"Demo layers over {Path(region_file or '').name}",
            "description": "Synthetic layers generated by geotool's demo (see data-sources.md).",
            "region": "regions.geojson",
            "region_id": region_id,
            "crs": "auto",
            "resolution": DEMO_RESOLUTION_M,
            "chunk": DEMO_CHUNK,
            "synthetic": True,
        },
        "layers": layers,
    }
    path = inputs / "study.toml"
    path.write_text(tomli_w.dumps(study), encoding="utf-8")
    return path


def _name_field(gdf: gpd.GeoDataFrame, path: Path) -> str:
    for candidate in ("name", "NAME", "Name", "NAME_2", "shapeName", "county"):
        if candidate in gdf.columns:
            return candidate
    # pandas 3 reads text as the `str` dtype, pandas 2 as `object`
    text_cols = [
        c
        for c in gdf.columns
        if c != gdf.geometry.name and (is_string_dtype(gdf[c]) or is_object_dtype(gdf[c]))
    ]
    if not text_cols:
        raise ConfigError(
            "region file has no text field to name its units",
            where=str(path),
            fix="add a `name` attribute to each polygon",
        )
    return str(text_cols[0])


def _rasterize(grid: Grid, geoms: gpd.GeoSeries, *, all_touched: bool) -> np.ndarray:
    return rasterio.features.geometry_mask(
        geoms.values,
        out_shape=grid.shape,
        transform=grid.transform,
        invert=True,
        all_touched=all_touched,
    )


def _write(path: Path, grid: Grid, data: np.ndarray, *, nodata: float) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=grid.width,
        height=grid.height,
        count=1,
        dtype=data.dtype,
        crs=grid.crs.to_wkt(),
        transform=grid.transform,
        nodata=nodata,
        tiled=True,
        compress="deflate",
    ) as ds:
        ds.write(data, 1)


def _write_geographic(path: Path, grid: Grid, data: np.ndarray, deg: float) -> None:
    """Reproject a field to a lon/lat grid of ``deg`` degrees covering the region + margin."""
    west, south, east, north = transform_bounds(grid.crs, "EPSG:4326", *grid.bounds, densify_pts=21)
    if east < west:  # across 180°: written in continuous longitudes past 180 (as 0..360 files)
        east += 360.0
    west, south = math.floor(west / deg) * deg - 2 * deg, math.floor(south / deg) * deg - 2 * deg
    east, north = math.ceil(east / deg) * deg + 2 * deg, math.ceil(north / deg) * deg + 2 * deg
    width, height = round((east - west) / deg), round((north - south) / deg)
    transform = Affine(deg, 0, west, 0, -deg, north)
    out = np.full((height, width), np.nan, dtype="float32")
    reproject(
        data.astype("float32"),
        out,
        src_transform=grid.transform,
        src_crs=grid.crs,
        dst_transform=transform,
        dst_crs="EPSG:4326",
        resampling=Resampling.average if deg * 100_000 > grid.res * 1.5 else Resampling.bilinear,
        src_nodata=np.nan,
        dst_nodata=np.nan,
    )
    # fill the margin beyond the generated field by nearest valid values (no seams at edges)
    if np.isnan(out).any():
        from scipy import ndimage

        idx = ndimage.distance_transform_edt(
            np.isnan(out), return_distances=False, return_indices=True
        )
        out = out[tuple(idx)]
    out = np.where(np.isfinite(out), out, -9999.0).astype("float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=transform,
        nodata=-9999.0,
        tiled=True,
        compress="deflate",
    ) as ds:
        ds.write(out, 1)


def region_area_km2(gdf: gpd.GeoDataFrame) -> float:
    """Region area in km² on its own UTM zone (for reports)."""
    crs = utm_crs(*shapely.centroid(gdf.to_crs("EPSG:4326").union_all()).coords[0])
    return float(gdf.to_crs(crs).area.sum() / 1e6)
