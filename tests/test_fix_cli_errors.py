"""One-line CLI errors (exit 2, nothing written) for a perturbation of 1 and a truncated raster."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pytest
import rasterio
from affine import Affine

from geotool.cli import cli, main
from geotool.errors import UnreadableFileError
from geotool.webmap.raster import warp_to_web_mercator


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    return int(info.value.code or 0), capsys.readouterr().err


def test_perturbation_must_be_below_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "study.toml"
    code, err = run_cli(
        capsys, "run", str(study), "--out", str(tmp_path / "o"), "--perturbation", "1.0"
    )
    assert code == 2 and "--perturbation" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists()
    run = cli.get_command(click.Context(cli), "run")  # parse only, without running
    assert run is not None
    ctx = run.make_context("run", [str(study), "--perturbation", "0.99"])
    assert ctx.params["perturbation"] == pytest.approx(0.99)


@pytest.fixture
def truncated_score(tmp_path: Path) -> Path:
    """A folder with a small tiled COG score raster cut to half its bytes."""
    data = np.random.default_rng(0).random((64, 64)).astype("float32")
    full = tmp_path / "full.tif"
    with rasterio.open(
        full,
        "w",
        driver="COG",
        width=64,
        height=64,
        count=1,
        dtype="float32",
        crs="EPSG:32649",
        transform=Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 2_750_000.0),
        nodata=float("nan"),
        blocksize=32,
        compress="deflate",
    ) as dst:
        dst.write(data, 1)
    out = tmp_path / "out"
    out.mkdir()
    raw = full.read_bytes()
    (out / "score_windfarm.tif").write_bytes(raw[: len(raw) // 2])
    return out


def test_truncated_raster_is_an_unreadable_file(truncated_score: Path) -> None:
    path = truncated_score / "score_windfarm.tif"
    with rasterio.open(path):  # the header survives: only reading the tiles fails
        pass
    with pytest.raises(UnreadableFileError, match="cannot read raster") as info:
        warp_to_web_mercator(path, max_size=100, categorical=False)
    assert info.value.where == str(path)


def test_map_of_a_truncated_raster_is_one_line(
    truncated_score: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(capsys, "map", str(truncated_score), "--composition", "windfarm")
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("geotool: error: "), err
    assert "score_windfarm.tif" in lines[0] and "cannot read raster" in lines[0]
    assert sorted(p.name for p in truncated_score.iterdir()) == ["score_windfarm.tif"]
