"""Outputs: atomic folders, streaming COGs."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rasterio

from geotool.errors import OutputExistsError
from geotool.grid import Grid
from geotool.io.outputs import STAGING_PREFIX, OutputDir, write_cog

GRID = Grid.from_bounds((0, 0, 12_000, 8_000), 10, "EPSG:32649")


def test_cog_is_tiled_with_overviews_and_exact(tmp_path):
    data = da.random.default_rng(0).random(GRID.shape, chunks=(128, 128)).astype("float32")
    data[:10, :10] = np.nan
    path = write_cog(data, tmp_path / "a.tif", GRID)
    with rasterio.open(path) as ds:
        assert ds.driver == "GTiff" and ds.profile["tiled"]
        assert ds.block_shapes[0] == (512, 512)
        assert ds.overviews(1)  # COG driver built overviews
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.crs.to_epsg() == 32649 and ds.transform == GRID.transform
        np.testing.assert_array_equal(ds.read(1), data.compute())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif"]  # no temp files left


def test_existing_folder_needs_force_and_failure_keeps_old_outputs(tmp_path):
    out = tmp_path / "out"
    with OutputDir(out) as o:
        o.path("a.txt").write_text("old")
    with pytest.raises(OutputExistsError, match="--force"):
        OutputDir(out)
    with pytest.raises(RuntimeError), OutputDir(out, force=True) as o:
        o.path("a.txt").write_text("new")
        o.path("b.txt").write_text("half")
        raise RuntimeError("boom")
    assert [p.name for p in out.iterdir()] == ["a.txt"]
    assert (out / "a.txt").read_text() == "old"
    assert not list(tmp_path.glob(f"{STAGING_PREFIX}*"))
    with OutputDir(out, force=True) as o:
        o.path("a.txt").write_text("new")
    assert (out / "a.txt").read_text() == "new"


def test_stale_staging_of_dead_process_is_swept(tmp_path):
    stale = tmp_path / f"{STAGING_PREFIX}out-999999999"
    stale.mkdir()
    OutputDir(tmp_path / "out").discard()
    assert not stale.exists()


def test_commit_swaps_whole_folders_and_keeps_no_earlier_file(tmp_path):
    out = tmp_path / "out"
    with OutputDir(out) as o:
        o.path("a.txt").write_text("old a")
        o.path("score_windfarm.tif").write_text("an earlier run's output")
        o.path("inputs/old.txt").write_text("old input")
    with OutputDir(out, force=True) as o:
        o.path("a.txt").write_text("new a")
    assert (out / "a.txt").read_text() == "new a"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_sweep_restores_an_old_folder_whose_replacement_never_arrived(tmp_path):
    # a run killed between its two renames: the old folder is parked, `out` is missing
    parked = tmp_path / ".geotool-old-out-999999999"
    parked.mkdir()
    (parked / "score.tif").write_bytes(b"previous")
    (tmp_path / f"{STAGING_PREFIX}out-999999999").mkdir()
    OutputDir(tmp_path / "other").discard()  # any later run in the same parent sweeps
    assert (tmp_path / "out" / "score.tif").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_intermediate_files_use_fast_zstd(tmp_path):
    # intermediate GeoTIFFs are compressed at ZSTD level 1, not GDAL's default 9: the file
    # has the very size rasterio writes at level 1 for the same tiles (level 9 packs them
    # otherwise)
    from geotool.io.outputs import RasterOutput, write_cogs

    yy, xx = np.mgrid[0 : GRID.height, 0 : GRID.width]
    data = (np.sin(xx / 37.0) * np.cos(yy / 23.0) * 100.0).astype("float32")
    (path,) = write_cogs([RasterOutput(data, tmp_path / "m.tif")], GRID, cog=False)
    sizes = {}
    for level in (1, 9):
        ref = tmp_path / f"ref{level}.tif"
        with rasterio.open(path) as src:
            profile = src.profile | {"zstd_level": level}
            with rasterio.open(ref, "w", **profile) as dst:
                dst.write(src.read(1), 1)
        sizes[level] = ref.stat().st_size
    assert sizes[9] != sizes[1]
    assert path.stat().st_size == sizes[1]
