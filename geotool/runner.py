"""``geotool run``: the whole pipeline for a study, stage after stage, into one output folder.

study → stack (+ derived resources) → per profile: score / limiting / stability COGs → sites and
region summaries → forest carbon → web map → manifest. Each stage reads what the previous one
wrote (score rasters are read back from their COGs), so no stage reaches back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from geotool.errors import ConfigError, GeotoolError
from geotool.grid import Grid, region_centre
from geotool.io.outputs import OutputDir, RasterOutput, materialize, open_output, write_cogs
from geotool.progress import ProgressBars
from geotool.requests import VectorRequest
from geotool.stack import REGION_ID_COLUMN, load_region, load_stack, study_grid
from geotool.study import Study

BUILTIN_PROFILES = ("datacenter", "windfarm", "solarfarm", "carbon_sink", "geothermal_heat")
CARBON_LAYERS = ("biomass", "growing_stock", "forest_cover", "land_cover")


@dataclass(frozen=True)
class RunOptions:
    """What ``geotool run`` was asked to do."""

    profiles: tuple[str, ...] = ()
    top: int = 0
    sensitivity: int = 0
    perturbation: float = 0.2
    seed: int = 0
    carbon: bool = True
    web_map: bool = True
    quiet: bool = False
    scheduler: str | None = None  # Dask distributed scheduler address (overrides the study's)
    workers: int | None = None  # start a local cluster of this many worker processes


@dataclass
class RunResult:
    profiles: list[str] = field(default_factory=list)
    top_tables: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)


def selected_profiles(study: Study, names: Sequence[str]) -> list[str]:
    """Profiles to run: those asked for, else the built-ins (plus study profiles given by path)."""
    if names:
        return list(dict.fromkeys(names))
    return list(BUILTIN_PROFILES)


def run_study(
    study: Study,
    outdir: OutputDir,
    options: RunOptions,
    *,
    notes: list[str],
    say: Callable[[str], None] = lambda _msg: None,
    bars: ProgressBars | None = None,
) -> RunResult:
    """Run every stage for ``study`` into ``outdir`` (the caller commits or discards it).

    Dask computations run on the scheduler active around the call
    (:func:`geotool.scheduler.use_scheduler`); ``bars`` draws a progress bar per long stage.
    """
    from geotool.resources import derive
    from geotool.resources.config import ResourceConfig
    from geotool.suitability import evaluate, limiting_codes, load_profile, stability

    bars = bars if bars is not None else ProgressBars(enabled=False)
    result = RunResult()
    names = selected_profiles(study, options.profiles)
    unknown_overrides = sorted(set(study.profiles) - set(names) - set(BUILTIN_PROFILES))
    if unknown_overrides and not options.profiles:
        raise ConfigError(
            f"[profiles.{unknown_overrides[0]}] is not a built-in profile",
            where=f"{study.path}: profiles.{unknown_overrides[0]}",
            fix=f"built-ins: {', '.join(BUILTIN_PROFILES)}; or pass --profile PATH",
        )
    profiles, sources = _load_profiles(study, names, load_profile)
    result.profiles = [p.name for p in profiles]
    from geotool.sites.params import check_site_params, emission_factor_note, metric_kind

    opts = site_options(study)
    for p in profiles:  # before the stack is computed, not after the scoring
        check_site_params(p, opts)
    config = _resource_config(study, ResourceConfig, profiles)  # before any file is read

    with outdir.stage("load"):
        before = len(notes)
        region = load_region(study, notes)
        grid = study_grid(study, region)
        requests: list[VectorRequest] = [r for p in profiles for r in p.vector_requests()]
        stack = load_stack(study, requests=requests, region=region, grid=grid, notes=notes)
        derived = derive(stack, config)
        # e.g. no PV yield beyond 70°, the wind shear law used: in the run's manifest too
        notes.extend(n for n in derived.attrs.get("notes", []) if n not in notes)
        lon, lat = region_centre(region)
        for p in profiles:
            if metric_kind(p, opts) == "datacenter":
                note = emission_factor_note(p, lon, lat)
                if note is not None:
                    notes.append(note)
        # what loading assumed or left out (a region id shared by several features, a file
        # read as GBK, features out of reach, the wind shear law used, ...): said, not only
        # kept in the manifest
        for note in notes[before:]:
            say(f"note: {note}")
        full = xr.merge([stack, derived], combine_attrs="override")
        full.attrs["grid"] = grid
        keep = needed_variables(full, profiles, carbon=options.carbon)
        skipped = sorted(set(map(str, full.data_vars)) - set(keep))
        full = full[keep]
        full.attrs["grid"] = grid
    label = f"stack: {len(keep)} layers"
    with outdir.stage("stack"), bars.stage(label):
        # computed once (one streaming pass) and read back by every profile and stage
        say(
            f"computing {len(keep)} layers on the {grid.width}×{grid.height} grid"
            f" ({len(skipped)} that no stage reads skipped)"
        )
        full = materialize(full, outdir.path(".work/stack"), grid, chunk=study.chunk)
        full.attrs["grid"] = grid
        del stack, derived  # their graphs hold the feature indexes (hundreds of MB at scale)

    codes: dict[str, dict[int, str]] = {}
    inside = region_mask(region, grid, study.chunk)
    for profile in profiles:
        say(f"scoring {profile.name}")
        with outdir.stage(f"score:{profile.name}"), bars.stage(f"score {profile.name}"):
            ev = clip_to_region(evaluate(full, profile), inside)
            outputs = [
                RasterOutput(
                    ev["score"],
                    outdir.path(f"score_{profile.name}.tif"),
                    tags={"profile": profile.name, "units": "1"},
                ),
                RasterOutput(
                    ev["limiting"],
                    outdir.path(f"limiting_{profile.name}.tif"),
                    dtype="int16",
                    nodata=-32768,
                    categorical=True,
                    tags={"profile": profile.name},
                ),
            ]
            members = [str(v) for v in ev.data_vars if str(v).startswith("m_")]
            for m in members:
                outputs.append(RasterOutput(ev[m], outdir.path(f".work/{profile.name}/{m}.tif")))
            if options.sensitivity > 0:
                outputs.append(
                    RasterOutput(
                        _where(
                            stability(
                                full,
                                profile,
                                options.sensitivity,
                                perturbation=options.perturbation,
                                seed=options.seed,
                            ),
                            inside,
                        ),
                        outdir.path(f"stability_{profile.name}.tif"),
                        tags={"profile": profile.name, "draws": options.sensitivity},
                    )
                )
            write_cogs(outputs, grid)
            codes[profile.name] = limiting_codes(profile)
        with outdir.stage(f"sites:{profile.name}"), bars.stage(f"sites {profile.name}"):
            evaluated = _read_back(outdir, profile.name, members, study.chunk)
            table = _sites_and_regions(evaluated, profile, grid, region, full, outdir, study)
            if options.top and table is not None:
                from geotool.sites import format_top

                result.top_tables[profile.name] = format_top(table, options.top)

    carbon: dict[str, Any] | None = None
    if options.carbon and any(name in study.layers for name in CARBON_LAYERS):
        with outdir.stage("carbon"), bars.stage("carbon"):
            carbon = _carbon(study, outdir, region, grid, full, notes, say)

    _clean_work(outdir)
    result.manifest = {
        "profile_sources": sources,
        "limiting_codes": codes,
        "resources": _asdict(config),
        "stack": {"computed": keep, "skipped_unused": skipped},
        # which substations the sites' distance_to_substation_km counted (the map says so)
        "sites": {"substation_min_kv": opts.substation_min_kv},
    }
    if carbon is not None:
        result.manifest["carbon"] = carbon
    return result


def _load_profiles(
    study: Study, names: Sequence[str], load_profile: Callable[..., Any]
) -> tuple[list[Any], list[dict[str, Any]]]:
    """The run's profiles with the study's ``[profiles.<name>]`` overrides, and for the
    manifest where each came from (built-in, or the file with its checksum) and the
    overrides applied. Overrides are found by the profile's name (a user copy of a
    built-in keeps its ``name``), else by the file's stem; two profiles of one name are an
    error (their outputs would overwrite each other)."""
    from geotool.io.outputs import file_record
    from geotool.profiles import is_path_like

    profiles: list[Any] = []
    sources: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for n in names:
        plain = load_profile(n)
        key = plain.name if plain.name in study.profiles else Path(n).stem
        overrides = study.profiles.get(key)
        profile = load_profile(n, overrides) if overrides else plain
        if profile.name in seen:
            raise ConfigError(
                f"profiles {seen[profile.name]!r} and {n!r} are both named {profile.name!r}: "
                "their outputs would overwrite each other",
                where=f"--profile {n}",
                fix='give the copy its own name = "..." in its file',
            )
        seen[profile.name] = n
        if is_path_like(n):
            record = {"name": profile.name, "source": "file", **file_record(Path(n).resolve())}
        else:
            record = {"name": profile.name, "source": "built-in"}
        record["overrides"] = f"[profiles.{key}]" if overrides else None
        profiles.append(profile)
        sources.append(record)
    return profiles, sources


def region_mask(region: Any, grid: Grid, chunk: int) -> Any:
    """Lazy bool dask array on ``grid``: pixel centre inside a region unit's polygon. The grid
    is the region's bounding box: without this mask, pixels of the box outside every unit
    (a neighbouring prefecture) would be scored, ranked and turned into sites."""
    from geotool.io.rasterize import build_index, mask_layer

    index = build_index(region.to_crs(grid.crs), grid)
    return mask_layer(index, grid, name="in_region", chunk=chunk).data > 0


def _where(arr: xr.DataArray, keep: Any, fill: Any = float("nan")) -> xr.DataArray:
    """``arr`` with ``fill`` where ``keep`` is False (on the dask arrays: no coordinate
    alignment between the read-back stack and the mask)."""
    import dask.array as da
    import numpy as np

    data = arr.data if isinstance(arr.data, da.Array) else da.asarray(arr.data)
    keep = keep.rechunk(data.chunks)
    out = da.where(keep, data, np.asarray(fill, dtype=data.dtype))
    return arr.copy(data=out.astype(data.dtype))


def clip_to_region(ev: xr.Dataset, inside: Any) -> xr.Dataset:
    """An evaluation with every pixel outside the region units blank: score and memberships
    NaN, not excluded, limiting ``LIMITING_NODATA`` (no data to score)."""
    import numpy as np

    from geotool.suitability.evaluate import LIMITING_NODATA

    out = ev.copy()
    for name in map(str, ev.data_vars):
        if name == "limiting":
            out[name] = _where(ev[name], inside, np.int16(LIMITING_NODATA))
        elif name == "excluded":
            out[name] = _where(ev[name], inside, False)
        else:
            out[name] = _where(ev[name], inside)
    return out


SITE_LOOKUPS = ("demand_centres_distance_m", "green_energy_gwh_per_yr_within_radius")
"""Stack variables the site metrics read by name (``geotool.sites.metrics``)."""


def needed_variables(full: xr.Dataset, profiles: Sequence[Any], *, carbon: bool) -> list[str]:
    """The variables of the (lazy) stack that some stage reads, in stack order.

    Every profile's evaluation and its site metric layers (which the region potentials share)
    are built lazily on ``full`` and their dask graphs searched for each variable's graph
    layer, so a variable is kept exactly when a result depends on it; the carbon layers and
    the variables site metrics look up by name are kept as well. Unread variables (distance
    layers of unfiltered requests no profile scores, masks nobody reads, derived layers no
    criterion uses) are never computed — 13 of the demo's 42.
    """
    from geotool.sites.layers import metric_layers, substation_variable
    from geotool.sites.options import SiteOptions
    from geotool.sites.params import metric_kind
    from geotool.suitability import evaluate

    opt = SiteOptions()
    graph_layers: set[str] = set()
    for profile in profiles:
        ev = evaluate(full, profile)
        arrays = [ev[v] for v in ev.data_vars]
        kind = metric_kind(profile, opt)
        # region potentials read the same layers as the site metrics
        arrays += [a for a, _ in metric_layers(kind, profile, full, opt).values()]
        for arr in arrays:
            data = arr.data
            if hasattr(data, "__dask_graph__"):
                graph_layers.update(data.__dask_graph__().layers)
    named = {*SITE_LOOKUPS, substation_variable(opt)}
    if carbon:
        named.update(CARBON_LAYERS)
    keep = []
    for name in map(str, full.data_vars):
        data = full[name].data
        lazy_name = getattr(data, "name", None)
        if name in named or lazy_name in graph_layers or not hasattr(data, "__dask_graph__"):
            keep.append(name)
    return keep


def site_options(study: Study) -> Any:
    """The site-metric options of a study: its ``[carbon]`` species and crediting period
    (what the carbon stage plants) for the carbon-sink sites and region totals."""
    from geotool.carbon.config import CarbonConfig
    from geotool.sites.options import SiteOptions

    try:
        return SiteOptions(carbon=CarbonConfig.from_dict(study.carbon))
    except GeotoolError as exc:
        raise type(exc)(exc.what, where=f"{study.path}: carbon", fix=exc.fix) from None


def check_profiles(study: Study) -> None:
    """What ``geotool run`` checks of the profiles before reading any file, for ``geotool
    check``: the built-in profiles with the study's ``[profiles.<name>]`` overrides, their
    ``[sites]`` parameters, and the one hub height, well depth and green-energy radius they
    and ``[resources]`` must share. Raises the first :class:`ConfigError`."""
    from geotool.resources.config import ResourceConfig
    from geotool.sites.params import check_site_params
    from geotool.suitability import load_profile

    profiles, _ = _load_profiles(study, selected_profiles(study, ()), load_profile)
    opts = site_options(study)
    for p in profiles:
        check_site_params(p, opts)
    _resource_config(study, ResourceConfig, profiles)


def _resource_config(study: Study, cls: Any, profiles: Sequence[Any] = ()) -> Any:
    """``[resources]`` of the study, with the windfarm profiles' turbine and hub height
    (:func:`geotool.sites.params.wind_machine`), the geothermal profiles' well depth
    (:func:`geotool.sites.params.geothermal_depth`) and the data-centre profiles' green-energy
    radius (:func:`geotool.sites.params.green_radius`)."""
    from geotool.sites.params import geothermal_depth, green_radius, wind_machine

    resources = wind_machine(study.resources, profiles, str(study.path))
    resources = geothermal_depth(resources, profiles, str(study.path))
    resources = green_radius(resources, profiles, str(study.path))
    try:
        return cls.from_dict(resources)
    except GeotoolError as exc:
        raise type(exc)(exc.what, where=f"{study.path}: resources", fix=exc.fix) from None


def _asdict(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else {}


def _read_back(outdir: OutputDir, name: str, members: list[str], chunk: int) -> xr.Dataset:
    """The written score, limiting and membership rasters, lazily, as one Dataset."""
    variables = {
        "score": open_output(outdir.path(f"score_{name}.tif"), chunk=chunk),
        "limiting": open_output(outdir.path(f"limiting_{name}.tif"), chunk=chunk),
    }
    for m in members:
        variables[m] = open_output(outdir.path(f".work/{name}/{m}.tif"), chunk=chunk)
    return xr.Dataset(variables)


def _sites_and_regions(
    evaluated: xr.Dataset,
    profile: Any,
    grid: Grid,
    region: Any,
    stack: xr.Dataset,
    outdir: OutputDir,
    study: Study,
) -> Any:
    from geotool.regions import summarise_regions, write_regions
    from geotool.sites import extract_sites, write_sites

    vectors = _site_vectors(study, grid)
    options = site_options(study)
    scratch = outdir.path(".work/scratch")  # the label raster, file-backed
    scratch.mkdir(exist_ok=True)
    sites = extract_sites(
        evaluated,
        profile,
        grid,
        regions=region,
        stack=stack,
        vectors=vectors,
        options=options,
        workdir=scratch,
    )
    write_sites(sites, outdir.staging, profile.name)
    summary = summarise_regions(
        evaluated, sites, region, grid, profile=profile, stack=stack, options=options
    )
    write_regions(summary, outdir.staging, profile.name)
    return sites


def _site_vectors(study: Study, grid: Grid) -> dict[str, Any]:
    """Point layers some site metrics measure to (demand centres, substations)."""
    from geotool.io.vector import read_vector

    out: dict[str, Any] = {}
    for name in ("demand_centres", "substations"):
        if name in study.layers:
            inp = study.layers[name]
            gdf = read_vector(
                inp.path, layer=inp.layer, crs=inp.crs, layer_key=name, encoding=inp.encoding
            )
            out[name] = gdf.to_crs(grid.crs)
    return out


def _carbon(
    study: Study,
    outdir: OutputDir,
    region: Any,
    grid: Grid,
    full: xr.Dataset,
    notes: list[str],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """The carbon stage of ``geotool run``; returns its manifest record (standard, the rule
    applied and the standard's least deduction) and adds its notes, as ``geotool carbon``
    does."""
    from geotool.carbon import CarbonConfig, run_carbon
    from geotool.carbon.outputs import write_carbon_outputs

    try:
        config = CarbonConfig.from_dict(study.carbon)
    except GeotoolError as exc:
        raise type(exc)(exc.what, where=f"{study.path}: carbon", fix=exc.fix) from None
    stack = full[[name for name in CARBON_LAYERS if name in full]]
    stack.attrs["grid"] = grid
    result = run_carbon(stack, region, None, config, region_id=REGION_ID_COLUMN)
    write_carbon_outputs(result, outdir, grid)
    credits = result["credits"]
    for note in config.credit_notes(credits):
        notes.append(note)
        say(f"note: {note}")
    return {
        "standard": config.standard,
        "uncertainty_rule": credits.rule,
        "min_deduction_pct": credits.min_deduction_pct,
    }


def web_map(
    outdir: OutputDir,
    title: str,
    *,
    notes: list[str] | None = None,
    say: Callable[[str], None] = lambda _msg: None,
) -> None:
    """``map.html`` of everything in the staging folder (needs ``manifest.json`` there): the
    built-in ``overview`` of the profiles whose scores the folder holds, built-in or the run's
    own (``--profile my.toml``). Layers the map leaves out are said (``note:``) and added to
    ``notes``."""
    from geotool.webmap import render_map

    found: list[str] = []
    with outdir.stage("map"):
        render_map(outdir.staging, title=title, notes=found)
    for note in found:
        say(f"note: {note}")
    if notes is not None:
        notes.extend(found)


def _clean_work(outdir: OutputDir) -> None:
    import shutil

    shutil.rmtree(outdir.staging / ".work", ignore_errors=True)
