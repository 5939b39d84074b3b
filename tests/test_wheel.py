"""The built wheel carries its data: the layer catalog, map compositions and profiles.

The wheel is built offline from the checkout (``python -m build --no-isolation``, hatchling
from the virtualenv), unzipped into ``tmp_path`` and imported from there in a fresh
interpreter whose working directory is ``tmp_path``, so the checkout's ``layers/`` folder
cannot be what answers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The 21 canonical layers of the stack contract (geotool/requests.py and the shared design):
# 13 rasters and 8 vectors. Written out here so that a layer missing from the wheel *and* the
# checkout is still caught.
CONTRACT_LAYERS = {
    "dem",
    "land_cover",
    "forest_cover",
    "biomass",
    "growing_stock",
    "wind_speed_100m",
    "weibull_k",
    "ghi",
    "pvout",
    "air_temperature",
    "precipitation",
    "heat_flow",
    "geothermal_gradient",
    "regions",
    "protected_areas",
    "settlements",
    "roads",
    "power_lines",
    "substations",
    "water_bodies",
    "demand_centres",
}

# Runs inside the unzipped wheel; prints what the parent asserts on.
_PROBE = """
import json, sys
import geotool
from geotool.catalog import catalog_dir, load_catalog
cat = load_catalog()
print(json.dumps({
    "geotool_file": geotool.__file__,
    "modules": {n: getattr(m, "__file__", None) for n, m in sys.modules.items()
                if n == "geotool" or n.startswith("geotool.")},
    "catalog_dir": str(catalog_dir()),
    "layers": sorted(cat),
    "kinds": {n: s.kind for n, s in cat.items()},
}))
"""


def _build_wheel(out: Path) -> Path:
    """Build the wheel from the checkout without network access (no build isolation)."""
    if importlib.util.find_spec("build") is not None:
        cmd = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)]
    else:
        cmd = [
            sys.executable,
            *("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"),
            *("--wheel-dir", str(out)),
        ]
    cmd.append(str(REPO))
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"wheel build failed:\n{proc.stdout}\n{proc.stderr}"
    wheels = sorted(out.glob("geotool-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {out}, found {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(wheel file, folder it was unzipped into)``."""
    base = tmp_path_factory.mktemp("wheel")
    whl = _build_wheel(base / "dist")
    unzipped = base / "site"
    with zipfile.ZipFile(whl) as zf:
        zf.extractall(unzipped)
    return whl, unzipped


@pytest.fixture(scope="module")
def probe(wheel: tuple[Path, Path]) -> dict:
    """Import geotool from the unzipped wheel in a clean interpreter and describe what it sees."""
    _, unzipped = wheel
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(unzipped)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=unzipped.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"probe failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _inside(path: str | None, folder: Path) -> bool:
    return path is not None and Path(path).resolve().is_relative_to(folder.resolve())


def test_geotool_is_imported_from_the_wheel_not_the_checkout(
    probe: dict, wheel: tuple[Path, Path]
) -> None:
    _, unzipped = wheel
    assert _inside(probe["geotool_file"], unzipped), probe["geotool_file"]
    strays = {n: f for n, f in probe["modules"].items() if f and not _inside(f, unzipped)}
    assert not strays, f"geotool modules loaded from outside the wheel: {strays}"


def test_catalog_dir_is_the_wheels_data_folder(probe: dict, wheel: tuple[Path, Path]) -> None:
    _, unzipped = wheel
    expected = (unzipped / "geotool" / "_data" / "layers").resolve()
    assert Path(probe["catalog_dir"]).resolve() == expected
    assert not Path(probe["catalog_dir"]).resolve().is_relative_to(REPO.resolve())


def test_catalog_from_the_wheel_has_all_layers(probe: dict) -> None:
    layers = set(probe["layers"])
    assert layers >= CONTRACT_LAYERS, f"missing: {sorted(CONTRACT_LAYERS - layers)}"
    checkout = {p.stem for p in (REPO / "layers").glob("*.toml")}
    assert layers == checkout, f"wheel vs checkout differ: {sorted(layers ^ checkout)}"
    assert len(layers) >= 21
    kinds = probe["kinds"]
    assert sum(k == "raster" for k in kinds.values()) >= 13
    assert sum(k == "vector" for k in kinds.values()) >= 8


def test_map_compositions_are_in_the_wheel(wheel: tuple[Path, Path]) -> None:
    whl, _ = wheel
    repo_maps = sorted(p.name for p in (REPO / "maps").glob("*.toml"))
    if not repo_maps:
        pytest.skip("the checkout has no maps/*.toml")
    names = set(zipfile.ZipFile(whl).namelist())
    missing = [m for m in repo_maps if f"geotool/_data/maps/{m}" not in names]
    assert not missing, f"maps missing from the wheel: {missing}"


def test_profiles_are_in_the_wheel(wheel: tuple[Path, Path]) -> None:
    whl, _ = wheel
    repo_profiles = sorted(p.name for p in (REPO / "geotool" / "profiles").glob("*.toml"))
    if not repo_profiles:
        pytest.skip("the checkout has no geotool/profiles/*.toml yet")
    names = set(zipfile.ZipFile(whl).namelist())
    missing = [p for p in repo_profiles if f"geotool/profiles/{p}" not in names]
    assert not missing, f"profiles missing from the wheel: {missing}"


def test_wheel_ships_typing_marker(wheel: tuple[Path, Path]) -> None:
    whl, _ = wheel
    assert "geotool/py.typed" in zipfile.ZipFile(whl).namelist()
