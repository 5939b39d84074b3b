"""Interactive offline web maps of pipeline outputs (the only place that imports folium).

``render_map(outdir)`` reads ``score_<profile>.tif``, ``sites_<profile>.gpkg``, region summaries
and ``manifest.json`` through a map composition (``maps/*.toml``), builds a plain-data render
model (:mod:`geotool.webmap.model`) and hands it to folium (:mod:`geotool.webmap.folium_map`),
with Leaflet and every plugin inlined so ``map.html`` works from disk without network.
"""

from geotool.webmap.compositions import (
    Composition,
    composition_dir,
    list_compositions,
    load_composition,
)
from geotool.webmap.model import MapModel, build_model
from geotool.webmap.render import DEFAULT_MAX_SIZE, render_map

__all__ = [
    "DEFAULT_MAX_SIZE",
    "Composition",
    "MapModel",
    "build_model",
    "composition_dir",
    "list_compositions",
    "load_composition",
    "render_map",
]
