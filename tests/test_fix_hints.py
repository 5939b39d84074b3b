"""Bad input gets one line naming the file or key *and* how to fix it (exit 2, nothing written).

Each case breaks one thing in the tiny corpus study (``build_base``: 2 counties, 1 km grid,
40 × 40 px rasters, one road, the user profile ``mini.toml``) and runs the real CLI in-process
(``geotool.cli.main``). Asserted: exit code 2; exactly one line on stderr, in the shape
``geotool: error: <where>: <what> — <fix>``; the file or key named; the fix's key words; no
output folder and no staging folder left behind.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from geotool.cli import main
from tests import test_errors_cli
from tests.test_errors_corpus import add_study, set_profile, set_study

study = test_errors_cli.study  # the corpus study fixture, shared

RUN = ("run", "study.toml", "--out", "out", "-q", "--no-map", "--no-carbon")
RUN_MINI = (*RUN, "--profile", "mini.toml")


def fails_with_a_fix(capsys: pytest.CaptureFixture[str], folder: Path, *args: str) -> str:
    """Run the CLI; check exit 2, one line with a fix, nothing written; return the line."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert info.value.code == 2, err
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("geotool: error: ") and "Traceback" not in err, line
    assert " — " in line, f"no fix in: {line}"
    assert not (folder / "out").exists(), "an output folder was left behind"
    assert not list(folder.glob(".geotool-staging-*")), "a staging folder was left behind"
    return line


def fix_of(line: str) -> str:
    return line.split(" — ", 1)[1]


# ---------------------------------------------------------------- study file and its inputs


