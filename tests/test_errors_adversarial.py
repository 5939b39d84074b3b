"""Adversarial bad input, as a careless or confused user produces it, for every command.

The other error suites cover the common mistakes (``test_errors_corpus.py``: broken files,
CRSs, units; ``test_fix_hints.py``: the fix in each message). These cases were found by a
review that tried what they miss. Each one breaks one thing in the tiny corpus study
(``build_base``) and runs the CLI in-process (``geotool.cli.main``). Asserted for every
case: exit code 2, exactly one line on stderr naming the file or option and a fix, no
traceback, and nothing left on disk (no output folder, no ``.geotool-staging-*``,
``*.raw-*`` or ``*.tmp-*`` file).
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from geotool.cli import main
from tests import test_errors_cli
from tests.test_errors_corpus import box, feature, set_study, write_json

study = test_errors_cli.study  # the corpus study fixture (chdir'd into), shared

LEFTOVERS = (".geotool-staging-*", ".geotool-old-*", "*.raw-*", "*.tmp-*")


def leftovers(root: Path) -> list[str]:
    return sorted(str(p) for pattern in LEFTOVERS for p in root.rglob(pattern))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``geotool ARGS`` in-process: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def regions_file(folder: Path, name: str, *features: dict) -> str:
    write_json(folder / name, {"type": "FeatureCollection", "features": list(features)})
    return name


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    args: Callable[[Path, Path], list[str]]  # (study folder, tmp_path) -> CLI arguments
    expect: tuple[str, ...]  # text the one line must hold (the file or option, the fix)


def _symlink_loop_layer(d: Path, t: Path) -> list[str]:
    (d / "loop.tif").symlink_to(d / "loop.tif")
    set_study(d, 'dem = "dem.tif"', 'dem = "loop.tif"')
    return ["check", "study.toml"]


def _symlink_loop_study(d: Path, t: Path) -> list[str]:
    (d / "loop.toml").symlink_to(d / "loop.toml")
    return ["check", "loop.toml"]


def _empty_region_path(d: Path, t: Path) -> list[str]:
    set_study(d, 'region = "regions.geojson"', 'region = ""')
    return ["check", "study.toml"]


def _no_layers(command: str) -> Callable[[Path, Path], list[str]]:
    def make(d: Path, t: Path) -> list[str]:
        text = (d / "study.toml").read_text(encoding="utf-8")
        (d / "study.toml").write_text(text.split("[layers]")[0], encoding="utf-8")
        return [command, "study.toml", "--out", str(t / "out"), "-q"]

    return make


def _demo_region(*features: dict) -> Callable[[Path, Path], list[str]]:
    def make(d: Path, t: Path) -> list[str]:
        name = regions_file(d, "mine.geojson", *features)
        return ["demo", "--region", name, "--out", str(t / "out"), "-q", "--no-map"]

    return make


def _profile_folder(d: Path, t: Path) -> list[str]:
    (d / "mine.toml").mkdir()
    return ["profiles", "check", "mine.toml"]


def _null_parcel_id(d: Path, t: Path) -> list[str]:
    parcels = [
        feature(box(113.02, 24.02, 113.04, 24.04), parcel_id="a"),
        feature(box(113.12, 24.12, 113.14, 24.14), parcel_id=None),
    ]
    name = regions_file(d, "parcels.geojson", *parcels)
    return ["carbon", "study.toml", "--parcels", name, "--out", str(t / "out")]


def _parcels_gpkg(d: Path) -> str:
    """A GeoPackage with the parcels in two layers (e.g. planted 2023 and 2024)."""
    import geopandas as gpd
    import shapely

    for i, layer in enumerate(("planted_2023", "planted_2024")):
        x = 113.02 + 0.05 * i
        gpd.GeoDataFrame(
            {"parcel_id": [f"p{i}"]}, geometry=[shapely.box(x, 24.02, x + 0.02, 24.04)]
        ).set_crs("EPSG:4326").to_file(d / "parcels.gpkg", layer=layer)
    return "parcels.gpkg"


def _parcels_of_several_layers(d: Path, t: Path) -> list[str]:
    name = _parcels_gpkg(d)
    return ["carbon", "study.toml", "--parcels", name, "--out", str(t / "out")]


CASES: dict[str, Case] = {
    # a symbolic link pointing at itself: RuntimeError from Path.resolve, a traceback
    "layer path is a symlink loop": Case(_symlink_loop_layer, ("loop.tif", "link")),
    "study file is a symlink loop": Case(_symlink_loop_study, ("loop.toml", "link")),
    # was "<study folder>: unsupported vector format (none)"
    "region path is empty": Case(_empty_region_path, ("study.region", "empty")),
    # --sensitivity 10**20: ValueError / MemoryError in perturb_weights after the stack
    "sensitivity beyond any use": Case(
        lambda d, t: [
            *("run", "study.toml", "--profile", "mini.toml", "--out", str(t / "out")),
            *("--sensitivity", "100000000000000000000"),
        ],
        ("--sensitivity", "10000"),
    ),
    # was "stack: stack dims are (), not ('y', 'x') — build the stack with load_stack"
    "resources of a study without layers": Case(_no_layers("resources"), ("[layers]", "dem")),
    # was exit 0 with an output folder holding only manifest.json
    "align of a study without layers": Case(_no_layers("align"), ("[layers]", "dem")),
    # was silently ignored (no parcels to name)
    "carbon --parcel-id without --parcels": Case(
        lambda d, t: ["carbon", "study.toml", "--parcel-id", "pid", "--out", str(t / "out")],
        ("--parcel-id", "--parcels"),
    ),
    # the fix said "set `layer = ...` in its [layers] entry", which --parcels has not
    "carbon parcels in a GeoPackage of several layers": Case(
        _parcels_of_several_layers, ("parcels.gpkg", "planted_2023", "--parcels-layer")
    ),
    # was "parcel id None appears more than once", or a parcel without an id when only one
    "carbon parcel without an id": Case(_null_parcel_id, ("parcels.geojson", "row 1", "id")),
    # was a MemoryError traceback (or the OOM killer) after a minute of generating layers
    "demo over a region too large for the synthetic layers": Case(
        _demo_region(feature(box(100.0, 20.0, 110.0, 30.0), name="big")),
        ("mine.geojson", "pixels", "smaller region"),
    ),
    # was named after the staged study (.geotool-staging-…/inputs/study.toml) and suggested
    # a resolution the demo does not let the user set
    "demo over a region smaller than a pixel": Case(
        _demo_region(feature(box(113.0, 24.0, 113.0001, 24.0001), name="tiny")),
        ("mine.geojson", "larger region"),
    ),
    # was "study.crs: ... use an equal-area CRS ... crs = ..." (the demo has no study file)
    "demo over a continent": Case(
        _demo_region(feature(box(73.0, 18.0, 135.0, 53.0), name="China")),
        ("mine.geojson", "smaller region"),
    ),
    # was "profile file not found" for a folder that exists
    "profile path is a folder": Case(_profile_folder, ("mine.toml", "folder")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    case = CASES[name]
    args = case.args(study, tmp_path)
    code, _, err = run_cli(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("geotool: "), lines[0]
    for text in case.expect:
        assert text in lines[0], f"{text!r} not in: {lines[0]}"
    if lines[0].startswith("geotool: error: "):
        assert " — " in lines[0], f"no fix in: {lines[0]}"
    assert not (tmp_path / "out").exists(), "an output folder was left behind"
    assert leftovers(tmp_path) == [], leftovers(tmp_path)


# ------------------------------------------------------------- inputs that must be accepted


def test_study_and_profile_with_a_byte_order_mark_are_read(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Notepad's "UTF-8 with BOM" (and Excel-made TOML) starts with U+FEFF; TOML forbids
    nothing about it in spirit, tomllib fails on it with "Invalid statement (line 1)"."""
    for name in ("study.toml", "mini.toml"):
        (study / name).write_bytes(b"\xef\xbb\xbf" + (study / name).read_bytes())
    code, out, err = run_cli(capsys, "check", "study.toml")
    assert code == 0 and err == "", err
    code, out, err = run_cli(capsys, "profiles", "check", "mini.toml", "--study", "study.toml")
    assert code == 0 and out.startswith("mini:"), err


