"""A corpus of broken inputs: every one gives exit code 2, one line, no traceback, no output.

Each case copies a tiny valid study (2 counties, 1 km grid, 40 × 40 px rasters, one road, a
small user profile) built in ``tmp_path`` and breaks exactly one thing in it, then runs the CLI
as a subprocess — ``geotool check``, ``geotool run`` (``-q --force`` into an output folder that
already holds a previous run's files) or, for the user's profile file, ``geotool profiles
check``. Each case runs the command(s) whose code path it exercises; ``run`` is used wherever
``run`` takes a different path than ``check`` (pre-flight sampling, errors inside dask tasks,
profiles, the output folder). Asserted for every case and command: exit code 2, exactly one
line on stderr, naming what is wrong; no traceback; the output folder unchanged (byte for
byte) and no staging folder left beside it. Most cases fail at validation before heavy work.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from tests import conftest

# 0.01° pixels over 112.9–113.3 E, 23.95–24.35 N (northern Guangdong, UTM zone 49)
T = Affine(0.01, 0, 112.9, 0, -0.01, 24.35)
SHAPE = (40, 40)

STUDY = """\
[study]
name = "Tiny"
region = "regions.geojson"
region_id = "name"
crs = "auto"
resolution = 1000

[layers]
dem = "dem.tif"
wind_speed_100m = "wind.tif"
land_cover = "lc.tif"
roads = "roads.geojson"
"""

PROFILE = """\
name = "mini"
description = "tiny test profile"

[constraints.built]
kind = "classes"
layer = "land_cover"
exclude = [50]

[constraints.road_setback]
kind = "vector"
layer = "roads"
buffer_m = 300.0

[criteria.wind]
layer = "wind_speed_100m"
membership = "linear"
low = 5.0
high = 7.0

[criteria.road]
distance_to = "roads"
membership = "linear"
direction = "decreasing"
low = 500.0
high = 10000.0

[weights]
wind = 2
road = 1