def test_band_beyond_the_file(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_study(study, 'dem = "dem.tif"', 'dem = { path = "dem.tif", band = 2 }')
    line = fails_with_a_fix(capsys, study, "check", "study.toml")
    assert "dem.tif: has 1 band(s), band 2 requested" in line
    assert "`band`" in fix_of(line) and "[layers]" in fix_of(line)


def test_malformed_scheduler_in_the_study(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was a ValueError traceback from distributed.Client ("missing port number")
    set_study(study, "resolution = 1000", 'resolution = 1000\nscheduler = "nonsense"')
    line = fails_with_a_fix(capsys, study, *RUN_MINI)
    assert "study.toml: study.scheduler:" in line and "'nonsense'" in line
    assert "tcp://10.0.0.5:8786" in fix_of(line)


def test_malformed_scheduler_option(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = fails_with_a_fix(capsys, study, *RUN_MINI, "--scheduler", "10.0.0.5")
    assert line.startswith("geotool: error: --scheduler: ") and "host:port" in line
    assert "tcp://" in fix_of(line)


def test_resolution_coarser_than_the_region(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a 1 × 1 pixel grid; was "dem: x coordinate has fewer than 2 values" from the slope
    set_study(study, "resolution = 1000", "resolution = 100000")
    line = fails_with_a_fix(capsys, study, *RUN_MINI)
    assert "study.toml: study.resolution:" in line and "1 × 1" in line
    assert "resolution = 2000" in fix_of(line)  # ~21 × 34 km region: a tenth of its width


def test_override_that_is_not_a_table(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_study(study, "[profiles.windfarm]\nsites = 3")
    line = fails_with_a_fix(capsys, study, "check", "study.toml")
    assert "study.toml:" in line and "[profiles.windfarm].sites: expected a table" in line
    assert "[profiles.windfarm.sites]" in fix_of(line)


def test_numeric_filter_on_a_text_field(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # matched nothing, silently: the setback excluded no pixel and the run succeeded
    set_profile(study, "buffer_m = 300.0", 'buffer_m = 300.0\nwhere = "highway >= 3"')
    line = fails_with_a_fix(capsys, study, *RUN_MINI)
    assert "roads.geojson: filter 'highway >= 3'" in line and "holds text" in line
    assert "highway == 'primary'" in fix_of(line)


def test_built_in_profile_on_a_study_without_its_layers(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # named stack variables and pointed at profile.vector_requests()
    line = fails_with_a_fix(capsys, study, *RUN, "--profile", "solarfarm")
    assert "profile solarfarm: needs layers the study does not give:" in line
    assert "power_lines" in line and "pv_yield (from ghi or pvout)" in line
    assert "_distance_m" not in line and "_mask" not in line
    assert "[layers]" in fix_of(line) and "vector_requests" not in line


# ---------------------------------------------------------------- the user's profile file


def test_profile_syntax_error(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_profile(study, 'name = "mini"', 'name = = "mini"')
    line = fails_with_a_fix(capsys, study, "profiles", "check", "mini.toml")
    assert "mini.toml: TOML syntax error" in line and "line 1" in line
    assert "syntax" in fix_of(line)


BROKEN_PROFILES: dict[str, tuple[Callable[[Path], None], str, tuple[str, ...]]] = {
    "top_share given in percent": (
        lambda d: set_profile(d, "top_share = 0.3", "top_share = 30"),
        "mini.toml: sites.top_share: top_share must be in (0, 1], got 30",
        ("top_share = 0.1", "not 10"),
    ),
    "falling linear membership": (
        lambda d: set_profile(d, "low = 5.0\nhigh = 7.0", "low = 7.0\nhigh = 5.0"),
        "mini.toml: criteria.wind: linear membership needs low < high",
        ("low < high", 'direction = "decreasing"'),
    ),
    "`in` filter without a list": (
        lambda d: set_profile(d, "buffer_m = 300.0", 'buffer_m = 300.0\nwhere = "highway in x"'),
        "mini.toml: constraints.road_setback",
        ("highway in ['a', 'b']",),
    ),
    "fractional class code": (
        lambda d: set_profile(d, "exclude = [50]", "exclude = [50.5]"),
        "mini.toml: constraints.built.exclude: class codes must be",
        ("exclude = [50, 80]",),
    ),
    "negative setback": (
        lambda d: set_profile(d, "buffer_m = 300.0", "buffer_m = -300.0"),
        "mini.toml: constraints.road_setback.buffer_m: buffer_m must be ≥ 0",
        ("buffer_m = 500",),
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN_PROFILES))
def test_broken_profile_file(study: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    edit, where_what, fix_words = BROKEN_PROFILES[name]
    edit(study)
    line = fails_with_a_fix(capsys, study, *RUN_MINI)
    assert where_what in line, line
    for words in fix_words:
        assert words in fix_of(line), line


# ---------------------------------------------------------------- library level


def test_every_derived_layer_names_its_inputs() -> None:
    from geotool.resources.derive import DERIVED_LAYERS
    from geotool.suitability.parse import DERIVED_INPUTS
    from geotool.suitability.parse import DERIVED_LAYERS as PARSED

    assert set(DERIVED_INPUTS) == set(DERIVED_LAYERS) == set(PARSED)


def test_filter_on_an_empty_text_field_is_no_error() -> None:
    """Only a field whose values are all text fails a numeric filter; no values is fine."""
    import geopandas as gpd
    import shapely

    from geotool.io.vector import apply_filter

    gdf = gpd.GeoDataFrame({"kv": [None, None]}, geometry=[shapely.Point(0, 0)] * 2)
    assert len(apply_filter(gdf, "kv >= 110", "f")) == 0
    gdf = gpd.GeoDataFrame({"kv": ["110", "x"]}, geometry=[shapely.Point(0, 0)] * 2)
    assert len(apply_filter(gdf, "kv >= 110", "f")) == 1


def test_demo_region_of_points_names_the_users_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # was named after the staged copy (.geotool-staging-…/inputs/regions.geojson)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pts.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"name": "a"}, "geometry": {"type": "Point", "coordinates": [113.5, 24.8]}}]}'
    )
    with pytest.raises(SystemExit) as info:
        main(["demo", "--region", "pts.geojson", "--out", "out"])
    assert info.value.code == 2
    errors = [x for x in capsys.readouterr().err.splitlines() if x.startswith("geotool: error:")]
    assert len(errors) == 1 and errors[0].startswith("geotool: error: pts.geojson: ")
    assert "must hold polygons" in errors[0] and " — " in errors[0]
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".geotool-staging-*"))


def test_profile_file_not_in_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.toml").write_bytes(b"\xff\xfe name")
    line = fails_with_a_fix(capsys, tmp_path, "profiles", "check", str(tmp_path / "bad.toml"))
    assert "bad.toml: cannot read the file" in line and "UTF-8" in fix_of(line)


@pytest.mark.parametrize(
    "address",
    ["tcp://10.0.0.5:8786", "10.0.0.5:8786", "tcp://[::1]:8786", "tls://h:1", "ucxx://h:8786"],
)
def test_well_formed_scheduler_addresses_pass(address: str) -> None:
    from geotool.study import check_scheduler_address

    check_scheduler_address(address, "--scheduler")  # distributed's schemes, IPv6 included


@pytest.mark.parametrize("address", ["tcp://::1:8786", "fe80::1:8786"])
def test_ipv6_scheduler_address_needs_brackets(address: str) -> None:
    """distributed refuses a bare IPv6 host ("ipv6 needs brackets"): caught here, with the fix."""
    from distributed.comm.addressing import parse_address, parse_host_port

    from geotool.errors import ConfigError
    from geotool.study import check_scheduler_address

    with pytest.raises(ValueError, match="brackets"):
        parse_host_port(parse_address(address, strict=False)[1])
    with pytest.raises(ConfigError, match="without brackets") as err:
        check_scheduler_address(address, "--scheduler")
    assert "[" + address.split("://")[-1].rsplit(":", 1)[0] + "]" in str(err.value.fix)
