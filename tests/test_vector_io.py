"""Reading vectors as they come from the wild."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from geotool.errors import (
    ConfigError,
    CRSError,
    GeometryError,
    MissingFileError,
    UnreadableFileError,
)
from geotool.io.vector import apply_filter, parse_filter, read_vector


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
    assert len(kept) == 1  # '500;220' is not a number: not silently kept
    with pytest.raises(ConfigError, match="lacks"):
        apply_filter(gdf, "kv > 1", "f")
