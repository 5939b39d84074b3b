"""map.html in headless Chromium, opened from disk with every network request blocked.

Debian's ``/usr/bin/chromium`` is driven by Playwright (``executable_path``; no
``playwright install``). Without it these tests FAIL: CI installs it (``make sysdeps``).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from shapely.geometry import Point

from geotool.webmap import render_map
from tests.test_webmap_data import (
    EVIL_REGION,
    EVIL_SUBSTATION,
    SITE_SCORE,
    Output,
    build_output,
)

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]
VIEWPORT = {"width": 1400, "height": 900}
SITE_RGBA = np.asarray(matplotlib.colormaps["viridis"](SITE_SCORE, bytes=True), dtype=int)
WINDFARM_OVERLAYS = [
    "Suitability",
    "What limits the score",
    "Stability of the score",
    "Land cover (ESA WorldCover classes)",
    "County boundaries",  # the region units, from regions_windfarm.gpkg
    "Potential by county",
    "Candidate sites",
    "Substations",
    "OpenStreetMap (online only)",
]


@dataclass
class Log:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)  # every non-file, non-data URL attempted
    files: list[str] = field(default_factory=list)

    def assert_clean(self, page_url: str) -> None:
        assert self.console_errors == []
        assert self.page_errors == []
        assert self.dialogs == []
        assert self.network == []
        assert self.files == [page_url]  # the page itself, nothing next to it


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Output:
    return build_output(tmp_path_factory.mktemp("browser") / "out")


def _render(out: Output, tmp: Path, name: str, composition: str) -> Path:
    folder = tmp / name
    shutil.copytree(out.folder, folder)
    return render_map(folder, composition=composition)


@pytest.fixture(scope="module")
def windfarm_html(out: Output, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(out, tmp_path_factory.mktemp("wf"), "wf", "windfarm")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make sysdeps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _open(
    browser: Any, html: Path, maps: int = 1, viewport: dict[str, int] = VIEWPORT
) -> tuple[Any, Log]:
    """Open a map with all network blocked; wait until Leaflet and the overlays are ready."""
    log = Log()
    context = browser.new_context(viewport=viewport)

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith("file:"):
            log.files.append(url)
            r.continue_()
        elif url.startswith("data:"):
            r.continue_()
        else:
            log.network.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    page.on("dialog", lambda d: (log.dialogs.append(d.message), d.dismiss()))
    page.on("requestfailed", lambda r: log.console_errors.append(f"failed: {r.url[:120]}"))
    page.goto(html.as_uri())
    page.wait_for_function(f"window.geotool && geotool.maps.length === {maps}")
    page.wait_for_function(
        "[...document.querySelectorAll('img.geotool-image')].every(i => i.complete)"
    )
    return page, log


def _layer(name: str, map_index: int = 0) -> str:
    """JS expression of the layer called ``name`` on map ``map_index`` (maps register in order)."""
    return (
        f"Object.values(geotool.layers).flat().filter(l => l.geotoolName === {name!r})[{map_index}]"
    )


def _click_point(page: Any, lat: float, lon: float, map_index: int = 0) -> tuple[float, float]:
    """Page coordinates of a lat/lon on a map."""
    xy = page.evaluate(
        """([i, lat, lon]) => {
            const m = geotool.maps[i], p = m.latLngToContainerPoint([lat, lon]);
            const r = m.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [map_index, lat, lon],
    )
    return float(xy[0]), float(xy[1])


