"""Hand a :class:`MapModel` to folium: one self-contained, offline HTML page.

Image and GeoJSON data are written once into a ``geotoolData`` script and referenced by key, so a
side-by-side comparison (folium's ``DualMap``) does not embed them twice. Layers are folium
``Layer`` subclasses, so folium's ``LayerControl`` lists them. Each legend is a Leaflet control
that follows its layer's ``add``/``remove`` events — which fire for the layer control's
``overlayadd``/``overlayremove`` and for programmatic toggles alike — because folium's legends do
not follow layer visibility (folium #450, #1052). Presenter tools: layer control, scale bar,
full screen, measure, mouse position, title and an info panel saying which inputs are synthetic.
A small ``window.geotool`` object exposes the maps and layers (used by the browser tests).
"""

from __future__ import annotations

import html
import json
import time
from typing import Any, cast

import folium
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.plugins import DualMap, Fullscreen, MeasureControl, MousePosition
from folium.template import Template

import geotool
from geotool.webmap.assets import assert_offline, make_offline
from geotool.webmap.compositions import PROFILE_LABELS
from geotool.webmap.legend import legend_html
from geotool.webmap.model import ImageOverlay, MapModel, VectorOverlay
from geotool.webmap.raster import png_data_url

RASTER_PANE = "geotoolRasters"
# Vector layers bottom to top: filled region choropleths and areas under candidate sites, points
# on top — whatever order the presenter ticks them in, a site stays visible and clickable.
STACK_ORDER = {"regions": 0, "areas": 1, "sites": 2, "points": 3}

# Chinese region names: Chinese system fonts are named after the Latin ones, so Han characters
# take Simplified Chinese glyph forms (a browser left to pick a fallback may choose a Japanese
# font on a non-Chinese system: Han unification, Unicode Standard §18.1).
_FONTS = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Microsoft YaHei", '
    '"PingFang SC", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif'
)
# Assumption: legend text at 14 px (ticks 13 px) — Leaflet's controls use 12 px, sized for a
# desk screen; a legend read off a 1024×768 projector needs larger type than that.
LEGEND_FONT_PX = 14
# Buttons and the cursor readout mean nothing on paper: a printed map keeps the title, layer
# list, legends, scale bar and the note on synthetic inputs.
PRINT_HIDDEN = (
    ".leaflet-control-zoom",
    ".leaflet-control-zoom-fullscreen",
    ".leaflet-control-measure",
    ".leaflet-control-mouseposition",
)

_CSS = f"""
.leaflet-container {{ background: #f4f3ef; font: 13px/1.35 {_FONTS}; }}
.leaflet-container .geotool-legend {{ font-size: {LEGEND_FONT_PX}px; }}
.geotool-legend .geotool-ticks {{ font-size: {LEGEND_FONT_PX - 1}px; }}
@media print {{ {", ".join(PRINT_HIDDEN)} {{ display: none; }} }}
"""
_CSS += """
.geotool-image { image-rendering: pixelated; }
.geotool-title { background: rgba(255,255,255,.93); padding: 6px 12px; border-radius: 6px;
  box-shadow: 0 1px 5px rgba(0,0,0,.35); font-weight: 600; font-size: 16px; max-width: 340px; }
.geotool-title small { display: block; font-weight: 600; font-size: 13px; color: #08519c; }
.geotool-legend, .geotool-info { background: rgba(255,255,255,.93); border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,.4); }
.geotool-legend { padding: 6px 8px; min-width: 230px; }
.geotool-legends { overflow-y: auto; overscroll-behavior: contain; padding: 0 4px 2px 6px;
  margin-right: 6px !important; }
.geotool-legends:empty { display: none; }
.geotool-legends .geotool-legend { margin-top: 8px; }
.geotool-legends .geotool-legend:first-child { margin-top: 2px; }
.geotool-legend-title { font-weight: 600; margin-bottom: 3px; }
.geotool-ramp { height: 12px; border: 1px solid #888; }
.geotool-ticks { display: flex; justify-content: space-between; }
.geotool-legend-row { line-height: 20px; }
.geotool-swatch { display: inline-block; width: 14px; height: 14px; margin-right: 6px;
  border: 1px solid #777; vertical-align: middle; }
.geotool-info { padding: 6px 9px; max-width: 360px; font-size: 12px; }
.geotool-info summary { cursor: pointer; font-weight: 600; }
.geotool-warning { color: #a50026; font-weight: 600; }
.geotool-popup-title { font-weight: 700; font-size: 14px; margin-bottom: 4px; }
.geotool-table th { text-align: left; font-weight: 500; color: #333; padding-right: 10px; }
.geotool-table td { text-align: right; }
.geotool-sub { text-align: left !important; font-style: italic; color: #555; padding-top: 4px; }
.geotool-bar { display: inline-block; width: 60px; height: 8px; background: #eee;
  border: 1px solid #bbb; vertical-align: middle; }
.geotool-bar span { display: block; height: 100%; background: #1a9850; }
"""

