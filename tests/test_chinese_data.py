"""Data as a Chinese county office has it: GBK Shapefiles without a .cpg, CGCS2000 in degrees
and in Gauss-Krüger zones with and without the zone number, Chinese names in paths, fields and
values, parcel tables in mu -- and CSVs that Excel on Chinese Windows opens without mojibake."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from affine import Affine
from pyproj import Transformer
from shapely.geometry import Point, box

from geotool.catalog import get_layer
from geotool.cli import main
from geotool.errors import ConfigError, CRSError, InputError
from geotool.grid import Grid
from geotool.io.raster import align_raster, open_raster
from geotool.io.vector import guess_text_encoding, read_vector
from geotool.regions import write_regions
from geotool.stack import load_region
from geotool.study import load_study, loads_study
from tests.conftest import write_tif

NAMES = ["曲江区", "乳源瑶族自治县"]
BOM = b"\xef\xbb\xbf"
# Qujiang district, Shaoguan: about 113.6 E 24.7 N, in 3-degree Gauss-Krüger zone 38 (CM 114 E)
QUJIANG_4547 = (460_000.0, 2_730_000.0)  # easting without the zone number (EPSG:4547)


def write_gbk_shapefile(
    path: Path, gdf: gpd.GeoDataFrame, *, cpg: str | None = None, ldid: int = 0
) -> Path:
    """``gdf`` as a Shapefile whose .dbf holds GBK bytes, with the ``.cpg`` given (none: the
    usual case from Chinese GIS departments) and .dbf language driver byte ``ldid``."""
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg, encoding="ascii")
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[29] = ldid
    dbf.write_bytes(bytes(raw))
    return path


def counties(crs: str = "EPSG:4490") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"县名": NAMES, "面积": [1.5, 2.5]},
        geometry=[box(113.50, 24.60, 113.55, 24.65), box(113.55, 24.60, 113.60, 24.65)],
        crs="EPSG:4490",
    ).to_crs(crs)


# ----------------------------------------------------------------------------- text encoding


@pytest.mark.parametrize("ldid", [0, 0x57], ids=["no-code-page", "ansi"])
def test_gbk_shapefile_without_cpg_reads_its_chinese_names(tmp_path: Path, ldid: int) -> None:
    # GDAL reads a .dbf that declares nothing (or "ANSI", the writer's code page) as
    # ISO-8859-1: 曲江区 became ÇúœÇø, and `region_id = "县名"` named no field
    path = write_gbk_shapefile(tmp_path / "县界.shp", counties(), ldid=ldid)
    notes: list[str] = []
    gdf = read_vector(path, notes=notes)
    assert list(gdf.columns) == ["县名", "面积", "geometry"]
    assert gdf["县名"].tolist() == NAMES
    assert gdf["面积"].tolist() == [1.5, 2.5]
    assert len(notes) == 1 and "read as GBK" in notes[0] and str(path) in notes[0]


@pytest.mark.parametrize("cpg", ["GBK", "936", "CP936", "GB2312"])
def test_gbk_shapefile_with_cpg_is_read_as_it_says(tmp_path: Path, cpg: str) -> None:
    path = write_gbk_shapefile(tmp_path / "县界.shp", counties(), cpg=cpg)
    notes: list[str] = []
    assert read_vector(path, notes=notes)["县名"].tolist() == NAMES
    assert notes == []  # declared: nothing guessed


def test_gbk_shapefile_whose_cpg_says_utf8_is_read_as_gbk(tmp_path: Path) -> None:
    path = write_gbk_shapefile(tmp_path / "县界.shp", counties(), cpg="UTF-8")
    notes: list[str] = []
    bbox = (113.0, 24.0, 114.0, 25.0)  # the spatial filter reads the file's info first
    gdf = read_vector(path, notes=notes, bbox=bbox, bbox_crs="EPSG:4326")
    assert gdf["县名"].tolist() == NAMES
    assert "not the UTF-8 its .cpg file says" in notes[0]


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_gbk_geojson_and_geopackage_are_read_as_gbk(tmp_path: Path, suffix: str) -> None:
    # both formats must be UTF-8; GBK ones exist, and were "not readable vector data"
    path = tmp_path / f"县界{suffix}"
    pyogrio.write_dataframe(counties(), path, encoding="GBK")
    notes: list[str] = []
    assert read_vector(path, notes=notes)["县名"].tolist() == NAMES
    assert "read as GBK" in notes[0]


def test_latin1_shapefile_without_cpg_stays_latin1(tmp_path: Path) -> None:
    path = tmp_path / "orte.shp"
    gdf = gpd.GeoDataFrame({"name": ["Zürich", "Genève"]}, geometry=[Point(8, 47)] * 2)
    pyogrio.write_dataframe(gdf.set_crs("EPSG:4326"), path, encoding="ISO-8859-1")
    path.with_suffix(".cpg").unlink()
    assert read_vector(path)["name"].tolist() == ["Zürich", "Genève"]


def test_text_in_no_encoding_it_could_be_is_refused_with_the_fix(tmp_path: Path) -> None:
    # CP1252's curly quotes are C1 controls in ISO-8859-1, and not GBK either
    path = tmp_path / "pa.shp"
    gdf = gpd.GeoDataFrame({"name": ["“Park”"]}, geometry=[Point(113.5, 24.6)], crs="EPSG:4490")
    pyogrio.write_dataframe(gdf, path, encoding="cp1252")
    path.with_suffix(".cpg").unlink()
    with pytest.raises(InputError) as exc:
        read_vector(path, layer_key="protected_areas")
    assert str(path) in str(exc.value) and '`encoding = "GBK"`' in str(exc.value)
    assert ".cpg" in str(exc.value)
    # the study's `encoding` reads it
    assert read_vector(path, encoding="cp1252")["name"].tolist() == ["“Park”"]


def test_guess_keeps_other_text_out_of_gbk() -> None:
    latin = [t.encode("latin-1") for t in ("Zürich", "Genève", "Conceição", "São Paulo")]
    assert guess_text_encoding(latin) == "latin-1"  # as GDAL reads it: no change
    cyrillic = [t.encode("cp1251") for t in ("Москва", "Тверь")]  # odd words break GBK pairs
    assert guess_text_encoding(cyrillic) != "gb18030"
    big5 = [t.encode("big5") for t in ("臺北市", "新竹縣", "嘉義縣", "花蓮縣")]
    assert guess_text_encoding(big5) != "gb18030"  # valid GBK bytes, but few GB 2312 hanzi
    assert guess_text_encoding([t.encode("gbk") for t in [*NAMES, "村"]]) == "gb18030"
    assert guess_text_encoding([t.encode("utf-8") for t in NAMES]) == "utf-8"


def study_text(region: str, *, extra: str = "", layers: str = "", field: str = "县名") -> str:
    return (
        f'[study]\nname = "曲江区—乳源县 碳汇研究"\nregion = "{region}"\nregion_id = "{field}"\n'
        f'crs = "auto"\nresolution = 100\n{extra}\n[layers]\n{layers}\n'
    )


def test_study_in_a_chinese_folder_with_a_gbk_region_names_its_units(tmp_path: Path) -> None:
    folder = tmp_path / "韶关市林业局" / "数据"
    folder.mkdir(parents=True)
    write_gbk_shapefile(folder / "县界.shp", counties())
    path = tmp_path / "韶关市林业局" / "研究.toml"
    path.write_text(study_text("数据/县界.shp"), encoding="utf-8")
    notes: list[str] = []
    region = load_region(load_study(path), notes)
    assert region["region"].tolist() == NAMES
    assert any("县界.shp" in n and "GBK" in n for n in notes)


def test_study_encoding_keys_are_parsed_and_checked(tmp_path: Path) -> None:
    study = loads_study(
        study_text(
            "r.shp",
            extra='region_encoding = "936"',
            layers='roads = { path = "道路.shp", encoding = "GBK" }\n'
            'substations = { path = "s.shp", encoding = "cp1252" }',
        ),
        tmp_path / "s.toml",
    )
    assert study.region_encoding == "gb18030"  # GBK's superset
    assert study.layers["roads"].encoding == "gb18030"
    assert study.layers["substations"].encoding == "cp1252"
    with pytest.raises(ConfigError, match=r"layers\.roads\.encoding: unknown encoding 'GKB'"):
        loads_study(study_text("r.shp", layers='roads = { path = "r.shp", encoding = "GKB" }'))
    with pytest.raises(ConfigError, match="dem is a raster layer"):
        loads_study(study_text("r.shp", layers='dem = { path = "d.tif", encoding = "GBK" }'))


def test_region_encoding_overrides_the_guess(tmp_path: Path) -> None:
    # Big5 (Taiwan, Hong Kong) bytes pass for neither UTF-8 nor GBK: read as ISO-8859-1, the
    # field 縣名 is not found; `region_encoding` names the encoding
    names = ["臺北市", "新竹縣"]
    path = tmp_path / "regions.shp"
    gdf = gpd.GeoDataFrame({"縣名": names}, geometry=counties().geometry, crs="EPSG:4490")
    pyogrio.write_dataframe(gdf, path, encoding="big5")
    path.with_suffix(".cpg").unlink()
    study_file = tmp_path / "s.toml"
    study_file.write_text(study_text("regions.shp", field="縣名"), encoding="utf-8")
    with pytest.raises(ConfigError, match="region_id field '縣名' is not in the region file"):
        load_region(load_study(study_file))
    text = study_text("regions.shp", field="縣名", extra='region_encoding = "big5"')
    study_file.write_text(text, encoding="utf-8")
    assert load_region(load_study(study_file))["region"].tolist() == names


# ----------------------------------------------------------------------------- CGCS2000


def gk_points(crs: str) -> gpd.GeoDataFrame:
    x, y = QUJIANG_4547
    gdf = gpd.GeoDataFrame({"名称": ["变电站1"]}, geometry=[Point(x, y)], crs="EPSG:4547")
    if crs == "EPSG:4526":  # the same points, zone number 38 in front of the easting
        gdf = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=gdf.translate(38e6))
    return gdf.set_crs(crs, allow_override=True)


@pytest.mark.parametrize(
    ("written", "labelled", "fits"),
    [("EPSG:4526", "EPSG:4547", "EPSG:4526"), ("EPSG:4547", "EPSG:4526", "EPSG:4547")],
)
def test_gauss_kruger_zone_number_contradicting_the_crs_is_named(
    tmp_path: Path, written: str, labelled: str, fits: str
) -> None:
    # mislabelled, the layer lay 38,000 km away: "0 features in reach", no distance to it
    path = tmp_path / "变电站.shp"
    write_gbk_shapefile(path, gk_points(written).set_crs(labelled, allow_override=True))
    with pytest.raises(CRSError) as exc:
        read_vector(path, bbox=(113.0, 24.0, 114.0, 25.0), bbox_crs="EPSG:4326")
    assert f"it is {fits}" in str(exc.value) and str(path) in str(exc.value)
    path.with_suffix(".prj").unlink()  # no .prj: the study's `crs` assigns the wrong one
    with pytest.raises(CRSError) as exc:
        read_vector(path, crs=labelled, layer_key="substations")
    assert f'set `crs = "{fits}"` in its [layers] entry' in str(exc.value)


def test_gauss_kruger_raster_with_the_wrong_zone_number_is_named(tmp_path: Path) -> None:
    x0, y0 = QUJIANG_4547
    t = Affine(100.0, 0.0, 38e6 + x0, 0.0, -100.0, y0)  # zone 38 eastings, labelled CM 114E
    path = write_tif(
        tmp_path / "高程.tif", np.ones((50, 50), "float32"), crs="EPSG:4547", transform=t
    )
    with pytest.raises(CRSError, match=r"carry the zone number 38 in front.*it is EPSG:4526"):
        open_raster(path)


def gk_wind(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A wind field linear in CGCS2000 / CM 114E metres (m/s, inside 0..20)."""
    return 4.0 + 0.5 * (x - 440_000.0) / 10_000.0 + 0.8 * (y - 2_710_000.0) / 10_000.0


