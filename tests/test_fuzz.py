"""Property-based fuzzing of the loaders and the membership functions (hypothesis).

Each test feeds the in-process loaders thousands of study tables, study texts, profiles,
profile overrides, parameter tables and membership parameters — valid ones with one to three
values replaced by anything TOML can hold, keys deleted or invented — and asserts that the
only exceptions are documented geotool errors (:class:`geotool.errors.GeotoolError`, whose
messages are one line), never a ``TypeError``, ``KeyError``, ``AttributeError`` ... from
deep inside. The membership functions must map any finite input into 0..1 and NaN to NaN, or
refuse their parameters with the ``ValueError`` they document.

No file is read per example; the examples of all tests add up to ``TOTAL_EXAMPLES`` (each
test also asserts that hypothesis really ran its share).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import tomllib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from geotool.carbon.config import CarbonConfig
from geotool.errors import GeotoolError
from geotool.profiles import BUILTIN_PROFILES, profile_path
from geotool.resources.config import ResourceConfig
from geotool.study import loads_study, parse_study
from geotool.suitability import membership as mf
from geotool.suitability.parse import Table, parse_membership
from geotool.suitability.profile import load_profile, parse_profile

EXAMPLES = {
    "study_tables": 2500,
    "study_texts": 3000,
    "profiles": 2500,
    "overrides": 1000,
    "configs": 500,
    "memberships": 1000,
}
TOTAL_EXAMPLES = sum(EXAMPLES.values())


def fuzz_settings(name: str) -> settings:
    return settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        database=None,  # nothing written into the repository
        phases=[Phase.explicit, Phase.generate],  # no shrinking needed when nothing fails
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


SEEN: dict[str, int] = {}


def run_counted(name: str, check: Callable[[], None]) -> None:
    """Run a @given test and assert it really saw its share of examples."""
    SEEN[name] = 0
    check()
    assert SEEN[name] >= EXAMPLES[name], f"{name}: only {SEEN[name]} examples ran"


def assert_one_line(exc: GeotoolError) -> None:
    text = str(exc)
    assert text and "\n" not in text


# ----------------------------------------------------------------------------- TOML values

KEYS = st.sampled_from(
    ["name", "path", "units", "crs", "weights", "low", "high", "matrix", "x", "", "layer"]
) | st.text(min_size=0, max_size=12)

SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.0, 1e-300, 1e300, 100, 12_000, "auto", "EPSG:4326", "1/3"]),
    st.text(max_size=20),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
DELETE = object()


def mutate(base: dict[str, Any], paths: list[tuple[str, ...]], changes: Any) -> dict[str, Any]:
    """``base`` with each ``(path index, value)`` change applied (``DELETE`` removes)."""
    raw = copy.deepcopy(base)
    for index, value in changes:
        path = paths[index % len(paths)]
        node: Any = raw
        for key in path[:-1]:
            if not isinstance(node, dict):
                break
            node = node.setdefault(key, {})
        if not isinstance(node, dict):
            continue
        if value is DELETE:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return raw


def key_paths(obj: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of a nested dict (tables and their keys)."""
    out = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.append((*prefix, key))
            out.extend(key_paths(value, (*prefix, key)))
    return out


CHANGES = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10_000), VALUES | st.just(DELETE)),
    min_size=1,
    max_size=3,
)

# ----------------------------------------------------------------------------- studies

