#!/usr/bin/env python
"""atlite's land eligibility for the benchmark scene (run with the atlite venv's python).

``ExclusionContainer`` at the scene's CRS and resolution with the same exclusions as the
geotool profile: DEM above 2,000 m and land-cover classes 50/80 (rasters), protected areas,
roads buffered by 500 m and settlements buffered by 1,000 m (geometries, buffered by shapely
as atlite does), then ``shape_availability`` over the scene's bounding box. The mask (1 =
eligible) is saved as ``atlite_eligible.npy`` for the agreement check.

Usage: ``atlite_child.py WORKDIR SIZE``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scene
from _harness import cpu_seconds, report


def above_dem_max(values: Any) -> Any:  # atlite wants a named function, not a lambda
    return values > scene.DEM_MAX_M


def main() -> int:
    folder, size = Path(sys.argv[1]), int(sys.argv[2])
    import atlite
    import geopandas as gpd
    import numpy as np
    import pyogrio  # noqa: F401  (geopandas imports its I/O engine at the first read_file)
    import rasterio.features  # noqa: F401
    import scipy.ndimage  # noqa: F401
    import shapely
    from atlite.gis import ExclusionContainer, shape_availability

    rasters = scene.raster_paths(folder)
    vectors = scene.vector_paths(folder)
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    excluder = ExclusionContainer(crs=scene.CRS, res=scene.RES_M)
    excluder.add_raster(str(rasters["dem"]), codes=above_dem_max, nodata=-9999)
    excluder.add_raster(str(rasters["land_cover"]), codes=list(scene.EXCLUDED_CLASSES))
    excluder.add_geometry(str(vectors["protected_areas"]))
    excluder.add_geometry(str(vectors["roads"]), buffer=scene.ROAD_BUFFER_M)
    excluder.add_geometry(str(vectors["settlements"]), buffer=scene.SETTLEMENT_BUFFER_M)
    # a box 1 cm inside the grid: atlite's padded grid is then exactly the scene's grid
    left, bottom, right, top = scene.bounds(size)
    region = gpd.GeoSeries(
        [shapely.box(left + 0.01, bottom + 0.01, right - 0.01, top - 0.01)], crs=scene.CRS
    )
    mask, transform = shape_availability(region, excluder)
    seconds, cpu1 = time.perf_counter() - t0, cpu_seconds()
    np.save(folder / "atlite_eligible.npy", np.asarray(mask, dtype=np.uint8))
    report(
        {
            "mode": "atlite",
            "shape": list(mask.shape),
            "transform": list(transform)[:6],
            "atlite": atlite.__version__,
        },
        seconds,
        cpu0 + (cpu_seconds() - cpu1),  # the .npy save is not atlite's work
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