@pytest.mark.parametrize("grid_crs", ["EPSG:32649", "EPSG:4526", "EPSG:4547"])
@pytest.mark.parametrize("file_crs", ["EPSG:4526", "EPSG:4547"])
def test_cgcs2000_gauss_kruger_rasters_align_exactly(
    tmp_path: Path, file_crs: str, grid_crs: str
) -> None:
    # 300 m source pixels over 440..500 km E, 2,710..2,760 km N (CM 114E), written with or
    # without the zone number; bilinear resampling of a field linear in the source CRS is
    # exact, so each grid pixel holds the field at its centre carried into EPSG:4547
    res, shape = 300.0, (170, 200)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x = 440_000.0 + res * (cols + 0.5)
    y = 2_760_000.0 - res * (rows + 0.5)
    shift = 38e6 if file_crs == "EPSG:4526" else 0.0
    path = write_tif(
        tmp_path / "风速.tif",
        gk_wind(x, y).astype("float32"),
        crs=file_crs,
        transform=Affine(res, 0.0, 440_000.0 + shift, 0.0, -res, 2_760_000.0),
    )
    to_grid = Transformer.from_crs("EPSG:4547", grid_crs, always_xy=True)
    left, bottom = to_grid.transform(455_000.0, 2_720_000.0)
    grid = Grid.from_bounds((left, bottom, left + 20_000, bottom + 20_000), 250, grid_crs)
    values = align_raster(open_raster(path), get_layer("wind_speed_100m"), grid, chunk=64).values
    xs, ys = np.meshgrid(grid.xs, grid.ys)
    gx, gy = Transformer.from_crs(grid_crs, "EPSG:4547", always_xy=True).transform(xs, ys)
    # within what GDAL's approximate warp transformer allows (1/8 pixel): 0.002 m/s here
    assert np.nanmax(np.abs(values - gk_wind(gx, gy))) < 3e-3
    assert not np.isnan(values).any()


