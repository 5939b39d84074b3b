"""``geotool run STUDY.toml``: the whole pipeline for a study."""

from __future__ import annotations

from pathlib import Path

import click

from geotool.cli.options import force_option, out_option, quiet_option, run_options, study_arg


@click.command("run")
@study_arg
@out_option(default="geotool-output")
@run_options
@force_option
@quiet_option
def run(study_file: Path, out: Path, force: bool, quiet: bool, **run: object) -> None:
    """Score every profile (or those given with --profile), extract candidate sites, summarise
    regions, estimate forest carbon and render map.html into OUT/."""
    from geotool.cli.options import build_run_options, report_run
    from geotool.study import load_study

    # a bad study or option fails before the heavy imports (~1.3 s of dask, rasterio ...)
    study = load_study(study_file)
    options = build_run_options(run, quiet=quiet)
    from geotool.io.outputs import OutputDir
    from geotool.pipeline import execute_run, study_files

    say = (lambda _m: None) if quiet else (lambda m: click.echo(f"geotool: {m}", err=True))
    with OutputDir(out, force=force, inputs=study_files(study, options.profiles)) as outdir:
        result = execute_run(study, outdir, options, command="run", say=say)
    report_run(result, out, quiet=quiet)
