"""Output folders replaced whole with --force, the demo's manifest, and its provenance labels.

Each test runs the real CLI on real files: the tiny corpus study (``build_base``) for ``run``
and ``align``, and the real boundary of Zhenjiang district (浈江区, Shaoguan, ~570 km²) for
``geotool demo --region``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import pytest

from geotool.cli import main
from geotool.demo.build import _name_field
from geotool.errors import OutputExistsError
from geotool.io.outputs import OutputDir
from tests.conftest import SHARED_DATA
from tests.test_errors_corpus import build_base, tree_digest


def present_files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "study"
    build_base(folder)
    profile = (folder / "mini.toml").read_text(encoding="utf-8")
    (folder / "windfarm.toml").write_text(profile.replace('name = "mini"', 'name = "windfarm"'))
    monkeypatch.chdir(folder)
    return folder


def test_run_with_force_leaves_no_output_of_the_earlier_run(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "r1"
    assert (
        main(["run", "study.toml", "--profile", "windfarm.toml", "--out", str(out), "-q"]) is None
    )
    assert (out / "score_windfarm.tif").exists() and (out / "sites_windfarm.gpkg").exists()
    args = ["run", "study.toml", "--profile", "mini.toml", "--out", str(out), "--force", "-q"]
    assert main(args) is None
    present = present_files(out)
    assert not [name for name in present if "windfarm" in name], present
    assert present == set(manifest(out)["outputs"]) | {"manifest.json"}
    assert "score_mini.tif" in present
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1", "study"]  # nothing parked


def test_align_with_force_replaces_the_folder_and_notes_the_regions_layer(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "aligned"
    assert main(["align", "study.toml", "--out", str(out), "-q"]) is None
    assert {"dem.tif", "wind_speed_100m.tif", "roads_distance_m.tif"} <= present_files(out)
    text = (study / "study.toml").read_text(encoding="utf-8")
    text = text.replace('wind_speed_100m = "wind.tif"\n', "").replace(
        'roads = "roads.geojson"', 'roads = "roads.geojson"\nregions = "regions.geojson"'
    )
    (study / "fewer.toml").write_text(text, encoding="utf-8")
    assert main(["align", "fewer.toml", "--out", str(out), "--force"]) is None
    present = present_files(out)
    assert "wind_speed_100m.tif" not in present  # the earlier run's layer is gone
    assert present == {"dem.tif", "land_cover.tif", "roads_distance_m.tif", "manifest.json"}
    note = "layer regions not aligned: it holds the region units"
    assert any(n.startswith(note) for n in manifest(out)["notes"])
    assert f"note: {note}" in capsys.readouterr().out


def test_force_never_replaces_a_folder_holding_the_inputs(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_digest(study)
    with pytest.raises(SystemExit) as info:
        main(["align", "study.toml", "--out", ".", "--force", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1, err
    assert "holds an input of this command" in err[0] and "choose an --out" in err[0]
    assert tree_digest(study) == before


def test_output_dir_refuses_only_folders_holding_inputs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "dem.tif").write_bytes(b"input")
    with pytest.raises(OutputExistsError, match="holds an input"):
        OutputDir(data, force=True, inputs=[data / "dem.tif"])
    with pytest.raises(OutputExistsError, match="holds an input"):
        OutputDir(tmp_path, force=True, inputs=[data / "dem.tif"])  # a parent counts too
    OutputDir(tmp_path / "out", force=True, inputs=[data / "dem.tif"]).discard()
    assert (data / "dem.tif").read_bytes() == b"input"


@pytest.fixture(scope="module")
def zhenjiang_county_name(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real boundary of Zhenjiang district whose only property is the text `county_name`."""
    counties = gpd.read_file(SHARED_DATA / "shaoguan_counties.geojson")
    one = counties[counties["name"] == "浈江区"].rename(columns={"name": "county_name"})
    path = tmp_path_factory.mktemp("region") / "zhenjiang.geojson"
    one[["county_name", "geometry"]].to_file(path, driver="GeoJSON")
    return path


def test_a_text_field_names_the_units_whatever_its_dtype(zhenjiang_county_name: Path) -> None:
    gdf = gpd.read_file(zhenjiang_county_name)
    assert list(gdf.columns) == ["county_name", "geometry"]
    assert _name_field(gdf, zhenjiang_county_name) == "county_name"
    assert _name_field(gdf.astype({"county_name": object}), zhenjiang_county_name) == "county_name"


def test_demo_over_a_real_region_records_paths_and_provenance(
    zhenjiang_county_name: Path, tmp_path: Path
) -> None:
    args = ["--region", str(zhenjiang_county_name), "--out", "demo", "--profile", "windfarm"]
    res = subprocess.run(
        [sys.executable, "-m", "geotool", "demo", *args, "--no-map", "-q"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # a relative --out: a relative staging folder
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    out = tmp_path / "demo"
    m = manifest(out)
    study = m["study"]
    assert study["study_file"] == "inputs/study.toml"
    assert study["region"] == "inputs/regions.geojson"
    assert study["layers"]["dem"] == "inputs/dem.tif"
    for path in [study["study_file"], study["region"], *study["layers"].values()]:
        assert not Path(path).is_absolute() and (out / path).is_file(), path
    flags = {rec["role"]: rec["synthetic"] for rec in m["inputs"]}
    assert flags["region"] is False and flags["regions"] is False  # the user's real boundary
    assert flags["demand_centres"] is False  # the real Pearl River Delta cities
    assert flags["settlements"] is True and flags["dem"] is True
    demand = gpd.read_file(out / "inputs" / "demand_centres.geojson")
    assert "Guangzhou" in set(demand["name"])
    layers = tomllib.loads((out / "inputs" / "study.toml").read_text(encoding="utf-8"))["layers"]
    assert layers["demand_centres"]["synthetic"] is False
    regions = gpd.read_file(out / "inputs" / "regions.geojson")
    assert list(regions["county_name"]) == ["浈江区"]


def test_demand_centres_are_synthetic_only_where_the_demo_invents_them() -> None:
    import numpy as np

    from geotool.demo.build import demo_grid
    from geotool.demo.vectors import make_vectors
    from geotool.grid import Grid

    near = make_vectors(demo_grid(), np.random.default_rng(0))
    assert near.demand_centres_synthetic is False
    assert set(near.demand_centres["name"]) >= {"Guangzhou", "Shenzhen"}
    far_grid = Grid.from_bounds((400_000, 5_000_000, 430_000, 5_030_000), 100, "EPSG:32632")
    far = make_vectors(far_grid, np.random.default_rng(0))
    assert far.demand_centres_synthetic is True
    assert "Guangzhou" not in set(far.demand_centres["name"])


def test_out_is_never_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # replacing it would leave the user's shell in a deleted folder
    out = tmp_path / "here"
    out.mkdir()
    (out / "old.txt").write_text("earlier run")
    monkeypatch.chdir(out)
    for name in (".", str(out), ".."):
        with pytest.raises(OutputExistsError, match="the folder you are working in"):
            OutputDir(Path(name), force=True)
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]
    OutputDir(Path("results"), force=True).discard()  # a subfolder is fine


def test_force_never_replaces_a_folder_holding_a_profile_file(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = study / "out"
    out.mkdir()
    profile = out / "my_mini.toml"
    profile.write_text((study / "mini.toml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["run", "study.toml", "--profile", str(profile), "--out", str(out), "--force", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and "holds an input of this command" in err[-1]
    assert profile.is_file()
