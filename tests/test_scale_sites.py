"""Site extraction at province size: compact labels, polygons traced in strips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from scipy import ndimage

import geotool.sites.polygons as polygons
from geotool.sites.candidates import label_candidates, split_large, widen_for_split
from geotool.sites.polygons import label_polygons

T = Affine(30.0, 0, 500_000.0, 0, -30.0, 2_900_000.0)


def test_labels_are_uint16_until_the_ids_run_out():
    mask = np.zeros((100, 100), dtype=np.uint8)
    mask[::4, ::4] = 1
    labels, n = label_candidates(mask)
    assert labels.dtype == np.uint16 and n == 625
    many = np.zeros((600, 600), dtype=np.uint8)
    many[::2, ::2] = 1  # 90,000 isolated pixels: more areas than uint16 ids
    labels, n = label_candidates(many)
    assert labels.dtype == np.int32 and n == 90_000
    assert labels.max() == n and np.array_equal(labels > 0, many == 1)


def test_splitting_widens_labels_that_would_overflow():
    mask = np.zeros((300, 400), dtype=np.uint8)
    mask[::3, :150:3] = 1  # 5,000 single-pixel areas ...
    mask[:, 180:] = 1  # ... and one 66,000 px area, split into parts of ≤ 30,000 px
    labels, n = label_candidates(mask)
    assert labels.dtype == np.uint16 and n == 5_001
    # the id bound (n + pixels of the areas to split) exceeds uint16: refuse, do not wrap
    with pytest.raises(ValueError, match="widen_for_split"):
        split_large(labels.copy(), n, max_px=30_000)
    wide = widen_for_split(labels, n, max_px=30_000)
    assert wide.dtype == np.int32
    m = split_large(wide, n, max_px=30_000)
    assert m == 5_000 + 3
    sizes = np.bincount(wide.ravel())[1:]
    assert sizes.max() <= 30_000 and sizes.sum() == mask.sum()
    assert widen_for_split(labels, n, max_px=10**6) is labels  # nothing to split: unchanged


@pytest.mark.parametrize("strip", [1, 7, 64])
def test_polygons_traced_in_strips_match_the_whole_raster(monkeypatch, strip):
    rng = np.random.default_rng(5)
    labels, n = label_candidates((rng.random((60, 50)) < 0.55).astype(np.uint8))
    whole = label_polygons(labels, n, T)
    monkeypatch.setattr(polygons, "STRIP_ROWS", strip)
    parts = label_polygons(labels, n, T)
    px = 30.0 * 30.0
    for lab, (a, b) in enumerate(zip(whole, parts, strict=True), start=1):
        # both stay within the label's own pixels and cover the same pixel centres
        rows, cols = np.nonzero(labels == lab)
        xs, ys = T * (cols + 0.5, rows + 0.5)
        assert shapely.contains_xy(b, xs, ys).all() == shapely.contains_xy(a, xs, ys).all()
        raw = shapely.union_all(
            [
                shapely.box(*(T * (c, r + 1)), *(T * (c + 1, r)))
                for r, c in zip(rows, cols, strict=True)
            ]
        )
        assert b.difference(raw.buffer(1e-6)).area < 1e-6  # never beyond its pixels
        assert abs(a.area - b.area) <= 0.5 * px * max(1, len(rows)) ** 0.5


@pytest.mark.parametrize("strip", [1, 3, 16, 1000])
@pytest.mark.parametrize("density", [0.3, 0.6])
def test_labelling_in_strips_equals_scipy_on_the_whole_mask(monkeypatch, strip, density):
    from scipy import ndimage

    import geotool.sites.candidates as candidates

    rng = np.random.default_rng(int(density * 10) + strip)
    mask = (rng.random((97, 83)) < density).astype(np.uint8)
    mask[40:60, :] = 1  # one area spanning several strips
    monkeypatch.setattr(candidates, "LABEL_STRIP_ROWS", strip)
    labels, n = label_candidates(mask)
    expected, m = ndimage.label(mask, structure=np.ones((3, 3), bool), output=np.int32)
    assert n == m and np.array_equal(labels, expected)
    packed = candidates.PackedMask(mask)  # 1 bit per pixel, as extract_sites labels it
    assert packed.bits.nbytes == 97 * 11
    assert np.array_equal(packed[5:62], mask[5:62])
    labels_p, n_p = label_candidates(packed)
    assert n_p == m and np.array_equal(labels_p, expected)


def test_no_candidates_give_no_labels():
    labels, n = label_candidates(np.zeros((50, 40), dtype=np.uint8))
    assert n == 0 and labels.dtype == np.uint16 and not labels.any()


def test_bounding_boxes_equal_find_objects():
    from geotool.sites.candidates import _bounding_boxes

    rng = np.random.default_rng(3)
    labels, n = label_candidates((rng.random((700, 90)) < 0.6).astype(np.uint8))
    ids = np.array([1, n // 2, n], dtype=np.int64)
    found = ndimage.find_objects(labels)
    assert _bounding_boxes(labels, ids) == [found[i - 1] for i in ids]
    assert _bounding_boxes(labels, np.array([], dtype=np.int64)) == []


@pytest.mark.parametrize("chunk", [37, 64])
@pytest.mark.parametrize("rule", [{"threshold": 0.7}, {"top_share": 0.15}])
def test_candidate_bits_equal_the_mask_of_the_rule(chunk, rule):
    """Packed band by band, for chunk widths that are not multiples of 8 too."""
    import dask.array as da

    from geotool.sites.candidates import candidate_bits, top_share_threshold
    from geotool.suitability.specs import SitesSpec

    rng = np.random.default_rng(chunk)
    score = rng.random((150, 203)).round(3)  # ties at the threshold
    score[rng.random(score.shape) < 0.1] = np.nan
    score[rng.random(score.shape) < 0.05] = 0.0
    lazy = da.from_array(score, chunks=chunk)
    packed, t = candidate_bits(lazy, SitesSpec(**rule))
    expected_t = rule.get("threshold") or top_share_threshold(score, rule["top_share"])
    assert t == expected_t
    with np.errstate(invalid="ignore"):
        expected = (score >= t) & (score > 0)
    assert np.array_equal(packed[0:150], expected.astype(np.uint8))


def test_file_backed_labels_give_the_same_sites_and_leave_nothing(tmp_path):
    import dask.array as da
    import xarray as xr

    from geotool.grid import Grid
    from geotool.sites import extract_sites
    from geotool.suitability import evaluate
    from geotool.suitability.specs import (
        Aggregation,
        Criterion,
        DirectWeights,
        Linear,
        Profile,
        SitesSpec,
    )

    grid = Grid.from_bounds((500_000, 2_800_000, 530_000, 2_818_000), 30, "EPSG:32649")
    rng = np.random.default_rng(8)
    field = ndimage.gaussian_filter(rng.random(grid.shape), 20)
    v = (field - field.min()) / np.ptp(field)
    stack = xr.Dataset(
        {"v": (("y", "x"), da.from_array(v, chunks=256))},
        coords={"x": grid.xs, "y": grid.ys},
    )
    profile = Profile(
        "t",
        "",
        (),
        (Criterion("v", Linear(0, 1), layer="v"),),
        DirectWeights({"v": 1.0}),
        Aggregation(),
        SitesSpec(top_share=0.2, min_area_km2=0.05, max_area_km2=2.0),
    )
    ev = evaluate(stack, profile)
    in_memory = extract_sites(ev, profile, grid)
    on_disk = extract_sites(ev, profile, grid, workdir=tmp_path)
    # connected areas of up to ~14 km² (scipy on the top 20 %): split into parts of ≤ 2 km²
    assert len(in_memory) > 36 and (in_memory["area_km2"] <= 2.0 + 1e-9).all()
    pd.testing.assert_frame_equal(
        in_memory.drop(columns="geometry"), on_disk.drop(columns="geometry")
    )
    assert in_memory.geometry.geom_equals(on_disk.geometry).all()
    assert list(tmp_path.iterdir()) == []  # the scratch file was unlinked at once


def test_released_pages_leave_the_resident_set(tmp_path):
    from geotool.io.mapped import is_mapped, release, scratch_array

    def rss_kib() -> int:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))

    a = scratch_array((4096, 4096), np.uint32, tmp_path)  # 64 MiB
    assert is_mapped(a) and is_mapped(a[10:20])
    before = rss_kib()
    a[:] = 7
    touched = rss_kib()
    release(a)
    after = rss_kib()
    assert touched - before > 50_000  # the written pages were resident ...
    assert touched - after > 50_000  # ... and are no longer
    assert int(a[4095, 4095]) == 7 and int(a[:, 0].sum()) == 7 * 4096  # data kept
    assert not is_mapped(np.zeros(3)) and scratch_array((2, 2), np.uint8).sum() == 0
