"""``render_map``: an output folder -> ``map.html``, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from geotool.webmap.folium_map import render_html
from geotool.webmap.model import build_model, check_outdir, folder_composition

# 1600 px on the longer side: sharper than a 1920×1080 projector shows a county-sized overlay,
# and at most 1600² × 1 byte per pixel as a palette PNG before compression.
DEFAULT_MAX_SIZE = 1600


def render_map(
    outdir: Path,
    *,
    composition: str | Path | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    title: str | None = None,
    notes: list[str] | None = None,
) -> Path:
    """Render the interactive, offline web map of a pipeline output folder.

    Parameters
    ----------
    outdir
        Output folder of ``geotool run``/``geotool demo`` (holds ``score_<profile>.tif``).
    composition
        Built-in composition name (``overview``, ``windfarm``, ``compare``, ``carbon``, ...) or
        a TOML path; by default ``overview`` (showing every profile the folder holds), or
        ``carbon`` for the folder of ``geotool carbon`` (no score rasters).
    max_size
        Longest side, in pixels, of every raster overlay.
    title
        Page title; defaults to the composition's title and the study name.
    notes
        Collects one line per layer of the composition left out (its file is not in the
        folder), as the map's info panel lists them.

    Returns
    -------
    Path
        ``outdir / "map.html"``: one self-contained file that opens from disk without network.

    Raises
    ------
    geotool.errors.InputError
        The folder does not exist or holds neither score rasters nor ``carbon_t_ha.tif``.
    geotool.errors.ConfigError
        The composition is unknown or invalid.

    Examples
    --------
    >>> render_map(Path("demo-output"), composition="windfarm")  # doctest: +SKIP
    PosixPath('demo-output/map.html')
    """
    outdir = Path(outdir)
    check_outdir(outdir)
    model = build_model(
        outdir, folder_composition(outdir, composition), max_size=max_size, title=title
    )
    if notes is not None:
        notes += skipped_notes(model.missing)
    page = render_html(model)
    target = outdir / "map.html"
    sweep_stale_tmp(outdir)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}.", suffix=".tmp", dir=outdir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def skipped_notes(missing: tuple[str, ...]) -> list[str]:
    """One line per layer file a map left out (``MapModel.missing``).

    >>> skipped_notes(("stability_windfarm.tif", "carbon_regions.csv (no column stock_tc)"))
    ['map.html: skipped carbon_regions.csv (no column stock_tc)', 'map.html: skipped stability_windfarm.tif (not in the output folder)']
    """
    lines = []
    for item in sorted(set(missing)):
        why = "" if item.endswith(")") else " (not in the output folder)"
        lines.append(f"map.html: skipped {item}{why}")
    return lines


TMP_PREFIX = ".map.html."
"""Temporary files of :func:`render_map` are ``.map.html.<pid>.<random>.tmp``."""


def sweep_stale_tmp(outdir: Path) -> list[Path]:
    """Remove temporary map files left by a killed ``geotool map`` (its process is gone);
    those of a map being written right now by a live process are kept."""
    removed = []
    for path in outdir.glob(f"{TMP_PREFIX}*.tmp"):
        pid = path.name[len(TMP_PREFIX) :].split(".", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
