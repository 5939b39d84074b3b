"""Built-in profiles, profile files, study overrides and the ``geotool profiles`` command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from geotool.cli import main
from geotool.errors import ConfigError, ConsistencyError, MissingFileError, UnknownNameError
from geotool.profiles import builtin_names, profile_path
from geotool.requests import DEFAULT_MAX_DISTANCE_M
from geotool.suitability import (
    AHPWeights,
    DirectWeights,
    Linear,
    Sigmoid,
    VectorConstraint,
    evaluate,
    limiting_codes,
    load_profile,
)
from geotool.suitability.parse import DERIVED_LAYERS
from geotool.suitability.profile import SITE_PARAMS

BUILTINS = ("datacenter", "windfarm", "solarfarm", "carbon_sink", "geothermal_heat")


def test_builtin_names() -> None:
    assert builtin_names() == BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_loads_and_validates(name: str) -> None:
    p = load_profile(name)
    assert p.name == name and p.description
    assert sum(p.weights.values()) == pytest.approx(1.0)
    assert all(w >= 0 for w in p.weights.values())
    if isinstance(p.weighting, AHPWeights):
        assert p.weighting.consistency_ratio <= 0.10
    assert (p.sites.threshold is None) != (p.sites.top_share is None)
    assert set(p.sites.params) <= set(SITE_PARAMS)
    codes = limiting_codes(p)
    assert len(codes) == 2 + len(p.constraints) + len(p.criteria)
    # the loader is asked for every vector layer the evaluation reads, far enough
    requested = {r.key: r for r in p.vector_requests()}
    for c in p.constraints:
        if isinstance(c, VectorConstraint):
            assert requested[c.key].max_distance_m > c.buffer_m
            assert requested[c.key].max_distance_m >= DEFAULT_MAX_DISTANCE_M
    for cr in p.criteria:
        if cr.distance_to is not None:
            key = cr.variable.removesuffix("_distance_m")
            assert requested[key].max_distance_m > cr.membership.reach()


@pytest.mark.parametrize("name", BUILTINS)
def test_every_default_cites_its_source(name: str) -> None:
    text = profile_path(name).read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    for section in ("constraints", "criteria"):
        for key, table in raw.get(section, {}).items():
            assert len(table.get("source", "")) > 15, f"{name}: {section}.{key} has no source"
    if "ahp" in raw:
        assert len(raw["ahp"]["source"]) > 15
    # [weights] and [sites] numbers are cited in TOML comments on (or above) their lines
    for section in ("weights", "sites"):
        block = re.search(rf"^\[{section}\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
        if block is None:
            continue
        lines = block.group(1).splitlines()
        if section == "weights":
            assert any(line.startswith("#") for line in lines), f"{name}: uncited weights"
        else:
            for line in lines:
                if "=" in line and not line.startswith("#"):
                    assert "#" in line, f"{name}: [sites] line without a source: {line!r}"


def _stack_for(profile_name: str) -> xr.Dataset:
    """A small synthetic stack holding every variable a profile reads, in plausible units."""
    p = load_profile(profile_name)
    rng = np.random.default_rng(0)
    shape = (20, 24)
    ranges = {
        "dem": (0, 2500),
        "slope": (0, 30),
        "land_cover": None,
        "forest_cover": (0, 60),
        "precipitation": (200, 2000),
        "wind_speed_hub": (3, 10),
        "pv_yield": (800, 1800),
        "latency_ms": (0, 30),
        "green_energy_gwh_per_yr_within_radius": (0, 1000),
        "pue": (1.1, 1.7),
        "free_cooling_hours": (0, 8760),
        "temperature_at_depth": (20, 120),
    }
    data = {}
    for var in p.layers():
        if var == "land_cover":
            values = rng.choice([10, 20, 30, 40, 50, 60, 80, 90], size=shape).astype(float)
        elif var.endswith("_mask") or re.fullmatch(r".+_within_[0-9.]+m", var):
            values = (rng.uniform(size=shape) < 0.05).astype(float)
        elif var.endswith("_distance_m"):
            values = rng.uniform(0, 40_000, size=shape)
        else:
            lo, hi = ranges[var]
            values = rng.uniform(lo, hi, size=shape)
        data[var] = (("y", "x"), values.astype(np.float32))
    xs = 100.0 * np.arange(shape[1])
    ys = -100.0 * np.arange(shape[0])
    return xr.Dataset(data, coords={"x": xs, "y": ys})


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_evaluates(name: str) -> None:
    out = evaluate(_stack_for(name), load_profile(name))
    score = out["score"].values
    ok = np.isfinite(score)
    assert ok.any() and (~ok).any()
    assert np.all((score[ok] >= 0) & (score[ok] <= 1))
    assert set(np.unique(out["limiting"].values)) <= set(limiting_codes(load_profile(name)))


def test_zero_weight_in_an_owa_profile_drops_the_layer() -> None:
    weights = {"latency": 3, "green_energy": 3, "pue": 2, "free_cooling": 0, "grid": 1}
    p = load_profile("datacenter", {"weights": weights})
    assert p.aggregation.method == "owa" and len(p.aggregation.order_weights or ()) == 5
    ds = _stack_for("datacenter")
    a = evaluate(ds, p)["score"].values
    noisy = ds.copy()
    cooling = np.random.default_rng(5).uniform(0, 8760, ds["pue"].shape).astype(np.float32)
    cooling[::3, ::4] = np.nan
    noisy["free_cooling_hours"] = (("y", "x"), cooling)
    np.testing.assert_array_equal(evaluate(noisy, p)["score"].values, a)


def test_derived_layer_names_and_units_match_the_resources_stage() -> None:
    derive = pytest.importorskip("geotool.resources.derive")
    theirs = {name: units for name, (units, _) in derive.DERIVED_LAYERS.items()}
    assert theirs == DERIVED_LAYERS


def test_builtin_layers_are_known() -> None:
    from geotool.catalog import load_catalog

    known = set(load_catalog()) | set(DERIVED_LAYERS)
    for name in BUILTINS:
        for var in load_profile(name).layers():
            stem = re.sub(r"(\[.*\])?_(distance_m|mask|within_[0-9.]+m)$", "", var)
            assert stem in known, (name, var)


# ------------------------------------------------------------------ overrides


def test_override_direct_weight_renormalises() -> None:
    p = load_profile("solarfarm", {"weights": {"pv_yield": 0.9}})
    total = 0.9 + 0.25 + 0.20 + 0.10
    assert p.weights["pv_yield"] == pytest.approx(0.9 / total)
    assert p.weights["roads"] == pytest.approx(0.10 / total)
    assert "with [profiles.solarfarm] overrides" in p.origin


def test_override_weights_on_ahp_profile_needs_all() -> None:
    with pytest.raises(ConfigError, match="missing: grid, slope, roads"):
        load_profile("windfarm", {"weights": {"wind": 0.5}})
    p = load_profile("windfarm", {"weights": {"wind": 2, "grid": 1, "slope": 1, "roads": 0}})
    assert isinstance(p.weighting, DirectWeights)
    assert p.weights == {"wind": 0.5, "grid": 0.25, "slope": 0.25, "roads": 0.0}


def test_override_criterion_parameters_and_membership() -> None:
    p = load_profile("windfarm", {"criteria": {"wind": {"low": 5.0}}})
    assert p.criterion("wind").membership == Linear(5.0, 7.5)
    q = load_profile(
        "windfarm",
        {"criteria": {"wind": {"membership": "sigmoid", "midpoint": 6.5, "scale": 0.4}}},
    )
    assert q.criterion("wind").membership == Sigmoid(6.5, 0.4)
    assert q.criterion("wind").layer == "wind_speed_hub"


def test_override_constraint_sites_and_disable() -> None:
    p = load_profile(
        "windfarm",
        {
            "constraints": {"settlements": {"buffer_m": 1500}, "roads": {"enabled": False}},
            "sites": {"threshold": 0.7, "hub_height_m": 99.0},
        },
    )
    settle = next(c for c in p.constraints if c.name == "settlements")
    assert isinstance(settle, VectorConstraint) and settle.buffer_m == 1500.0
    assert "roads" not in [c.name for c in p.constraints]
    assert p.sites.threshold == 0.7 and p.sites.top_share is None
    assert p.sites.params["hub_height_m"] == 99.0
    assert p.sites.params["turbine"] == "E-115/3000"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"weigths": {"wind": 1}}, r"\[profiles.windfarm\].weigths: unknown key 'weigths'"),
        ({"criteria": {"sun": {"low": 1}}}, r"criteria.sun: unknown criterion 'sun'"),
        ({"constraints": {"airports": {"buffer_m": 1}}}, r"unknown constraint 'airports'"),
        (
            {"criteria": {"wind": {"hihg": 8.0}}},
            r"criteria.wind.hihg: unknown key 'hihg' — did you mean 'high'",
        ),
        ({"sites": {"hub_hieght_m": 100}}, r"sites.hub_hieght_m: unknown key"),
        ({"sites": {"hub_height_m": 1000}}, r"sites.hub_height_m: 1000.0 is outside"),
        (
            {"weights": {"wind": -1, "grid": 1, "slope": 1, "roads": 1}},
            r"weights.wind: weight must be",
        ),
        ({"aggregation": {"method": "owa", "order_weights": [1, 2]}}, r"aggregation.order_weights"),
        (
            {"criteria": {"wind": {"low": 9.0}}},
            r"criteria.wind: linear membership needs low < high",
        ),
    ],
)
def test_bad_overrides_name_the_key(overrides: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message):
        load_profile("windfarm", overrides)


def test_unknown_profile_lists_builtins() -> None:
    with pytest.raises(UnknownNameError) as err:
        load_profile("windfram")
    text = str(err.value)
    assert "did you mean 'windfarm'" in text
    assert all(n in text for n in BUILTINS)


# ------------------------------------------------------------------ profile files


def _copy(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    text = profile_path(name).read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / f"my_{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_copy_loads_by_path(tmp_path: Path) -> None:
    path = _copy(tmp_path, "solarfarm", ('name = "solarfarm"\n', ""))
    p = load_profile(path)
    assert p.name == "my_solarfarm" and p.origin == str(path)
    assert load_profile(str(path)).weights == load_profile("solarfarm").weights


def test_inconsistent_ahp_file_reports_cr(tmp_path: Path) -> None:
    # reverse one judgement (wind vs roads: 7 -> 1/7), keeping the matrix reciprocal
    edits = (
        ("  [1,     3,     5,     7],", '  [1,     3,     5,     "1/7"],'),
        ('  ["1/7", "1/3", "1/2", 1],', '  [7,     "1/3", "1/2", 1],'),
    )
    path = _copy(tmp_path, "windfarm", *edits)
    with pytest.raises(ConsistencyError, match=r"my_windfarm.toml: ahp.matrix: .*CR = \d\.\d{3}"):
        load_profile(path)
    allowed = _copy(tmp_path, "windfarm", *edits)
    allowed.write_text(
        allowed.read_text().replace("allow_inconsistent = false", "allow_inconsistent = true")
    )
    assert load_profile(allowed).weighting.consistency_ratio > 0.10  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (
            ('layer = "wind_speed_hub"', 'layer = "wind_speed_hubb"'),
            UnknownNameError,
            "did you mean wind_speed_hub",
        ),
        (('layer = "wind_speed_hub"', 'layer = "roads_distance_m"'), ConfigError, "distance_to"),
        (
            ('units = "m/s"', 'units = "km/h"'),
            ConfigError,
            r"criteria.wind.units: units 'km/h' differ",
        ),
        (('kind = "classes"', 'kind = "range"'), ConfigError, "is categorical"),
        (
            ("buffer_m = 1000.0", 'buffer_m = 1000.0\nexclude = "nearby"'),
            ConfigError,
            "unknown value 'nearby'",
        ),
        (
            ("max = 1750.0", 'max = "high"'),
            ConfigError,
            "constraints.high_elevation.max: expected a number",
        ),
        (("[sites]", "[sitez]"), ConfigError, "missing \\[sites\\] table"),
        (
            ('where = "voltage_kv >= 110"', 'where = "voltage_kv ~ 110"'),
            ConfigError,
            "cannot parse filter",
        ),
        (
            ("top_share = 0.10", "top_share = 1.5"),
            ConfigError,
            r"sites.top_share: top_share must be in \(0, 1\]",
        ),
        (('name = "windfarm"', 'name = "wind farm"'), ConfigError, "is not an identifier"),
        (("[aggregation]", "[aggregation]\nfoo = 1"), ConfigError, "aggregation.foo: unknown key"),
        (("matrix = [", "matrix = [\n  [1, 1, 1, 1],"), ConsistencyError, "must be square"),
    ],
)
def test_bad_profile_files(
    tmp_path: Path, edit: tuple[str, str], error: type, message: str
) -> None:
    path = _copy(tmp_path, "windfarm", edit)
    with pytest.raises(error, match=message):
        load_profile(path)


@pytest.mark.parametrize("value", ["true", '"0.4"'])
def test_a_weight_must_be_a_number(tmp_path: Path, value: str) -> None:
    # float(True) == 1.0 and float("0.4") == 0.4: neither may pass as a weight
    path = _copy(tmp_path, "carbon_sink", ("access = 0.4", f"access = {value}"))
    with pytest.raises(
        ConfigError, match=r"my_carbon_sink.toml: weights.access: expected a number"
    ):
        load_profile(path)
    with pytest.raises(ConfigError, match=r"weights.grid: expected a number, got True"):
        load_profile("solarfarm", {"weights": {"grid": True}})


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError):
        load_profile(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: TOML syntax error"):
        load_profile(bad)


def test_profile_to_dict_is_plain_data() -> None:
    import json

    for name in BUILTINS:
        d = load_profile(name).to_dict()
        json.dumps(d)
        assert d["name"] == name and len(d["criteria"]) == len(load_profile(name).criteria)


# ------------------------------------------------------------------ CLI


def test_cli_lists_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    main(["profiles"])
    out = capsys.readouterr().out
    for name in BUILTINS:
        assert re.search(rf"^{name}\s+\S", out, re.M), name


def test_cli_show_prints_the_toml(capsys: pytest.CaptureFixture[str]) -> None:
    main(["profiles", "show", "carbon_sink"])
    out = capsys.readouterr().out
    assert out == profile_path("carbon_sink").read_text(encoding="utf-8")
    assert tomllib.loads(out)["name"] == "carbon_sink"


def test_cli_check_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    main(["profiles", "check", "windfarm"])
    assert "CR = 0.007" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["profiles", "show", "nope"])
    assert exit_info.value.code == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["4.0", "true", "6"])
def test_min_area_connectivity_is_the_integer_4_or_8(tmp_path: Path, value: str) -> None:
    extra = f'[constraints.patch]\nkind = "min_area"\nmin_area_km2 = 0.5\nconnectivity = {value}\n'
    path = _copy(tmp_path, "carbon_sink", ("[weights]", extra + "\n[weights]"))
    with pytest.raises(ConfigError, match="connectivity must be 4 or 8"):
        load_profile(path)
    ok = _copy(tmp_path, "carbon_sink", ("[weights]", extra.replace(value, "4") + "\n[weights]"))
    assert any(getattr(c, "connectivity", None) == 4 for c in load_profile(ok).constraints)


def test_cli_check_finds_a_missing_site_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # without it the run stopped only after the scoring (~18 s on the demo)
    text = profile_path("solarfarm").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.startswith("capacity_density_mw_per_km2")]
    path = tmp_path / "my_solar.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["profiles", "check", str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "need capacity_density_mw_per_km2" in err and "\n" not in err


def test_a_quoted_number_error_says_how_to_fix_it(tmp_path: Path) -> None:
    path = _copy(tmp_path, "windfarm", ("max = 1750.0", 'max = "1750"'))
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert "write it without quotes, e.g. max = 4.0" in str(err.value)


def test_profiles_check_with_a_study_shows_the_weights_run_scores_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`[profiles.solarfarm.weights] grid = 0.5` is merged with the built-in weights and
    renormalised: 0.5 / (0.45 + 0.5 + 0.20 + 0.10) = 0.400 (a user saw 0.4 in the run and no
    command showed it)."""
    from geotool.cli import main

    (tmp_path / "study.toml").write_text(
        '[study]\nname = "s"\nbbox = [113.0, 24.0, 113.2, 24.2]\nbbox_crs = "EPSG:4326"\n'
        "resolution = 100\n[profiles.solarfarm.weights]\ngrid = 0.5\n",
        encoding="utf-8",
    )
    main(["profiles", "check", "solarfarm"])
    plain = capsys.readouterr().out
    main(["profiles", "check", "solarfarm", "--study", str(tmp_path / "study.toml")])
    merged = capsys.readouterr().out

    def grid_weight(text: str) -> str:
        return next(ln for ln in text.splitlines() if ln.strip().startswith("grid:")).split()[-1]

    assert grid_weight(plain) == "0.250" and grid_weight(merged) == "0.400", merged
    assert "with the overrides of" in merged


def test_a_bare_name_that_is_a_file_here_is_pointed_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--profile myprofile` with the file `myprofile` (or `myprofile.toml`) in the working
    # folder said only "unknown profile"; a bare word names a built-in, so say which path
    # reads the file
    monkeypatch.chdir(tmp_path)
    (tmp_path / "myprofile").write_text(profile_path("windfarm").read_text(encoding="utf-8"))
    (tmp_path / "other.toml").write_text("")
    for name, path in (("myprofile", "./myprofile"), ("other", "./other.toml")):
        with pytest.raises(SystemExit) as exit_:
            main(["profiles", "show", name])
        assert exit_.value.code == 2
        assert f"give the file as a path: {path}" in capsys.readouterr().err
    assert main(["profiles", "show", "./myprofile"]) in (0, None)
    assert "windfarm" in capsys.readouterr().out