VALID_STUDY: dict[str, Any] = {
    "study": {
        "name": "Fuzz",
        "bbox": [113.0, 24.0, 113.2, 24.2],
        "bbox_crs": "EPSG:4326",
        "crs": "auto",
        "resolution": 100,
        "chunk": 512,
        "description": "fuzzed",
        "synthetic": False,
    },
    "layers": {
        "dem": "dem.tif",
        "wind_speed_100m": {"path": "w.tif", "units": "km/h", "band": 1},
        "air_temperature": {"path": "t.nc", "variable": "t2m", "crs": "EPSG:4326", "units": "K"},
        "roads": {"path": "osm.gpkg", "layer": "roads"},
    },
    "resources": {"turbine": "E-115/3000", "hub_height_m": 122, "geothermal_depth_m": 2900},
    "carbon": {"standard": "ccer", "species": "chinese_fir", "price_cny_per_t": [60, 100]},
    "profiles": {
        "windfarm": {"weights": {"wind": 0.5, "grid": 0.2, "slope": 0.2, "roads": 0.1}},
        "solarfarm": {"sites": {"top_share": 0.05}},
    },
}
STUDY_PATHS = [
    *key_paths(VALID_STUDY),
    ("study", "region"),
    ("study", "region_id"),
    ("study", "region_layer"),
    ("study", "region_crs"),
    ("study", "scheduler"),
    ("layers", "land_cover"),
    ("profiles", "carbon_sink"),
    ("profiles", "windfarm", "criteria", "wind", "low"),
    ("profiles", "windfarm", "constraints", "roads", "buffer_m"),
    ("profiles", "windfarm", "ahp"),
    ("carbon", "stock_species"),
    ("resources", "pv_tilt"),
    ("nonsense",),
]
VALID_STUDY_TEXT = """\
[study]
name = "Fuzz"
region = "counties.geojson"
region_id = "name"
crs = "auto"
resolution = 100

[layers]
dem = "dem.tif"
wind_speed_100m = { path = "gwa.tif", units = "km/h" }

[profiles.windfarm]
weights = { wind = 0.5, grid = 0.2, slope = 0.2, roads = 0.1 }

[resources]
geothermal_depth_m = 3000
"""


def test_valid_study_is_valid() -> None:
    assert parse_study(copy.deepcopy(VALID_STUDY), None).name == "Fuzz"
    assert loads_study(VALID_STUDY_TEXT).resolution == 100.0


def test_study_tables() -> None:
    @fuzz_settings("study_tables")
    @given(changes=CHANGES)
    def check(changes: Any) -> None:
        SEEN["study_tables"] += 1
        raw = mutate(VALID_STUDY, STUDY_PATHS, changes)
        try:
            study = parse_study(raw, None)
        except GeotoolError as exc:
            assert_one_line(exc)
            return
        assert study.resolution > 0 and math.isfinite(study.resolution)
        assert isinstance(study.name, str)

    run_counted("study_tables", check)


def test_study_texts() -> None:
    edits = st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(VALID_STUDY_TEXT)),
            st.integers(min_value=0, max_value=8),
            st.text(alphabet=st.sampled_from(list("[]{}=\"',.#\n 0123456789abc-_+eE")), max_size=6),
        ),
        min_size=1,
        max_size=4,
    )

    @fuzz_settings("study_texts")
    @given(edits=edits)
    def check(edits: list[tuple[int, int, str]]) -> None:
        SEEN["study_texts"] += 1
        text = VALID_STUDY_TEXT
        for pos, cut, insert in edits:
            pos = min(pos, len(text))
            text = text[:pos] + insert + text[pos + cut :]
        try:
            loads_study(text)
        except GeotoolError as exc:
            assert_one_line(exc)

    run_counted("study_texts", check)


# ----------------------------------------------------------------------------- profiles

BUILTIN_RAW = {
    name: tomllib.loads(profile_path(name).read_text(encoding="utf-8")) for name in BUILTIN_PROFILES
}


def test_profiles() -> None:
    @fuzz_settings("profiles")
    @given(name=st.sampled_from(BUILTIN_PROFILES), changes=CHANGES)
    def check(name: str, changes: Any) -> None:
        SEEN["profiles"] += 1
        base = BUILTIN_RAW[name]
        raw = mutate(base, [*key_paths(base), ("nonsense",), ("sites", "x")], changes)
        try:
            profile = parse_profile(raw, origin="fuzz.toml", default_name=name)
        except GeotoolError as exc:
            assert_one_line(exc)
            return
        total = sum(profile.weights.values())
        assert math.isclose(total, 1.0, rel_tol=1e-9)
        assert all(w >= 0 for w in profile.weights.values())

    run_counted("profiles", check)


def test_profile_overrides() -> None:
    @fuzz_settings("overrides")
    @given(
        name=st.sampled_from(BUILTIN_PROFILES),
        overrides=st.dictionaries(
            st.sampled_from(
                ["weights", "ahp", "criteria", "constraints", "sites", "aggregation", "x"]
            ),
            VALUES,
            max_size=3,
        ),
    )
    def check(name: str, overrides: dict[str, Any]) -> None:
        SEEN["overrides"] += 1
        try:
            load_profile(name, overrides)
        except GeotoolError as exc:
            assert_one_line(exc)

    run_counted("overrides", check)