def test_map_opens_offline_with_every_overlay_legend_and_site(
    browser: Any, windfarm_html: Path, tmp_path: Path
) -> None:
    started = time.perf_counter()
    page, log = _open(browser, windfarm_html)
    ready_s = time.perf_counter() - started
    assert page.evaluate("L.version") == "1.9.3"
    assert page.evaluate("typeof jQuery") == "undefined"  # nothing from folium's CDN list
    labels = page.eval_on_selector_all(
        ".leaflet-control-layers-overlays label", "els => els.map(e => e.textContent.trim())"
    )
    assert labels == WINDFARM_OVERLAYS
    # put every image overlay on the map and check each image decoded
    sizes = page.evaluate(
        """async () => {
            const map = geotool.maps[0];
            const imgs = Object.values(geotool.layers).flat().filter(l => l instanceof L.ImageOverlay);
            for (const l of imgs) { if (!map.hasLayer(l)) l.addTo(map); }
            await Promise.all(imgs.map(l => l.getElement().decode()));
            return imgs.map(l => [l.geotoolName, l.getElement().naturalWidth]);
        }"""
    )
    assert [n for n, _ in sizes] == WINDFARM_OVERLAYS[:4]
    assert all(w > 0 for _, w in sizes)
    page.click("text=Potential by county")
    legends = page.eval_on_selector_all(
        ".geotool-legend .geotool-legend-title", "els => els.map(e => e.textContent)"
    )
    assert len(legends) == 5 and any("Potential by county" in t for t in legends)
    page.click("text=Stability of the score")  # layer control -> overlayremove
    legends_after = page.eval_on_selector_all(
        ".geotool-legend .geotool-legend-title", "els => els.map(e => e.textContent)"
    )
    assert len(legends_after) == 4 and not any("Stability" in t for t in legends_after)
    sites = page.evaluate(
        f"""() => {_layer("Candidate sites")}.getLayers().map(
            l => [l.feature.properties.site_id, document.contains(l.getElement())])"""
    )
    assert sorted(sites) == [[101, True], [102, True], [103, True]]
    info = page.inner_text(".geotool-info")
    assert "Synthetic inputs (not real data): elevation (DEM), wind speed at 100 m." in info
    for control in (
        ".leaflet-control-layers",
        ".leaflet-control-scale",
        ".leaflet-control-zoom-fullscreen",
        ".leaflet-control-measure",
        ".leaflet-control-mouseposition",
        ".geotool-title",
    ):
        assert page.locator(control).count() == 1, control
    page.mouse.move(700, 450)
    assert "24." in page.inner_text(".leaflet-control-mouseposition")
    shot = tmp_path / "windfarm.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    log.assert_clean(windfarm_html.as_uri())
    print(f"windfarm map ready in {ready_s:.2f} s")


def test_clicking_a_site_shows_rank_and_score(
    browser: Any, windfarm_html: Path, out: Output
) -> None:
    page, log = _open(browser, windfarm_html)
    top = out.sites.set_index("site_id").loc[[102]].to_crs("EPSG:4326").representative_point()
    lon, lat = top.iloc[0].x, top.iloc[0].y
    page.evaluate(f"geotool.maps[0].setView([{lat}, {lon}], 12, {{animate: false}})")
    page.mouse.click(*_click_point(page, lat, lon))
    page.wait_for_selector(".leaflet-popup-content")
    text = page.inner_text(".leaflet-popup-content")
    assert "Site 102" in text
    assert "Rank\t1" in text or "Rank 1" in text
    assert "Score (0–1)\t0.95" in text or "Score (0–1) 0.95" in text
    assert "Wind speed" in text and "Capacity (MW)" in text
    log.assert_clean(windfarm_html.as_uri())


def test_overlay_pixels_line_up_with_site_polygons(
    browser: Any, windfarm_html: Path, out: Output
) -> None:
    """250 m inside each site the overlay shows the site score; 250 m outside it does not.

    One overlay pixel is ~110 m, so this holds only if raster and polygons agree to ~1 pixel.
    """
    page, log = _open(browser, windfarm_html)
    for site_id, geom in zip(out.sites["site_id"], out.sites.geometry, strict=True):
        inside = geom.buffer(-250).representative_point()
        maxx = geom.bounds[2]
        outside = Point(maxx + 250, inside.y)
        pts = (
            out.sites.iloc[:0]
            .set_geometry([inside, outside], crs=out.sites.crs)
            .to_crs("EPSG:4326")
            .geometry
        )
        page.evaluate(
            f"geotool.maps[0].setView([{pts.iloc[0].y}, {pts.iloc[0].x}], 13, {{animate: false}})"
        )
        for pt, is_inside in zip(pts, (True, False), strict=True):
            rgba, contains = page.evaluate(
                f"""async ([lat, lon]) => {{
                    const map = geotool.maps[0];
                    const site = {_layer("Candidate sites")}.getLayers().find(
                        l => l.feature.properties.site_id === {int(site_id)});
                    const contains = site._containsPoint(map.latLngToLayerPoint([lat, lon]));
                    const img = {_layer("Suitability")}.getElement();
                    await img.decode();
                    const r = img.getBoundingClientRect(), c = map.latLngToContainerPoint([lat, lon]);
                    const box = map.getContainer().getBoundingClientRect();
                    const ix = Math.floor((box.left + c.x - r.left) / r.width * img.naturalWidth);
                    const iy = Math.floor((box.top + c.y - r.top) / r.height * img.naturalHeight);
                    const canvas = document.createElement("canvas");
                    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
                    const ctx = canvas.getContext("2d");
                    ctx.drawImage(img, 0, 0);
                    return [Array.from(ctx.getImageData(ix, iy, 1, 1).data), contains];
                }}""",
                [pt.y, pt.x],
            )
            assert contains is is_inside, (site_id, is_inside)
            diff = np.abs(np.asarray(rgba) - SITE_RGBA).max()
            assert rgba[3] == 255
            assert (diff <= 3) if is_inside else (diff > 30), (site_id, is_inside, rgba)
    log.assert_clean(windfarm_html.as_uri())


