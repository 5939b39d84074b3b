"""Boundary checks, one by one: what each refuses, what it repairs, what it lets through."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from geotool.catalog import get_layer
from geotool.errors import (
    ConfigError,
    CRSError,
    CRSMismatchError,
    GeometryError,
    UnknownNameError,
    UnreadableFileError,
    ValueRangeError,
)
from geotool.grid import Grid
from geotool.io.raster import open_raster
from geotool.io.scan import (
    PREFLIGHT_SAMPLES,
    PREFLIGHT_WINDOW,
    preflight_values,
    region_window,
    scan_values,
)
from geotool.io.vector import apply_filter, read_vector
from geotool.stack import load_region, study_grid
from geotool.study import loads_study
from tests.test_errors_corpus import box, feature, write_json, write_tif

# a 10 km × 10 km grid in UTM 49N near Shaoguan and a 0.001° (~100 m) source around it
GRID = Grid.from_bounds((700_000, 2_660_000, 710_000, 2_670_000), 250, "EPSG:32649")
FINE = Affine(0.001, 0, 112.9, 0, -0.001, 24.2)  # 112.9..113.3 E, 23.8..24.2 N
SHAPE = (400, 400)
DEM = get_layer("dem")
WIND = get_layer("wind_speed_100m")


def source(tmp_path: Path, data: np.ndarray, **kw: object) -> Path:
    return write_tif(tmp_path / "src.tif", data, transform=FINE, **kw)  # type: ignore[arg-type]


def grid_pixels(tmp_path: Path) -> tuple[slice, slice]:
    """Rows and columns of the source that the grid covers (from the grid's lon/lat bounds)."""
    (s, w), (n, e) = GRID.latlon_bounds()
    cols = slice(int((w - 112.9) / 0.001), int(np.ceil((e - 112.9) / 0.001)))
    rows = slice(int((24.2 - n) / 0.001), int(np.ceil((24.2 - s) / 0.001)))
    return rows, cols


# ----------------------------------------------------------------------------- raster values


def test_sparse_layer_between_samples_is_not_called_empty(tmp_path: Path) -> None:
    # a 30 km grid over a 0.0002° source: ~1,450² px in the region, so the pre-flight samples
    grid = Grid.from_bounds((690_000, 2_650_000, 720_000, 2_680_000), 500, "EPSG:32649")
    data = np.full((2000, 2000), -9999, "float32")
    (s, w), (n, e) = grid.latlon_bounds()
    row = int((24.2 - (s + n) / 2) / 0.0002)
    col = int(((w + e) / 2 - 112.9) / 0.0002)
    data[row, col] = 300.0  # one valid pixel in the middle: no sample window holds it
    src = open_raster(
        write_tif(
            tmp_path / "sparse.tif",
            data,
            transform=Affine(0.0002, 0, 112.9, 0, -0.0002, 24.2),
            nodata=-9999,
        )
    )
    with rasterio.open(src.path) as ds:
        window = region_window(ds, src, grid)
    assert window.width * window.height > (PREFLIGHT_SAMPLES * PREFLIGHT_WINDOW) ** 2
    preflight_values(src, DEM, grid)  # confirmed by the full scan: no error
    stats = scan_values(src, DEM, grid)
    assert stats["min"] == stats["max"] == 300.0
    data[row, col] = -9999
    src = open_raster(
        write_tif(
            tmp_path / "empty.tif",
            data,
            transform=Affine(0.0002, 0, 112.9, 0, -0.0002, 24.2),
            nodata=-9999,
        )
    )
    with pytest.raises(ValueRangeError, match="no valid values"):
        preflight_values(src, DEM, grid)


def test_no_valid_value_over_the_region_is_refused_even_if_valid_elsewhere(
    tmp_path: Path,
) -> None:
    data = np.full(SHAPE, -9999, "float32")
    data[:, :5] = 100.0  # valid values only at the western edge, far from the region
    src = open_raster(source(tmp_path, data, nodata=-9999))
    with pytest.raises(ValueRangeError, match="no valid values over the study region"):
        preflight_values(src, DEM, GRID)
    assert scan_values(src, DEM)["max"] == 100.0  # the file as a whole is fine


def test_values_are_judged_over_the_region_only(tmp_path: Path) -> None:
    data = np.full(SHAPE, 6.0, "float32")
    data[:, -10:] = 99.0  # nonsense far east of the region: not this study's problem
    src = open_raster(source(tmp_path, data))
    preflight_values(src, WIND, GRID)
    assert scan_values(src, WIND, GRID)["max"] == 6.0
    with pytest.raises(ValueRangeError, match="valid range"):
        scan_values(src, WIND)


def test_wind_in_kmh_fails_before_any_warp_with_the_units_hint(tmp_path: Path) -> None:
    src = open_raster(source(tmp_path, np.full(SHAPE, 21.6, "float32")))  # 6 m/s
    with pytest.raises(ValueRangeError, match='units = "km/h"'):
        preflight_values(src, WIND, GRID)


def test_infinite_values_are_refused(tmp_path: Path) -> None:
    data = np.full(SHAPE, 200.0, "float32")
    data[grid_pixels(tmp_path)] = np.inf
    src = open_raster(source(tmp_path, data))
    with pytest.raises(ValueRangeError, match="infinite"):
        preflight_values(src, DEM, GRID)


def test_file_without_georeferencing_warns_nothing(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterio warns when *writing* such a file
        path = write_tif(
            tmp_path / "plain.tif",
            np.ones((4, 4), "float32"),
            crs=None,
            transform=Affine.identity(),
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading it must not print a warning on the CLI
        with pytest.raises(UnreadableFileError, match="no georeferencing"):
            open_raster(path)


def test_assigned_crs_never_relabels_a_file_crs(tmp_path: Path) -> None:
    path = source(tmp_path, np.ones(SHAPE, "float32"))
    with pytest.raises(CRSMismatchError, match=r"EPSG:4326.*EPSG:4490"):
        open_raster(path, crs="EPSG:4490")
    assert open_raster(path, crs="EPSG:4326").crs.to_epsg() == 4326  # stating it is fine


# ----------------------------------------------------------------------------- vectors


def test_self_touching_region_polygon_stays_a_polygon(tmp_path: Path) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[113.0, 24.0], [113.1, 24.1], [113.1, 24.0], [113.0, 24.1], [113.0, 24.0]]
        ],
    }
    spike = {  # a polygon with a zero-width spike: make_valid gives polygon + line
        "type": "Polygon",
        "coordinates": [
            [
                [113.2, 24.0],
                [113.3, 24.0],
                [113.3, 24.1],
                [113.25, 24.1],
                [113.25, 24.2],
                [113.25, 24.1],
                [113.2, 24.1],
                [113.2, 24.0],
            ]
        ],
    }
    write_json(
        tmp_path / "r.geojson",
        {"type": "FeatureCollection", "features": [feature(bowtie, n="a"), feature(spike, n="b")]},
    )
    notes: list[str] = []
    gdf = read_vector(tmp_path / "r.geojson", notes=notes)
    kinds = set(shapely.get_type_id(gdf.geometry.values).tolist())
    assert kinds <= {3, 6}, gdf.geometry.geom_type.tolist()
    assert any("repaired 2 invalid" in n for n in notes)
    # the bow tie's two triangles keep their area: 2 × ½ × 0.1 × 0.05
    assert gdf.geometry.iloc[0].area == pytest.approx(0.005)


