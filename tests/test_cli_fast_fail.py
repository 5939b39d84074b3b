"""A bad study file fails before the heavy imports (dask, rasterio, geopandas, xarray)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = r"""
import sys
from geotool.cli import main
sys.argv = ["geotool", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    print("exit", exc.code)
print(sorted(m for m in ("dask.array", "rasterio", "geopandas", "xarray") if m in sys.modules))
"""


@pytest.mark.parametrize("command", ["run", "resources", "carbon"])
def test_bad_study_fails_before_heavy_imports(tmp_path: Path, command: str) -> None:
    study = tmp_path / "study.toml"
    study.write_text('[study]\nname = "x"\nresolution_m = "thirty"\n', encoding="utf-8")
    args = [command, str(study), "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
    )
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "exit 2", done.stderr
    assert lines[1] == "[]", f"heavy modules imported before the study was checked: {lines[1]}"
    assert len(done.stderr.strip().splitlines()) == 1 and str(study) in done.stderr
    assert not (tmp_path / "out").exists()
