"""Offline maps: inline Leaflet and every plugin instead of folium's CDN links.

folium links Leaflet, jQuery, Bootstrap, Font Awesome and each plugin from CDNs; opened without
network such a page fails with "L is not defined" (folium maintainers call offline use out of
scope, #351, #1368). :func:`make_offline` removes every CDN link from a folium figure and puts the
files' contents in ``<script>``/``<style>`` elements instead: Leaflet from the pinned PyPI package
``xstatic-leaflet``, the plugins from ``geotool/webmap/static`` (see ``static/SOURCES.md``), images
referenced by the CSS as ``data:`` URLs. Resources the maps here do not use (jQuery, Bootstrap,
Font Awesome, awesome-markers) are dropped. A resource with no offline copy is a bug and raises,
and :func:`assert_offline` checks the final HTML once more.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"

# folium's resource name -> (kind, file); None = not needed by geotool's maps, dropped.
_Resource = tuple[str, str] | None
_RESOURCES: dict[str, _Resource] = {
    "leaflet": ("js", "leaflet:leaflet.js"),
    "leaflet_css": ("css", "leaflet:leaflet.css"),
    "jquery": None,
    "bootstrap": None,
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers": None,
    "awesome_markers_css": None,
    "awesome_markers_font_css": None,
    "awesome_rotate_css": None,
    "Control.Fullscreen.js": ("js", "leaflet.fullscreen/Control.FullScreen.js"),
    "Control.FullScreen.css": ("css", "leaflet.fullscreen/Control.FullScreen.css"),
    "leaflet_measure_js": ("js", "leaflet-measure/leaflet-measure.min.js"),
    "leaflet_measure_css": ("css", "leaflet-measure/leaflet-measure.css"),
    "Control_MousePosition_js": ("js", "leaflet-mouse-position/L.Control.MousePosition.js"),
    "Control_MousePosition_css": ("css", "leaflet-mouse-position/L.Control.MousePosition.css"),
    "Leaflet.Sync": ("js", "leaflet.sync/L.Map.Sync.js"),
}
# Leaflet first, its stylesheet next, plugins after (they extend L at load time).
_ORDER = list(_RESOURCES)

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
_SOURCE_MAP = re.compile(r"^\s*(//|/\*)# sourceMappingURL=.*$", re.MULTILINE)


def _file(spec: str) -> Path:
    if spec.startswith("leaflet:"):
        import xstatic.pkg.leaflet

        return Path(xstatic.pkg.leaflet.BASE_DIR) / spec.split(":", 1)[1]
    return STATIC / spec


def _inline_css_urls(css: str, base: Path) -> str:
    def repl(match: re.Match[str]) -> str:
        target = match.group(2).strip()
        if target.startswith(("data:", "#")):
            return match.group(0)
        if "://" in target or target.startswith("//"):
            raise RuntimeError(f"{base}: CSS loads {target} from the network")
        path = base / target
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"url(data:{_MIME[path.suffix.lower()]};base64,{data})"

    return _CSS_URL.sub(repl, css)


@cache
def inline_tag(name: str) -> str:
    """The ``<script>`` or ``<style>`` element holding resource ``name`` (folium's name)."""
    spec = _RESOURCES[name]
    if spec is None:
        return ""
    kind, where = spec
    path = _file(where)
    text = _SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))
    if kind == "css":
        return f"<style>/* {path.name} */\n{_inline_css_urls(text, path.parent)}\n</style>"
    if "</script" in text.lower():
        raise RuntimeError(f"{path}: contains </script> and cannot be inlined as is")
    return f"<script>/* {path.name} */\n{text}\n</script>"


def _walk(element: Any) -> list[Any]:
    out = [element]
    for child in getattr(element, "_children", {}).values():
        out.extend(_walk(child))
    return out


def make_offline(figure: Any) -> list[str]:
    """Replace every CDN link of a folium figure's elements by inlined copies.

    Call after every element is added and before rendering. Returns the names inlined.
    """
    from branca.element import Element

    needed: set[str] = set()
    for element in _walk(figure):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            for name, url in links:
                if name not in _RESOURCES:
                    raise RuntimeError(f"no offline copy of {name} ({url}); add it to assets.py")
                if _RESOURCES[name] is not None:
                    needed.add(name)
            setattr(element, attr, [])  # instance attribute: the class lists stay untouched
    names = [n for n in _ORDER if n in needed]
    for name in names:
        figure.header.add_child(Element(inline_tag(name)), name=f"geotool_{name}")
        if name == "leaflet":
            figure.header.add_child(Element(_default_icon_script()), name="geotool_icons")
    return names


@cache
def _default_icon_script() -> str:
    """Point Leaflet's default marker icon at ``data:`` URLs.

    Leaflet finds its marker images by reading the URL of ``leaflet.css`` and asks for
    ``<folder>/marker-icon.png`` next to it; with inlined CSS that is a missing file next to
    ``map.html`` (markers the measure tool draws would show the error).
    """

    def data_url(name: str) -> str:
        raw = (_file("leaflet:images") / name).read_bytes()
        return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")

    return (
        '<script>L.Icon.Default.imagePath = "";\nL.Icon.Default.mergeOptions({'
        f'iconUrl: "{data_url("marker-icon.png")}", '
        f'iconRetinaUrl: "{data_url("marker-icon-2x.png")}", '
        f'shadowUrl: "{data_url("marker-shadow.png")}"}});</script>'
    )


_REMOTE = re.compile(
    r"<(script|img|iframe)\b[^>]*\bsrc\s*=|<link\b[^>]*\bhref\s*=|@import|url\(\s*['\"]?(https?:)?//",
    re.IGNORECASE,
)


def assert_offline(html: str) -> None:
    """Raise if the page still references an external script, stylesheet or image."""
    match = _REMOTE.search(html)
    if match:
        start = max(match.start() - 80, 0)
        raise RuntimeError(f"map.html would load a resource: ...{html[start : match.end() + 80]}")
