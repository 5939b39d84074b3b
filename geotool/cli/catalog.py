"""``geotool layers``: list the layer catalog."""

from __future__ import annotations

import click


@click.command("layers")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def layers(as_json: bool) -> None:
    """List the canonical layers: kind, units, valid range and description."""
    import json

    from geotool.catalog import describe, load_catalog

    cat = load_catalog()
    if as_json:
        click.echo(json.dumps([describe(s) for s in cat.values()], indent=2))
        return
    for spec in cat.values():
        rng = f"{spec.valid_range[0]:g}..{spec.valid_range[1]:g}" if spec.valid_range else ""
        kind = f"{spec.kind}/{spec.values if spec.kind == 'raster' else spec.geometry}"
        other = sorted(spec.unit_conversions)
        also = f" Other units: {', '.join(other)}." if other else ""
        click.echo(
            f"{spec.name:<20} {kind:<19} {spec.units:<11} {rng:<14} {spec.description}{also}"
        )