_RUNTIME = """
(function () {
  "use strict";
  var g = {maps: [], layers: {}, legends: []};
  g.addMap = function (map) { g.maps.push(map); return map; };
  g.register = function (key, name, layer, z) {
    layer.geotoolKey = key;
    layer.geotoolName = name;
    (g.layers[key] = g.layers[key] || []).push(layer);
    if (typeof z === "number") {
      // vector layers share one SVG: the last one added is drawn on top and takes the clicks,
      // so after every add they are put back in a fixed order (regions under sites)
      layer.geotoolZ = z;
      layer.on("add", function () { g.restack(layer._map); });
    }
    return layer;
  };
  g.restack = function (map) {
    if (!map) { return; }
    Object.values(g.layers).flat()
      .filter(function (l) { return typeof l.geotoolZ === "number" && map.hasLayer(l); })
      .sort(function (a, b) { return a.geotoolZ - b.geotoolZ; })
      .forEach(function (l) { l.bringToFront(); });
  };
  g.bind = function (feature, layer) {
    var p = feature.properties || {};
    if (p._popup) { layer.bindPopup(p._popup, {maxWidth: 380}); }
    if (p._tooltip) { layer.bindTooltip(p._tooltip, {sticky: true}); }
  };
  g.style = function (base) {
    return function (feature) {
      var s = L.extend({}, base), p = feature.properties || {};
      if (p._fill) { s.fillColor = p._fill; }
      return s;
    };
  };
  g.point = function (base) {
    return function (feature, latlng) { return L.circleMarker(latlng, base); };
  };
  g.legend = function (map, layer, html) {
    // every legend of a map goes into one column at the bottom right that scrolls within the
    // height the layer list leaves free: three stacked legends reached up into the list on a
    // 1024 x 768 projector. Shown legends keep the order of their layers in the list.
    var column = g.legendColumn(map);
    var div = L.DomUtil.create("div", "geotool-legend");
    div.innerHTML = html;
    div.geotoolOrder = g.legends.length;
    function show() {
      var next = [].find.call(column.children, function (el) {
        return el.geotoolOrder > div.geotoolOrder;
      });
      column.insertBefore(div, next || null);
      g.fitLegends(map);
    }
    layer.on("add", show);
    layer.on("remove", function () { L.DomUtil.remove(div); });
    if (map.hasLayer(layer)) { show(); }
    g.legends.push({layer: layer, element: div});
    return div;
  };
  g.legendColumn = function (map) {
    if (!map.geotoolLegends) {
      var ctrl = L.control({position: "bottomright"});
      ctrl.onAdd = function () {
        var div = L.DomUtil.create("div", "geotool-legends");
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);  // the wheel scrolls legends, not the map
        return div;
      };
      map.geotoolLegends = ctrl.addTo(map).getContainer();
      map.on("resize", function () { g.fitLegends(map); });
    }
    return map.geotoolLegends;
  };
  g.fitLegends = function (map) {
    // the column sits on top of the other bottom-right controls (the cursor readout) and
    // reaches up to a gap below the top-right panels (title and layer list)
    var column = map.geotoolLegends, gap = 10;
    if (!column) { return; }
    var corner = map._controlCorners.bottomright;
    if (corner.firstChild !== column) { corner.insertBefore(column, corner.firstChild); }
    var room = column.getBoundingClientRect().bottom -
      map._controlCorners.topright.getBoundingClientRect().bottom - gap;
    column.style.maxHeight = Math.max(room, 60) + "px";
  };
  g.panel = function (map, position, cls, html) {
    var ctrl = L.control({position: position});
    ctrl.onAdd = function () {
      var div = L.DomUtil.create("div", cls);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    return ctrl.addTo(map);
  };
  g.fit = function (map, bounds) {
    g.fitLegends(map);
    // the region in the part of the map the panels leave free (the title and layer list on
    // the right, the zoom buttons on the left: on a 1024 px projector the list covered a
    // third of the region) when that costs no zoom level, else in the whole map. No
    // animation: a screenshot or print right after loading shows the final view and scale.
    var corners = map._controlCorners, pad = 10;
    var left = corners.topleft.offsetWidth, right = corners.topright.offsetWidth;
    var whole = {padding: [pad, pad], animate: false};
    var free = {paddingTopLeft: [left + pad, pad], paddingBottomRight: [right + pad, pad],
                animate: false};
    var zWhole = map.getBoundsZoom(bounds, false, L.point(2 * pad, 2 * pad));
    var zFree = map.getBoundsZoom(bounds, false, L.point(left + right + 2 * pad, 2 * pad));
    map.fitBounds(bounds, zFree >= zWhole ? free : whole);
  };
  window.geotool = g;
})();
"""


