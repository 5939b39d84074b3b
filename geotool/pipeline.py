"""Wiring of the stages for the CLI: study -> stack -> outputs. No physics or scoring here."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import rasterio

from geotool.catalog import load_catalog
from geotool.io.outputs import OutputDir, file_record, write_cog
from geotool.io.raster import GDAL_CACHE_BYTES
from geotool.runner import RunOptions, RunResult, run_study, web_map
from geotool.scheduler import SchedulerSpec
from geotool.stack import load_region, load_stack, study_grid
from geotool.study import Study


def study_files(study: Study, profiles: Sequence[str] = ()) -> list[Path]:
    """Every file a run reads (study file, region, layers, profiles given by path): what
    ``--out --force`` must not replace."""
    from geotool.profiles import is_path_like

    paths = [study.path, study.region, *(inp.path for inp in study.layers.values())]
    paths += [Path(p) for p in profiles if is_path_like(p)]
    return [p for p in paths if p is not None]


def _region_synthetic(study: Study) -> bool:
    """The region file's own flag: that of the layer read from the same file (the demo marks
    its ``regions`` layer synthetic only when it generated the boundaries), else the study's."""
    for inp in study.layers.values():
        if inp.path == study.region and inp.layer == study.region_layer:
            return inp.synthetic
    return study.synthetic


def _manifest_path(path: Path, relative_to: Path | None) -> str:
    """``path`` relative to the output folder when it lies inside it (its staging folder is
    renamed into place), else absolute."""
    if relative_to is not None:
        base = Path(relative_to).resolve()
        if Path(path).resolve().is_relative_to(base):
            return str(Path(path).resolve().relative_to(base))
    return str(Path(path).resolve())


def study_record(study: Study, relative_to: Path | None = None) -> dict[str, Any]:
    """``study.to_dict()`` for the manifest, with the paths of files inside ``relative_to`` (the
    staging folder, where the demo writes its inputs) made relative to the output folder."""
    record = study.to_dict()
    if study.path is not None:
        record["study_file"] = _manifest_path(study.path, relative_to)
    if study.region is not None:
        record["region"] = _manifest_path(study.region, relative_to)
    record["layers"] = {
        name: _manifest_path(inp.path, relative_to) for name, inp in study.layers.items()
    }
    return record


