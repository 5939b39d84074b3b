"""``geotool check STUDY.toml``: validate a study and its inputs, one line per problem."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from geotool.cli.options import study_arg


@click.command("check")
@study_arg
def check(study_file: Path) -> None:
    """Validate a study: files exist and are geodata, CRSs are right, layers overlap the
    region, values are inside the catalog's ranges. Exit 2 if anything is wrong."""
    from geotool.errors import EXIT_USER_ERROR
    from geotool.study import load_study

    study = load_study(study_file)  # before the heavy imports: a bad study fails in a blink
    from geotool.errors import GeotoolError
    from geotool.runner import check_profiles
    from geotool.stack import check_study

    problems, report = check_study(study)
    try:  # what `run` with the built-in profiles refuses before reading any file (a note:
        # the study may be meant for --profile files of its own)
        check_profiles(study)
    except GeotoolError as exc:
        report.setdefault("notes", []).append(
            f"`geotool run` with the built-in profiles stops: {exc}"
        )
    for line in problems:
        click.echo(f"geotool: error: {line}", err=True)
    if problems:
        sys.exit(EXIT_USER_ERROR)
    grid = report["grid"]
    click.echo(
        f"{study.name}: {report['regions']} region unit(s); grid {grid['crs']} "
        f"{grid['shape'][1]}×{grid['shape'][0]} px at {grid['resolution']:g} m"
    )
    for name, info in report["layers"].items():
        if "min" in info:
            click.echo(
                f"  ok {name:<20} {info['min']:.4g}..{info['max']:.4g}, "
                f"covers {100 * info['coverage']:.1f}% of the grid"
            )
        else:
            click.echo(f"  ok {name:<20} {info['features_in_reach']} feature(s) in reach")
    for note in report.get("notes", []):
        click.echo(f"  note: {note}")