def test_region_and_substation_names_are_text_and_run_nothing(
    browser: Any, windfarm_html: Path, out: Output
) -> None:
    page, log = _open(browser, windfarm_html)
    page.click("text=Potential by county")
    page.click("text=Substations")
    regions = out.regions.to_crs("EPSG:4326")
    evil = regions[regions["region"] == EVIL_REGION].geometry.representative_point().iloc[0]
    page.evaluate(f"geotool.maps[0].setView([{evil.y}, {evil.x}], 10, {{animate: false}})")
    page.mouse.move(*_click_point(page, evil.y, evil.x))
    page.mouse.move(*[v + 3 for v in _click_point(page, evil.y, evil.x)])
    tip = page.wait_for_selector(".leaflet-tooltip")
    assert EVIL_REGION in tip.text_content()
    assert "Eligible area (km²): 150Potential" in tip.text_content()  # 150.25, 3 digits
    assert tip.query_selector("script") is None
    point = page.evaluate(
        f"""() => {_layer("Substations")}.getLayers().map(
            l => [l.getLatLng().lat, l.getLatLng().lng])[1]"""
    )
    page.evaluate(f"geotool.maps[0].setView([{point[0]}, {point[1]}], 11, {{animate: false}})")
    page.mouse.move(*_click_point(page, point[0], point[1]))
    page.wait_for_function(
        "[...document.querySelectorAll('.leaflet-tooltip')].some(t => t.textContent.includes('onerror'))"
    )
    tips = page.eval_on_selector_all(
        ".leaflet-tooltip", "els => els.map(e => [e.textContent, e.querySelector('img') === null])"
    )
    assert any(EVIL_SUBSTATION in text and no_img for text, no_img in tips)
    # open every region popup as well: the name is text there too
    page.evaluate(
        f"""() => {_layer("Potential by county")}.getLayers().forEach(l => l.openPopup())"""
    )
    assert page.evaluate("document.querySelectorAll('.leaflet-popup-content script').length") == 0
    page.wait_for_timeout(200)
    log.assert_clean(windfarm_html.as_uri())


def test_compare_map_shows_two_synchronised_profiles(
    browser: Any, out: Output, tmp_path: Path
) -> None:
    html = _render(out, tmp_path, "cmp", "compare")
    page, log = _open(browser, html, maps=2)
    shown = page.evaluate(
        """() => geotool.maps.map(m => Object.values(geotool.layers).flat()
              .filter(l => m.hasLayer(l)).map(l => l.geotoolName))"""
    )
    assert shown == [
        ["Wind farm — suitability", "County boundaries", "Wind farm — candidate sites"],
        ["Solar farm — suitability", "County boundaries"],
    ]
    titles = page.eval_on_selector_all(".geotool-title small", "els => els.map(e => e.textContent)")
    assert titles == ["Left: Wind farm", "Right: Solar farm"]
    legends = page.eval_on_selector_all(
        ".geotool-legend-title", "els => els.map(e => e.textContent)"
    )
    assert legends == [
        "Wind farm — suitability (score 0–1)",
        "Solar farm — suitability (score 0–1)",
    ]
    moved = page.evaluate(
        """() => {
            const [a, b] = geotool.maps;
            a.setView([24.9, 113.5], 11, {animate: false});
            return [a.getCenter(), b.getCenter(), a.getZoom(), b.getZoom()];
        }"""
    )
    (ca, cb, za, zb) = moved
    assert za == zb == 11
    assert abs(ca["lat"] - cb["lat"]) < 1e-6 and abs(ca["lng"] - cb["lng"]) < 1e-6
    log.assert_clean(html.as_uri())


