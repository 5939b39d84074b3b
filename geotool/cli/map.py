"""``geotool map OUTDIR``: the interactive, offline web map of an output folder."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("map")
@click.argument("outdir", metavar="OUTDIR", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--composition",
    "-c",
    default=None,
    metavar="NAME|PATH",
    help="Built-in map composition (overview, compare, datacenter, windfarm, solarfarm, "
    "carbon_sink, geothermal_heat, carbon) or the path of a composition TOML file. "
    "[default: overview; carbon for the folder of `geotool carbon`]",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=64),
    default=1600,
    show_default=True,
    help="Longest side of each raster overlay, in pixels.",
)
@click.option("--title", default=None, help="Page title (default: the composition's).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output and no notes.")
def map_command(
    outdir: Path, composition: str | None, max_size: int, title: str | None, quiet: bool
) -> None:
    """Write OUTDIR/map.html: one self-contained map that opens from disk without network."""
    from geotool.webmap import render_map

    notes: list[str] = []
    path = render_map(outdir, composition=composition, max_size=max_size, title=title, notes=notes)
    if not quiet:
        for note in notes:  # layers left out: the map lists them only in "About this map"
            click.echo(f"note: {note}", err=True)
        size_mb = path.stat().st_size / 1e6
        click.echo(f"wrote {path} ({size_mb:.1f} MB)")