def test_study_with_windows_line_endings_is_read(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (study / "study.toml").read_bytes().replace(b"\n", b"\r\n")
    (study / "study.toml").write_bytes(text)
    assert run_cli(capsys, "check", "study.toml")[0] == 0


def test_weights_too_large_to_add_up_still_normalise(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1e308 + 1e308 overflows to inf: every weight was divided by inf and became 0 (a
    profile scoring nothing, exit 0)."""
    from geotool.suitability.weights import normalise_weights

    assert normalise_weights({"a": 1e308, "b": 1e308}) == {"a": 0.5, "b": 0.5}
    assert normalise_weights({"a": 5e-324, "b": 0.0}) == {"a": 1.0, "b": 0.0}
    with open(study / "study.toml", "a", encoding="utf-8") as fh:
        fh.write("\n[profiles.solarfarm.weights]\npv_yield = 1e308\ngrid = 1e308\n")
    code, out, err = run_cli(capsys, "profiles", "check", "solarfarm", "--study", "study.toml")
    assert code == 0, err
    assert "pv_yield [kWh/kWp/yr] weight 0.500" in out, out


# --------------------------------------------------------------------------- carbon parcels


def test_parcels_without_geometry_are_reported_on_stderr(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A parcel row without a geometry cannot be credited and is dropped; that was said only
    in manifest.json, so a credit total could silently miss parcels."""
    parcels = [
        feature(box(113.02, 24.02, 113.04, 24.04), parcel_id="a"),
        {"type": "Feature", "properties": {"parcel_id": "b"}, "geometry": None},
    ]
    regions_file(study, "parcels.geojson", *parcels)
    out = tmp_path / "out"
    code, _, err = run_cli(
        capsys, "carbon", "study.toml", "--parcels", "parcels.geojson", "--out", str(out)
    )
    assert code == 0, err
    notes = [line for line in err.splitlines() if "parcels.geojson" in line]
    assert notes and notes[0].startswith("note: ") and "dropped 1 empty" in notes[0], err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any("dropped 1 empty" in n for n in manifest["notes"])


def test_parcels_layer_picks_a_layer_of_the_parcels_file(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    name = _parcels_gpkg(study)
    out = tmp_path / "out"
    args = ("carbon", "study.toml", "--parcels", name, "--parcels-layer", "planted_2024")
    code, _, err = run_cli(capsys, *args, "--out", str(out))
    assert code == 0, err
    assert list(pd.read_csv(out / "carbon_parcels.csv")["parcel_id"]) == ["p1"]
    code, _, err = run_cli(capsys, "carbon", "study.toml", "--parcels-layer", "x", "--out", "o")
    assert code == 2 and "--parcels-layer" in err and "add --parcels FILE" in err, err


# ------------------------------------------------------------------------- the output folder


def test_a_failed_commit_leaves_no_staging_folder_and_keeps_the_old_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The swap of the staging folder for ``--out`` can fail after the whole run (a folder
    made immutable, a bind mount, another process): the staging folder was left beside it."""
    from geotool.io import outputs
    from geotool.io.outputs import OutputDir

    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous run", encoding="utf-8")
    real = os.replace

    def refuse_second(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        if Path(src).name.startswith(".geotool-staging-"):  # out → old went through
            raise OSError(errno.EPERM, "Operation not permitted", str(dst))
        real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", refuse_second)
    with pytest.raises(OSError), OutputDir(out, force=True) as od:
        od.path("new.txt").write_text("this run", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "old.txt").read_text(encoding="utf-8") == "previous run"


def test_an_output_folder_that_is_in_use_is_one_line(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renaming a mount point (``docker run -v ./results:/out ... --out /out --force``) fails
    with EBUSY, which was not known as the user's: a traceback after the whole run."""
    from geotool.io import outputs

    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous run", encoding="utf-8")
    real = os.replace

    def busy(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        if Path(src) == out:
            raise OSError(errno.EBUSY, "Device or resource busy", str(src))
        real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", busy)
    code, _, err = run_cli(capsys, "align", "study.toml", "--out", str(out), "--force", "-q")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert str(out) in lines[0] and "subfolder" in lines[0], lines[0]
    assert leftovers(tmp_path) == [] and sorted(p.name for p in out.iterdir()) == ["old.txt"]


def test_a_mount_point_as_output_folder_is_refused_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geotool.errors import OutputWriteError
    from geotool.io import outputs
    from geotool.io.outputs import OutputDir

    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(outputs.os.path, "ismount", lambda p: Path(p) == out)
    with pytest.raises(OutputWriteError, match="mount point") as info:
        OutputDir(out, force=True)
    assert info.value.where == str(out) and "subfolder" in str(info.value.fix)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
