"""Forest carbon: stock per pixel, sequestration of new planting, and credits by vintage.

Public API (pure functions over numpy / lazy xarray, plus small frozen dataclasses):

- parameters: :func:`get_species`, :func:`get_zone`, :func:`get_standard` (TOML package data
  in ``geotool/carbon/params``, every value citing its table); :func:`canonical_species` and
  :func:`species_aliases` read species names as 小班 tables write them (杉木, 马尾松, ...);
- stock: :func:`stock_from_agb`, :func:`agb_from_volume`, :func:`forest_mask`,
  :func:`carbon_stock`;
- sequestration: :func:`removals_by_year`, :func:`afforestation_removals`,
  :func:`ipcc_removals_by_year`;
- credits: :class:`CreditInputs`, :class:`CreditResult`, :func:`credit_chain`,
  :func:`monte_carlo_removals`, :func:`half_width_pct`, :func:`deduction_fraction`;
- scopes: :func:`carbon_regions`, :func:`carbon_parcels`, :func:`project_credits`,
  :func:`run_carbon`; configuration: :class:`CarbonConfig`.
"""

from geotool.carbon.config import CarbonConfig
from geotool.carbon.credits import CreditInputs, CreditResult, credit_chain
from geotool.carbon.growth import (
    AfforestationRemovals,
    afforestation_removals,
    ipcc_removals_by_year,
    removals_by_year,
)
from geotool.carbon.params import (
    RootShootClasses,
    Species,
    blend_species,
    canonical_species,
    get_rule,
    get_species,
    get_standard,
    get_zone,
    species_aliases,
    species_names,
    standard_names,
    zone_names,
)
from geotool.carbon.project import carbon_parcels, project_credits, run_carbon
from geotool.carbon.stock import (
    STOCK_SOURCES,
    agb_from_volume,
    carbon_stock,
    co2e_from_carbon,
    forest_mask,
    stock_from_agb,
)
from geotool.carbon.uncertainty import deduction_fraction, half_width_pct, monte_carlo_removals
from geotool.carbon.zonal import carbon_regions

__all__ = [
    "STOCK_SOURCES",
    "AfforestationRemovals",
    "CarbonConfig",
    "CreditInputs",
    "CreditResult",
    "RootShootClasses",
    "Species",
    "afforestation_removals",
    "agb_from_volume",
    "blend_species",
    "canonical_species",
    "carbon_parcels",
    "carbon_regions",
    "carbon_stock",
    "co2e_from_carbon",
    "credit_chain",
    "deduction_fraction",
    "forest_mask",
    "get_rule",
    "get_species",
    "get_standard",
    "get_zone",
    "half_width_pct",
    "ipcc_removals_by_year",
    "monte_carlo_removals",
    "project_credits",
    "removals_by_year",
    "run_carbon",
    "species_aliases",
    "species_names",
    "standard_names",
    "stock_from_agb",
    "zone_names",
]