[sites]
top_share = 0.3
capacity_density_mw_per_km2 = 3.0
"""


def write_tif(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None = "EPSG:4326",
    transform: Affine = T,
    nodata: float | None = None,
) -> Path:
    return conftest.write_tif(path, data, crs=crs, transform=transform, nodata=nodata)


def feature(geometry: dict, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def box(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj), encoding="utf-8")


def build_base(folder: Path) -> Path:
    """The tiny valid study in ``folder``; returns the study file."""
    folder.mkdir(parents=True, exist_ok=True)
    r, c = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    write_tif(folder / "dem.tif", (100 + r * 10 + c * 3).astype("float32"))
    write_tif(folder / "wind.tif", (5 + 0.05 * c).astype("float32"))
    lc = np.where((r + c) % 7 == 0, 50, np.where(c < 20, 10, 30)).astype("uint8")
    write_tif(folder / "lc.tif", lc)
    regions = [
        feature(box(113.0, 24.0, 113.1, 24.3), name="West"),
        feature(box(113.1, 24.0, 113.2, 24.3), name="East"),
    ]
    write_json(folder / "regions.geojson", {"type": "FeatureCollection", "features": regions})
    road = {"type": "LineString", "coordinates": [[112.95, 24.15], [113.25, 24.16]]}
    write_json(
        folder / "roads.geojson",
        {"type": "FeatureCollection", "features": [feature(road, highway="primary")]},
    )
    (folder / "mini.toml").write_text(PROFILE, encoding="utf-8")
    (folder / "study.toml").write_text(STUDY, encoding="utf-8")
    return folder / "study.toml"


def geotool(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "geotool", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (hidden ones included), by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ----------------------------------------------------------------------------- the cases

Edit = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    edit: Edit
    expect: str  # text the one-line message must contain (case-insensitive)
    commands: tuple[str, ...]
    profile: tuple[str, ...] = ("--profile", "mini.toml")
    # how `run` is pointed at the output folder: a function of tmp_path giving the options,
    # or "locked" (an output folder inside a folder nobody may write to)
    out: Callable[[Path], tuple[str, ...]] | str | None = None


def set_study(d: Path, old: str, new: str) -> None:
    p = d / "study.toml"
    text = p.read_text(encoding="utf-8")
    assert old in text, old
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_study(d: Path, text: str) -> None:
    with open(d / "study.toml", "a", encoding="utf-8") as fh:
        fh.write("\n" + text + "\n")


def set_profile(d: Path, old: str, new: str) -> None:
    p = d / "mini.toml"
    text = p.read_text(encoding="utf-8")
    assert old in text, old
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


def truncated_tif(d: Path) -> None:
    data = np.random.default_rng(0).random((400, 400)).astype("float32") * 500
    write_tif(d / "dem.tif", data, transform=Affine(0.001, 0, 112.9, 0, -0.001, 24.35))
    raw = (d / "dem.tif").read_bytes()
    (d / "dem.tif").write_bytes(raw[: len(raw) // 2])


def png_as_tif(d: Path) -> None:
    import matplotlib.pyplot as plt

    plt.imsave(d / "dem.png", np.random.default_rng(0).random((20, 20)))
    (d / "dem.png").rename(d / "dem.tif")


def html_as_tif(d: Path) -> None:  # a failed download saved under the file's name
    (d / "dem.tif").write_text("<html><body>403 Forbidden</body></html>", encoding="utf-8")


def empty_file(d: Path) -> None:
    (d / "dem.tif").write_bytes(b"")


def no_crs(d: Path) -> None:
    write_tif(d / "dem.tif", np.full(SHAPE, 300, "float32"), crs=None)


def degrees_as_utm(d: Path) -> None:
    write_tif(d / "dem.tif", np.full(SHAPE, 300, "float32"), crs="EPSG:32649")


def far_away(d: Path) -> None:
    far = Affine(0.01, 0, 5.0, 0, -0.01, 50.0)  # Europe
    write_tif(d / "dem.tif", np.full(SHAPE, 300, "float32"), transform=far)


def wind_kmh(d: Path) -> None:
    write_tif(d / "wind.tif", np.full(SHAPE, 22.0, "float32"))  # 6.1 m/s in km/h


def all_nodata(d: Path) -> None:
    write_tif(d / "dem.tif", np.full(SHAPE, -9999, "float32"), nodata=-9999)


def bad_classes(d: Path) -> None:
    write_tif(d / "lc.tif", np.full(SHAPE, 12, "uint8"))  # 12 is not a WorldCover code


def negative_dem_in_feet(d: Path) -> None:  # a DEM whose values cannot be elevations
    write_tif(d / "dem.tif", np.full(SHAPE, 12_000, "float32"))


def null_geometry_geojson(d: Path) -> None:
    # an empty file is fine (nothing within reach); features that all lack a geometry are not
    nulls = [{"type": "Feature", "properties": {"name": f"r{i}"}, "geometry": None} for i in (1, 2)]
    write_json(d / "roads.geojson", {"type": "FeatureCollection", "features": nulls})


def bare_array_not_features(d: Path) -> None:
    write_json(d / "roads.geojson", [[112.95, 24.15], [113.25, 24.16]])


def points_as_regions(d: Path) -> None:
    pts = [feature({"type": "Point", "coordinates": [113.05, 24.1]}, name="West")]
    pts.append(feature(box(113.1, 24.0, 113.2, 24.3), name="East"))
    write_json(d / "regions.geojson", {"type": "FeatureCollection", "features": pts})


def shapefile_without_prj(d: Path) -> None:
    import geopandas as gpd

    gdf = gpd.read_file(d / "roads.geojson")
    gdf.to_file(d / "roads.shp")
    (d / "roads.prj").unlink()
    set_study(d, 'roads = "roads.geojson"', 'roads = "roads.shp"')


def corrupt_gpkg(d: Path) -> None:
    (d / "roads.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    set_study(d, 'roads = "roads.geojson"', 'roads = "roads.gpkg"')


def truncated_geojson(d: Path) -> None:
    text = (d / "roads.geojson").read_text(encoding="utf-8")
    (d / "roads.geojson").write_text(text[: len(text) // 2], encoding="utf-8")


def patch_between_samples(d: Path) -> None:
    """A fine wind raster whose only bad patch lies between the pre-flight sample windows, so
    that the range check fires inside a dask task and is re-raised by compute."""
    from geotool.io.raster import open_raster
    from geotool.io.scan import PREFLIGHT_SAMPLES, PREFLIGHT_WINDOW, region_window
    from geotool.stack import load_region, study_grid
    from geotool.study import load_study

    fine = Affine(0.00025, 0, 112.9, 0, -0.00025, 24.35)  # ~25 m: 1,600 × 1,600 px
    data = np.full((1600, 1600), 5.5, "float32")
    write_tif(d / "wind.tif", data, transform=fine)
    study = load_study(d / "study.toml")
    grid = study_grid(study, load_region(study))
    src = open_raster(d / "wind.tif")
    with rasterio.open(d / "wind.tif") as ds:
        c0, r0, width, height = (int(v) for v in region_window(ds, src, grid).flatten())
    assert width * height > (PREFLIGHT_SAMPLES * PREFLIGHT_WINDOW) ** 2  # sampled, not scanned
    # the gap after the middle sample window, in both directions
    gap_c = c0 + int(np.linspace(0, width - PREFLIGHT_WINDOW, PREFLIGHT_SAMPLES)[3])
    gap_r = r0 + int(np.linspace(0, height - PREFLIGHT_WINDOW, PREFLIGHT_SAMPLES)[3])
    data[
        gap_r + PREFLIGHT_WINDOW + 2 : gap_r + PREFLIGHT_WINDOW + 42,
        gap_c + PREFLIGHT_WINDOW + 2 : gap_c + PREFLIGHT_WINDOW + 42,
    ] = 99.0
    write_tif(d / "wind.tif", data, transform=fine)


def output_parent_is_file(tmp: Path) -> tuple[str, ...]:
    (tmp / "afile").write_text("x", encoding="utf-8")
    return ("--out", str(tmp / "afile" / "out"), "--force")


def out_exists(tmp: Path) -> tuple[str, ...]:
    return ("--out", str(tmp / "out"))  # no --force: the previous outputs must stay


CHECK, RUN, BOTH, PROFILES = ("check",), ("run",), ("check", "run"), ("profiles",)

CASES: dict[str, Case] = {
    # --- files: missing, unreadable, not geodata
    "missing raster": Case(lambda d: (d / "dem.tif").unlink(), "dem.tif: file not found", CHECK),
    "truncated GeoTIFF": Case(truncated_tif, "dem.tif", BOTH),
    "PNG renamed .tif": Case(png_as_tif, "dem.tif: has no georeferencing", CHECK),
    "HTML page saved as .tif": Case(html_as_tif, "dem.tif: not a readable raster", CHECK),
    "empty file": Case(empty_file, "dem.tif: not a readable raster", CHECK),
    "missing study file": Case(lambda d: (d / "study.toml").unlink(), "file not found", CHECK),
    "study file not UTF-8": Case(
        lambda d: (d / "study.toml").write_bytes(b"\xff\xfe[study]\x00"), "not UTF-8", CHECK
    ),
    # --- CRS and extent
    "GeoTIFF without CRS": Case(no_crs, "raster has no CRS", CHECK),
    "degrees labelled UTM": Case(degrees_as_utm, "look like degrees", CHECK),
    "non-overlapping extent": Case(far_away, "does not overlap the study region", RUN),
    "bad EPSG code": Case(
        lambda d: set_study(d, 'crs = "auto"', 'crs = "EPSG:999999"'), "unknown CRS", CHECK
    ),
    "geographic analysis CRS": Case(
        lambda d: set_study(d, 'crs = "auto"', 'crs = "EPSG:4326"'), "not a metric", RUN
    ),
    "bad CRS assigned to a layer": Case(
        lambda d: set_study(d, 'dem = "dem.tif"', 'dem = { path = "dem.tif", crs = "EPSG:0" }'),
        "EPSG:0",
        CHECK,
    ),
    "assigned CRS contradicts the file's": Case(
        lambda d: set_study(d, 'dem = "dem.tif"', 'dem = { path = "dem.tif", crs = "EPSG:32650" }'),
        "the file's CRS is EPSG:4326",
        CHECK,
    ),
    # --- values: units, ranges, classes, no data
    "wind in km/h": Case(wind_kmh, 'units = "km/h"', BOTH),
    "all-nodata raster": Case(all_nodata, "no valid values", BOTH),
    "land-cover codes not in WorldCover": Case(bad_classes, "not in its class list", RUN),
    "DEM above Everest": Case(negative_dem_in_feet, "valid range", CHECK),
    "unknown units": Case(
        lambda d: set_study(d, 'dem = "dem.tif"', 'dem = { path = "dem.tif", units = "furlong" }'),
        "furlong",
        CHECK,
    ),
    "bad values found inside a dask task": Case(patch_between_samples, "valid range", RUN),
    # --- vector files and geometries
    "GeoJSON without geometries": Case(
        null_geometry_geojson, "roads.geojson: has no features with a geometry", CHECK
    ),
    "bare-array GeoJSON of non-features": Case(
        bare_array_not_features, "not an array of GeoJSON", RUN
    ),
    "truncated GeoJSON": Case(truncated_geojson, "roads.geojson: not readable", CHECK),
    "corrupt GeoPackage": Case(corrupt_gpkg, "roads.gpkg: not readable", RUN),
    "points in the region file": Case(points_as_regions, "must hold polygons", CHECK),
    "region_id field missing": Case(
        lambda d: set_study(d, 'region_id = "name"', 'region_id = "NAME_2"'), "NAME_2", RUN
    ),
    "shapefile without .prj": Case(shapefile_without_prj, "no CRS", CHECK),
    # --- the study file itself
    "invalid TOML": Case(lambda d: add_study(d, "[study\nname = 1"), "line", CHECK),
    "unknown key": Case(
        lambda d: set_study(d, "resolution = 1000", "resolution = 1000\nresolutoin = 100"),
        "resolutoin",
        CHECK,
    ),
    "unknown table": Case(lambda d: add_study(d, "[output]\nfolder = 'x'"), "output", CHECK),
    "unknown layer": Case(
        lambda d: set_study(d, 'dem = "dem.tif"', 'elevation = "dem.tif"'), "unknown layer", CHECK
    ),
    "resolution 0": Case(
        lambda d: set_study(d, "resolution = 1000", "resolution = 0"), "> 0", CHECK
    ),
    "resolution as text": Case(
        lambda d: set_study(d, "resolution = 1000", 'resolution = "1000"'), "resolution", RUN
    ),
    "layer path as number": Case(
        lambda d: set_study(d, 'dem = "dem.tif"', "dem = 5"), "layers.dem", CHECK
    ),
    "region as a table": Case(
        lambda d: set_study(d, 'region = "regions.geojson"', "region = { file = 1 }"),
        "region",
        CHECK,
    ),
    "bbox reversed": Case(
        lambda d: set_study(
            d,
            'region = "regions.geojson"\nregion_id = "name"',
            "bbox = [113.2, 24.3, 113.0, 24.0]",
        ),
        "bbox",
        CHECK,
    ),
    "name as a list": Case(lambda d: set_study(d, 'name = "Tiny"', "name = [1, 2]"), "name", CHECK),
    # --- [resources], [carbon] and profile overrides in the study
    "two hub heights": Case(
        lambda d: add_study(d, "[resources]\nhub_height_m = 135"),
        "profile windfarm: [sites] hub_height_m: 122 m, but",
        RUN,
        ("--profile", "windfarm"),
    ),
    "unknown turbine": Case(lambda d: add_study(d, '[resources]\nturbine = "X-999"'), "X-999", RUN),
    "geothermal depth 12 km": Case(
        lambda d: add_study(d, "[resources]\ngeothermal_depth_m = 12000"),
        "geothermal_depth_m",
        CHECK,
    ),
    "resources value as text": Case(
        lambda d: add_study(d, '[resources]\nhub_height_m = "high"'), "hub_height_m", CHECK
    ),
    "unknown species": Case(
        lambda d: add_study(d, '[carbon]\nspecies = "oak_tree"'), "oak_tree", CHECK
    ),
    "unknown standard": Case(lambda d: add_study(d, '[carbon]\nstandard = "ccerx"'), "ccerx", RUN),
    "profile weights as text": Case(
        lambda d: add_study(d, '[profiles.windfarm]\nweights = "x"'), "weights", CHECK
    ),
    "profile override of an unknown criterion": Case(
        lambda d: add_study(d, "[profiles.windfarm.weights]\nsun = 1"), "sun", CHECK
    ),
    "negative buffer in an override": Case(
        lambda d: add_study(d, "[profiles.windfarm.constraints.roads]\nbuffer_m = -100"),
        "buffer_m",
        CHECK,
    ),
    # --- profiles: names and the user's profile file
    "unknown profile": Case(lambda d: None, "unknown profile 'nope'", RUN, ("--profile", "nope")),
    "profile file missing": Case(
        lambda d: None, "missing.toml", RUN, ("--profile", "missing.toml")
    ),
    "negative weight": Case(lambda d: set_profile(d, "wind = 2", "wind = -2"), "weights.wind", RUN),
    "NaN weight": Case(
        lambda d: set_profile(d, "wind = 2", "wind = nan"), "weights.wind", PROFILES
    ),
    "all-zero weights": Case(
        lambda d: set_profile(d, "wind = 2\nroad = 1", "wind = 0\nroad = 0"),
        "all weights",
        PROFILES,
    ),
    "non-reciprocal AHP": Case(
        lambda d: set_profile(
            d,
            "[weights]\nwind = 2\nroad = 1",
            '[ahp]\ncriteria = ["wind", "road"]\nmatrix = [[1, 3], [3, 1]]',
        ),
        "not reciprocal",
        PROFILES,
    ),
    "inconsistent AHP": Case(
        lambda d: (
            set_profile(
                d,
                "[weights]\nwind = 2\nroad = 1",
                '[ahp]\ncriteria = ["wind", "road", "dem"]\n'
                'matrix = [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]',
            ),
            set_profile(
                d,
                "[criteria.road]",
                '[criteria.dem]\nlayer = "dem"\nmembership = "linear"\n'
                "low = 0\nhigh = 1000\n\n[criteria.road]",
            ),
        ),
        "inconsistent",
        RUN,
    ),
    "negative buffer": Case(
        lambda d: set_profile(d, "buffer_m = 300.0", "buffer_m = -300.0"), "buffer_m", PROFILES
    ),
    "profile with a TOML error": Case(
        lambda d: set_profile(d, 'name = "mini"', 'name = "mini'), "line 1", PROFILES
    ),
    "membership low above high": Case(
        lambda d: set_profile(d, "low = 5.0", "low = 9.0"), "low < high", PROFILES
    ),
    # --- the output folder
    "output folder exists without --force": Case(lambda d: None, "--force", RUN, out=out_exists),
    "output parent is a file": Case(lambda d: None, "afile", RUN, out=output_parent_is_file),
    "unwritable output folder": Case(lambda d: None, "locked", RUN, out="locked"),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    build_base(folder)
    return folder


def _params() -> list[object]:
    return [
        pytest.param(
            name,
            cmd,
            id=f"{cmd}: {name}",
        )
        for name, case in CASES.items()
        for cmd in case.commands
    ]


@contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """Make ``folder`` refuse new entries, also for root (``chattr +i``), then restore it."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        undo = [lambda: folder.chmod(0o755)]
    else:
        res = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        if res.returncode != 0:
            pytest.skip("running as root on a file system without chattr: cannot lock a folder")
        undo = [lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)]
    try:
        try:
            (folder / "probe").mkdir()
        except OSError:
            pass
        else:
            (folder / "probe").rmdir()
            pytest.skip("the folder stayed writable")
        yield
    finally:
        for step in undo:
            step()