# ----------------------------------------------------------------------------- parameters

RESOURCE_KEYS = ["turbine", "hub_height_m", "pv_tilt", "geothermal_depth_m", "shear_alpha"]
CARBON_KEYS = ["standard", "species", "price_cny_per_t", "stock_species", "crediting_years"]


def test_resource_and_carbon_tables() -> None:
    @fuzz_settings("configs")
    @given(
        resources=st.dictionaries(st.sampled_from(RESOURCE_KEYS) | KEYS, VALUES, max_size=3),
        carbon=st.dictionaries(st.sampled_from(CARBON_KEYS) | KEYS, VALUES, max_size=3),
    )
    def check(resources: dict[str, Any], carbon: dict[str, Any]) -> None:
        SEEN["configs"] += 1
        for build in (ResourceConfig.from_dict, CarbonConfig.from_dict):
            table = resources if build is ResourceConfig.from_dict else carbon
            try:
                build(table)
            except GeotoolError as exc:
                assert_one_line(exc)

    run_counted("configs", check)


FLOATS = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
PROBE = np.array([-1e9, -100.0, -1.0, 0.0, 0.5, 1.0, 7.0, 100.0, 1e4, 1e9, np.nan])


# any warning would print on the CLI; overflow is the known case of
# test_extreme_membership_parameters_warn_nothing below
@pytest.mark.filterwarnings("error", "ignore:overflow encountered:RuntimeWarning")
def test_membership_parameters() -> None:
    tables = st.fixed_dictionaries(
        {"membership": st.sampled_from(["linear", "sigmoid", "trapezoid", "gaussian", "step"])},
        optional={
            "low": FLOATS,
            "high": FLOATS,
            "direction": st.sampled_from(["increasing", "decreasing", "up"]),
            "midpoint": FLOATS,
            "scale": FLOATS,
            "a": FLOATS,
            "b": FLOATS,
            "c": FLOATS,
            "d": FLOATS,
            "center": FLOATS,
            "sigma": FLOATS,
            "thresholds": st.lists(FLOATS, max_size=4),
            "values": st.lists(st.floats(-0.5, 1.5), max_size=5),
        },
    )

    @fuzz_settings("memberships")
    @given(raw=tables)
    def check(raw: dict[str, Any]) -> None:
        SEEN["memberships"] += 1
        table = Table(raw, "fuzz.toml: criteria.c")
        try:
            spec = parse_membership(table)
        except GeotoolError as exc:
            assert_one_line(exc)
            return
        out = np.asarray(spec(PROBE))
        assert out.dtype == np.float32
        assert np.isnan(out[-1])
        finite = out[:-1]
        assert np.all((finite >= 0) & (finite <= 1)), (spec, finite)
        # the same parameters on a dask array stay lazy and agree
        import dask.array as da

        lazy = spec(da.from_array(PROBE, chunks=4))
        np.testing.assert_array_equal(lazy.compute(), out)

    run_counted("memberships", check)


def test_direct_membership_functions_refuse_bad_parameters_with_value_error() -> None:
    """The array API documents ValueError for impossible parameters (no silent NaN)."""
    x = np.array([1.0, 2.0])
    for call in (
        lambda: mf.linear(x, 2.0, 1.0),
        lambda: mf.sigmoid(x, 0.0, 0.0),
        lambda: mf.trapezoid(x, 3.0, 2.0, 1.0, 0.0),
        lambda: mf.gaussian(x, 0.0, -1.0),
        lambda: mf.step(x, [2.0, 1.0], [0.0, 0.5, 1.0]),
        lambda: mf.categorical(x, {1: 2.0}),
    ):
        with pytest.raises(ValueError):
            call()


def test_examples_add_up() -> None:
    assert TOTAL_EXAMPLES >= 10_000


@pytest.mark.filterwarnings("error")
def test_extreme_membership_parameters_warn_nothing() -> None:
    x = np.array([-1e9, 0.0, 1e9])
    out = mf.gaussian(x, 0.0, 1e-200)
    assert out.tolist() == [0.0, 1.0, 0.0]
    assert mf.linear(x, 0.0, 1e-300).tolist() == [0.0, 0.0, 1.0]
