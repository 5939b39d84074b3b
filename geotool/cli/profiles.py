"""``geotool profiles``: list the built-in suitability profiles, show or check one."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("profiles", invoke_without_command=True)
@click.pass_context
def profiles(ctx: click.Context) -> None:
    """List the built-in suitability profiles (or use a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    from geotool.profiles import describe_builtins

    rows = describe_builtins()
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        click.echo(f"{name.ljust(width)}  {description}")
    click.echo("\nShow one: geotool profiles show NAME  (copy it, edit it, pass the path)")


@profiles.command("show")
@click.argument("name")
def show(name: str) -> None:
    """Print a profile's TOML (a built-in NAME or a file path)."""
    from geotool.profiles import read_profile_source

    _, text, _ = read_profile_source(name)
    click.echo(text, nl=not text.endswith("\n"))


@profiles.command("check")
@click.argument("name")
@click.option(
    "--study",
    "study_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Apply this study's [profiles.<name>] overrides first (the profile `run` scores).",
)
def check(name: str, study_file: Path | None) -> None:
    """Validate a profile (built-in NAME or file path) and summarise it: its constraints and
    the weights it scores with (normalised; with --study, after the study's overrides)."""
    from geotool.sites.params import check_site_params
    from geotool.suitability import load_profile

    if study_file is None:
        p = load_profile(name)
        check_site_params(p)  # what the site metrics need, known before any run
    else:
        from geotool.runner import _load_profiles, site_options
        from geotool.study import load_study

        study = load_study(study_file)
        p = _load_profiles(study, [name], load_profile)[0][0]
        check_site_params(p, site_options(study))
    click.echo(f"{p.name}: {p.description}")
    if study_file is not None:
        click.echo(f"  with the overrides of {study_file}")
    click.echo(f"  constraints: {len(p.constraints)}")
    for c in p.constraints:
        click.echo(f"    {c.name}: {c.describe()}")
    method = p.weighting.method
    cr = getattr(p.weighting, "consistency_ratio", None)
    extra = f", CR = {cr:.3f}" if cr is not None else ""
    click.echo(f"  criteria ({method} weights{extra}; {p.aggregation.method} aggregation):")
    for cr in p.criteria:
        click.echo(f"    {cr.name}: {cr.variable} [{cr.units}] weight {p.weights[cr.name]:.3f}")
    click.echo("  vector layers: " + ", ".join(r.key for r in p.vector_requests()))