def test_points_among_region_polygons_are_refused(tmp_path: Path) -> None:
    point = {"type": "Point", "coordinates": [113.0, 24.0]}
    write_json(
        tmp_path / "r.geojson",
        {"type": "FeatureCollection", "features": [feature(point), feature(box(113, 24, 114, 25))]},
    )
    study = loads_study(
        '[study]\nname = "s"\nregion = "r.geojson"\nresolution = 1000\n', tmp_path / "s.toml"
    )
    with pytest.raises(GeometryError, match=r"1 of its 2 feature.*Point"):
        load_region(study)


def test_blank_region_ids_are_numbered_and_reported(tmp_path: Path) -> None:
    feats = [feature(box(113, 24, 113.1, 24.1), name="A"), feature(box(113.1, 24, 113.2, 24.1))]
    feats[1]["properties"] = {"name": None}
    write_json(tmp_path / "r.geojson", {"type": "FeatureCollection", "features": feats})
    study = loads_study(
        '[study]\nname = "s"\nregion = "r.geojson"\nregion_id = "name"\nresolution = 1000\n',
        tmp_path / "s.toml",
    )
    notes: list[str] = []
    assert load_region(study, notes)["region"].tolist() == ["A", "#2"]
    assert "1 region unit(s) have no 'name'" in notes[0]


