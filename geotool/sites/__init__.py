"""Candidate sites: polygons of the best land of a profile, with attributes and metrics.

:func:`extract_sites` turns an evaluated profile (:func:`geotool.suitability.evaluate`) into
ranked site polygons; :func:`site_metrics` computes a profile's metrics (capacity, energy,
IT load, latency, CO2, removals, heat) for any polygons; :func:`write_sites` writes
``sites_<profile>.gpkg`` / ``.parquet``; :func:`format_top` prints the best N.
Region summaries live in :mod:`geotool.regions`.

Examples
--------
>>> SiteOptions().carbon.species
'chinese_fir'
"""

from geotool.sites.candidates import (
    candidate_mask,
    label_candidates,
    split_large,
    top_share_threshold,
)
from geotool.sites.extract import NO_LIMIT, extract_sites, shortfall_layers
from geotool.sites.layers import metric_layers
from geotool.sites.metrics import lattice_turbines, site_metrics
from geotool.sites.options import METRIC_KINDS, MetricKind, SiteOptions
from geotool.sites.output import format_top, write_sites
from geotool.sites.params import (
    GRID_EMISSION_FACTOR_TCO2_PER_MWH,
    additive_columns,
    capacity_density_mw_per_km2,
    metric_columns,
    metric_kind,
)
from geotool.sites.polygons import label_polygons, separate
from geotool.sites.zonal import label_stats

__all__ = [
    "GRID_EMISSION_FACTOR_TCO2_PER_MWH",
    "METRIC_KINDS",
    "NO_LIMIT",
    "MetricKind",
    "SiteOptions",
    "additive_columns",
    "candidate_mask",
    "capacity_density_mw_per_km2",
    "extract_sites",
    "format_top",
    "label_candidates",
    "label_polygons",
    "label_stats",
    "lattice_turbines",
    "metric_columns",
    "metric_kind",
    "metric_layers",
    "separate",
    "shortfall_layers",
    "site_metrics",
    "split_large",
    "top_share_threshold",
    "write_sites",
]
