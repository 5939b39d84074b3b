"""Input handling found by review: Chinese species names and 小班 columns in parcel tables,
area columns (ha, mu) against the polygons, class codes a layer cannot hold, complex rasters,
and region ids shared by several features.

Expected values are by hand: parcels are 200 m x 200 m squares in UTM (4 ha; 60 mu, as
1 mu = 10,000/15 m²); the species names are those of the labels in species.toml.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from geotool.carbon import CarbonConfig
from geotool.cli import main
from geotool.errors import ConfigError, UnknownNameError, UnreadableFileError
from geotool.io.raster import open_raster
from geotool.stack import load_region
from geotool.study import load_study
from geotool.suitability import load_profile
from tests.conftest import planted_stock_tco2e_per_ha, write_tif

CRS = "EPSG:32649"  # UTM 49N: Shaoguan
X0, Y0 = 560_000.0, 2_745_000.0  # north-west corner of a 2 km x 2 km study area


def _square(col: int, row: int, side: float = 200.0) -> box:
    x, y = X0 + 300.0 * col + 100.0, Y0 - 300.0 * row - 100.0
    return box(x, y - side, x + side, y)


@pytest.fixture()
def study(tmp_path: Path) -> Path:
    """A 2 km x 2 km study of two counties, one of them stored as two polygons (the west
    and east halves, both named 甲县), with an AGB map of 50 t/ha at 100 m."""
    region = gpd.GeoDataFrame(
        {"name": ["甲县", "乙县", "甲县"]},
        geometry=[
            box(X0, Y0 - 1000, X0 + 1000, Y0),  # 100 ha
            box(X0, Y0 - 2000, X0 + 2000, Y0 - 1000),  # 200 ha
            box(X0 + 1000, Y0 - 1000, X0 + 2000, Y0),  # 100 ha, 甲县's east half
        ],
        crs=CRS,
    )
    region.to_file(tmp_path / "县界.gpkg", driver="GPKG")
    write_tif(
        tmp_path / "agb.tif",
        np.full((20, 20), 50.0, "float32"),
        crs=CRS,
        transform=Affine(100.0, 0.0, X0, 0.0, -100.0, Y0),
    )
    path = tmp_path / "study.toml"
    path.write_text(
        '[study]\nname = "t"\nregion = "县界.gpkg"\nregion_id = "name"\n'
        f'crs = "{CRS}"\nresolution = 100\n\n[layers]\nbiomass = "agb.tif"\n\n'
        "[carbon]\nmc_draws = 200\n",
        encoding="utf-8",
    )
    return path


def _parcels(path: Path, **columns: list[object]) -> Path:
    n = len(next(iter(columns.values())))
    gpd.GeoDataFrame(columns, geometry=[_square(i, 0) for i in range(n)], crs=CRS).to_file(
        path, driver="GPKG"
    )
    return path


# 1. Chinese species names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "group"),
    [
        ("杉木", "chinese_fir"),
        ("马尾松", "masson_pine"),
        ("桉树", "eucalyptus"),
        ("栎类", "oaks"),
        ("其他阔叶类", "other_broadleaf"),
        ("毛竹", "moso_bamboo"),
        (" 杉木　", "chinese_fir"),  # a trailing full-width space, as Excel tables have
        ("CHINESE FIR", "chinese_fir"),
        ("Masson_Pine", "masson_pine"),
        ("Cunninghamia lanceolata", "chinese_fir"),
        ("other_broadleaf", "other_broadleaf"),
    ],
)
def test_species_names_of_the_labels_are_accepted(written: str, group: str) -> None:
    from geotool.carbon import get_species

    assert get_species(written).name == group


def test_an_unknown_species_lists_the_accepted_names() -> None:
    from geotool.carbon import get_species

    with pytest.raises(UnknownNameError) as err:
        get_species("杉")  # not a label name: geotool does not guess 杉 = 杉木
    text = str(err.value)
    assert "\n" not in text
    for name in ("chinese_fir", "杉木", "masson_pine", "马尾松", "桉树", "栎类", "其他阔叶类"):
        assert name in text


def test_the_study_species_may_be_given_in_chinese() -> None:
    assert CarbonConfig(species="马尾松").species == "马尾松"  # accepted, not refused


# 1-3. a 小班 table through `geotool carbon` -------------------------------------------------


def test_chinese_species_column_is_noted_then_read_with_species_field(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parcels = _parcels(
        tmp_path / "小班.gpkg",
        小班号=["001", "002", "003"],
        树种=["杉木", "马尾松 ", "其他阔叶类"],
    )
    # without --species-field: the default species for all, and a note naming the column
    main(["carbon", str(study), "--parcels", str(parcels), "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert "column '树种' looks like one: read it with --species-field 树种" in err
    assert "column '小班号' looks like their id: use it with --parcel-id 小班号" in err
    table = pd.read_csv(tmp_path / "a" / "carbon_parcels.csv")
    assert table["species"].tolist() == ["chinese_fir"] * 3  # the [carbon] default, noted

    out = tmp_path / "b"
    args = ["--parcel-id", "小班号", "--species-field", "树种", "--out", str(out)]
    main(["carbon", str(study), "--parcels", str(parcels), *args])
    assert "looks like" not in capsys.readouterr().err
    table = pd.read_csv(out / "carbon_parcels.csv", dtype={"parcel_id": str})
    assert table["parcel_id"].tolist() == ["001", "002", "003"]
    assert table["species"].tolist() == ["chinese_fir", "masson_pine", "other_broadleaf"]
    assert table["树种"].tolist() == ["杉木", "马尾松 ", "其他阔叶类"]  # carried through
    # the species is used: 20 years of planting 4 ha of Masson pine by the volume path
    expected = planted_stock_tco2e_per_ha("masson_pine", 20) * 4.0
    assert table["removals_tco2e_total"].iloc[1] == pytest.approx(expected, rel=1e-9)


def test_an_unknown_species_in_the_column_is_a_one_line_error(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parcels = _parcels(tmp_path / "p.gpkg", 小班号=["001", "002"], 树种=["杉木", "松树"])
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exc:
        main(
            [
                *("carbon", str(study), "--parcels", str(parcels)),
                *("--species-field", "树种", "--out", str(out)),
            ]
        )
    assert exc.value.code == 2
    *_notes, err = capsys.readouterr().err.strip().splitlines()  # the region's note first
    assert err.startswith("geotool: error:") and str(parcels) in err and "row 1 树种" in err
    assert "unknown species '松树'" in err and "马尾松" in err and "chinese_fir" in err
    assert not out.exists()


def test_species_field_must_name_a_column_and_needs_parcels(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parcels = _parcels(tmp_path / "p.gpkg", 小班号=["001"], 树种=["杉木"])
    with pytest.raises(SystemExit) as exc:
        main(
            [
                *("carbon", str(study), "--parcels", str(parcels)),
                *("--species-field", "优势树种", "--out", str(tmp_path / "o")),
            ]
        )
    assert exc.value.code == 2
    *_notes, err = capsys.readouterr().err.strip().splitlines()
    assert err.startswith("geotool: error:") and "no column '优势树种'" in err and "树种" in err
    with pytest.raises(SystemExit) as exc:
        main(["carbon", str(study), "--species-field", "树种", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "--species-field" in capsys.readouterr().err


def test_area_columns_are_compared_with_the_polygons_never_used(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # polygons of 4 ha = 60 mu; area_ha 9 for 002 is off (noted), 4.04 for 003 is within
    # 1 % (kept quiet); 面积亩 60 is right, 4 for 003 is the area in ha (noted, 1/15)
    parcels = _parcels(
        tmp_path / "p.gpkg",
        parcel_id=["001", "002", "003"],
        area_ha=[4.0, 9.0, 4.04],
        面积亩=[60.0, 60.0, 4.0],
    )
    out = tmp_path / "o"
    main(["carbon", str(study), "--parcels", str(parcels), "--out", str(out)])
    notes = [line for line in capsys.readouterr().err.splitlines() if "polygon area" in line]
    assert len(notes) == 2
    ha_note = next(n for n in notes if "'area_ha'" in n)
    assert "1 of 3 parcels: 002 (9.00 ha, polygon 4.00 ha)" in ha_note
    mu_note = next(n for n in notes if "'面积亩'" in n)
    assert "1 of 3 parcels: 003 (4.00 mu = 0.27 ha, polygon 4.00 ha)" in mu_note
    assert "is it in ha?" in mu_note
    table = pd.read_csv(out / "carbon_parcels.csv")
    np.testing.assert_allclose(table["area_ha"], 4.0, rtol=1e-12)  # the polygons, always
    assert table["面积亩"].tolist() == [60.0, 60.0, 4.0]  # carried through, not read as ha


def test_an_area_column_in_mu_labelled_ha_is_told(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parcels = _parcels(tmp_path / "p.gpkg", parcel_id=["a", "b"], area_ha=[60.0, 60.0])
    main(["carbon", str(study), "--parcels", str(parcels), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert "2 of 2 parcels" in err and "is it in mu?" in err  # 60 / 4 = 15x
    table = pd.read_csv(tmp_path / "o" / "carbon_parcels.csv")
    np.testing.assert_allclose(table["area_ha"], 4.0, rtol=1e-12)


# 4. class codes the layer cannot hold ------------------------------------------------------


def _profile(tmp_path: Path, old: str, new: str) -> Path:
    text = Path("geotool/profiles/windfarm.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "my_wind.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_class_code_outside_the_layer_classes_is_refused(tmp_path: Path) -> None:
    path = _profile(tmp_path, "exclude = [50, 70, 80]", "exclude = [50, 55, 80]")
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text
    assert "constraints.unsuitable_land_cover.exclude" in text and "class 55" in text
    assert "10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100" in text  # WorldCover, layers/


def test_a_study_override_with_a_foreign_class_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"class 55 is not a code of layer 'land_cover'"):
        load_profile("windfarm", {"constraints": {"unsuitable_land_cover": {"exclude": [50, 55]}}})


def test_a_categorical_criterion_with_a_foreign_class_code_is_refused(tmp_path: Path) -> None:
    text = (
        'name = "lc"\n[criteria.cover]\nlayer = "land_cover"\nmembership = "categorical"\n'
        "table = { 20 = 1.0, 35 = 0.5 }\n"
    )
    path = tmp_path / "lc.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"criteria\.cover\.table: class 35 is not a code"):
        load_profile(path)


# 5. complex rasters ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["complex64", "complex_int16"])
def test_a_complex_raster_is_refused_naming_the_file(tmp_path: Path, dtype: str) -> None:
    path = tmp_path / f"{dtype}.tif"
    data = np.full((4, 4), 3 + 4j, "complex64")
    if dtype == "complex_int16":  # numpy has no such type: an empty file of that GDAL type
        import rasterio

        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=4,
            height=4,
            count=1,
            dtype=dtype,
            crs=CRS,
            transform=Affine(100.0, 0.0, X0, 0.0, -100.0, Y0),
        ):
            pass
    else:
        write_tif(path, data, crs=CRS, transform=Affine(100.0, 0.0, X0, 0.0, -100.0, Y0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any ComplexWarning
        with pytest.raises(UnreadableFileError) as err:
            open_raster(path)
    assert str(path) in str(err.value) and "complex" in str(err.value)
    assert "\n" not in str(err.value)


# 6. region ids shared by several features --------------------------------------------------


def test_features_sharing_a_region_id_are_merged_and_noted(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes: list[str] = []
    region = load_region(load_study(study), notes)
    assert region["region"].tolist() == ["甲县", "乙县", "甲县"]
    assert len(notes) == 1 and "'甲县' (2 features)" in notes[0] and "县界.gpkg" in notes[0]
    out = tmp_path / "o"
    main(["carbon", str(study), "--out", str(out)])
    assert "'甲县' (2 features)" in capsys.readouterr().err
    regions = pd.read_csv(out / "carbon_regions.csv").set_index("region")
    assert sorted(regions.index) == ["乙县", "甲县"]  # one unit for the two polygons
    assert regions.loc["甲县", "area_ha"] == pytest.approx(200.0, rel=1e-9)  # 2 x 1 km²


def test_distinct_region_ids_give_no_note(tmp_path: Path) -> None:
    gpd.GeoDataFrame(
        {"name": ["甲县", "乙县"]},
        geometry=[box(X0, Y0 - 1000, X0 + 1000, Y0), box(X0, Y0 - 2000, X0 + 1000, Y0 - 1000)],
        crs=CRS,
    ).to_file(tmp_path / "r.gpkg", driver="GPKG")
    path = tmp_path / "s.toml"
    path.write_text(
        '[study]\nname = "t"\nregion = "r.gpkg"\nregion_id = "name"\nresolution = 100\n',
        encoding="utf-8",
    )
    notes: list[str] = []
    load_region(load_study(path), notes)
    assert notes == []
