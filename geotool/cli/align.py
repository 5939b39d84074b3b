"""``geotool align STUDY.toml --out DIR``: every layer of a study on the analysis grid."""

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


@click.command("align")
@study_arg
@out_option(required=True)
@force_option
@quiet_option
def align(study_file: Path, out: Path, force: bool, quiet: bool) -> None:
    """Write every layer of the study as a float32 COG on the analysis grid
    (rasters as DIR/<layer>.tif, vectors as DIR/<layer>_distance_m.tif) plus manifest.json.
    The regions layer is left out: it holds the region units, not a layer to align."""
    from geotool.study import load_study

    study = load_study(study_file)  # before the heavy imports: a bad study fails in a blink
    require_layers(study, "align")
    from geotool.io.outputs import OutputDir, write_manifest
    from geotool.pipeline import align_study, inputs_record, study_files, study_record
    from geotool.stack import load_region, study_grid

    notes: list[str] = []
    with OutputDir(out, force=force, inputs=study_files(study)) as outdir:
        written = align_study(study, outdir, notes)
        grid = study_grid(study, load_region(study))
        write_manifest(
            outdir,
            {
                "command": "align",
                "study": study_record(study),
                "grid": grid.to_dict(),
                "inputs": inputs_record(study),
                "notes": notes,
            },
        )
    if not quiet:
        click.echo(f"wrote {len(written)} layer(s) to {out}")
        for note in notes:
            click.echo(f"note: {note}")
