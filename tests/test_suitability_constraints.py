"""Exclusion constraints: exact buffered areas, inside/outside, ranges, classes, min area."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import shapely
import xarray as xr

from geotool.suitability.constraints import constraint_masks, small_patches
from geotool.suitability.specs import (
    ClassConstraint,
    MinAreaConstraint,
    RangeConstraint,
    VectorConstraint,
)

PIXEL = 25.0  # m
HALF = 3000.0  # the test grid spans ±3 km around (500 000, 2 700 000)
X0, Y0 = 500_000.0, 2_700_000.0


def _grid() -> tuple[np.ndarray, np.ndarray]:
    xs = np.arange(X0 - HALF + PIXEL / 2, X0 + HALF, PIXEL)
    ys = np.arange(Y0 + HALF - PIXEL / 2, Y0 - HALF, -PIXEL)
    return xs, ys


def _distance_stack(geom: shapely.Geometry, key: str = "settlements") -> xr.Dataset:
    """An exact distance layer (shapely distances from pixel centres), as the loader makes."""
    xs, ys = _grid()
    xx, yy = np.meshgrid(xs, ys)
    d = shapely.distance(shapely.points(xx, yy), geom)
    inside = shapely.contains_xy(geom, xx, yy) if geom.geom_type == "Polygon" else d == 0
    return xr.Dataset(
        {
            f"{key}_distance_m": (("y", "x"), d.astype(np.float32)),
            f"{key}_mask": (("y", "x"), inside.astype(np.float32)),
        },
        coords={"x": xs, "y": ys},
    )


def _excluded_area(ds: xr.Dataset, c: VectorConstraint) -> float:
    excl, _ = constraint_masks(ds, c)
    return float(excl.sum()) * PIXEL * PIXEL


def test_point_buffer_is_a_disc() -> None:
    r = 1000.0
    ds = _distance_stack(shapely.Point(X0 + 3.0, Y0 - 7.0))
    area = _excluded_area(ds, VectorConstraint("s", "settlements", buffer_m=r))
    exact = math.pi * r**2
    tolerance = 2 * math.pi * r * PIXEL  # perimeter × pixel size
    assert abs(area - exact) <= tolerance
    # much tighter in practice: pixel-centre sampling of an exact disc
    assert abs(area - exact) / exact < 0.005


def test_segment_buffer_is_a_rounded_corridor() -> None:
    r, length = 500.0, 2000.0
    start = (X0 - 1000.0, Y0 - 300.0)
    end = (start[0] + length * math.cos(0.4), start[1] + length * math.sin(0.4))
    line = shapely.LineString([start, end])
    assert line.length == pytest.approx(length)
    ds = _distance_stack(line, "roads")
    area = _excluded_area(ds, VectorConstraint("r", "roads", buffer_m=r))
    exact = 2 * r * length + math.pi * r**2
    perimeter = 2 * length + 2 * math.pi * r
    assert abs(area - exact) <= perimeter * PIXEL
    assert abs(area - exact) / exact < 0.005


def test_polygon_buffer_follows_steiner_formula() -> None:
    r = 400.0
    poly = shapely.Polygon(
        [(X0 - 900, Y0 - 700), (X0 + 800, Y0 - 900), (X0 + 1100, Y0 + 300), (X0 - 200, Y0 + 1000)]
    )
    assert poly.is_valid and poly.convex_hull.equals(poly)
    ds = _distance_stack(poly, "protected_areas")
    area = _excluded_area(ds, VectorConstraint("p", "protected_areas", buffer_m=r))
    exact = poly.area + poly.length * r + math.pi * r**2  # convex body: A + P·r + π r²
    perimeter = poly.length + 2 * math.pi * r
    assert abs(area - exact) <= perimeter * PIXEL
    assert abs(area - exact) / exact < 0.005
    # buffer 0 = the polygon itself (mask of pixel centres inside)
    inner = _excluded_area(ds, VectorConstraint("p", "protected_areas", buffer_m=0.0))
    assert abs(inner - poly.area) <= poly.length * PIXEL


def test_feature_outside_the_region_still_excludes_within_reach() -> None:
    # a point 300 m beyond the grid's east edge, 1 km buffer: the disc's segment inside counts
    r, h = 1000.0, 300.0
    ds = _distance_stack(shapely.Point(X0 + HALF + h, Y0))
    area = _excluded_area(ds, VectorConstraint("s", "settlements", buffer_m=r))
    segment = r**2 * math.acos(h / r) - h * math.sqrt(r**2 - h**2)
    chord = 2 * math.sqrt(r**2 - h**2)
    arc = 2 * r * math.acos(h / r)
    assert area > 0
    assert abs(area - segment) <= (chord + arc) * PIXEL


def test_exclude_outside_keeps_only_the_corridor() -> None:
    r = 800.0
    ds = _distance_stack(shapely.Point(X0, Y0))
    inside = VectorConstraint("s", "settlements", buffer_m=r)
    outside = VectorConstraint("s", "settlements", buffer_m=r, exclude="outside")
    ex_in, _ = constraint_masks(ds, inside)
    ex_out, _ = constraint_masks(ds, outside)
    assert not bool((ex_in & ex_out).any()) and bool((ex_in | ex_out).all())
    kept = float((~ex_out).sum()) * PIXEL**2
    assert abs(kept - math.pi * r**2) <= 2 * math.pi * r * PIXEL


def test_buffer_boundary_is_inclusive() -> None:
    d = xr.DataArray(np.array([[999.9, 1000.0, 1000.1]], dtype=np.float32), dims=("y", "x"))
    ds = xr.Dataset({"settlements_distance_m": d})
    excl, _ = constraint_masks(ds, VectorConstraint("s", "settlements", buffer_m=1000.0))
    assert excl.values.tolist() == [[True, True, False]]


def test_range_constraint_bounds_and_nan() -> None:
    x = xr.DataArray(np.array([[1700.0, 1750.0, 1800.0, np.nan]]), dims=("y", "x"))
    ds = xr.Dataset({"dem": x})
    open_max = RangeConstraint("e", "dem", max=1750.0, max_inclusive=False)
    closed_max = RangeConstraint("e", "dem", max=1750.0)
    ex_open, valid = constraint_masks(ds, open_max)
    ex_closed, _ = constraint_masks(ds, closed_max)
    assert ex_open.values.tolist() == [[False, True, True, False]]
    assert ex_closed.values.tolist() == [[False, False, True, False]]
    assert valid.values.tolist() == [[True, True, True, False]]
    both = RangeConstraint("e", "dem", min=1700.0, max=1800.0, min_inclusive=False)
    assert constraint_masks(ds, both)[0].values.tolist() == [[True, False, False, False]]


def test_class_constraint_exclude_and_allow() -> None:
    lc = xr.DataArray(np.array([[10.0, 20.0, 30.0, 40.0, np.nan]]), dims=("y", "x"))
    ds = xr.Dataset({"land_cover": lc})
    ex, _ = constraint_masks(ds, ClassConstraint("c", "land_cover", frozenset({10, 40})))
    assert ex.values.tolist() == [[True, False, False, True, False]]
    al, _ = constraint_masks(ds, ClassConstraint("c", "land_cover", frozenset({20, 30}), "allow"))
    assert al.values.tolist() == [[True, False, False, True, False]]


def test_constraints_stay_lazy() -> None:
    ds = _distance_stack(shapely.Point(X0, Y0)).chunk({"y": 60, "x": 60})
    excl, valid = constraint_masks(ds, VectorConstraint("s", "settlements", buffer_m=500.0))
    assert isinstance(excl.data, da.Array) and isinstance(valid.data, da.Array)


def _patches() -> xr.DataArray:
    m = np.zeros((12, 12), dtype=bool)
    m[1:5, 1:5] = True  # 16 px
    m[8:10, 8:10] = True  # 4 px
    m[10, 10] = True  # diagonal neighbour of the 4-px patch: 5 px with 8-connectivity
    m[0, 11] = True  # 1 px
    return xr.DataArray(m, dims=("y", "x"))


@pytest.mark.parametrize("chunked", [False, True])
def test_min_area_removes_small_patches(chunked: bool) -> None:
    eligible = _patches()
    if chunked:
        eligible = eligible.chunk({"y": 5, "x": 5})  # patches straddle chunk borders
    px = 100.0 * 100.0  # 1 ha pixels
    c8 = MinAreaConstraint("a", min_area_km2=0.05)  # 5 ha
    small8 = small_patches(eligible, c8, px)
    if chunked:
        assert isinstance(small8.data, da.Array)
    s8 = small8.values
    assert s8[0, 11] and not s8[2, 2] and not s8[8, 8] and not s8[10, 10]
    assert int(s8.sum()) == 1  # the 5-px diagonal patch reaches exactly 5 ha: kept
    c4 = MinAreaConstraint("a", min_area_km2=0.05, connectivity=4)
    s4 = small_patches(eligible, c4, px).values
    assert s4[8, 8] and s4[10, 10] and s4[0, 11] and not s4[2, 2]
    assert int(s4.sum()) == 4 + 1 + 1