def previous_outputs(out: Path) -> dict[str, str]:
    out.mkdir(parents=True)
    (out / "score_mini.tif").write_bytes(b"previous score raster")
    (out / "manifest.json").write_text('{"previous": true}\n', encoding="utf-8")
    return tree_digest(out)


@pytest.mark.parametrize(("name", "command"), _params())
def test_broken_input_exits_2_with_one_line(
    base: Path, tmp_path: Path, name: str, command: str
) -> None:
    case = CASES[name]
    work = tmp_path / "study"
    shutil.copytree(base, work)
    case.edit(work)
    out = tmp_path / ("locked" if case.out == "locked" else "") / "out"
    before = previous_outputs(out)  # a previous run's outputs: they must survive untouched
    where = case.out(tmp_path) if callable(case.out) else ("--out", str(out), "--force")
    siblings = sorted(p.name for p in out.parent.iterdir())

    if command == "check":
        res = geotool("check", "study.toml", cwd=work)
    elif command == "profiles":
        res = geotool("profiles", "check", "mini.toml", cwd=work)
    elif case.out == "locked":
        with unwritable(out.parent):
            res = geotool("run", "study.toml", *case.profile, "-q", "--no-map", *where, cwd=work)
    else:
        res = geotool("run", "study.toml", *case.profile, "-q", "--no-map", *where, cwd=work)

    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr + res.stdout
    assert "Traceback" not in res.stderr, res.stderr
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("geotool: error: "), lines[0]
    assert case.expect.lower() in lines[0].lower(), lines[0]
    assert tree_digest(out) == before  # previous outputs byte-identical, nothing added
    assert sorted(p.name for p in out.parent.iterdir()) == siblings  # no staging folder left


