"""The synthetic scene shared by the scoring benchmarks: 8 raster layers, 3 vector layers and a
profile with 8 criteria and raster + vector exclusions, all on one 30 m UTM grid.

Everything is generated block by block (bounded memory) from smooth analytic fields and a seeded
random generator, so a scene at a given size is the same on every run and every machine.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from _harness import tiled_tiff_profile

CRS = "EPSG:32649"  # WGS 84 / UTM 49N (northern Guangdong)
RES_M = 30.0
LEFT_M, TOP_M = 500_010.0, 2_900_010.0  # on the 30 m lattice, as atlite snaps its grid
BLOCK = 512
SEED = 20_240_601

# name -> (analytic field (min, max), dtype); land_cover is categorical (ESA WorldCover codes)
LAYERS: dict[str, tuple[float, float]] = {
    "dem": (0.0, 2600.0),
    "wind_speed_100m": (3.0, 10.0),
    "ghi": (1000.0, 1600.0),
    "air_temperature": (8.0, 24.0),
    "precipitation": (900.0, 2400.0),
    "forest_cover": (0.0, 100.0),
    "heat_flow": (40.0, 110.0),
    "land_cover": (0.0, 0.0),
}
LAND_COVER_CODES = (10, 20, 30, 40, 50, 60, 80, 90)
EXCLUDED_CLASSES = (50, 80)  # built-up, permanent water
DEM_MAX_M = 2000.0
ROAD_BUFFER_M = 500.0
SETTLEMENT_BUFFER_M = 1000.0

# criterion -> (layer, low, high, increasing)
LINEAR_CRITERIA: dict[str, tuple[str, float, float, bool]] = {
    "elevation": ("dem", 200.0, 1500.0, False),
    "wind": ("wind_speed_100m", 4.0, 9.0, True),
    "sun": ("ghi", 1100.0, 1500.0, True),
    "cool": ("air_temperature", 12.0, 22.0, False),
    "rain": ("precipitation", 1000.0, 2200.0, True),
    "open_land": ("forest_cover", 10.0, 80.0, False),
    "heat": ("heat_flow", 50.0, 100.0, True),
}
LAND_TABLE = {10: 0.3, 20: 0.8, 30: 1.0, 40: 0.6, 60: 0.9, 90: 0.2}
WEIGHTS = {
    "elevation": 0.10,
    "wind": 0.20,
    "sun": 0.15,
    "cool": 0.10,
    "rain": 0.10,
    "open_land": 0.10,
    "heat": 0.10,
    "land": 0.15,
}


def grid_transform() -> Any:
    from affine import Affine

    return Affine(RES_M, 0.0, LEFT_M, 0.0, -RES_M, TOP_M)


def bounds(size: int) -> tuple[float, float, float, float]:
    return (LEFT_M, TOP_M - size * RES_M, LEFT_M + size * RES_M, TOP_M)


def field(name: str, x: Any, y: Any) -> Any:
    """Smooth analytic value of layer ``name`` at metric coordinates (float64 arrays)."""
    import numpy as np

    tau = 2 * math.pi
    k = sum(map(ord, name)) % 7 + 1
    u = (
        0.5
        + 0.25 * np.sin(tau * x / (53_000.0 + 9_000 * k)) * np.cos(tau * y / (47_000.0 + 5_000 * k))
        + 0.15 * np.sin(tau * (x + k * y) / (17_000.0 + 1_000 * k))
        + 0.1 * np.cos(tau * (x - y) / 5_100.0)
    )
    if name == "land_cover":
        codes = np.array(LAND_COVER_CODES, dtype="float32")
        idx = np.clip((u * len(codes)).astype(int), 0, len(codes) - 1)
        return codes[idx]
    lo, hi = LAYERS[name]
    return (lo + (hi - lo) * np.clip(u, 0.0, 1.0)).astype("float32")


def raster_paths(folder: Path) -> dict[str, Path]:
    return {name: folder / f"{name}.tif" for name in LAYERS}


def vector_paths(folder: Path) -> dict[str, Path]:
    return {n: folder / f"{n}.gpkg" for n in ("protected_areas", "roads", "settlements")}


def generate(folder: Path, size: int) -> dict[str, Any]:
    """Write the 8 rasters (tiled 512², deflate), the vectors and ``profile.toml``."""
    import numpy as np
    import rasterio
    import rasterio.windows

    folder.mkdir(parents=True, exist_ok=True)
    t = grid_transform()
    xs = t.c + (np.arange(size) + 0.5) * RES_M
    for name, path in raster_paths(folder).items():
        if path.exists():
            continue
        profile = tiled_tiff_profile(size, CRS, t, None if name == "land_cover" else -9999.0, BLOCK)
        tmp = path.with_name(path.name + ".part")
        with rasterio.Env(GDAL_CACHEMAX=64 * 2**20), rasterio.open(tmp, "w", **profile) as ds:
            for r0 in range(0, size, BLOCK):
                h = min(BLOCK, size - r0)
                ys = t.f - (np.arange(r0, r0 + h) + 0.5) * RES_M
                strip = field(name, xs[None, :], ys[:, None])
                ds.write(strip, 1, window=rasterio.windows.Window(0, r0, size, h))
        os.replace(tmp, path)
    _vectors(folder, size)
    (folder / "profile.toml").write_text(profile_toml(), encoding="utf-8")
    return {"bytes": sum(p.stat().st_size for p in folder.iterdir() if p.is_file())}


def _vectors(folder: Path, size: int) -> None:
    """Protected areas (ellipses, ~8 % of the area), a road network, settlement points."""
    import geopandas as gpd
    import numpy as np
    import shapely
    from shapely import affinity

    paths = vector_paths(folder)
    if all(p.exists() for p in paths.values()):
        return
    rng = np.random.default_rng(SEED)
    left, bottom, right, top = bounds(size)
    extent = right - left
    area = extent * extent
    n_pa = max(3, int(area / 400e6))  # one per 400 km²
    polys = []
    for _ in range(n_pa):
        cx, cy = rng.uniform(left, right), rng.uniform(bottom, top)
        a = rng.uniform(1_500.0, 6_000.0)
        e = affinity.scale(shapely.Point(cx, cy).buffer(a), 1.0, rng.uniform(0.4, 1.0))
        polys.append(affinity.rotate(e, rng.uniform(0, 180)))
    n_roads = max(4, int(extent / 3_000.0))  # one road per 3 km of extent
    step = 400.0
    lines = []
    for _ in range(n_roads):
        x, y = rng.uniform(left, right), rng.uniform(bottom, top)
        ang = rng.uniform(0, 2 * math.pi)
        n = int(extent / step)
        turns = np.cumsum(rng.normal(0.0, 0.15, n)) + ang
        px = x + np.concatenate([[0.0], np.cumsum(step * np.cos(turns))])
        py = y + np.concatenate([[0.0], np.cumsum(step * np.sin(turns))])
        lines.append(shapely.LineString(np.column_stack([px, py])))
    n_pts = max(10, int(area / 25e6))  # one settlement per 25 km²
    pts = shapely.points(rng.uniform(left, right, n_pts), rng.uniform(bottom, top, n_pts))
    for name, geoms in (
        ("protected_areas", polys),
        ("roads", lines),
        ("settlements", list(pts)),
    ):
        gdf = gpd.GeoDataFrame({"id": np.arange(len(geoms))}, geometry=geoms, crs=CRS)
        tmp = paths[name].with_name("tmp_" + paths[name].name)
        gdf.to_file(tmp, driver="GPKG")
        os.replace(tmp, paths[name])


def profile_toml() -> str:
    """The benchmark profile as a user would write it (geotool's profile format)."""
    src = 'source = "benchmark scenario (synthetic)"'
    out = ['name = "bench"', 'description = "8 criteria, raster and vector exclusions"', ""]
    out += [
        "[constraints.high]",
        'kind = "range"',
        'layer = "dem"',
        f"max = {DEM_MAX_M}",
        src,
        "",
        "[constraints.built_water]",
        'kind = "classes"',
        'layer = "land_cover"',
        f"exclude = {list(EXCLUDED_CLASSES)}",
        src,
        "",
        "[constraints.protected]",
        'kind = "vector"',
        'layer = "protected_areas"',
        "buffer_m = 0.0",
        src,
        "",
        "[constraints.roads]",
        'kind = "vector"',
        'layer = "roads"',
        f"buffer_m = {ROAD_BUFFER_M}",
        src,
        "",
        "[constraints.settlements]",
        'kind = "vector"',
        'layer = "settlements"',
        f"buffer_m = {SETTLEMENT_BUFFER_M}",
        src,
        "",
    ]
    for name, (layer, low, high, inc) in LINEAR_CRITERIA.items():
        out += [
            f"[criteria.{name}]",
            f'layer = "{layer}"',
            'membership = "linear"',
            f"low = {low}",
            f"high = {high}",
            f'direction = "{"increasing" if inc else "decreasing"}"',
            src,
            "",
        ]
    table = ", ".join(f"{k} = {v}" for k, v in LAND_TABLE.items())
    out += [
        "[criteria.land]",
        'layer = "land_cover"',
        'membership = "categorical"',
        f"table = {{{table}}}",
        src,
        "",
        "[weights]",
        *[f"{k} = {v}" for k, v in WEIGHTS.items()],
        "",
        "[aggregation]",
        'method = "wlc"',
        "",
        "[sites]",
        "top_share = 0.1",
        "capacity_density_mw_per_km2 = 5.0  # wind metrics need a layout (benchmark value)",
        "",
    ]
    return "\n".join(out)