def inputs_record(
    study: Study, relative_to: Path | None = None, only: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """One record per role (study file, region, every layer) with the file's checksum and
    ``synthetic`` flag; a file serving several layers (a GeoPackage of roads, power lines and
    substations) is listed under each, with the ``layer`` read from it, and hashed once.
    ``only``: the roles to record (the layers a stage reads), default all."""
    roles: list[tuple[str, Path, str | None, bool]] = []
    if study.path is not None:
        roles.append(("study", study.path, None, study.synthetic))
    if study.region is not None:
        roles.append(("region", study.region, study.region_layer, _region_synthetic(study)))
    roles += [(n, inp.path, inp.layer, inp.synthetic) for n, inp in study.layers.items()]
    if only is not None:
        roles = [r for r in roles if r[0] in only]
    files: dict[Path, dict[str, Any]] = {}
    out = []
    for role, p, layer, synthetic in roles:
        if p not in files:
            if not p.exists():
                continue
            rec = file_record(p)
            rec["path"] = _manifest_path(p, relative_to)
            files[p] = rec
        entry = {"role": role, **files[p], "synthetic": synthetic}
        if layer is not None:
            entry["layer"] = layer
        inp = study.layers.get(role)
        if inp is not None:  # how to read it again (geotool map shows input layers)
            if inp.variable is not None:
                entry["variable"] = inp.variable
            if inp.band != 1:
                entry["band"] = inp.band
            if inp.units is not None:
                entry["units"] = inp.units
            if inp.crs is not None:
                entry["crs"] = inp.crs
            if inp.nodata is not None:
                entry["nodata"] = inp.nodata
        out.append(entry)
    return out


def align_study(study: Study, outdir: OutputDir, notes: list[str]) -> list[str]:
    """Write every study layer on the analysis grid as a float32 COG; return the file names.

    Rasters become ``<layer>.tif``; vectors ``<layer>_distance_m.tif`` (exact metres to the
    nearest feature, capped at the catalog's ``max_distance_m``). The ``regions`` layer is the
    region units that results are summarised over, not a layer to align: it is left out with
    a note, as is any layer the stack could not provide.
    """
    catalog = load_catalog()
    with outdir.stage("load"):
        region = load_region(study, notes)
        grid = study_grid(study, region)
        stack = load_stack(study, region=region, grid=grid, notes=notes)
    written = []
    for name in study.layers:
        spec = catalog[name]
        var = name if spec.kind == "raster" else f"{name}_distance_m"
        if name == "regions":
            notes.append(
                "layer regions not aligned: it holds the region units that results are "
                "summarised over, not a layer to score"
            )
            continue
        if var not in stack:
            notes.append(f"layer {name} not aligned: no {var} on the analysis grid")
            continue
        fname = f"{var}.tif"
        with outdir.stage(f"align:{name}"):
            write_cog(
                stack[var],
                outdir.path(fname),
                grid,
                categorical=spec.categorical,
                tags={"layer": name, "units": stack[var].attrs.get("units", spec.units)},
            )
        written.append(fname)
    return written


def scheduler_spec(study: Study, options: RunOptions) -> SchedulerSpec:
    """``--workers`` or ``--scheduler`` from the command line, else the study's
    ``[study] scheduler``, else the local threaded scheduler."""
    if options.workers is not None or options.scheduler is not None:
        return SchedulerSpec(address=options.scheduler, workers=options.workers)  # both: error
    return SchedulerSpec(address=study.scheduler)


def execute_run(
    study: Study,
    outdir: OutputDir,
    options: RunOptions,
    *,
    command: str,
    say: Callable[[str], None] = lambda _msg: None,
) -> RunResult:
    """Run the pipeline into ``outdir`` and write ``manifest.json`` (and ``map.html``)."""
    from geotool.io.outputs import write_manifest
    from geotool.progress import ProgressBars
    from geotool.scheduler import use_scheduler

    notes: list[str] = []
    spec = scheduler_spec(study, options)
    if spec.distributed:
        say(f"running on a {spec.describe()}")
    # GDAL's block cache is process-wide and defaults to 5 % of RAM; every read of the run
    # (warps, the stack and score rasters read back) shares the bounded one instead
    gdal = rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES)
    with ProgressBars(enabled=not options.quiet) as bars, use_scheduler(spec), gdal:
        tell = bars.messages(say)
        result = run_study(study, outdir, options, notes=notes, say=tell, bars=bars)
    region = load_region(study)
    content = {
        "command": command,
        "synthetic": study.synthetic,
        "study": study_record(study, relative_to=outdir.staging),
        "grid": study_grid(study, region).to_dict(),
        "inputs": inputs_record(study, relative_to=outdir.staging),
        "profiles": result.profiles,
        "options": {
            "sensitivity": options.sensitivity,
            "perturbation": options.perturbation,
            "seed": options.seed,
            "scheduler": spec.describe(),
        },
        **result.manifest,
        "notes": notes,
    }
    write_manifest(outdir, content)
    if options.web_map:
        say("rendering map.html")
        web_map(outdir, study.name, notes=notes, say=say)
        write_manifest(outdir, content)  # again: now listing map.html and its timing
    return result


def run_demo(
    out: Path,
    *,
    region_file: Path | None = None,
    force: bool = False,
    options: RunOptions | None = None,
    say: Callable[[str], None] = lambda _msg: None,
) -> RunResult:
    """Build the demo inputs into ``out/inputs`` and run the whole pipeline into ``out``."""
    from geotool.demo import build_demo
    from geotool.profiles import is_path_like
    from geotool.study import load_study

    inputs = [] if region_file is None else [region_file]
    inputs += [Path(p) for p in (options.profiles if options else ()) if is_path_like(p)]
    with OutputDir(out, force=force, inputs=inputs) as outdir:
        say("generating the demo region")
        with outdir.stage("demo inputs"):
            study_path = build_demo(outdir.path("inputs"), region_file=region_file)
        study = load_study(study_path)
        return execute_run(study, outdir, options or RunOptions(), command="demo", say=say)
