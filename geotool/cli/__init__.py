"""The ``geotool`` command line: a thin click group over the library.

Commands are imported lazily (only the one that runs), so ``geotool --help`` is instant.
User errors (:class:`geotool.errors.GeotoolError`) print one line on stderr and exit 2;
anything else is a bug and keeps its traceback (``--debug`` shows tracebacks for both).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from typing import Any

import click

# command name -> ("module:function", one-line help). Adding a command is one line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("geotool.cli.demo:demo", "Build the demo region and run every stage on it."),
    "check": ("geotool.cli.check:check", "Validate a study file and its inputs."),
    "align": ("geotool.cli.align:align", "Write every study layer on the analysis grid."),
    "layers": ("geotool.cli.catalog:layers", "List the layer catalog."),
    "resources": ("geotool.cli.resources:resources", "Write derived physical layers as COGs."),
    "run": ("geotool.cli.run:run", "Run the whole pipeline for a study."),
    "profiles": ("geotool.cli.profiles:profiles", "List or show suitability profiles."),
    "carbon": ("geotool.cli.carbon:carbon", "Forest carbon stock, sequestration and credits."),
    "map": ("geotool.cli.map:map_command", "Render the interactive web map of an output folder."),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for every error.")
@click.version_option(package_name="geotool")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """geotool — resource potential, siting, forest carbon and offline web maps."""
    ctx.obj = {"debug": debug}


def _ignore_unraisable(_unraisable: Any) -> None:
    """``sys.unraisablehook`` of an interrupted run: finaliser errors are not reported."""


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: one-line errors and exit code 2 for user mistakes.

    User mistakes are :class:`geotool.errors.GeotoolError` (also when raised inside a dask
    task and re-raised by ``compute``) and the library or OS errors that
    :func:`geotool.errors.user_error_from` recognises as the user's (an unwritable or full
    output disk). Everything else is a bug and keeps its traceback.
    """
    from geotool.errors import EXIT_USER_ERROR, user_error_from
    from geotool.io.allocator import keep_freed_memory

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    keep_freed_memory()  # block-by-block work reuses freed memory instead of faulting pages
    # rasterio's rasterize, run on 2+ threads, now and then warns that its own in-memory target
    # "has no geotransform" although the transform is passed and the mask is right (measured:
    # 4,000 masks on 2 threads, 1 warning, 0 wrong pixels; odc-geo issue #131 sees the same
    # under dask): a presenter's terminal must not show it
    warnings.filterwarnings(
        "ignore", message="Dataset has no geotransform", module="rasterio.features"
    )
    try:
        return cli.main(args=args, prog_name="geotool", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        if not debug:
            # an object half-built when Ctrl-C landed can fail in its finaliser at exit (seen:
            # xarray's CachingFileManager.__del__, 1 SIGINT in ~20): no news for the user
            sys.unraisablehook = _ignore_unraisable
        click.echo("geotool: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:  # usage errors: click's own one-line message
        if debug:
            raise
        click.echo(f"geotool: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # `geotool layers | head`: the reader left; not an error
        # point stdout at /dev/null so that the interpreter's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:
        user = user_error_from(exc)
        if user is None or debug:
            raise
        click.echo(f"geotool: error: {user}", err=True)
        sys.exit(EXIT_USER_ERROR)
