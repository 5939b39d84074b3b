"""A layer in other units whose values stay inside the catalog's valid range: a calm
region's wind in km/h (11-20 km/h = 3-5.6 m/s) is noted by its mean, which no region has."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from geotool.cli import main
from geotool.stack import load_stack
from geotool.study import loads_study
from tests.conftest import write_tif

RES = 250.0
LEFT, TOP = 740_000.0, 2_750_000.0
SHAPE = (40, 48)


def _study(folder: Path, speed_m_s: np.ndarray, units: str | None) -> str:
    write_tif(
        folder / "ws.tif",
        speed_m_s.astype("float32"),
        crs="EPSG:32649",
        transform=Affine(RES, 0, LEFT, 0, -RES, TOP),
    )
    bbox = [LEFT, TOP - SHAPE[0] * RES, LEFT + SHAPE[1] * RES, TOP]
    entry = f'{{ path = "ws.tif", units = "{units}" }}' if units else '"ws.tif"'
    text = (
        f'[study]\nname = "w"\nbbox = {bbox}\nbbox_crs = "EPSG:32649"\ncrs = "EPSG:32649"\n'
        f"resolution = {RES}\n[layers]\nwind_speed_100m = {entry}\n"
    )
    (folder / "study.toml").write_text(text, encoding="utf-8")
    return text


CALM_M_S = np.linspace(3.2, 5.5, SHAPE[0] * SHAPE[1]).reshape(SHAPE)  # mean 4.35 m/s


@pytest.mark.parametrize(
    ("values", "units", "noted"),
    [
        (CALM_M_S * 3.6, None, True),  # km/h read as m/s: 11.5..19.8, mean 15.7
        (CALM_M_S * 3.6, "km/h", False),  # declared: converted, mean 4.35 m/s
        (CALM_M_S, None, False),
        (CALM_M_S + 6.0, None, False),  # a windy region, mean 10.35 m/s
    ],
)
def test_a_mean_no_region_has_is_noted_by_check_and_run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    values: np.ndarray,
    units: str | None,
    noted: bool,
) -> None:
    text = _study(tmp_path, values, units)
    assert main(["check", str(tmp_path / "study.toml")]) in (0, None)
    out = capsys.readouterr().out
    assert ('set units = "km/h"' in out) is noted, out
    notes: list[str] = []
    load_stack(loads_study(text, tmp_path / "study.toml"), notes=notes)
    assert any("averages" in n and "km/h" in n for n in notes) is noted, notes
