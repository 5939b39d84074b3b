"""Options shared by several commands, defined once (like rasterio's ``rio/options.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

F = Callable[..., Any]

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
    "--force", is_flag=True, help="Replace files in an existing, non-empty output folder."
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress output.")
