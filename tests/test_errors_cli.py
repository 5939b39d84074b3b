"""Every command turns user errors into one line and exit code 2; bugs keep their traceback.

In-process (``geotool.cli.main``) so that each command is covered cheaply; the subprocess
corpus (``test_errors_corpus.py``) covers ``check``, ``run`` and ``profiles`` end to end.
Also: library and OS errors that are really the user's (full disk, no permission) are
translated at the boundary, and geotool errors survive the trip through dask worker processes.
"""

from __future__ import annotations

import errno
import pickle
import shutil
from pathlib import Path

import dask
import pytest
from rasterio.errors import RasterioIOError

from geotool import errors
from geotool.cli import main
from geotool.errors import (
    ConfigError,
    GeotoolError,
    MissingFileError,
    OutputWriteError,
    ValueRangeError,
    user_error_from,
)
from tests.test_errors_corpus import build_base, no_crs


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "study"
    build_base(folder)
    monkeypatch.chdir(folder)
    return folder


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    err = capsys.readouterr().err
    return int(info.value.code or 0), err


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n" + text + "\n")


def previous_folder(tmp_path: Path) -> Path:
    out = tmp_path / "previous"
    out.mkdir()
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    (out / "score_windfarm.tif").write_bytes(b"previous")
    return out


CASES = {
    "demo into a non-empty folder": (
        lambda d, t: ["demo", "--out", str(previous_folder(t)), "-q"],
        "--force",
    ),
    "run with an unknown profile": (
        lambda d, t: ["run", "study.toml", "--profile", "nope", "--out", str(t / "o"), "-q"],
        "unknown profile 'nope'",
    ),
    "run with --force into the study's own folder": (
        lambda d, t: ["run", "study.toml", "--out", str(d), "--force", "-q"],
        "holds an input of this command",
    ),
    "check of a missing study": (lambda d, t: ["check", "nope.toml"], "nope.toml: file not found"),
    "align of a raster without CRS": (
        lambda d, t: (no_crs(d), ["align", "study.toml", "--out", str(t / "o"), "-q"])[1],
        "raster has no CRS",
    ),
    "resources with depth 12 km": (
        lambda d, t: (
            append(d / "study.toml", "[resources]\ngeothermal_depth_m = 12000"),
            ["resources", "study.toml", "--out", str(t / "o"), "-q"],
        )[1],
        "geothermal_depth_m",
    ),
    "carbon with an unknown species": (
        lambda d, t: (
            append(d / "study.toml", '[carbon]\nspecies = "baobab"'),
            ["carbon", "study.toml", "--out", str(t / "o")],
        )[1],
        "baobab",
    ),
    "map of a missing folder": (lambda d, t: ["map", str(t / "nothing")], "nothing"),
    "map with an unknown composition": (
        lambda d, t: ["map", str(previous_folder(t)), "--composition", "nope"],
        "nope",
    ),
    "profiles show of an unknown name": (
        lambda d, t: ["profiles", "show", "windfram"],
        "did you mean 'windfarm'",
    ),
    "profiles check of a broken file": (
        lambda d, t: (
            (d / "mini.toml").write_text('name = "mini"\n[weights]\nwind = -1\n'),
            ["profiles", "check", "mini.toml"],
        )[1],
        "criteria",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_command_one_line_exit_2(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    make_args, expect = CASES[name]
    args = make_args(study, tmp_path)
    code, err = run_cli(capsys, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("geotool: error: ") and expect in lines[0], lines[0]
    assert not list(tmp_path.glob(".geotool-staging-*"))


def test_layers_lists_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layers"]) is None
    assert "wind_speed_100m" in capsys.readouterr().out


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "run")
    assert code == 2 and len(err.strip().splitlines()) == 1, err


def test_debug_shows_the_traceback(study: Path) -> None:
    with pytest.raises(MissingFileError):
        main(["--debug", "check", "nope.toml"])


def test_a_bug_keeps_its_traceback(study: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_study: object) -> None:
        raise KeyError("a real bug")

    monkeypatch.setattr("geotool.stack.check_study", broken)
    with pytest.raises(KeyError):
        main(["check", "study.toml"])


@pytest.mark.parametrize(
    ("exc", "expect"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/data/out/a.tif"), "no space left"),
        (PermissionError(errno.EACCES, "Permission denied", "/data/out"), "permission denied"),
        (OSError(errno.EROFS, "Read-only file system", "/mnt/ro/out"), "read-only"),
        (RasterioIOError("/data/out/a.tif: Free disk space available is 0 bytes"), "no space"),
    ],
)
def test_full_disk_and_no_permission_are_user_errors(
    study: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    exc: Exception,
    expect: str,
) -> None:
    def failing(_study: object) -> None:
        try:
            raise exc
        except Exception as inner:  # wrapped once, as libraries do
            raise RuntimeError("while writing") from inner

    monkeypatch.setattr("geotool.stack.check_study", failing)
    code, err = run_cli(capsys, "check", "study.toml")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and expect in err.lower(), err


def test_user_error_from() -> None:
    err = user_error_from(OSError(errno.ENOSPC, "No space left on device", "/x/a.tif"))
    assert isinstance(err, OutputWriteError) and str(err).startswith("/x/a.tif: no space left")
    inner = ValueRangeError("bad", where="w.tif")
    assert user_error_from(inner) is inner
    assert user_error_from(KeyError("k")) is None
    assert user_error_from(OSError(errno.ECONNRESET, "reset")) is None  # not the user's
    assert user_error_from(RasterioIOError("not a supported format")) is None


def _all_error_classes() -> list[type[GeotoolError]]:
    found = [GeotoolError]
    for cls in found:
        found.extend(c for c in cls.__subclasses__() if c not in found)
    return found


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_errors_pickle_and_stay_one_line(cls: type[GeotoolError]) -> None:
    err = cls("values\n12..30 out of range", where="a\nb.tif", fix="set\tunits")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert str(back) == str(err) == "a\\nb.tif: values 12..30 out of range — set units"
    assert (back.what, back.where, back.fix) == (err.what, err.where, err.fix)


def _raise_range(_: int) -> None:
    raise ValueRangeError("wind 30 > 20 m/s", where="wind.tif", fix='units = "km/h"')


def test_error_raised_in_a_worker_process_arrives_intact() -> None:
    task = dask.delayed(_raise_range)(1)
    with pytest.raises(ValueRangeError) as info:
        dask.compute(task, scheduler="processes", num_workers=1)
    assert str(info.value) == 'wind.tif: wind 30 > 20 m/s — units = "km/h"'


def test_hierarchy_leaves_are_builtins_too() -> None:
    assert issubclass(errors.MissingFileError, FileNotFoundError)
    assert issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.UnknownNameError, LookupError)
    assert issubclass(errors.OutputWriteError, OSError)
    assert issubclass(errors.ConsistencyError, ConfigError)


def test_study_folder_is_left_alone(study: Path, tmp_path: Path) -> None:
    """Sanity for the fixtures above: the base study checks clean in-process."""
    shutil.copy(study / "study.toml", tmp_path / "copy.toml")
    assert main(["check", "study.toml"]) is None


def test_an_interrupt_is_one_line_even_when_a_finaliser_fails() -> None:
    """Ctrl-C can land while an object is half-built; its ``__del__`` then fails at exit
    (seen with xarray's CachingFileManager). The run still ends with one line and 130."""
    import subprocess
    import sys

    script = (
        "import geotool.cli as c\n"
        "class Half:\n"
        "    def __del__(self):\n"
        "        raise AttributeError('half-built object has no _ref_counter')\n"
        "keep = Half()\n"
        "def interrupted(**kwargs):\n"
        "    raise KeyboardInterrupt\n"
        "c.cli.main = interrupted\n"
        "c.main(['layers'])\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert res.returncode == 130
    assert res.stderr.strip().splitlines() == ["geotool: interrupted"]
