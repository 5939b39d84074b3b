"""Reading vectors as they come from the wild."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from geotool.errors import (
    ConfigError,
    CRSError,
    GeometryError,
    InputError,
    MissingFileError,
    UnreadableFileError,
)
from geotool.io.vector import apply_filter, parse_filter, read_vector
from geotool.stack import check_study, load_region, load_stack
from geotool.study import load_study
from geotool.suitability.parse import check_vector_layer


def test_bare_feature_array_with_3d_coordinates(tmp_path):
    features = [
        {
            "type": "Feature",
            "properties": {"name": "乳源瑶族自治县", "adcode": 440232},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[113.0, 24.5, 100], [113.5, 24.5, 100], [113.5, 25.0, 90], [113.0, 24.5, 100]]
                ],
            },
        }
    ]
    path = tmp_path / "440200.json"
    path.write_text(json.dumps(features, ensure_ascii=False), encoding="utf-8")
    gdf = read_vector(path)
    assert gdf.crs.to_epsg() == 4326
    assert gdf["name"].iloc[0] == "乳源瑶族自治县"
    assert not gdf.geometry.has_z.any()


def test_real_shaoguan_boundaries_read(shaoguan_counties):
    gdf = read_vector(shaoguan_counties)
    assert len(gdf) == 10 and gdf.is_valid.all()


def test_invalid_geometry_is_repaired_and_reported(tmp_path):
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    path = tmp_path / "bow.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[bowtie], crs="EPSG:4326").to_file(path)
    notes: list[str] = []
    gdf = read_vector(path, notes=notes)
    assert gdf.is_valid.all() and gdf.area.iloc[0] == pytest.approx(0.5)
    assert any("repaired 1 invalid" in n for n in notes)


def test_empty_geometries_dropped_and_all_empty_refused(tmp_path):
    path = tmp_path / "e.geojson"
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": None},
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [113, 24]},
            },
        ],
    }
    path.write_text(json.dumps(fc))
    assert len(read_vector(path)) == 1
    fc["features"] = fc["features"][:1]
    path.write_text(json.dumps(fc))
    with pytest.raises(GeometryError, match="no features"):
        read_vector(path)


def test_shapefile_without_prj_needs_crs(tmp_path):
    path = tmp_path / "roads.shp"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])]).to_file(path)
    with pytest.raises(CRSError, match="no CRS"):
        read_vector(path)
    assert read_vector(path, crs="EPSG:4326").crs.to_epsg() == 4326


def test_geoparquet_and_layers(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"voltage_kv": [110, 220, 500]},
        geometry=[shapely.Point(i, 0) for i in range(3)],
        crs="EPSG:4326",
    )
    gdf.to_parquet(tmp_path / "p.parquet")
    assert len(read_vector(tmp_path / "p.parquet")) == 3
    gdf.to_file(tmp_path / "g.gpkg", layer="lines")
    with pytest.raises(ConfigError, match="has no layer 'power'"):
        read_vector(tmp_path / "g.gpkg", layer="power")


def test_missing_corrupt_and_unsupported(tmp_path):
    with pytest.raises(MissingFileError):
        read_vector(tmp_path / "none.gpkg")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(UnreadableFileError):
        read_vector(bad)
    other = tmp_path / "x.csv"
    other.write_text("a,b\n")
    with pytest.raises(UnreadableFileError, match="unsupported"):
        read_vector(other)


def test_filters_are_parsed_not_evaluated():
    assert parse_filter("voltage_kv >= 220") == ("voltage_kv", ">=", 220.0)
    assert parse_filter("kind in ['river', 'lake']") == ("kind", "in", ["river", "lake"])
    with pytest.raises(ConfigError):
        parse_filter("__import__('os').system('x')")
    gdf = gpd.GeoDataFrame(
        {"voltage_kv": ["110", "220", "500;220", None]}, geometry=[shapely.Point(0, 0)] * 4
    )
    kept = apply_filter(gdf, "voltage_kv >= 220", "f")
    # '500;220' is two circuits (OSM's ";"), one of them >= 220: kept; None never is
    assert kept["voltage_kv"].tolist() == ["220", "500;220"]
    with pytest.raises(ConfigError, match="lacks"):
        apply_filter(gdf, "kv > 1", "f")


# ----------------------------------------------------------- multi-layer files, empty reads


def _two_layer_gpkg(path):
    """A GeoPackage whose first layer is not the roads (as planners' exports often are)."""
    gpd.GeoDataFrame(
        {"name": ["a", "b", "c"]},
        geometry=[
            shapely.Point(113.2, 24.2),
            shapely.Point(113.3, 24.3),
            shapely.Point(113.25, 24.25),
        ],
        crs="EPSG:4326",
    ).to_file(path, layer="settlements")
    gpd.GeoDataFrame(
        {"highway": ["primary"]},
        geometry=[shapely.LineString([(113.15, 24.15), (113.35, 24.35)])],
        crs="EPSG:4326",
    ).to_file(path, layer="roads")
    return path


def _study(tmp_path, layers: str, head: str = "bbox = [113.1, 24.1, 113.4, 24.4]"):
    path = tmp_path / "study.toml"
    path.write_text(f'[study]\nname = "t"\n{head}\nresolution = 500\n[layers]\n{layers}\n')
    return load_study(path)


def test_multi_layer_file_without_layer_is_refused_not_first_layer_read(tmp_path):
    path = _two_layer_gpkg(tmp_path / "multi.gpkg")
    with pytest.raises(InputError) as info:
        read_vector(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    assert "settlements, roads" in msg and 'layer = "..."' in msg and "[layers]" in msg
    # the layer named like the study's key is the one meant
    roads = read_vector(path, layer_key="roads")
    assert list(roads["highway"]) == ["primary"]
    assert len(read_vector(path, layer="settlements")) == 3
    with pytest.raises(InputError, match="settlements, roads"):
        read_vector(path, layer_key="power_lines")
    # a plain attribute table beside one spatial layer leaves no doubt
    one = tmp_path / "one.gpkg"
    gpd.read_file(path, layer="roads").to_file(one, layer="network")
    pyogrio.write_dataframe(pd.DataFrame({"code": [1, 2]}), one, layer="lookup")
    assert list(read_vector(one)["highway"]) == ["primary"]


def test_multi_layer_file_in_a_study(tmp_path):
    _two_layer_gpkg(tmp_path / "multi.gpkg")
    problems, report = check_study(_study(tmp_path, 'roads = "multi.gpkg"'))
    assert problems == [] and report["layers"]["roads"]["features_in_reach"] == 1
    problems, _ = check_study(_study(tmp_path, 'power_lines = "multi.gpkg"'))
    assert len(problems) == 1 and 'layer = "..."' in problems[0]
    # a region file has no layer key: the message points at region_layer
    study = _study(tmp_path, "", head='region = "multi.gpkg"')
    with pytest.raises(InputError, match=r'region_layer = "\.\.\."` in \[study\]'):
        load_region(study)


def test_nothing_in_reach_or_empty_file_reads_empty(tmp_path):
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame(
        {"name": ["far"]}, geometry=[shapely.box(120, 30, 121, 31)], crs="EPSG:4326"
    ).to_file(far)
    gdf = read_vector(far, bbox=(113.1, 24.1, 113.4, 24.4), bbox_crs="EPSG:4326")
    assert isinstance(gdf, gpd.GeoDataFrame) and len(gdf) == 0 and gdf.crs.to_epsg() == 4326
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326").to_file(empty)
    assert len(read_vector(empty)) == 0
    assert len(read_vector(empty, bbox=(113.1, 24.1, 113.4, 24.4), bbox_crs="EPSG:4326")) == 0
    # features that all lack a geometry are still an error, with or without a bbox
    nulls = tmp_path / "nulls.gpkg"
    gpd.GeoDataFrame({"a": [1, 2]}, geometry=[None, None], crs="EPSG:4326").to_file(nulls)
    for bbox in (None, (113.1, 24.1, 113.4, 24.4)):
        with pytest.raises(GeometryError, match="no features with a geometry"):
            read_vector(nulls, bbox=bbox, bbox_crs="EPSG:4326")


def test_protected_areas_out_of_reach_are_cap_and_no_mask(tmp_path):
    gpd.GeoDataFrame(
        {"name": ["far"]}, geometry=[shapely.box(120, 30, 121, 31)], crs="EPSG:4326"
    ).to_file(tmp_path / "pa.gpkg")
    study = _study(tmp_path, 'protected_areas = "pa.gpkg"')
    problems, report = check_study(study)
    assert problems == [] and report["layers"]["protected_areas"]["features_in_reach"] == 0
    assert any("no feature of protected_areas" in n for n in report["notes"])
    ds = load_stack(study)
    dist = ds["protected_areas_distance_m"]
    assert float(dist.min()) == float(dist.max()) == dist.attrs["max_distance_m"]
    assert float(ds["protected_areas_mask"].max()) == 0.0
    # a region file with no features is still refused
    gpd.GeoDataFrame({"n": []}, geometry=[], crs="EPSG:4326").to_file(tmp_path / "r.gpkg")
    with pytest.raises(GeometryError, match="no features"):
        load_region(_study(tmp_path, "", head='region = "r.gpkg"'))


def test_filter_operator_typos_are_refused():
    for text, meant in (
        ("voltage_kv => 110", ">="),
        ("voltage_kv >>= 3", ">="),
        ("voltage_kv =< 3", "<="),
        ("voltage_kv == = 3", "=="),
        ("voltage_kv =! 3", "!="),
    ):
        with pytest.raises(ConfigError) as info:
            parse_filter(text)
        msg = str(info.value)
        assert f"did you mean '{meant}'?" in msg and "voltage_kv" in msg and "\n" not in msg
    assert parse_filter("name == '>x'") == ("name", "==", ">x")  # quoted text may start so
    for missing in ("voltage_kv ==", "voltage_kv >= ="):
        with pytest.raises(ConfigError, match="no value after the operator"):
            parse_filter(missing)
    with pytest.raises(ConfigError, match=r"^p\.toml: grid where: .*did you mean '>='\?"):
        check_vector_layer("power_lines", "voltage_kv => 110", "p.toml: grid")


def test_numeric_filters_read_openstreetmap_multi_values() -> None:
    # OSM joins the voltages of a line's circuits with ";": "220000;110000" is a 220 kV and a
    # 110 kV line and must pass `voltage >= 110000` (it was dropped as not a number); a
    # feature matches when any of its values does, whatever the GeoDataFrame's index
    gdf = gpd.GeoDataFrame(
        {"voltage": ["220000;110000", "35000", "110000", None, "10000; 35000"]},
        geometry=[shapely.Point(i, 0) for i in range(5)],
        crs="EPSG:4326",
        index=[5, 5, 6, 7, 8],
    )

    def kept(where: str) -> list[str]:
        return apply_filter(gdf, where, "lines.gpkg")["voltage"].tolist()

    assert kept("voltage >= 110000") == ["220000;110000", "110000"]
    assert kept("voltage == 110000") == ["220000;110000", "110000"]
    assert kept("voltage in [35000]") == ["35000", "10000; 35000"]
    assert kept("voltage < 50000") == ["35000", "10000; 35000"]


def test_features_on_both_sides_of_180_are_read(tmp_path: Path) -> None:
    """A UTM 60S reach box around Fiji (178.5°E..179.5°W) is two lon/lat boxes; with one
    (west > east) the spatial filter read nothing and the study lost its roads and towns."""
    from pyproj import Transformer
    from shapely.geometry import Point

    from geotool.io.vector import read_vector

    pts = gpd.GeoDataFrame(
        {"name": ["Nadi", "Lakeba", "Far"]},
        geometry=[Point(179.4, -17.0), Point(-179.7, -17.2), Point(170.0, -17.0)],
        crs="EPSG:4326",
    )
    path = tmp_path / "towns.geojson"
    pts.to_file(path, driver="GeoJSON")
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32760", always_xy=True)
    x0, y0 = to_utm.transform(178.5, -18.0)
    x1, y1 = to_utm.transform(-179.5, -16.0)
    bbox = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    got = read_vector(path, bbox=bbox, bbox_crs="EPSG:32760")
    assert sorted(got["name"]) == ["Lakeba", "Nadi"]


def test_a_voltage_kv_filter_reads_osm_voltage_in_volts() -> None:
    """An OSM extract has `voltage` in volts and no `voltage_kv`: `run` stopped at the
    windfarm filter though `check` passed; now `voltage_kv >= 110` reads `voltage` / 1,000,
    every circuit of a multi-valued line included."""
    gdf = gpd.GeoDataFrame(
        {"voltage": ["220000;110000", "35000", "500000", None, "medium"]},
        geometry=[shapely.Point(i, 0) for i in range(5)],
        crs="EPSG:4326",
    )
    kept = apply_filter(gdf, "voltage_kv >= 110", "lines.gpkg")
    assert kept["voltage"].tolist() == ["220000;110000", "500000"]
    with pytest.raises(ConfigError, match="add a `kv` column") as err:
        apply_filter(gdf, "kv >= 110", "lines.gpkg")
    assert "'voltage'" in str(err.value.fix)
