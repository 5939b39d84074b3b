"""Map compositions: built-ins load, ``{profile}`` expands, bad files fail naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

import geotool
from geotool.errors import ConfigError, MissingFileError, UnknownNameError
from geotool.webmap.compositions import (
    PROFILE_LABELS,
    composition_dir,
    list_compositions,
    load_composition,
)

BUILT_IN_PROFILES = ["datacenter", "windfarm", "solarfarm", "carbon_sink", "geothermal_heat"]

GOOD = """
[map]
title = "T"
profiles = ["windfarm", "solarfarm"]

[[rasters]]
name = "{profile_label} score"
file = "score_{profile}.tif"
colormap = "viridis"
vmin = 0
vmax = 1
show = true

[[rasters]]
name = "Land cover"
file = "land_cover.tif"
kind = "classes"

[[rasters.classes]]
value = 10
color = "#006400"
label = "Tree cover"

[[vectors]]
name = "Sites {profile}"
file = "sites_{profile}.gpkg"
kind = "sites"
show = true

[compare]
left = "windfarm"
right = "solarfarm"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "comp.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_profile_has_a_builtin_composition_and_all_load() -> None:
    names = list_compositions()
    assert {*BUILT_IN_PROFILES, "overview"} <= set(names)
    for name in names:
        comp = load_composition(name)
        assert comp.rasters, name
        assert comp.source.parent == composition_dir()
    assert set(load_composition("overview").profiles) == set(BUILT_IN_PROFILES)
    for profile in BUILT_IN_PROFILES:
        files = [r.file for r in load_composition(profile).rasters]
        assert f"score_{profile}.tif" in files and f"stability_{profile}.tif" in files


def test_profile_placeholder_expands_and_shows_first_profile_only(tmp_path: Path) -> None:
    comp = load_composition(_write(tmp_path, GOOD))
    scores = [r for r in comp.rasters if r.file.startswith("score_")]
    assert [r.file for r in scores] == ["score_windfarm.tif", "score_solarfarm.tif"]
    assert [r.name for r in scores] == [
        f"{PROFILE_LABELS['windfarm']} score",
        f"{PROFILE_LABELS['solarfarm']} score",
    ]
    assert [r.show for r in scores] == [True, False]
    assert all(r.show_for_profile for r in scores)
    assert [r.profile for r in scores] == ["windfarm", "solarfarm"]
    land = comp.rasters[-1]
    assert land.profile is None and land.classes[0].color == "#006400"
    assert comp.compare == ("windfarm", "solarfarm")
    assert [v.name for v in comp.vectors] == ["Sites windfarm", "Sites solarfarm"]
    assert (comp.rasters[0].vmin, comp.rasters[0].vmax) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('title = "T"', 'title = "T"\ncolour = "red"', "colour"),
        ("vmax = 1\n", "vmax = 1\nopacty = 0.5\n", "opacty"),
        ('kind = "sites"', 'kind = "sites"\npopup = true', "popup"),
        ('label = "Tree cover"', 'label = "Tree cover"\nalpha = 1', "alpha"),
        ('right = "solarfarm"', 'right = "solarfarm"\nmiddle = "x"', "middle"),
        ("[map]", "[legend]\nx = 1\n\n[map]", "legend"),
    ],
)
def test_unknown_keys_are_errors_naming_file_and_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_composition(path)
    message = str(info.value)
    assert str(path) in message and f'"{key}"' in message and "allowed keys" in message


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("vmin = 0", 'vmin = "zero"', '"vmin" must be a float'),
        ("show = true\n\n[[rasters]]", "show = 1\n\n[[rasters]]", '"show" must be a bool'),
        ('colormap = "viridis"', 'colormap = "viridiss"', 'unknown colormap "viridiss"'),
        ('color = "#006400"', 'color = "#00640"', "is not a colour"),
        ("vmin = 0", "vmin = 2", "vmin 2.0 is not below vmax 1.0"),
        ('right = "solarfarm"', 'right = "carbon_sink"', 'profile "carbon_sink"'),
        ('kind = "sites"', 'kind = "lines"', 'kind "lines"'),
        ('name = "Land cover"', 'name = "Sites windfarm"', "two layers are named"),
        ('profiles = ["windfarm", "solarfarm"]', "profiles = []", "profiles must be"),
        ('label = "Tree cover"', "", 'missing key "label"'),
        ('title = "T"', 'title = "T"\nonline_basemap = "yes"', '"online_basemap" must be'),
        ("[map]", "[map", "TOML syntax error"),
    ],
)
def test_bad_values_are_errors_naming_the_file(
    tmp_path: Path, old: str, new: str, needle: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_composition(path)
    assert str(path) in str(info.value) and needle in str(info.value)


def test_classes_raster_needs_classes(tmp_path: Path) -> None:
    text = GOOD.split("[[rasters.classes]]")[0] + "[[vectors]]" + GOOD.split("[[vectors]]")[1]
    with pytest.raises(
        ConfigError, match=r"needs \[\[rasters\.classes\]\] entries or classes_from"
    ):
        load_composition(_write(tmp_path, text))


def test_unknown_name_and_missing_path() -> None:
    with pytest.raises(UnknownNameError, match="overview"):
        load_composition("overveiw")
    with pytest.raises(MissingFileError, match=r"nowhere\.toml"):
        load_composition("nowhere.toml")


def test_composition_dir_prefers_the_wheel_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "site-packages" / "geotool"
    (fake / "_data" / "maps").mkdir(parents=True)
    (fake / "_data" / "maps" / "only.toml").write_text(GOOD, encoding="utf-8")
    monkeypatch.setattr(geotool, "__file__", str(fake / "__init__.py"))
    assert composition_dir() == fake / "_data" / "maps"
    assert list_compositions() == ["only"]
    (fake / "_data" / "maps" / "only.toml").unlink()
    (fake / "_data" / "maps").rmdir()
    with pytest.raises(MissingFileError):
        composition_dir()
