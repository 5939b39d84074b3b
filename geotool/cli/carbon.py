"""``geotool carbon STUDY.toml [--parcels FILE] --out DIR``: the carbon stage alone.

Writes ``carbon_regions.csv``, ``carbon_vintages.csv``, ``carbon_t_ha.tif``,
``carbon_stock_source.tif`` and, with ``--parcels``, ``carbon_parcels.gpkg`` and
``carbon_parcels.csv``, plus ``manifest.json``. Parameters come from the study's
``[carbon]`` table (see :class:`geotool.carbon.CarbonConfig`).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

CARBON_LAYERS = ("biomass", "growing_stock", "forest_cover", "land_cover")


@click.command("carbon")
@click.argument("study_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--parcels",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Parcel polygons (attributes: species, agb_t_ha, baseline_tco2e_per_yr; the area is "
    "the polygon's).",
)
@click.option("--parcel-id", default=None, help="Parcel column holding the parcel id.")
@click.option(
    "--species-field",
    default=None,
    metavar="NAME",
    help="Parcel column holding the species, e.g. 树种 (default: species).",
)
@click.option(
    "--parcels-layer",
    default=None,
    metavar="NAME",
    help="Layer of a --parcels file that holds several (a GeoPackage).",
)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Output folder."
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing, non-empty output folder (none of its files are kept).",
)
def carbon(
    study_file: Path,
    parcels: Path | None,
    parcel_id: str | None,
    species_field: str | None,
    parcels_layer: str | None,
    out: Path,
    force: bool,
) -> None:
    """Forest carbon stock, sequestration and credits by vintage for STUDY_FILE."""
    from geotool.errors import ConfigError
    from geotool.study import load_study

    for option, value in (
        ("--parcel-id", parcel_id),
        ("--species-field", species_field),
        ("--parcels-layer", parcels_layer),
    ):
        if value is not None and parcels is None:  # was silently ignored
            raise ConfigError(
                f"{option} applies to the parcels, but no --parcels file is given",
                where=option,
                fix=f"add --parcels FILE, or drop {option}",
            )
    study = load_study(study_file)  # fails before the heavy imports
    from geotool.carbon import CarbonConfig, run_carbon
    from geotool.carbon.outputs import write_carbon_outputs
    from geotool.carbon.params import get_standard
    from geotool.carbon.project import parcel_notes
    from geotool.errors import InputError
    from geotool.io.outputs import OutputDir, file_record, write_manifest
    from geotool.pipeline import inputs_record, study_files, study_record
    from geotool.stack import REGION_ID_COLUMN, load_region, load_stack

    try:
        config = CarbonConfig.from_dict(study.carbon)
    except ConfigError as exc:
        raise type(exc)(exc.what, where=f"{study.path}: {exc.where}", fix=exc.fix) from None
    notes: list[str] = []
    region = load_region(study, notes)
    layers = [name for name in CARBON_LAYERS if name in study.layers]
    stack = load_stack(study, layers=layers, region=region, notes=notes)
    for note in notes:  # e.g. a region id shared by several features, a file read as GBK
        click.echo(f"note: {note}", err=True)
    parcel_gdf = None if parcels is None else _read_parcels(parcels, parcels_layer, notes)
    if parcel_gdf is not None and parcel_gdf.empty:
        raise InputError(
            "holds no parcels", where=str(parcels), fix="give a file of parcel polygons"
        )
    found: list[str] = []  # the parcels' notes (columns not read, areas that disagree)
    try:
        result = run_carbon(
            stack,
            region,
            parcel_gdf,
            config,
            region_id=REGION_ID_COLUMN,
            parcel_id=parcel_id,
            species_field=species_field,
            notes=found,
        )
    except InputError as exc:  # name the --parcels file the problem is in
        if parcels is None or not exc.where or not exc.where.startswith("parcels"):
            raise
        raise type(exc)(exc.what, where=f"{parcels}: {exc.where}", fix=exc.fix) from None

    found += config.credit_notes(result["credits"])
    if result["parcels"] is not None:
        found += parcel_notes(result["parcels"], config)
    for note in found:
        notes.append(note)
        click.echo(f"note: {note}", err=True)
    read_files = study_files(study) + ([parcels] if parcels is not None else [])
    with OutputDir(out, force=force, inputs=read_files) as od:
        with od.stage("carbon"):
            write_carbon_outputs(result, od, stack.attrs["grid"])
        # as the run's manifest records them: the study, and the inputs with their
        # `synthetic` flags (the map warns about demo data from them)
        here = od.staging
        inputs = inputs_record(study, relative_to=here, only={"study", "region", *layers})
        if parcels is not None:  # given on the command line: not flagged either way
            inputs.append(
                {"role": "parcels", **file_record(parcels), "path": str(parcels.resolve())}
            )
        write_manifest(
            od,
            {
                "command": "carbon",
                "synthetic": study.synthetic,
                "study": study_record(study, relative_to=here),
                "inputs": inputs,
                "parameters": {
                    "carbon": asdict(config),
                    "standard": asdict(get_standard(config.standard)),
                    "uncertainty_rule": result["credits"].rule,  # the preset's or the override
                    # the standard's least deduction, applied under any rule
                    "min_deduction_pct": result["credits"].min_deduction_pct,
                    "buffer_pct": config.buffer_pct(),
                },
                "notes": notes,
            },
        )
    totals = result["credits"].totals()
    click.echo(
        f"carbon: {len(result['regions'])} region(s), "
        f"stock {result['regions']['stock_tco2e'].sum():,.0f} t CO2e; "
        f"{config.standard} issuable {totals['issuable_tco2e']:,.0f} t CO2e over "
        f"{config.crediting_years} years ({result['vintages']['scope'].iloc[0]}) -> {out}"
    )


def _read_parcels(path: Path, layer: str | None, notes: list[str]) -> Any:
    """The ``--parcels`` polygons; the reader's notes (parcels without a geometry dropped,
    invalid ones repaired) are printed too: they change what is credited."""
    from geotool.errors import InputError
    from geotool.io.vector import read_vector

    read_notes: list[str] = []
    try:
        gdf = read_vector(path, layer=layer, notes=read_notes)
    except InputError as exc:
        # a GeoPackage of several layers: the reader's fix names a study key, which a file
        # given on the command line has not
        if layer is None and type(exc) is InputError and "none is named" in exc.what:
            raise InputError(
                exc.what, where=exc.where, fix="choose one with --parcels-layer NAME"
            ) from None
        raise
    for note in read_notes:
        notes.append(note)
        click.echo(f"note: {note}", err=True)
    return gdf
