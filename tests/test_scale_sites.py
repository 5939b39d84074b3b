"""Site extraction at province size: compact labels, polygons traced in strips."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine

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
