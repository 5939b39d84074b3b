"""Synthetic vector layers of the demo region: counties, towns, roads, grid, reserves, water."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import distance_matrix

from geotool.grid import Grid

# County-level units of Shaoguan (names only; the demo's boundaries are synthetic), placed at
# their approximate relative positions (x, y as fractions of the region, origin south-west).
COUNTIES = [
    ("Lechang", 0.30, 0.85),
    ("Nanxiong", 0.85, 0.80),
    ("Renhua", 0.55, 0.75),
    ("Shixing", 0.75, 0.55),
    ("Ruyuan", 0.20, 0.50),
    ("Wujiang", 0.40, 0.52),
    ("Zhenjiang", 0.52, 0.58),
    ("Qujiang", 0.50, 0.40),
    ("Wengyuan", 0.72, 0.22),
    ("Xinfeng", 0.45, 0.10),
]

# Pearl River Delta demand centres (approximate city-centre coordinates; resident population in
# millions from China's Seventh National Population Census 2020 and the HK 2021 census).
PRD_CITIES = [
    ("Guangzhou", 113.264, 23.129, 18.68),
    ("Shenzhen", 114.058, 22.543, 17.56),
    ("Dongguan", 113.752, 23.021, 10.47),
    ("Foshan", 113.122, 23.021, 9.50),
    ("Hong Kong", 114.169, 22.319, 7.41),
]
SHAOGUAN_LONLAT = (113.6, 24.8)


@dataclass
class DemoVectors:
    counties: gpd.GeoDataFrame
    settlements: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    power_lines: gpd.GeoDataFrame
    substations: gpd.GeoDataFrame
    protected_areas: gpd.GeoDataFrame
    water_bodies: gpd.GeoDataFrame
    demand_centres: gpd.GeoDataFrame
    demand_centres_synthetic: bool = True  # False: the real Pearl River Delta cities


def _frac_to_xy(grid: Grid, fx: float, fy: float) -> tuple[float, float]:
    left, bottom, right, top = grid.bounds
    return left + fx * (right - left), bottom + fy * (top - bottom)


def _wiggle(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, n: int, amp: float) -> list:
    """A polyline from a to b with smooth random lateral offsets (amp in metres)."""
    t = np.linspace(0, 1, n)
    d = b - a
    normal = np.array([-d[1], d[0]]) / (np.hypot(*d) + 1e-9)
    offs = np.cumsum(rng.normal(0, 1, n))
    offs -= np.linspace(offs[0], offs[-1], n)
    offs = offs / (np.abs(offs).max() + 1e-9) * amp * rng.uniform(0.3, 1.0)
    pts = a[None, :] + t[:, None] * d[None, :] + offs[:, None] * normal[None, :]
    return [tuple(p) for p in pts]


def make_vectors(
    grid: Grid, rng: np.random.Generator, regions: gpd.GeoDataFrame | None = None
) -> DemoVectors:
    """All vector layers in the grid's CRS. ``regions`` (a user's boundaries) replace counties."""
    crs = grid.crs
    left, bottom, right, top = grid.bounds
    frame = shapely.box(left, bottom, right, top)
    size = min(right - left, top - bottom)

    if regions is None:
        seeds = [shapely.Point(*_frac_to_xy(grid, fx, fy)) for _, fx, fy in COUNTIES]
        cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=frame)
        polys = [shapely.intersection(c, frame) for c in shapely.get_parts(cells)]
        names = []
        for poly in polys:
            idx = int(np.argmin([poly.distance(s) for s in seeds]))
            names.append(COUNTIES[idx][0])
        counties = gpd.GeoDataFrame({"name": names}, geometry=polys, crs=crs)
        town_xy = [(s.x, s.y) for s in seeds]
    else:
        counties = regions.to_crs(crs)
        reps = shapely.point_on_surface(counties.geometry.values)
        town_xy = [(p.x, p.y) for p in reps]

    # Towns: one seat per county plus villages; settlements are built-up discs.
    n_villages = 3 * len(town_xy)
    villages = [(rng.uniform(left, right), rng.uniform(bottom, top)) for _ in range(n_villages)]
    town_pts = np.array(town_xy + villages)
    pops = np.concatenate(
        [rng.uniform(150_000, 450_000, len(town_xy)), rng.uniform(3_000, 30_000, n_villages)]
    )
    # built-up discs at ~10,000 people per km² (Chinese county towns, e.g. Shaoguan's urban
    # districts ~ 8,000–12,000 /km² of built-up land): r = sqrt(pop / density / π)
    radius = 1000.0 * np.sqrt(pops / 10_000.0 / np.pi)
    settlements = gpd.GeoDataFrame(
        {
            "name": [f"Town {i + 1}" for i in range(len(town_pts))],
            "population": pops.round(),
        },
        geometry=[
            shapely.Point(*p).buffer(r, quad_segs=8) for p, r in zip(town_pts, radius, strict=True)
        ],
        crs=crs,
    )

    # Roads: minimum spanning tree over towns, each edge a wiggly polyline.
    mst = minimum_spanning_tree(distance_matrix(town_pts, town_pts)).tocoo()
    roads = [
        shapely.LineString(_wiggle(town_pts[i], town_pts[j], rng, 30, 1500.0))
        for i, j in zip(mst.row, mst.col, strict=True)
    ]
    roads_gdf = gpd.GeoDataFrame({"highway": ["primary"] * len(roads)}, geometry=roads, crs=crs)

    # Grid: a 500 kV backbone north–south and 220 kV lines to the county seats.
    a500 = np.array(_frac_to_xy(grid, 0.62, -0.05))
    b500 = np.array(_frac_to_xy(grid, 0.48, 1.05))
    backbone = shapely.LineString(_wiggle(a500, b500, rng, 40, 0.03 * size))
    sub_500 = backbone.interpolate(0.5, normalized=True)
    subs = [(sub_500.x, sub_500.y, 500.0)]
    lines = [backbone]
    volts = [500.0]
    for k, (x, y) in enumerate(town_xy):
        if k % 2 == 0:
            p = np.array([x, y]) + rng.normal(0, 2000, 2)
            subs.append((float(p[0]), float(p[1]), 220.0))
            lines.append(
                shapely.LineString(_wiggle(np.array([sub_500.x, sub_500.y]), p, rng, 25, 3000.0))
            )
            volts.append(220.0)
    power = gpd.GeoDataFrame({"voltage_kv": volts}, geometry=lines, crs=crs)
    substations = gpd.GeoDataFrame(
        {
            "voltage_kv": [s[2] for s in subs],
            "name": [f"Substation {i + 1}" for i in range(len(subs))],
        },
        geometry=[shapely.Point(s[0], s[1]) for s in subs],
        crs=crs,
    )

    # Nature reserves: irregular blobs (Nanling and Chebaling national nature reserves exist
    # in the real region; these are synthetic stand-ins).
    reserves = []
    for _ in range(6):
        c = np.array([rng.uniform(left, right), rng.uniform(bottom, top)])
        ang = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        r = rng.uniform(3000, 9000) * (1 + 0.3 * np.sin(3 * ang + rng.uniform(0, 6)))
        reserves.append(
            shapely.Polygon(np.column_stack([c[0] + r * np.cos(ang), c[1] + r * np.sin(ang)]))
        )
    protected = gpd.GeoDataFrame(
        {
            "name": [f"Reserve {i + 1}" for i in range(len(reserves))],
            "iucn_cat": ["Ia", "II", "IV", "II", "V", "IV"][: len(reserves)],
        },
        geometry=reserves,
        crs=crs,
    )
    protected = protected[~protected.intersects(settlements.union_all())].reset_index(drop=True)

    # Water: rivers flowing south (Bei Jiang system) and a few reservoirs.
    rivers = []
    for fx in (0.25, 0.5, 0.78):
        a = np.array(_frac_to_xy(grid, fx + rng.uniform(-0.05, 0.05), 1.02))
        b = np.array(_frac_to_xy(grid, 0.45 + rng.uniform(-0.1, 0.1), -0.02))
        rivers.append(shapely.LineString(_wiggle(a, b, rng, 60, 0.06 * size)))
    lakes = []
    for _ in range(3):
        c = shapely.Point(rng.uniform(left, right), rng.uniform(bottom, top))
        lakes.append(shapely.affinity.scale(c.buffer(1500), rng.uniform(1.0, 2.5), 1.0))
    water = gpd.GeoDataFrame(
        {"kind": ["river"] * len(rivers) + ["reservoir"] * len(lakes)},
        geometry=rivers + lakes,
        crs=crs,
    )

    demand = _demand_centres(grid, rng)
    return DemoVectors(
        counties=counties,
        settlements=settlements,
        roads=roads_gdf,
        power_lines=power,
        substations=substations,
        protected_areas=protected,
        water_bodies=water,
        demand_centres=demand,
        demand_centres_synthetic=not _near_shaoguan(grid),
    )


def _near_shaoguan(grid: Grid) -> bool:
    """Whether the grid's centre is within 3° of Shaoguan: there the demand centres are the
    real Pearl River Delta cities."""
    to_ll = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    cx, cy = (grid.bounds[0] + grid.bounds[2]) / 2, (grid.bounds[1] + grid.bounds[3]) / 2
    lon, lat = to_ll.transform(cx, cy)
    return abs(lon - SHAOGUAN_LONLAT[0]) < 3 and abs(lat - SHAOGUAN_LONLAT[1]) < 3


def _demand_centres(grid: Grid, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The real Pearl River Delta cities near Shaoguan; elsewhere synthetic cities to the south."""
    if _near_shaoguan(grid):
        names = [c[0] for c in PRD_CITIES]
        geoms = [shapely.Point(c[1], c[2]) for c in PRD_CITIES]
        pops = [c[3] * 1e6 for c in PRD_CITIES]
        gdf = gpd.GeoDataFrame({"name": names, "population": pops}, geometry=geoms, crs="EPSG:4326")
        return gdf.to_crs(grid.crs)
    left, bottom, right, _ = grid.bounds
    pts = [
        shapely.Point(rng.uniform(left, right), bottom - rng.uniform(150_000, 250_000))
        for _ in range(4)
    ]
    return gpd.GeoDataFrame(
        {"name": [f"City {i + 1}" for i in range(4)], "population": [5e6, 3e6, 2e6, 1e6]},
        geometry=pts,
        crs=grid.crs,
    )
