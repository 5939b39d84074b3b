"""Per-region and per-parcel carbon totals with exactextract (exact fractional coverage).

Totals are ``sum(value x coverage fraction) x pixel area``; exactextract reads the lazy
stock layers window by window, so memory stays bounded by the largest feature.

Examples
--------
See ``tests/test_carbon_zonal.py``: region totals equal a direct ``exact_extract`` call.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor exactextract relies on)
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import XArrayRasterSource
from pyproj import CRS
from shapely.geometry import box

from geotool.carbon.params import CO2_PER_C, get_zone
from geotool.carbon.stock import SOURCE_AGB_MAP, SOURCE_TIER1, SOURCE_VOLUME
from geotool.errors import CRSError, GeometryError, InputError
from geotool.grid import resolve_crs

_UNIT = "_geotool_unit"


def stock_crs(stock: xr.Dataset) -> CRS:
    """CRS of a stock Dataset: ``attrs['grid'].crs``, ``attrs['crs']`` or rioxarray's."""
    grid = stock.attrs.get("grid")
    if grid is not None and getattr(grid, "crs", None) is not None:
        return CRS.from_user_input(grid.crs)
    if stock.attrs.get("crs") is not None:
        return CRS.from_user_input(stock.attrs["crs"])
    crs = stock.rio.crs
    if crs is None:
        raise CRSError(
            "the carbon stock has no CRS",
            where="carbon stock",
            fix="build it from a stack whose attrs carry the analysis grid",
        )
    return CRS.from_user_input(crs)


def _check_area_crs(stock: xr.Dataset, crs: CRS) -> None:
    """Areas are computed flat in the stock's CRS: it must be in metres and keep areas true
    over the stock's extent (the analysis-grid rule of :func:`geotool.grid.resolve_crs`: at
    most ``MAX_AREAL_DISTORTION``), or every hectare, tonne and credit is off by as much
    (Web Mercator at 24.8 N: 1 / cos^2 = +21.4 %; a CRS in US feet: x 10.76)."""
    xs, ys = np.asarray(stock["x"], dtype=float), np.asarray(stock["y"], dtype=float)
    extent = gpd.GeoSeries([box(xs.min(), ys.min(), xs.max(), ys.max())], crs=crs)
    try:
        resolve_crs(crs.to_string(), extent)
    except CRSError as exc:
        raise CRSError(exc.what, where="carbon stock", fix=exc.fix) from None


def pixel_area_ha(stock: xr.Dataset) -> float:
    """Area of one pixel (ha) from the x/y pixel-centre spacing (metric CRS)."""
    crs = stock_crs(stock)
    if not crs.is_projected:  # degrees x degrees is no area
        raise CRSError(
            f"the carbon stock is in {crs.name}, a geographic CRS: pixel areas need metres",
            where="carbon stock",
            fix="reproject the stock layers onto a projected grid (geotool uses the study's UTM grid)",
        )
    _check_area_crs(stock, crs)
    if stock.sizes.get("x", 0) < 2 or stock.sizes.get("y", 0) < 2:
        grid = stock.attrs.get("grid")
        if grid is None:
            raise InputError("cannot tell the pixel size of a 1-pixel stock", where="stock")
        return float(grid.res) ** 2 / 1e4
    dx = float(abs(stock["x"][1] - stock["x"][0]))
    dy = float(abs(stock["y"][1] - stock["y"][0]))
    return dx * dy / 1e4


def _sources(stock: xr.Dataset, names: dict[str, xr.DataArray]) -> list[XArrayRasterSource]:
    crs = stock_crs(stock)
    out = []
    for name, da in names.items():
        da = da.astype("float32").rio.set_spatial_dims(x_dim="x", y_dim="y")
        out.append(XArrayRasterSource(da.rio.write_crs(crs), name=name))
    return out


def _features(units: gpd.GeoDataFrame, stock: xr.Dataset, what: str) -> gpd.GeoDataFrame:
    if units.crs is None:
        raise CRSError(
            f"the {what} have no CRS",
            where=what,
            fix="set the CRS of the file (relabel with set_crs only if you know it)",
        )
    if len(units) == 0:
        raise InputError(f"no {what} given", where=what, fix=f"give at least one {what[:-1]}")
    geom = units.geometry
    if geom.isna().any() or geom.is_empty.any() or (~geom.is_valid).any():
        raise GeometryError(
            f"{what} contain empty, missing or invalid geometries",
            where=what,
            fix="repair them (e.g. shapely.make_valid) or drop them",
        )
    feats = gpd.GeoDataFrame(
        {_UNIT: np.arange(len(units))}, geometry=geom.to_crs(stock_crs(stock)).values
    )
    feats = feats.set_crs(stock_crs(stock), allow_override=True)
    return feats


def zonal_sums(
    stock: xr.Dataset, units: gpd.GeoDataFrame, layers: dict[str, xr.DataArray], what: str
) -> pd.DataFrame:
    """``sum`` and ``count`` (coverage-weighted) of each layer per unit, in unit order."""
    feats = _features(units, stock, what)
    df = exact_extract(
        _sources(stock, layers),
        feats,
        ["sum", "count"],
        include_cols=[_UNIT],
        output="pandas",
    )
    return df.sort_values(_UNIT).reset_index(drop=True)


def _region_layers(stock: xr.Dataset) -> dict[str, xr.DataArray]:
    src = stock["stock_source"]
    valid = stock["carbon_t_ha"].notnull()
    layers = {
        "carbon": stock["carbon_t_ha"],
        "agb": stock["agb_t_ha"],
        "data": valid.astype("float32"),
        "src_map": (src == SOURCE_AGB_MAP).astype("float32"),
        "src_vol": (src == SOURCE_VOLUME).astype("float32"),
        "src_t1": (src == SOURCE_TIER1).astype("float32"),
    }
    if "forest" in stock:
        layers["forest"] = stock["forest"].astype("float32")
    return layers