def test_region_shapefile_without_prj_takes_region_crs(tmp_path: Path) -> None:
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(113, 24, 113.2, 24.2)], crs=4326)
    gdf.to_file(tmp_path / "r.shp")
    (tmp_path / "r.prj").unlink()
    text = '[study]\nname = "s"\nregion = "r.shp"\nresolution = 1000\n'
    with pytest.raises(CRSError, match="region_crs"):
        load_region(loads_study(text, tmp_path / "s.toml"))
    study = loads_study(text + 'region_crs = "EPSG:4326"\n', tmp_path / "s.toml")
    assert load_region(study).crs.to_epsg() == 4326


def test_projected_vector_with_degree_coordinates_is_refused(tmp_path: Path) -> None:
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(113.1, 24.1), shapely.Point(113.2, 24.3)])
    gdf = gdf.set_crs("EPSG:32649")
    gdf.to_file(tmp_path / "p.gpkg")
    with pytest.raises(CRSError, match="look like degrees"):
        read_vector(tmp_path / "p.gpkg")


def test_vector_assigned_crs_must_match_the_file(tmp_path: Path) -> None:
    write_json(
        tmp_path / "v.geojson",
        {"type": "FeatureCollection", "features": [feature(box(113, 24, 113.1, 24.1))]},
    )
    with pytest.raises(CRSMismatchError, match="EPSG:32649"):
        read_vector(tmp_path / "v.geojson", crs="EPSG:32649")


def test_filter_comparing_text_with_numbers_is_a_config_error(tmp_path: Path) -> None:
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"kv": [110, 220]}, geometry=[shapely.Point(0, 0)] * 2, crs=4326)
    with pytest.raises(ConfigError, match="compares field 'kv'"):
        apply_filter(gdf, "kv >= 'high'", "lines.gpkg")
    assert len(apply_filter(gdf, "kv >= 200", "lines.gpkg")) == 1


# ----------------------------------------------------------------------------- study files

