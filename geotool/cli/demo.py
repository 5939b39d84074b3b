"""``geotool demo``: build the embedded demo region and run every stage on it."""

from __future__ import annotations

from pathlib import Path

import click

from geotool.cli.options import force_option, out_option, quiet_option, run_options


@click.command("demo")
@out_option(default="demo-output")
@click.option(
    "--region",
    "region_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Boundary file (polygons with a name field): generate the synthetic layers over it.",
)
@run_options
@force_option
@quiet_option
def demo(out: Path, region_file: Path | None, force: bool, quiet: bool, **run: object) -> None:
    """Generate the synthetic demo region (modelled on northern Guangdong) into OUT/inputs/
    with its study.toml, and run the whole pipeline on it into OUT/."""
    from geotool.cli.options import build_run_options, report_run
    from geotool.pipeline import run_demo

    options = build_run_options(run, quiet=quiet)
    say = (lambda _m: None) if quiet else (lambda m: click.echo(f"geotool: {m}", err=True))
    result = run_demo(out, region_file=region_file, force=force, options=options, say=say)
    report_run(result, out, quiet=quiet)