def _script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>``, no U+2028)."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class _ImageLayer(Layer):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geotool.register(
            {{ this.key|tojson }}, {{ this.title|tojson }}, L.imageOverlay(
            geotoolData.images[{{ this.key|tojson }}], {{ this.bounds|tojson }},
            {{ this.options|tojson }}));
        {% endmacro %}
        """
    )

    def __init__(self, overlay: ImageOverlay, show: bool) -> None:
        super().__init__(name=html.escape(overlay.name), overlay=True, control=True, show=show)
        self._name = "ImageLayer"
        self.key = overlay.key
        self.title = overlay.name
        self.bounds = [list(corner) for corner in overlay.bounds]
        self.options = {
            "opacity": overlay.opacity,
            "interactive": False,
            "className": "geotool-image",
            "pane": RASTER_PANE,
            "alt": overlay.name,
        }


class _GeoJsonLayer(Layer):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = geotool.register(
            {{ this.key|tojson }}, {{ this.title|tojson }}, L.geoJSON(
            geotoolData.geojson[{{ this.key|tojson }}], {
                style: geotool.style({{ this.style|tojson }}),
                pointToLayer: geotool.point({{ this.style|tojson }}),
                onEachFeature: geotool.bind
            }), {{ this.z|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, overlay: VectorOverlay, show: bool) -> None:
        super().__init__(name=html.escape(overlay.name), overlay=True, control=True, show=show)
        self._name = "GeoJsonLayer"
        self.key = overlay.key
        self.title = overlay.name
        self.style = overlay.style
        # drawing order, bottom to top; within a kind, the composition's order
        self.z = STACK_ORDER[overlay.kind] * 1000 + int(overlay.key.lstrip("v") or 0)


class _Script(MacroElement):
    """A snippet run with ``map`` (the parent map) and ``layer`` (the parent layer) in scope."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, layer) { {{ this.code }} })(
            {{ this.map_name() }}, {{ this.layer_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "GeotoolScript"
        self.code = code

    def map_name(self) -> str:
        parent = self._parent
        while parent is not None and not isinstance(parent, folium.Map):
            parent = parent._parent
        assert parent is not None, "a geotool script must sit inside a map"
        return str(parent.get_name())

    def layer_name(self) -> str:
        return str(self._parent.get_name()) if isinstance(self._parent, Layer) else "null"


SCORE_NOTE = "Scores are 0 (unsuitable) to 1 (best); grey/transparent = excluded or no data."
NO_DATA_NOTE = "Transparent = no data."


def reading_note(model: MapModel) -> str:
    """How to read the map's colours: the 0–1 score scale only when it shows a score raster
    (``score_<profile>.tif``; a carbon map has none), else what transparent means."""
    if any(img.source.startswith("score_") for img in model.images):
        return SCORE_NOTE
    return NO_DATA_NOTE


def _info_html(model: MapModel) -> str:
    prov = model.provenance
    warning = [f'<div class="geotool-warning">{html.escape(line)}</div>' for line in prov.warnings]
    notes = [f'<div class="geotool-note">{html.escape(line)}</div>' for line in prov.notes]
    body = [f"<p>{html.escape(model.description)}</p>"] if model.description else []
    if model.missing:
        body.append(
            "<p>Not in this output folder (skipped): "
            + html.escape(", ".join(sorted(set(model.missing))))
            + "</p>"
        )
    made = time.strftime("%Y-%m-%d")
    body.append(
        f"<p>Made with geotool {html.escape(geotool.__version__)} on {made}. "
        f"{html.escape(reading_note(model))}</p>"
    )
    return (
        "".join(warning)
        + "".join(notes)
        + "<details><summary>About this map</summary>"
        + "".join(body)
        + "</details>"
    )


def _shown(layer: ImageOverlay | VectorOverlay, side: str | None) -> bool:
    if side is None or layer.profile is None:
        return layer.show
    return layer.show_for_profile and layer.profile == side


def _populate(m: folium.Map, model: MapModel, side: str | None, caption: str = "") -> None:
    # rasters in their own pane below the vector pane, so toggling a raster on never hides
    # sites or regions drawn earlier (Leaflet panes: tiles 200, overlays 400)
    m.add_child(_Script(f'map.createPane("{RASTER_PANE}").style.zIndex = 350;'))
    for img in model.images:
        layer = _ImageLayer(img, _shown(img, side))
        if img.legend is not None:
            html_text = _script_json(legend_html(img.legend))
            layer.add_child(_Script(f"geotool.legend(map, layer, {html_text});"))
        m.add_child(layer)
    for vec in model.vectors:
        vlayer = _GeoJsonLayer(vec, _shown(vec, side))
        if vec.legend is not None:
            html_text = _script_json(legend_html(vec.legend))
            vlayer.add_child(_Script(f"geotool.legend(map, layer, {html_text});"))
        m.add_child(vlayer)
    if model.online_basemap:
        folium.TileLayer(
            "OpenStreetMap", name="OpenStreetMap (online only)", overlay=True, show=False
        ).add_to(m)
    subtitle = f"<small>{html.escape(caption)}</small>" if caption else ""
    title = _script_json(f"{html.escape(model.title)}{subtitle}")
    info = _script_json(_info_html(model))
    m.add_child(_Script(f'geotool.panel(map, "topright", "geotool-title", {title});'))
    m.add_child(_Script(f'geotool.panel(map, "bottomleft", "geotool-info", {info});'))
    m.add_child(_Script('L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);'))
    Fullscreen(position="topleft", title="Full screen", title_cancel="Exit full screen").add_to(m)
    MeasureControl(
        position="topleft",
        primary_length_unit="kilometers",
        secondary_length_unit="meters",
        primary_area_unit="hectares",
        secondary_area_unit="sqmeters",
    ).add_to(m)
    MousePosition(
        position="bottomright", separator=", ", prefix="lat, lon:", empty_string="lat, lon"
    ).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    (south, west), (north, east) = model.bounds
    bounds = _script_json([[south, west], [north, east]])
    m.add_child(_Script(f"geotool.fit(map, {bounds}); geotool.addMap(map);"))


def _data_script(model: MapModel) -> str:
    data = {
        "images": {img.key: png_data_url(img.rgba) for img in model.images},
        "geojson": {vec.key: vec.geojson for vec in model.vectors},
    }
    return f"<script>var geotoolData = {_script_json(data)};</script>"


def render_html(model: MapModel) -> str:
    """The complete, offline HTML page of a map model."""
    (south, west), (north, east) = model.bounds
    center = [(south + north) / 2.0, (west + east) / 2.0]
    figure: Figure
    if model.compare is None:
        single = folium.Map(location=center, zoom_start=9, tiles=None, control_scale=False)
        _populate(single, model, None)
        figure = cast(Figure, single.get_root())
    else:
        dual = DualMap(location=center, zoom_start=9, tiles=None, control_scale=False)
        left, right = model.compare
        _populate(dual.m1, model, left, f"Left: {PROFILE_LABELS.get(left, left)}")
        _populate(dual.m2, model, right, f"Right: {PROFILE_LABELS.get(right, right)}")
        figure = cast(Figure, dual.get_root())
    make_offline(figure)
    figure.header.add_child(Element(f"<title>{html.escape(model.title)}</title>"), name="title")
    figure.header.add_child(Element(f"<style>{_CSS}</style>"), name="geotool_css")
    figure.header.add_child(Element(f"<script>{_RUNTIME}</script>"), name="geotool_runtime")
    figure.header.add_child(Element(_data_script(model)), name="geotool_data")
    page = str(figure.render())
    assert_offline(page)
    return page