def test_base_study_is_valid(base: Path, tmp_path: Path) -> None:
    """The corpus means something only if the unbroken study passes."""
    work = tmp_path / "study"
    shutil.copytree(base, work)
    res = geotool("check", "study.toml", cwd=work)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    out = tmp_path / "out"
    res = geotool(
        "run",
        "study.toml",
        "--profile",
        "mini.toml",
        "--out",
        str(out),
        "-q",
        "--no-map",
        cwd=work,
    )
    assert res.returncode == 0, res.stderr
    assert (out / "score_mini.tif").exists() and (out / "manifest.json").exists()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_check_notes_what_run_with_the_builtin_profiles_would_refuse(
    base: Path, tmp_path: Path
) -> None:
    """`[resources] hub_height_m = 135` against the windfarm profile's 122 m: `run` stops
    before reading any file; `check` says so in a note (a note, not an error: the study may be
    meant for profiles of its own, given with --profile)."""
    work = tmp_path / "study"
    shutil.copytree(base, work)
    add_study(work, "[resources]\nhub_height_m = 135")
    res = geotool("check", "study.toml", cwd=work)
    assert res.returncode == 0, res.stderr
    note = [line for line in res.stdout.splitlines() if "`geotool run`" in line]
    assert note and "hub_height_m: 122 m, but" in note[0] and "135" in note[0], res.stdout
