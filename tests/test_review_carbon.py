"""Review of the carbon domain: areas in the stock's CRS, bad inputs, inapplicable settings.

Expected values are analytic: a 100 ft pixel is 30.48 m x 30.48 m = 0.0929 ha (not 1 ha);
Web Mercator's areal scale is 1 / cos^2(latitude), +21.4 % at 24.8 N (Shaoguan).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import xarray as xr
from pyproj import Transformer
from shapely.geometry import box

from geotool.carbon import CarbonConfig, CreditInputs, carbon_stock, credit_chain, get_standard
from geotool.carbon.project import carbon_parcels
from geotool.carbon.zonal import carbon_regions, pixel_area_ha
from geotool.errors import ConfigError, CRSError, InputError

LON, LAT = 113.6, 24.8  # Shaoguan, Guangdong


def _stock(crs: str, x0: float, y0: float, res: float = 100.0) -> xr.Dataset:
    """A 4 x 4 AGB map of 100 t/ha, pixel centres from (x0, y0) eastwards and southwards."""
    ds = xr.Dataset(
        {"biomass": (("y", "x"), np.full((4, 4), 100.0, "float32"))},
        coords={"x": x0 + res * (np.arange(4) + 0.5), "y": y0 - res * (np.arange(4) + 0.5)},
        attrs={"crs": crs},
    )
    return carbon_stock(ds, CarbonConfig())


def _at_shaoguan(crs: str) -> tuple[float, float]:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(LON, LAT)


def test_utm_pixels_at_shaoguan_are_one_hectare() -> None:
    x, y = _at_shaoguan("EPSG:32649")
    assert pixel_area_ha(_stock("EPSG:32649", x, y)) == pytest.approx(1.0)  # 100 m x 100 m


def test_a_stock_in_feet_is_refused() -> None:
    # EPSG:2263 (NY Long Island, US survey feet): 100-unit pixels are 0.0929 ha, not 1 ha;
    # geotool used to divide ft^2 by 1e4 and report 10.76x the area (and stock)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2263", always_xy=True).transform(-73.9, 40.7)
    with pytest.raises(CRSError, match="metric"):
        pixel_area_ha(_stock("EPSG:2263", x, y))


def test_a_stock_in_web_mercator_is_refused_where_it_inflates_areas() -> None:
    # flat areas in EPSG:3857 are 1 / cos^2(24.8 deg) = 1.2135x the true area at Shaoguan
    assert 1.0 / math.cos(math.radians(LAT)) ** 2 == pytest.approx(1.2135, abs=1e-4)
    x, y = _at_shaoguan("EPSG:3857")
    stock = _stock("EPSG:3857", x, y)
    with pytest.raises(CRSError, match="distorts areas"):
        pixel_area_ha(stock)
    units = gpd.GeoDataFrame({"n": ["a"]}, geometry=[box(x, y - 400, x + 400, y)], crs=3857)
    with pytest.raises(CRSError, match="distorts areas"):
        carbon_regions(stock, units, id_field="n")


def test_parcels_without_a_crs_get_a_one_line_crs_error() -> None:
    x, y = _at_shaoguan("EPSG:32649")
    stock = _stock("EPSG:32649", x, y)
    naive = gpd.GeoDataFrame({"pid": ["p"]}, geometry=[box(x, y - 200, x + 200, y)])
    with pytest.raises(CRSError, match="no CRS") as err:
        carbon_parcels(stock, naive, CarbonConfig(), id_field="pid")
    assert "\n" not in str(err.value) and err.value.where == "parcels"


def test_credit_inputs_of_another_length_than_the_vintages_name_the_field() -> None:
    with pytest.raises(InputError, match="3 vintages") as err:
        credit_chain(CreditInputs((1, 2, 3), [1.0, 2.0], 0.0, 0.0, 5.0, get_standard("ccer")))
    assert err.value.where == "gross_removals_tco2e"


@pytest.mark.parametrize("standard", ["ccer", "gold_standard"])
def test_a_risk_tool_result_for_a_fixed_buffer_standard_is_refused(standard: str) -> None:
    # CCER (no buffer) and Gold Standard (fixed 20 % compliance buffer) ignore the VCS AFOLU
    # Non-Permanence Risk Tool: a buffer_risk_pct given for them was silently dropped
    with pytest.raises(ConfigError, match="buffer_risk_pct") as err:
        CarbonConfig(standard=standard, buffer_risk_pct=15.0)
    assert "vcs" in str(err.value)
    assert CarbonConfig(standard="vcs", buffer_risk_pct=15.0).buffer_pct() == 15.0
