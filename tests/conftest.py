"""Shared fixtures: tiny georeferenced files built in tmp_path."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "real"


def planted_stock_tco2e_per_ha(species: str, years: int) -> float:
    """Stock of a stand planted on bare land after ``years``, by the volume path with the
    species' table values: V(t) = A (1 - e^{-k t})^p m³/ha × SVD × BEF × (1 + R) × CF × 44/12."""
    table = tomllib.loads(
        files("geotool.carbon").joinpath("params/species.toml").read_text(encoding="utf-8")
    )["species"][species]
    g = table["growth"]
    assert g["quantity"] == "volume_m3_ha"
    v = g["asymptote"] * (1.0 - math.exp(-g["rate_per_yr"] * years)) ** g["shape"]
    expansion = table["bef"] * (1.0 + table["root_shoot"]) * table["carbon_fraction"]
    return v * table["svd_t_m3"] * expansion * 44.0 / 12.0


def write_tif(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None,
    transform: Affine,
    nodata: float | None = None,
    **options: object,
) -> Path:
    """Single-band GeoTIFF of ``data`` (``options``: more creation options, e.g. tiling)."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
        **options,
    ) as ds:
        ds.write(data, 1)
    return path


@pytest.fixture
def tif_writer(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str, data: np.ndarray, **kw: object) -> Path:
        return write_tif(tmp_path / name, data, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def shaoguan_counties() -> Path:
    path = SHARED_DATA / "shaoguan_counties.geojson"
    assert path.exists(), f"test data missing: {path}"
    return path
