"""Options shared by several commands, defined once (like rasterio's ``rio/options.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

F = Callable[..., Any]

MAX_SENSITIVITY = 10_000
"""Most ``--sensitivity`` draws: stability shares are then exact to 0.0001."""

study_arg = click.argument(
    "study_file", metavar="STUDY.toml", type=click.Path(path_type=Path, dir_okay=False)
)


def out_option(default: str | None = None, required: bool = False) -> Callable[[F], F]:
    return click.option(
        "--out",
        "out",
        type=click.Path(path_type=Path, file_okay=False),
        default=default,
        required=required,
        show_default=default is not None,
        help="Output folder.",
    )


force_option = click.option(
    "--force",
    is_flag=True,
    help="Replace an existing, non-empty output folder (none of its files are kept).",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress output.")


def run_options(f: F) -> F:
    """Options of ``run`` and ``demo``."""
    decorators = [
        click.option(
            "--profile",
            "profiles",
            multiple=True,
            help="Profile name or TOML path (repeatable); default: all built-in profiles.",
        ),
        click.option(
            "--top",
            type=click.IntRange(min=0),
            default=5,
            show_default=True,
            help="Print the best N sites per profile.",
        ),
        click.option(
            "--sensitivity",
            # every draw is a pass over the scores and holds a row of weights: 10**20 draws
            # ran out of memory after the whole stack was computed; 100-1,000 is the practice
            type=click.IntRange(min=0, max=MAX_SENSITIVITY),
            default=0,
            help="Monte Carlo weight perturbations for stability_<profile>.tif "
            f"(0..{MAX_SENSITIVITY:,}).",
        ),
        click.option(
            "--perturbation",
            # open at 1 too: perturb_weights needs p < 1 (at ±100 % a weight could drop to 0)
            type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
            default=0.2,
            show_default=True,
            help="± share of each weight perturbed.",
        ),
        click.option(
            "--scheduler",
            "scheduler",
            metavar="ADDRESS",
            default=None,
            help="Run on the Dask distributed scheduler at ADDRESS (e.g. tcp://host:8786); "
            "overrides [study] scheduler. Workers must see the input and output paths.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Run on a local Dask cluster of N single-threaded worker processes.",
        ),
        click.option("--no-map", is_flag=True, help="Do not render map.html."),
        click.option("--no-carbon", is_flag=True, help="Skip the forest carbon stage."),
    ]
    for d in reversed(decorators):
        f = d(f)
    return f


def require_layers(study: Any, command: str) -> None:
    """``align`` and ``resources`` of a study whose ``[layers]`` holds no input layer (the
    ``regions`` layer is the region units, not one) would write an output folder holding
    only ``manifest.json`` (or fail inside the derivation): one line naming the table."""
    from geotool.errors import ConfigError

    if not any(name != "regions" for name in study.layers):
        raise ConfigError(
            f"the study has no input layers for `geotool {command}`",
            where=f"{study.path}: layers",
            fix='add the input files to its [layers] table, e.g. dem = "dem.tif" '
            "(geotool layers lists the names)",
        )


def build_run_options(values: dict[str, Any], *, quiet: bool) -> Any:
    from geotool.runner import RunOptions
    from geotool.study import check_scheduler_address

    if values.get("scheduler"):
        check_scheduler_address(str(values["scheduler"]), "--scheduler")
    return RunOptions(
        profiles=tuple(values.get("profiles") or ()),
        top=int(values.get("top") or 0),
        sensitivity=int(values.get("sensitivity") or 0),
        perturbation=float(values.get("perturbation") or 0.2),
        carbon=not values.get("no_carbon", False),
        web_map=not values.get("no_map", False),
        quiet=quiet,
        scheduler=values.get("scheduler") or None,
        workers=values.get("workers"),
    )


def report_run(result: Any, out: Path, *, quiet: bool) -> None:
    if quiet:
        return
    for name, table in result.top_tables.items():
        click.echo(f"\n{name}: best sites\n{table}")
    click.echo(f"\nwrote {', '.join(result.profiles)} to {out}")
