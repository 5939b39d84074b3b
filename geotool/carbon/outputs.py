"""Write the carbon stage's results: stock rasters and the region/parcel/vintage tables."""

from __future__ import annotations

from typing import Any

from geotool.grid import Grid
from geotool.io.outputs import CSV_ENCODING, OutputDir, RasterOutput, write_cogs


def write_carbon_outputs(result: dict[str, Any], od: OutputDir, grid: Grid) -> list[str]:
    """``carbon_t_ha.tif``, ``carbon_stock_source.tif``, ``carbon_regions.csv``,
    ``carbon_vintages.csv`` and, with parcels, ``carbon_parcels.gpkg``/``.csv``."""
    stock = result["stock"]
    write_cogs(
        [
            RasterOutput(
                stock["carbon_t_ha"], od.path("carbon_t_ha.tif"), tags={"units": "t C/ha"}
            ),
            RasterOutput(
                stock["stock_source"],
                od.path("carbon_stock_source.tif"),
                dtype="uint8",
                nodata=0,
                categorical=True,
                tags={"codes": stock["stock_source"].attrs["flag_meanings"]},
            ),
        ],
        grid,
    )
    written = ["carbon_t_ha.tif", "carbon_stock_source.tif", "carbon_regions.csv"]
    result["regions"].to_csv(od.path("carbon_regions.csv"), index=False, encoding=CSV_ENCODING)
    result["vintages"].to_csv(od.path("carbon_vintages.csv"), index=False, encoding=CSV_ENCODING)
    written.append("carbon_vintages.csv")
    if result.get("parcels") is not None:
        table = result["parcels"]
        table.to_file(od.path("carbon_parcels.gpkg"), driver="GPKG")
        table.drop(columns="geometry").to_csv(
            od.path("carbon_parcels.csv"), index=False, encoding=CSV_ENCODING
        )
        written += ["carbon_parcels.gpkg", "carbon_parcels.csv"]
    return written
