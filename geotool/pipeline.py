"""Wiring of the stages for the CLI: study -> stack -> outputs. No physics or scoring here."""

from __future__ import annotations

from collections.abc import Callable
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


def inputs_record(study: Study, relative_to: Path | None = None) -> list[dict[str, Any]]:
    """One record per role (study file, region, every layer) with the file's checksum; a
    file serving several layers (a GeoPackage of roads, power lines and substations) is
    listed under each, with the ``layer`` read from it, and hashed once."""
    roles: list[tuple[str, Path, str | None, bool]] = []
    if study.path is not None:
        roles.append(("study", study.path, None, study.synthetic))
    if study.region is not None:
        roles.append(("region", study.region, study.region_layer, study.synthetic))
    roles += [(n, inp.path, inp.layer, inp.synthetic) for n, inp in study.layers.items()]
    files: dict[Path, dict[str, Any]] = {}
    out = []
    for role, p, layer, synthetic in roles:
        if p not in files:
            if not p.exists():
                continue
            rec = file_record(p)
            if relative_to is not None and p.is_relative_to(relative_to):
                rec["path"] = str(p.relative_to(relative_to))
            files[p] = rec
        entry = {"role": role, **files[p], "synthetic": synthetic}
        if layer is not None:
            entry["layer"] = layer
        out.append(entry)
    return out


def align_study(study: Study, outdir: OutputDir, notes: list[str]) -> list[str]:
    """Write every study layer on the analysis grid as a float32 COG; return the file names.

    Rasters become ``<layer>.tif``; vectors ``<layer>_distance_m.tif`` (exact metres to the
    nearest feature, capped at the catalog's ``max_distance_m``).
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
        if var not in stack:
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
        "study": study.to_dict(),
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
        web_map(outdir, study.name, result.profiles)
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
    from geotool.study import load_study

    with OutputDir(out, force=force) as outdir:
        say("generating the demo region")
        with outdir.stage("demo inputs"):
            study_path = build_demo(outdir.path("inputs"), region_file=region_file)
        study = load_study(study_path)
        return execute_run(study, outdir, options or RunOptions(), command="demo", say=say)
