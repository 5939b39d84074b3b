"""``geotool resources STUDY.toml --out DIR``: the derived physical layers of a study as COGs."""

from __future__ import annotations

from pathlib import Path

import click

from geotool.cli.options import (
    force_option,
    out_option,
    quiet_option,
    require_layers,
    study_arg,
)


@click.command("resources")
@study_arg
@out_option(required=True)
@force_option
@quiet_option
def resources(study_file: Path, out: Path, force: bool, quiet: bool) -> None:
    """Write every derived layer the study's inputs allow (wind speed at hub height, capacity
    factor, PV yield, slope, temperature at depth, free-cooling hours, PUE, latency, ...) as
    float32 COGs DIR/<layer>.tif on the analysis grid, plus manifest.json. Parameters come
    from the study's [resources] table (see geotool.resources.ResourceConfig)."""
    from geotool.study import load_study

    study = load_study(study_file)  # fails before the heavy imports
    require_layers(study, "resources")
    from geotool.io.outputs import OutputDir, RasterOutput, write_cogs, write_manifest
    from geotool.pipeline import inputs_record, study_files, study_record
    from geotool.resources import ResourceConfig, derive
    from geotool.stack import load_region, load_stack, study_grid

    config = ResourceConfig.from_dict(study.resources, where=f"{study.path}: resources")
    notes: list[str] = []
    with OutputDir(out, force=force, inputs=study_files(study)) as outdir:
        with outdir.stage("load"):
            region = load_region(study, notes)
            grid = study_grid(study, region)
            stack = load_stack(study, region=region, grid=grid, notes=notes)
        derived = derive(stack, config)
        layers = {str(name): dict(var.attrs) for name, var in derived.data_vars.items()}
        with outdir.stage("derive"):
            write_cogs(
                [
                    RasterOutput(
                        derived[name],
                        outdir.path(f"{name}.tif"),
                        categorical=name == "geothermal_use_class",
                        tags={"layer": name, **attrs},
                    )
                    for name, attrs in layers.items()
                ],
                grid,
            )
        write_manifest(
            outdir,
            {
                "command": "resources",
                "study": study_record(study),
                "grid": grid.to_dict(),
                "resources": config.to_dict(),
                "layers": layers,
                "inputs": inputs_record(study),
                "notes": notes + list(derived.attrs.get("notes", [])),
            },
        )
    if not quiet:
        click.echo(f"wrote {len(layers)} derived layer(s) to {out}: {', '.join(layers)}")
        if not layers:
            click.echo("note: the study has none of the layers a derived layer needs")
        # what loading and deriving assumed (a file read as GBK, the wind shear law used, ...):
        # said, not only kept in the manifest
        for note in notes + list(derived.attrs.get("notes", [])):
            click.echo(f"note: {note}", err=True)
