"""`geotool check` on a real region and on broken variants: exit 2 with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from tests.conftest import write_tif

# Shaoguan spans about 112.85–114.75 E, 23.9–25.55 N
T = Affine(0.01, 0, 112.5, 0, -0.01, 25.8)
SHAPE = (220, 250)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "geotool", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def make_study(tmp_path: Path, region: Path, *, layers: str) -> Path:
    study = tmp_path / "study.toml"
    study.write_text(
        f'[study]\nname = "Shaoguan"\nregion = "{region.as_posix()}"\nregion_id = "name"\n'
        f'crs = "auto"\nresolution = 100\n\n[layers]\n{layers}\n',
        encoding="utf-8",
    )
    return study


@pytest.fixture
def good_inputs(tmp_path):
    rows, _ = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    write_tif(
        tmp_path / "dem.tif", (100 + rows * 5).astype("float32"), crs="EPSG:4326", transform=T
    )
    write_tif(tmp_path / "wind.tif", np.full(SHAPE, 5.5, "float32"), crs="EPSG:4326", transform=T)
    return tmp_path


def test_check_real_shaoguan_passes_and_picks_utm49(good_inputs, shaoguan_counties):
    study = make_study(
        good_inputs,
        shaoguan_counties,
        layers='dem = "dem.tif"\nwind_speed_100m = "wind.tif"\nregions = "'
        + shaoguan_counties.as_posix()
        + '"',
    )
    res = run("check", str(study))
    assert res.returncode == 0, res.stderr
    assert "EPSG:32649" in res.stdout
    assert "10 region unit(s)" in res.stdout


BROKEN = {
    "missing file": ('dem = "nope.tif"', "nope.tif: file not found"),
    "raster without CRS": ('dem = "nocrs.tif"', "raster has no CRS"),
    "raster not overlapping": ('dem = "far.tif"', "does not overlap the study region"),
    "out-of-range values": ('wind_speed_100m = "kmh.tif"', 'set units = "km/h"'),
    "unknown layer name": ('wind_speed = "wind.tif"', "unknown layer 'wind_speed'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_broken_variants_exit_2_with_one_line(good_inputs, shaoguan_counties, case):
    tmp = good_inputs
    write_tif(tmp / "nocrs.tif", np.ones(SHAPE, "float32"), crs=None, transform=T)
    write_tif(
        tmp / "far.tif",
        np.ones(SHAPE, "float32"),
        crs="EPSG:4326",
        transform=Affine(0.01, 0, 10, 0, -0.01, 50),
    )
    write_tif(
        tmp / "kmh.tif", np.full(SHAPE, 5.5 * 3.6 + 5, "float32"), crs="EPSG:4326", transform=T
    )
    layers, expected = BROKEN[case]
    study = make_study(tmp, shaoguan_counties, layers=layers)
    before = set(tmp.iterdir())
    res = run("check", str(study))
    assert res.returncode == 2, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert expected in lines[0]
    assert "Traceback" not in res.stderr
    assert set(tmp.iterdir()) == before


def test_help_is_fast_and_lists_commands():
    res = run("--help")
    assert res.returncode == 0
    for cmd in ("demo", "check", "align", "layers"):
        assert cmd in res.stdout
    res = run("layers")
    assert res.returncode == 0 and "wind_speed_100m" in res.stdout and "m/s" in res.stdout


def test_align_writes_cogs_and_manifest(good_inputs, shaoguan_counties, tmp_path):
    import json

    import rasterio

    roads = tmp_path / "roads.geojson"
    roads.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"LineString","coordinates":[[113.2,24.2],[114.3,25.3]]}}]}'
    )
    study = make_study(
        good_inputs, shaoguan_counties, layers='dem = "dem.tif"\nroads = "roads.geojson"'
    )
    out = tmp_path / "aligned"
    res = run("align", str(study), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert {p.name for p in out.iterdir()} == {"dem.tif", "roads_distance_m.tif", "manifest.json"}
    with rasterio.open(out / "dem.tif") as ds:
        assert ds.crs.to_epsg() == 32649 and ds.res == (100.0, 100.0)
        assert ds.dtypes[0] == "float32" and ds.overviews(1) and ds.profile["tiled"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"inputs", "versions", "timings_s", "grid", "study"} <= set(manifest)
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    # a second run without --force refuses and changes nothing
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    res = run("align", str(study), "--out", str(out))
    assert res.returncode == 2 and "--force" in res.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
