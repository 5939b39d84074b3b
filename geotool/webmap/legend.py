"""Legend specs (plain data) and their escaped HTML.

branca's ``ColorMap`` legend draws with d3 loaded from a CDN and writes its caption unescaped, so
a legend here is a small spec turned into self-contained HTML (a CSS gradient or colour swatches)
that :mod:`geotool.webmap.folium_map` puts in a Leaflet control tied to its layer.

Examples
--------
>>> leg = continuous_legend("Score", "viridis", 0.0, 1.0)
>>> leg.colors[0], leg.colors[-1]
('#440154', '#fde725')
>>> "linear-gradient" in legend_html(leg)
True
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from geotool.webmap.compositions import ClassStyle

# 11 stops (every 10 %) reproduce matplotlib's perceptual maps in a CSS gradient without visible
# banding; CSS interpolates linearly in sRGB between stops.
GRADIENT_STOPS = 11
TICKS = 5


@dataclass(frozen=True)
class ContinuousLegend:
    """A colour bar: title, value range and evenly spaced colour stops (hex)."""

    title: str
    vmin: float
    vmax: float
    colors: tuple[str, ...]
    opacity: float = 1.0
    below: bool = False
    above: bool = False


@dataclass(frozen=True)
class CategoricalLegend:
    """Colour swatches: title and (label, hex colour) entries."""

    title: str
    entries: tuple[tuple[str, str], ...]
    opacity: float = 1.0


Legend = ContinuousLegend | CategoricalLegend
"""A legend's ``opacity`` is its layer's, so its colours look like the map's (an overlay at 75 %
over the background is paler than the colormap). ``below``/``above``: the data holds values
under ``vmin``/over ``vmax``, drawn in the end colours (the end ticks then read ≤ / ≥)."""


def continuous_legend(
    title: str,
    cmap: str,
    vmin: float,
    vmax: float,
    opacity: float = 1.0,
    *,
    below: bool = False,
    above: bool = False,
) -> ContinuousLegend:
    """Legend of a matplotlib colormap stretched over ``vmin..vmax``, drawn at ``opacity``;
    ``below``/``above`` say the data reaches past ``vmin``/``vmax``."""
    import matplotlib
    from matplotlib.colors import to_hex

    table = matplotlib.colormaps[cmap]
    colors = tuple(str(to_hex(table(x))) for x in np.linspace(0.0, 1.0, GRADIENT_STOPS))
    return ContinuousLegend(
        title=title,
        vmin=float(vmin),
        vmax=float(vmax),
        colors=colors,
        opacity=opacity,
        below=below,
        above=above,
    )


def classes_legend(
    title: str, classes: tuple[ClassStyle, ...], opacity: float = 1.0
) -> CategoricalLegend:
    """Legend of a class raster, in the order the composition lists the classes."""
    entries = tuple((c.label, c.color) for c in classes)
    return CategoricalLegend(title=title, entries=entries, opacity=opacity)


def format_number(value: float) -> str:
    """A number as popups, tooltips and legend ticks show it: whole numbers from 1,000 up,
    with thousands separators; three significant digits below, where a whole number or a
    value those digits hold exactly drops its trailing zeros (``499.0`` is ``499``, ``0.50``
    is ``0.5``) and a rounded one keeps them (13.95 is ``14.0``).

    >>> format_number(12345.678), format_number(499.0), format_number(12.345)
    ('12,346', '499', '12.3')
    >>> format_number(0.123456), format_number(0.5), format_number(13.952), format_number(-2.0)
    ('0.123', '0.5', '14.0', '-2')
    """
    if value != value:  # NaN
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    rounded = float(f"{value:.3g}")  # three significant digits (999.7 becomes 1000)
    if abs(rounded) >= 1000:
        return f"{value:,.0f}"
    if rounded == 0:
        return "0"
    decimals = max(0, 2 - math.floor(math.log10(abs(rounded))))
    text = f"{rounded:.{decimals}f}"
    short = text.rstrip("0").rstrip(".") if "." in text else text
    # exact at those digits (up to float32 noise: an area of 0.3 stored as 0.300000012)
    return short if abs(float(short) - value) <= 1e-6 * abs(value) else text


def format_tick(value: float) -> str:
    """A legend tick: like :func:`format_number`, millions and billions shortened so five ticks
    fit under a 190 px colour bar.

    >>> format_tick(23_380_069.0), format_tick(4_874_532.0), format_tick(2.5e9), format_tick(937.5)
    ('23.4 M', '4.87 M', '2.5 bn', '938')
    """
    if value == value and abs(value) >= 1e9:
        return f"{value / 1e9:.3g} bn"
    if value == value and abs(value) >= 1e6:
        return f"{value / 1e6:.3g} M"
    return format_number(value)


def legend_html(legend: Legend) -> str:
    """Self-contained, escaped HTML of a legend (no scripts, no external resources)."""
    title = f'<div class="geotool-legend-title">{html.escape(legend.title)}</div>'
    alpha = f";opacity:{min(max(float(legend.opacity), 0.0), 1.0):.2f}"
    if isinstance(legend, CategoricalLegend):
        rows = "".join(
            f'<div class="geotool-legend-row"><span class="geotool-swatch" '
            f'style="background:{html.escape(color)}{alpha}"></span>{html.escape(label)}</div>'
            for label, color in legend.entries
        )
        return title + rows
    stops = ", ".join(html.escape(c) for c in legend.colors)
    step = (legend.vmax - legend.vmin) / (TICKS - 1)
    labels = [format_tick(legend.vmin + i * step) for i in range(TICKS)]
    if legend.below:
        labels[0] = f"≤ {labels[0]}"
    if legend.above:
        labels[-1] = f"≥ {labels[-1]}"
    ticks = "".join(f"<span>{html.escape(label)}</span>" for label in labels)
    return (
        title
        + f'<div class="geotool-ramp" style="background:linear-gradient(to right, {stops}){alpha}">'
        + "</div>"
        + f'<div class="geotool-ticks">{ticks}</div>'
    )


_ACRONYMS = {
    "pv": "PV",
    "pue": "PUE",
    "co2": "CO₂",
    "it": "IT",
    "ghi": "GHI",
    "dem": "DEM",
    "agb": "AGB",
    "ipcc": "IPCC",
}


def phrase(name: str) -> str:
    """A snake_case identifier as lower-case words with acronyms in capitals.

    >>> phrase("pv_yield"), phrase("free_cooling"), phrase("pue")
    ('PV yield', 'free cooling', 'PUE')
    """
    return " ".join(_ACRONYMS.get(p, p) for p in name.split("_") if p)


def words(name: str) -> str:
    """A snake_case identifier as words, acronyms in capitals, first letter upper case.

    >>> words("pv_yield"), words("free_cooling"), words("pue")
    ('PV yield', 'Free cooling', 'PUE')
    """
    text = phrase(name)
    return text[:1].upper() + text[1:]


def _class_label(text: str) -> str:
    """A ``limiting_codes`` label in words.

    >>> _class_label("criterion:pv_yield"), _class_label("constraint:protected_areas")
    ('limited by PV yield', 'excluded: protected areas')
    """
    kind, _, name = text.partition(":")
    if kind == "constraint" and name:
        return f"excluded: {phrase(name)}"
    if kind == "criterion" and name:
        return f"limited by {phrase(name)}"
    return phrase(text) if " " not in text else text


def manifest_classes(
    manifest: dict[str, Any],
    key: str,
    profile: str | None,
    cmap: str,
    values: np.ndarray,
) -> tuple[ClassStyle, ...]:
    """Class styles from a ``{code: label}`` table in the manifest (e.g. ``limiting_codes``).

    The table is ``manifest[key][profile]`` (or ``manifest[key]`` when it maps codes directly).
    Negative codes mean no data and stay transparent; colours cycle through ``cmap`` (use a
    qualitative map such as ``tab10``). Without a table the codes found in the raster are
    shown as "class N".

    >>> m = {"limiting_codes": {"windfarm": {"-1": "nodata", "0": "none",
    ...      "1": "constraint:protected_areas", "2": "criterion:wind_speed"}}}
    >>> [c.label for c in manifest_classes(m, "limiting_codes", "windfarm", "tab10", np.zeros(1))]
    ['none', 'excluded: protected areas', 'limited by wind speed']
    """
    table = manifest.get(key) if key else None
    if isinstance(table, dict) and profile is not None and isinstance(table.get(profile), dict):
        table = table[profile]
    items: list[tuple[int, str]] = []
    if isinstance(table, dict):
        for code, label in table.items():
            try:
                items.append((int(code), str(label)))
            except (TypeError, ValueError):
                continue
    if not items:
        codes = np.unique(values[np.isfinite(values)]).astype(int)
        items = [(int(c), f"class {c}") for c in codes[:64]]
    items = sorted(i for i in items if i[0] >= 0)
    colors = class_colors(cmap, len(items))
    return tuple(
        ClassStyle(value=code, color=color, label=_class_label(label))
        for (code, label), color in zip(items, colors, strict=True)
    )


# Qualitative palettes that extend a 10-colour one without repeating it: tab20 holds tab10's
# colours and a lighter shade of each, tab20b/tab20c 40 more (matplotlib's qualitative maps).
_EXTRA_PALETTES = ("tab20", "tab20b", "tab20c")


def class_colors(cmap: str, n: int) -> tuple[str, ...]:
    """``n`` distinct hex colours for ``n`` classes.

    A qualitative map (``tab10``, ``Set2``, ...: at most 32 colours) gives its colours in order
    and, when there are more classes than colours, is continued with unused colours of
    ``tab20``, ``tab20b`` and ``tab20c`` — never by cycling, which would give two classes one
    colour. A continuous map is sampled evenly.

    >>> colors = class_colors("tab10", 13)
    >>> len(set(colors)), colors[:2]
    (13, ('#1f77b4', '#ff7f0e'))
    """
    import matplotlib
    from matplotlib.colors import to_hex

    table = matplotlib.colormaps[cmap]
    size = getattr(table, "N", 256)
    if size > 32:  # continuous: sample evenly
        return tuple(str(to_hex(table(i / max(n - 1, 1)))) for i in range(n))
    palette = [str(to_hex(table(i))) for i in range(size)]
    for extra in _EXTRA_PALETTES:
        more = matplotlib.colormaps[extra]
        palette += [str(to_hex(more(i))) for i in range(more.N)]
    distinct = list(dict.fromkeys(palette))
    if n > len(distinct):  # more classes than any qualitative palette holds
        return class_colors("turbo", n)
    return tuple(distinct[:n])