BASE = '[study]\nname = "s"\nbbox = [113.0, 24.0, 113.2, 24.2]\nresolution = 100\n'


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        (BASE.replace("100\n", '"100"\n'), ConfigError, "'resolution' must be a number"),
        (BASE.replace('"s"', "5"), ConfigError, "'name' must be text"),
        (BASE + "chunk = 10.5\n", ConfigError, "'chunk' must be a whole number"),
        (BASE + "synthetic = 1\n", ConfigError, "'synthetic' must be true or false"),
        (BASE + "crs = true\n", ConfigError, "'crs' must be text"),
        (BASE + 'crs = "EPSG:99999"\n', CRSError, "unknown CRS"),
        (BASE + 'crs = "EPSG:4326"\n', CRSError, "not a metric projected CRS"),
        (BASE + 'region_crs = "EPSG:4326"\n', ConfigError, "applies to a study with `region`"),
        (BASE.replace("113.2", "700000"), ConfigError, "not in degrees"),
        (BASE.replace("113.2", "nan"), ConfigError, "four finite numbers"),
        (BASE + "[layers]\ndem = 5\n", ConfigError, "layers.dem"),
        (BASE + '[layers]\ndem = { path = "" }\n', ConfigError, "`path` is empty"),
        (BASE + '[layers]\ndem = { path = "d.tif", band = "1" }\n', ConfigError, "'band'"),
        (BASE + '[layers]\ndem = { path = "d.tif", crs = "wgs" }\n', CRSError, "layers.dem.crs"),
        (BASE + '[layers]\nroads = { path = "r.gpkg", band = 2 }\n', ConfigError, "vector layer"),
        (BASE + '[layers]\ndem = { path = "d.tif", layer = 3 }\n', ConfigError, "'layer'"),
        (BASE + "[resources]\nturbine = 5\n", UnknownNameError, "resources.turbine"),
        (BASE + '[resources]\nhub_height_m = "122"\n', ConfigError, "hub_height_m"),
        (BASE + "[carbon]\ncrediting_years = 20.5\n", ConfigError, "crediting_years"),
        (BASE + '[profiles.windfarm]\nweights = "x"\n', ConfigError, "weights"),
        (BASE + "[profiles.windfarm.criteria.wind]\nlow = 9.0\n", ConfigError, "low < high"),
        (BASE + "[profiles.solarfarm.sites]\nturbine = 3\n", ConfigError, "turbine"),
        (BASE + "[profiles]\nwindfarm = 3\n", ConfigError, r"\[profiles.<name>\]"),
        (BASE + "resources = 3\n", ConfigError, "unknown key 'resources'"),
        ("study = 3\n", ConfigError, r"missing \[study\]"),
    ],
)
def test_wrong_values_in_a_study_are_config_errors(
    tmp_path: Path, text: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match) as info:
        loads_study(text, tmp_path / "s.toml")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "s.toml") in message


def test_unknown_turbine_in_a_profile_fails_at_load() -> None:
    from geotool.suitability import load_profile

    with pytest.raises(UnknownNameError, match=r"sites\.turbine"):
        load_profile("windfarm", {"sites": {"turbine": "Z-1/1"}})


def test_a_user_profile_is_checked_before_overrides_are_merged(tmp_path: Path) -> None:
    from geotool.suitability import load_profile

    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\ncriteria = 5\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mine.toml: criteria: expected a table"):
        load_profile(path, {"criteria": {"wind": {"low": 1.0}}})


def test_a_continent_at_one_metre_is_a_typo() -> None:
    study = loads_study(
        BASE.replace("bbox = [113.0, 24.0, 113.2, 24.2]", "bbox = [70, 15, 135, 55]").replace(
            "resolution = 100", "resolution = 1"
        )
        # an equal-area CRS fit for a continent (a UTM zone is refused for its distortion)
        + 'crs = "+proj=aea +lat_1=21.7 +lat_2=48.3 +lat_0=35 +lon_0=102.5 +datum=WGS84"\n'
    )
    with pytest.raises(ConfigError, match="is the resolution in metres"):
        study_grid(study, load_region(study))


def test_readme_style_study_loads(tmp_path: Path) -> None:
    (tmp_path / "r.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature(box(113, 24, 113.1, 24.1))]})
    )
    text = (
        '[study]\nname = "x"\nregion = "r.geojson"\nregion_id = "name"\ncrs = "auto"\n'
        'resolution = 100\n[layers]\nghi = { path = "g.tif", units = "kWh/m2/day" }\n'
        'air_temperature = { path = "t.nc", variable = "t2m", units = "K", crs = "EPSG:4326" }\n'
        "[profiles.windfarm.sites]\ntop_share = 0.05\n[resources]\nhub_height_m = 135\n"
        '[carbon]\nstandard = "vcs"\nbuffer_risk_pct = 15\n'
    )
    study = loads_study(text, tmp_path / "s.toml")
    assert study.layers["air_temperature"].crs == "EPSG:4326"
    assert study.resources == {"hub_height_m": 135}