# ----------------------------------------------------------------------------- outputs


def test_region_csv_has_a_bom_for_excel(tmp_path: Path) -> None:
    table = gpd.GeoDataFrame(
        {"region": NAMES, "area_km2": [1.0, 2.0]}, geometry=counties().geometry, crs="EPSG:4490"
    )
    csv, _ = write_regions(table, tmp_path, "carbon_sink")
    raw = csv.read_bytes()
    assert raw.startswith(BOM)  # Excel reads a CSV without it as GBK on Chinese Windows
    assert raw[len(BOM) :].decode("utf-8").splitlines()[1].startswith("曲江区,")
    assert pd.read_csv(csv)["region"].tolist() == NAMES


def test_gbk_parcels_in_mu_carbon_end_to_end(tmp_path: Path) -> None:
    """A 小班 table from a forestry office: GBK Shapefile without .cpg in CGCS2000 / CM 114E,
    Chinese field names, an area field in mu, a county layer in EPSG:4490, a biomass map in
    zone 38 with the zone number: `geotool carbon` takes each parcel's area from its polygon
    (400 m x 400 m = 16 ha, whatever the 面积 field says) and keeps the Chinese text."""
    data = tmp_path / "数据"
    data.mkdir()
    write_gbk_shapefile(data / "县界.shp", counties())
    x0, y0 = Transformer.from_crs("EPSG:4490", "EPSG:4547", always_xy=True).transform(113.51, 24.61)
    parcels = gpd.GeoDataFrame(
        {"小班号": ["001", "002"], "树种": ["杉木", "马尾松"], "面积亩": [240.0, 240.0]},
        geometry=[box(x0, y0, x0 + 400, y0 + 400), box(x0 + 1000, y0, x0 + 1400, y0 + 400)],
        crs="EPSG:4547",
    )
    write_gbk_shapefile(data / "小班.shp", parcels)
    # biomass 50 t/ha over the counties, in zone 38 with the zone number (EPSG:4526)
    bx, by = Transformer.from_crs("EPSG:4490", "EPSG:4526", always_xy=True).transform(113.45, 24.70)
    write_tif(
        data / "生物量.tif",
        np.full((120, 140), 50.0, "float32"),
        crs="EPSG:4526",
        transform=Affine(100.0, 0.0, bx, 0.0, -100.0, by),
    )
    study = tmp_path / "研究.toml"
    study.write_text(
        study_text("数据/县界.shp", layers='biomass = "数据/生物量.tif"').replace(
            'crs = "auto"', 'crs = "EPSG:4547"'
        )
        + "\n[carbon]\nmc_draws = 200\n",
        encoding="utf-8",
    )
    out = tmp_path / "输出"
    parcels_file = str(data / "小班.shp")
    main(
        [
            "carbon",
            str(study),
            "--parcels",
            parcels_file,
            "--parcel-id",
            "小班号",
            "--out",
            str(out),
        ]
    )
    for name in ("carbon_parcels.csv", "carbon_regions.csv", "carbon_vintages.csv"):
        assert (out / name).read_bytes().startswith(BOM), name
    table = pd.read_csv(out / "carbon_parcels.csv", dtype={"parcel_id": str, "小班号": str})
    assert table["parcel_id"].tolist() == ["001", "002"]
    assert table["树种"].tolist() == ["杉木", "马尾松"]
    np.testing.assert_allclose(table["area_ha"], 16.0, rtol=1e-9)  # the polygon, not 240 mu
    assert table["面积亩"].tolist() == [240.0, 240.0]  # carried through untouched
    regions = pd.read_csv(out / "carbon_regions.csv")
    assert regions["region"].tolist() == NAMES
    np.testing.assert_allclose(regions["mean_agb_t_ha"], 50.0, rtol=1e-4)