def test_demo_sized_overview_is_small_and_loads(browser: Any, out: Output, tmp_path: Path) -> None:
    """Five profiles' scores and sites on the demo's 150 x 170 km, 100 m grid."""
    folder = tmp_path / "demo"
    shutil.copytree(out.folder, folder)
    for profile in ("datacenter", "solarfarm", "carbon_sink", "geothermal_heat"):
        if profile != "solarfarm":
            shutil.copy(folder / "score_solarfarm.tif", folder / f"score_{profile}.tif")
        shutil.copy(folder / "sites_windfarm.gpkg", folder / f"sites_{profile}.gpkg")
    started = time.perf_counter()
    html = render_map(folder)
    render_s = time.perf_counter() - started
    size_mb = html.stat().st_size / 1e6
    assert size_mb <= 15.0
    started = time.perf_counter()
    page, log = _open(browser, html)
    load_s = time.perf_counter() - started
    nav = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    overlays = page.locator(".leaflet-control-layers-overlays label").count()
    assert overlays == 5 + 1 + 5 + 1 + 1  # scores, outlines, sites, substations, online basemap
    log.assert_clean(html.as_uri())
    print(
        f"overview map.html {size_mb:.1f} MB, rendered in {render_s:.1f} s, "
        f"browser ready in {load_s:.2f} s (loadEventEnd {nav / 1000:.2f} s)"
    )


def test_sites_stay_on_top_when_regions_and_areas_are_ticked_after_them(
    browser: Any, windfarm_html: Path, out: Output
) -> None:
    """Vector layers share one SVG: a choropleth ticked on last must not cover the sites."""
    page, log = _open(browser, windfarm_html)
    page.click("text=Potential by county")  # added after the sites, which are shown at start
    top = out.sites.set_index("site_id").loc[[102]].to_crs("EPSG:4326").representative_point()
    lon, lat = top.iloc[0].x, top.iloc[0].y
    page.evaluate(f"geotool.maps[0].setView([{lat}, {lon}], 12, {{animate: false}})")
    x, y = _click_point(page, lat, lon)
    fill = page.evaluate(f"document.elementFromPoint({x}, {y}).getAttribute('fill')")
    assert fill == "#fc8d59"  # the sites' fill colour (maps/windfarm.toml), not a county's
    page.mouse.click(x, y)
    page.wait_for_selector(".leaflet-popup-content")
    assert "Site 102" in page.inner_text(".leaflet-popup-content")
    log.assert_clean(windfarm_html.as_uri())


def test_cursor_readout_gives_longitudes_in_minus_180_to_180(
    browser: Any, windfarm_html: Path
) -> None:
    # the readout under the mouse matches Leaflet's own lat/lon there, and a map panned past
    # 180° (as maps of Fiji are drawn) reads its longitudes back into -180..180
    page, log = _open(browser, windfarm_html)
    for lon_view in (113.6, 185.25):
        page.evaluate(f"geotool.maps[0].setView([24.8, {lon_view}], 10, {{animate: false}})")
        x, y = _click_point(page, 24.8, lon_view)
        page.mouse.move(x, y)
        text = page.inner_text(".leaflet-control-mouseposition")
        lat, lon = (float(v) for v in text.split(":", 1)[1].split(","))
        want = lon_view if lon_view <= 180 else lon_view - 360
        assert lat == pytest.approx(24.8, abs=0.01) and lon == pytest.approx(want, abs=0.01)
    log.assert_clean(windfarm_html.as_uri())


PROJECTOR = {"width": 1024, "height": 768}  # XGA, the common native size of room projectors


