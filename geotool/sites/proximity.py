"""Distances from sites to vector features (demand centres, substations), exact or from rasters.

With the features as a GeoDataFrame the distances are exact (``shapely``, metres in the grid
CRS). Without them, the stack's distance layer is read: at the pixel holding the site's
centroid (a pixel-centre distance, within half a pixel diagonal of the centroid's), or its
minimum over the site's pixels. A raster distance at the layer's cap (``max_distance_m``) is
only a lower bound and is returned as NaN.

Examples
--------
>>> import geopandas as gpd, shapely
>>> pts = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.Point(10, 0)], crs=32649)
>>> nearest_distance_m(np.array([shapely.Point(3, 4)], dtype=object), pts, 32649).tolist()
[5.0]
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import xarray as xr

from geotool.errors import CRSError, InputError


def features_in_crs(gdf: gpd.GeoDataFrame, crs: Any, what: str) -> gpd.GeoDataFrame:
    """``gdf`` reprojected to ``crs``, refusing a missing CRS (never assumed)."""
    if gdf.crs is None:
        raise CRSError(
            f"the {what} features have no CRS",
            where=what,
            fix="set the CRS of the file (relabel with set_crs only if you know it)",
        )
    out = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    return out.to_crs(crs)


def nearest_distance_m(geoms: np.ndarray, features: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    """Distance (m) from each geometry to the nearest feature; NaN when there is none."""
    out = np.full(len(geoms), np.nan)
    feats = features_in_crs(features, crs, "features").geometry.to_numpy()
    if len(geoms) == 0 or len(feats) == 0:
        return out
    tree = shapely.STRtree(feats)
    idx, dist = tree.query_nearest(geoms, return_distance=True, all_matches=False)
    out[idx[0]] = dist
    return out


def filter_voltage(features: gpd.GeoDataFrame, min_kv: float, what: str) -> gpd.GeoDataFrame:
    """Rows with ``voltage_kv >= min_kv`` (the catalog's substations attribute)."""
    if "voltage_kv" not in features.columns:
        raise InputError(
            f"the {what} have no 'voltage_kv' column",
            where=what,
            fix="give the highest voltage of each substation in kV (OSM volts / 1000)",
        )
    kv = np.asarray(features["voltage_kv"], dtype=float)
    return features[kv >= min_kv]


def uncapped(values: np.ndarray, layer: xr.DataArray) -> np.ndarray:
    """NaN where a distance layer value sits at its cap (``attrs['max_distance_m']``)."""
    cap = layer.attrs.get("max_distance_m")
    if cap is None:
        return values
    return np.where(values >= float(cap) - 1e-6, np.nan, values)
