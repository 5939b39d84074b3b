"""Study files: strict validation with messages naming the key."""

from __future__ import annotations

import pytest

from geotool.errors import ConfigError, UnknownNameError
from geotool.study import load_study

BASE = '[study]\nname = "s"\nregion = "r.geojson"\nregion_id = "name"\nresolution = 100\n'


def write(tmp_path, text):
    p = tmp_path / "study.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_valid_study_resolves_paths_relative_to_file(tmp_path):
    s = load_study(
        write(
            tmp_path,
            BASE
            + '[layers]\ndem = "sub/dem.tif"\nwind_speed_100m = { path = "w.tif", units = "km/h" }\n',
        )
    )
    assert s.layers["dem"].path == (tmp_path / "sub" / "dem.tif").resolve()
    assert s.layers["wind_speed_100m"].units == "km/h"
    assert s.region == (tmp_path / "r.geojson").resolve()
    assert s.crs == "auto" and s.resolution == 100.0


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        (BASE + "[layer]\n", ConfigError, "unknown key 'layer'.*did you mean 'layers'"),
        (BASE.replace("resolution", "resolutoin"), ConfigError, "resolutoin"),
        (BASE + '[layers]\nwind = "w.tif"\n', UnknownNameError, "unknown layer 'wind'"),
        (
            BASE + '[layers]\ndem = { path = "d.tif", unit = "m" }\n',
            ConfigError,
            "unknown key 'unit'",
        ),
        (
            BASE + '[layers]\nwind_speed_100m = { path = "w.tif", units = "furlongs" }\n',
            ConfigError,
            "furlongs",
        ),
        (BASE.replace("100", "0"), ConfigError, "resolution must be > 0"),
        (BASE.replace("100", "-5"), ConfigError, "resolution must be > 0"),
        (BASE + "bbox = [1, 2, 3, 4]\n", ConfigError, "exactly one of"),
        ('[study]\nname = "s"\nbbox = [3, 2, 1, 4]\nresolution = 100\n', ConfigError, "bbox"),
        (BASE + "[layers\n", ConfigError, "line"),
        ("", ConfigError, r"missing \[study\]"),
    ],
)
def test_invalid_studies(tmp_path, text, error, match):
    with pytest.raises(error, match=match):
        load_study(write(tmp_path, text))


def test_messages_are_one_line_and_name_the_file(tmp_path):
    p = write(tmp_path, BASE + "[layers\n")
    with pytest.raises(ConfigError) as info:
        load_study(p)
    msg = str(info.value)
    assert "\n" not in msg and str(p) in msg and "line 6" in msg
