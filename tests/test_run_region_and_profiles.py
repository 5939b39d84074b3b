"""``geotool run`` scores only the region units (not the rest of their bounding box), applies
``[profiles.<name>]`` overrides to a user copy that keeps the built-in's name, refuses two
profiles of one name and a near-miss override table, records where each profile came from,
and derives the temperature at depth at the geothermal profile's well depth."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely

from geotool.cli import main
from geotool.demo import build_demo
from geotool.errors import ConfigError, UnknownNameError
from geotool.profiles import read_profile_source
from geotool.resources.config import ResourceConfig
from geotool.runner import _load_profiles, _resource_config
from geotool.study import load_study
from geotool.suitability import load_profile

# a triangular county (WGS 84): half of its bounding box lies outside it
TRIANGLE = shapely.Polygon([(113.40, 24.70), (113.80, 24.70), (113.40, 25.05)])


@pytest.fixture(scope="module")
def triangle_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("triangle")
    gpd.GeoDataFrame({"name": ["Tri"]}, geometry=[TRIANGLE], crs=4326).to_file(
        folder / "tri.geojson", driver="GeoJSON"
    )
    study = build_demo(folder / "inputs", region_file=folder / "tri.geojson")
    out = folder / "out"
    args = ["run", str(study), "--out", str(out), "--no-map", "--no-carbon", "--quiet"]
    main([*args, "--profile", "solarfarm"])
    return out


def test_only_pixels_inside_the_region_are_scored(triangle_run: Path) -> None:
    with rasterio.open(triangle_run / "score_solarfarm.tif") as ds:
        score = ds.read(1)
        rows, cols = np.mgrid[0 : ds.height, 0 : ds.width]
        xs, ys = rasterio.transform.xy(ds.transform, rows.ravel(), cols.ravel())
        crs = ds.crs
    tri = gpd.GeoSeries([TRIANGLE], crs=4326).to_crs(crs).iloc[0]
    inside = shapely.contains_xy(tri, np.asarray(xs), np.asarray(ys)).reshape(score.shape)
    assert inside.mean() == pytest.approx(0.5, abs=0.1)  # the box is twice the triangle
    assert np.isnan(score[~inside]).all()
    assert np.isfinite(score[inside]).sum() > 100  # solarfarm excludes forest: a few % remain
    sites = gpd.read_file(triangle_run / "sites_solarfarm.gpkg")
    assert len(sites) > 0 and (sites["region"] == "Tri").all()
    assert sites.to_crs(crs).within(tri.buffer(1.0)).all()


def test_manifest_says_where_each_profile_came_from(triangle_run: Path) -> None:
    m = json.loads((triangle_run / "manifest.json").read_text())
    assert m["profile_sources"] == [{"name": "solarfarm", "source": "built-in", "overrides": None}]


def _study(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(
        '[study]\nname = "t"\nbbox = [113.4, 24.7, 113.6, 24.9]\nresolution = 500\n'
        f"\n[layers]\n{extra}",
        encoding="utf-8",
    )
    return path


def test_overrides_reach_a_user_copy_that_keeps_the_builtin_name(tmp_path: Path) -> None:
    _, text, _ = read_profile_source("windfarm")
    copy = tmp_path / "my_wind.toml"
    copy.write_text(text, encoding="utf-8")  # name = "windfarm" inside
    study = load_study(
        _study(tmp_path, "\n[profiles.windfarm.constraints.settlements]\nbuffer_m = 3000.0\n")
    )
    profiles, sources = _load_profiles(study, [str(copy)], load_profile)
    buffers = {c.name: getattr(c, "buffer_m", None) for c in profiles[0].constraints}
    assert buffers["settlements"] == 3000.0
    assert sources[0]["source"] == "file" and len(sources[0]["sha256"]) == 64
    assert sources[0]["overrides"] == "[profiles.windfarm]"
    with pytest.raises(ConfigError, match="both named 'windfarm'"):
        _load_profiles(study, ["windfarm", str(copy)], load_profile)


def test_a_near_miss_override_table_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match=r"did you mean \[profiles.windfarm\]"):
        load_study(_study(tmp_path, "\n[profiles.windfrm.weights]\nwind = 0.5\n"))
    # a user profile of its own name is fine, also one named after a built-in it varies
    for name in ("my_quarry", "windfarm2", "carbon_sinks"):
        load_study(_study(tmp_path, f"\n[profiles.{name}.weights]\nslope = 0.5\n"))


def test_temperature_at_depth_is_derived_at_the_profile_well_depth(tmp_path: Path) -> None:
    geo = load_profile("geothermal_heat", {"sites": {"target_depth_m": 1500.0}})
    study = load_study(_study(tmp_path, ""))
    assert _resource_config(study, ResourceConfig, [geo]).geothermal_depth_m == 1500.0
    deep = load_study(_study(tmp_path, "\n[resources]\ngeothermal_depth_m = 3500.0\n"))
    with pytest.raises(ConfigError, match="target_depth_m: 1500 m, but"):
        _resource_config(deep, ResourceConfig, [geo])


def test_a_bbox_region_keeps_its_curved_sides_when_projected(tmp_path: Path) -> None:
    from geotool.stack import load_region

    text = (
        _study(tmp_path, "")
        .read_text()
        .replace("bbox = [113.4, 24.7, 113.6, 24.9]", "bbox = [112.0, 23.5, 115.0, 25.5]")
    )
    (tmp_path / "study.toml").write_text(text, encoding="utf-8")
    region = load_region(load_study(tmp_path / "study.toml")).to_crs(32649).geometry.iloc[0]
    # just inside the middle of each side (0.003°): a chord between the corners cuts the
    # north side's parallel (curved in UTM), leaving such points outside
    inside = [(113.5, 25.497), (113.5, 23.503), (112.003, 24.5), (114.997, 24.5)]
    pts = gpd.GeoSeries(gpd.points_from_xy(*zip(*inside, strict=True)), crs=4326).to_crs(32649)
    assert all(region.contains(p) for p in pts)


def test_the_run_manifest_carries_the_derived_layers_notes(triangle_run: Path) -> None:
    """derive() notes how it built the layers (e.g. the shear law, no PV beyond 70°); the run
    manifest had none of them (only `geotool resources` recorded them)."""
    notes = json.loads((triangle_run / "manifest.json").read_text())["notes"]
    assert any(n.startswith("wind shear: log law with WorldCover roughness") for n in notes), notes


def test_run_says_which_layers_its_map_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The map of `geotool run` skipped overview layers the study lacks (here substations)
    with a note only inside map.html; the run now prints it and keeps it in the manifest,
    as `geotool map` does."""
    gpd.GeoDataFrame({"name": ["Tri"]}, geometry=[TRIANGLE], crs=4326).to_file(
        tmp_path / "tri.geojson", driver="GeoJSON"
    )
    study = build_demo(tmp_path / "inputs", region_file=tmp_path / "tri.geojson")
    import tomllib

    import tomli_w

    raw = tomllib.loads(study.read_text(encoding="utf-8"))
    del raw["layers"]["substations"]
    study.write_text(tomli_w.dumps(raw), encoding="utf-8")
    out = tmp_path / "out"
    main(["run", str(study), "--out", str(out), "--no-carbon", "--profile", "solarfarm"])
    err = capsys.readouterr().err
    said = [ln for ln in err.splitlines() if "note: map.html: skipped" in ln]
    assert len(said) == 1 and "substations" in said[0].lower(), err
    notes = json.loads((out / "manifest.json").read_text())["notes"]
    assert any(n.startswith("map.html: skipped") and "ubstation" in n for n in notes)


def test_every_note_of_the_run_manifest_is_said_on_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Notes from loading (a file read as GBK, features out of reach, the shear law used)
    were only in manifest.json; a planner reading the terminal never saw them."""
    gpd.GeoDataFrame({"name": ["Tri"]}, geometry=[TRIANGLE], crs=4326).to_file(
        tmp_path / "tri.geojson", driver="GeoJSON"
    )
    study = build_demo(tmp_path / "inputs", region_file=tmp_path / "tri.geojson")
    out = tmp_path / "out"
    main(["run", str(study), "--out", str(out), "--no-carbon", "--no-map", "--profile", "windfarm"])
    err = capsys.readouterr().err
    notes = json.loads((out / "manifest.json").read_text())["notes"]
    assert any(n.startswith("wind shear:") for n in notes)
    for note in notes:
        assert f"note: {note}" in err, note