@pytest.mark.parametrize(
    ("geographic", "lon", "datum"),
    [("EPSG:4490", 113.55, "CGCS2000"), ("EPSG:4610", 104.2, "Xian 1980")],
)
def test_a_geographic_chinese_datum_as_study_crs_names_its_gauss_krueger_zone(
    geographic: str, lon: float, datum: str
) -> None:
    # crs = "EPSG:4490" (CGCS2000 degrees) was refused with only "use auto or an EPSG code in
    # metres"; the fix now names the datum's 3-degree zone whose central meridian is nearest
    # the bbox's centre (checked against PROJ: its datum and its central meridian)
    from pyproj import CRS

    text = (
        f'[study]\nname = "t"\nbbox = [{lon - 0.1}, 30.0, {lon + 0.1}, 30.2]\n'
        f'crs = "{geographic}"\nresolution = 100\n'
    )
    with pytest.raises(CRSError) as err:
        loads_study(text)
    code = err.value.fix.rsplit('"EPSG:', 1)[1].split('"')[0]
    zone = CRS.from_epsg(int(code))
    assert zone.name.startswith(f"{datum} / 3-degree Gauss-Kruger CM")
    params = {p.name: p.value for p in zone.coordinate_operation.params}
    assert params["Longitude of natural origin"] == 3 * round(lon / 3)
    assert params["False easting"] == 500_000.0  # no zone number in front of the eastings
    assert zone.geodetic_crs.equals(CRS.from_user_input(geographic), ignore_axis_order=True)