def carbon_regions(
    stock: xr.Dataset,
    regions: gpd.GeoDataFrame,
    *,
    id_field: str | None = None,
    ecological_zone: str | None = None,
) -> pd.DataFrame:
    """Carbon totals per region unit (the ``carbon_regions.csv`` table).

    Parameters
    ----------
    stock
        Output of :func:`geotool.carbon.stock.carbon_stock`.
    regions
        Region polygons in any CRS (reprojected to the stock's CRS).
    id_field
        Column naming each unit; the index is used when ``None``.
    ecological_zone
        When given, adds the IPCC Tier 1 ongoing removals of the existing forest
        (``forest_area_ha x`` Table 4.9 >20-year growth ``x (1+R) x CF x 44/12``).

    Returns
    -------
    pandas.DataFrame
        ``region``, ``area_ha`` (polygon), ``data_area_ha`` (covered by a stock value),
        ``forest_area_ha``, ``stock_tc``, ``stock_tco2e``, ``carbon_density_tc_ha`` (over
        ``data_area_ha``), ``mean_agb_t_ha``, ``share_agb_map_pct``, ``share_volume_pct``,
        ``share_tier1_pct`` (of ``data_area_ha``) and optionally
        ``tier1_forest_removals_tco2e_per_yr``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> from geotool.carbon import CarbonConfig, carbon_stock
    >>> ds = xr.Dataset({"biomass": (("y", "x"), np.full((4, 4), 100.0, "float32"))},
    ...                 coords={"x": 50.0 + 100 * np.arange(4), "y": 350.0 - 100 * np.arange(4)},
    ...                 attrs={"crs": "EPSG:32649"})
    >>> units = gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(0, 0, 200, 400)], crs="EPSG:32649")
    >>> t = carbon_regions(carbon_stock(ds, CarbonConfig()), units, id_field="name")
    >>> float(t["area_ha"][0]), round(float(t["stock_tc"][0]), 3)  # 8 ha x 56.4 t C/ha
    (8.0, 451.2)
    """
    if id_field is not None and id_field not in regions.columns:
        raise InputError(
            f"no column '{id_field}' in the regions",
            where="regions",
            fix=f"use one of: {', '.join(map(str, regions.columns))}",
        )
    if id_field is not None and regions[id_field].duplicated().any():
        # one row per unit, as the profiles' region summaries: the parts of a unit (an island
        # stored as its own feature) are dissolved into it, in first-appearance order
        order = list(dict.fromkeys(regions[id_field]))
        regions = regions[[id_field, regions.geometry.name]].dissolve(by=id_field, sort=False)
        regions = regions.loc[order].reset_index()
    px_ha = pixel_area_ha(stock)
    layers = _region_layers(stock)
    z = zonal_sums(stock, regions, layers, "regions")
    ids = regions[id_field].to_numpy() if id_field else regions.index.to_numpy()
    area_ha = regions.geometry.to_crs(stock_crs(stock)).area.to_numpy() / 1e4
    data_ha = z["data_sum"].to_numpy() * px_ha
    stock_tc = z["carbon_sum"].to_numpy() * px_ha
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "region": ids,
                "area_ha": area_ha,
                "data_area_ha": data_ha,
                "forest_area_ha": z["forest_sum"].to_numpy() * px_ha
                if "forest" in layers
                else np.nan,
                "stock_tc": stock_tc,
                "stock_tco2e": stock_tc * CO2_PER_C,
                "carbon_density_tc_ha": np.where(data_ha > 0, stock_tc / data_ha, np.nan),
                "mean_agb_t_ha": np.where(
                    data_ha > 0, z["agb_sum"].to_numpy() * px_ha / data_ha, np.nan
                ),
            }
        )
        for key, col in (("src_map", "agb_map"), ("src_vol", "volume"), ("src_t1", "tier1")):
            share = z[f"{key}_sum"].to_numpy() * px_ha / data_ha * 100.0
            out[f"share_{col}_pct"] = np.where(data_ha > 0, share, np.nan)
    if ecological_zone is not None and "forest" in layers:
        zone = get_zone(ecological_zone)
        g = zone.growth_natural_old_t_ha_yr
        if g is not None:
            r = float(zone.root_shoot(np.array([zone.agb_natural_t_ha]))[0])
            per_ha = g * (1.0 + r) * zone.carbon_fraction * CO2_PER_C
            out["tier1_forest_removals_tco2e_per_yr"] = out["forest_area_ha"] * per_ha
    return out


def parcel_layer_sums(stock: xr.Dataset, parcels: gpd.GeoDataFrame) -> pd.DataFrame:
    """Coverage-weighted sums of AGB, BGB, biomass, carbon and CO2e per parcel (and of the
    0/1 ``forest`` mask when the stock has one)."""
    agb = stock["agb_t_ha"]
    layers = {
        "agb": agb,
        "bgb": stock["bgb_t_ha"],
        "biomass": agb + stock["bgb_t_ha"],
        "carbon": stock["carbon_t_ha"],
        "co2e": stock["co2e_t_ha"],
    }
    if "forest" in stock:
        layers["forest"] = stock["forest"].astype("float32")
    return zonal_sums(stock, parcels, layers, "parcels")


def safe_ratio(num: Any, den: Any) -> np.ndarray:
    """num / den, NaN where den <= 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)