def test_first_view_on_a_projector_clears_the_panels_and_legends_are_legible(
    browser: Any, windfarm_html: Path
) -> None:
    """At 1024 x 768 the layer list covered the region's east third; the first view is also
    final at once (no zoom animation), so a screenshot right away has the right scale bar."""
    page, log = _open(browser, windfarm_html, viewport=PROJECTOR)
    view = page.evaluate(
        f"""() => {{
            const map = geotool.maps[0], box = map.getContainer().getBoundingClientRect();
            const b = {_layer("Suitability")}.getBounds();
            const nw = map.latLngToContainerPoint(b.getNorthWest());
            const se = map.latLngToContainerPoint(b.getSouthEast());
            const list = document.querySelector(".leaflet-control-layers").getBoundingClientRect();
            const zoom = document.querySelector(".leaflet-control-zoom").getBoundingClientRect();
            const bar = document.querySelector(".leaflet-control-scale-line");
            const y = map.getSize().y / 2;
            const metres = map.distance(map.containerPointToLatLng([0, y]),
                                        map.containerPointToLatLng([100, y])) / 100;
            return {{west: box.left + nw.x, east: box.left + se.x, north: box.top + nw.y,
                     south: box.top + se.y, list: list.left, buttons: zoom.right,
                     height: box.height, metres, bar: bar.textContent,
                     barPx: bar.getBoundingClientRect().width}};
        }}"""
    )
    assert view["buttons"] < view["west"] and view["east"] < view["list"]
    assert view["north"] >= 0 and view["south"] <= view["height"]
    value, unit = view["bar"].split()
    bar_metres = float(value) * (1000 if unit == "km" else 1)
    assert bar_metres / view["barPx"] == pytest.approx(view["metres"], rel=0.02)
    # legend type: at least 14 px, ticks 13 px (Leaflet's own controls use 12 px)
    sizes = page.evaluate(
        """() => [".geotool-legend-title", ".geotool-ticks span"].map(
            s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize))"""
    )
    assert sizes[0] >= 14 and sizes[1] >= 13
    # printed: no zoom, full-screen or measure buttons, no cursor readout; the rest stays
    page.emulate_media(media="print")
    shown = page.evaluate(
        """() => [".leaflet-control-zoom", ".leaflet-control-measure",
                  ".leaflet-control-mouseposition", ".geotool-legend", ".geotool-title",
                  ".leaflet-control-scale"].map(
            s => getComputedStyle(document.querySelector(s)).display !== "none")"""
    )
    assert shown == [False, False, False, True, True, True]
    log.assert_clean(windfarm_html.as_uri())


def test_stacked_legends_scroll_below_the_layer_list_on_a_projector(
    browser: Any, out: Output, tmp_path: Path
) -> None:
    """Seven legends shown at 1024 x 768 reached up over the layer list; they now scroll in a
    column between the list and the cursor readout, each one reachable."""
    from geotool.webmap.compositions import composition_dir

    extra = (
        '\n[[rasters]]\nname = "Solar suitability"\nfile = "score_solarfarm.tif"\n'
        '\n[[rasters]]\nname = "Limiting codes"\nfile = "limiting_windfarm.tif"\n'
        'kind = "classes"\nclasses_from = "limiting_codes"\n'
    )
    comp = tmp_path / "legends.toml"
    comp.write_text((composition_dir() / "windfarm.toml").read_text("utf-8") + extra, "utf-8")
    html = _render(out, tmp_path, "legends", str(comp))
    page, log = _open(browser, html, viewport=PROJECTOR)
    names = [
        "Suitability",
        "What limits the score",
        "Stability of the score",
        "Land cover (ESA WorldCover classes)",
        "Potential by county",
        "Solar suitability",
        "Limiting codes",
    ]
    for name in names:
        page.evaluate(f"geotool.maps[0].addLayer({_layer(name)})")
    # what is painted of each legend: its box cut by every ancestor that clips (scrolls)
    painted = """el => {
        const r = el.getBoundingClientRect();
        let top = r.top, bottom = r.bottom;
        for (let a = el.parentElement; a; a = a.parentElement) {
            if (getComputedStyle(a).overflowY !== "visible") {
                const c = a.getBoundingClientRect();
                top = Math.max(top, c.top); bottom = Math.min(bottom, c.bottom);
            }
        }
        return {top, bottom, height: r.height};
    }"""
    legends = page.locator(".geotool-legend")
    assert legends.count() == len(names)
    boxes = [legends.nth(i).evaluate(painted) for i in range(len(names))]
    shown = [b for b in boxes if b["bottom"] > b["top"]]
    room = page.evaluate(
        """() => ({list: document.querySelector(".leaflet-control-layers")
                       .getBoundingClientRect().bottom,
                   readout: document.querySelector(".leaflet-control-mouseposition")
                       .getBoundingClientRect().top})"""
    )
    assert sum(b["height"] for b in boxes) > room["readout"] - room["list"]  # more than fits
    assert shown and min(b["top"] for b in shown) >= room["list"]
    assert max(b["bottom"] for b in shown) <= room["readout"]
    for i in range(len(names)):  # each can be scrolled fully into view, still clear of the list
        legends.nth(i).scroll_into_view_if_needed()
        b = legends.nth(i).evaluate(painted)
        assert b["bottom"] - b["top"] == pytest.approx(b["height"], abs=1)
        assert b["top"] >= room["list"]
    log.assert_clean(html.as_uri())
