"""``nodata`` in a ``[layers]`` entry: the raw value that marks cells without data, for files
that fill them with a number they do not declare (a heat-flow map's 0 offshore)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from geotool.cli import main
from geotool.errors import ConfigError
from geotool.stack import load_stack
from geotool.study import loads_study
from tests.conftest import write_tif

RES = 250.0
LEFT, TOP = 740_000.0, 2_750_000.0
SHAPE = (40, 48)


def _study(folder: Path, entry: str) -> str:
    heat = np.full(SHAPE, 72.5, dtype="float32")
    heat[:, :12] = 0.0  # the fill of cells without data, not declared as nodata
    write_tif(
        folder / "hf.tif", heat, crs="EPSG:32649", transform=Affine(RES, 0, LEFT, 0, -RES, TOP)
    )
    bbox = [LEFT, TOP - SHAPE[0] * RES, LEFT + SHAPE[1] * RES, TOP]
    text = (
        f'[study]\nname = "n"\nbbox = {bbox}\nbbox_crs = "EPSG:32649"\ncrs = "EPSG:32649"\n'
        f"resolution = {RES}\n[layers]\nheat_flow = {entry}\n"
    )
    (folder / "study.toml").write_text(text, encoding="utf-8")
    return text


def test_an_undeclared_zero_fill_is_named_with_the_nodata_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(tmp_path, '"hf.tif"')
    with pytest.raises(SystemExit) as info:
        main(["check", str(tmp_path / "study.toml")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "0..72.5" in err and "set nodata = 0 in its [layers] entry" in err, err


def test_nodata_in_the_layer_entry_masks_the_fill(tmp_path: Path) -> None:
    text = _study(tmp_path, '{ path = "hf.tif", nodata = 0 }')
    assert main(["check", str(tmp_path / "study.toml")]) in (0, None)
    study = loads_study(text, tmp_path / "study.toml")
    assert study.layers["heat_flow"].nodata == 0.0
    values = load_stack(study)["heat_flow"].values
    assert np.isnan(values[:, :12]).all()
    np.testing.assert_array_equal(values[:, 12:], np.float32(72.5))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{ path = "hf.tif", nodata = "0" }', "'nodata' must be a number"),
        ('{ path = "hf.tif", nodata = nan }', "`nodata` must be a finite number"),
    ],
)
def test_a_bad_nodata_is_a_config_error(tmp_path: Path, entry: str, message: str) -> None:
    text = _study(tmp_path, entry)
    with pytest.raises(ConfigError, match=message) as err:
        loads_study(text, tmp_path / "study.toml")
    assert "heat_flow" in str(err.value) and err.value.fix


def test_nodata_on_a_vector_layer_is_refused(tmp_path: Path) -> None:
    text = _study(tmp_path, '"hf.tif"') + 'roads = { path = "roads.gpkg", nodata = 0 }\n'
    with pytest.raises(ConfigError, match="vector layer"):
        loads_study(text, tmp_path / "study.toml")


def test_a_path_with_a_nul_character_is_a_config_error(tmp_path: Path) -> None:
    """Found by the fuzz test: ``Path.resolve`` raised a bare ValueError ("embedded null
    byte") from a layer path holding \\x00 (TOML allows it as an escape)."""
    text = _study(tmp_path, '"hf\\u0000.tif"')
    with pytest.raises(ConfigError, match="NUL character") as err:
        loads_study(text, tmp_path / "study.toml")
    assert "layers" in str(err.value) and err.value.fix
