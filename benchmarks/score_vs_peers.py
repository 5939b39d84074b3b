#!/usr/bin/env python
"""Scoring a profile at province scale: geotool against the I/O floor, a hand-written numpy
script and atlite, from one run.

The scene (``benchmarks/scene.py``): ``size`` × ``size`` pixels at 30 m in EPSG:32649, 8 float32
raster layers (tiled 512², deflate — what a planner downloads as COGs), protected-area polygons,
a road network and settlement points; a profile with 8 criteria (7 linear, 1 categorical) and 5
exclusions (DEM > 2,000 m, land-cover classes 50/80, inside protected areas, within 500 m of a
road, within 1,000 m of a settlement). Each step runs in a fresh process whose resident memory is
polled every 20 ms (``_harness.py``):

``io_floor``      read every block of the 8 rasters once with rasterio, one after the other,
                  and read the 3 vector files (the least any tool must spend);
``io_floor_2t``   the same reads on 2 threads (GDAL releases the GIL: the floor on this machine's
                  2 cores, shown for honesty);
``geotool``       geotool's library path: ``open_raster`` + ``align_raster`` for the 8 layers,
                  ``read_vector`` + ``build_index`` + exact buffer zones (``within_layer``) for
                  the buffered features and masks, ``evaluate`` with the profile loaded from
                  TOML, the score written as a COG;
``naive``         the script a planner writes: ``read()`` every layer whole, numpy memberships,
                  ``rasterio.features.rasterize`` and ``scipy.ndimage.distance_transform_edt``
                  for the buffers, one GeoTIFF written;
``geotool_elig``  geotool's eligibility alone (the 5 exclusions, ``exclusion_codes``), written
                  as a uint8 COG;
``geotool_elig_mem`` the same eligibility computed into an in-memory array, which is what atlite
                  returns: the like-for-like comparison with atlite;
``atlite``        atlite's ``ExclusionContainer`` + ``shape_availability`` for the same 5
                  exclusions, in its own virtualenv (``benchmarks/.venv-atlite``, created by
                  ``--setup-atlite``; never a dependency of geotool);
``geotool_sites`` what ``geotool run`` adds per profile: score and memberships written once,
                  read back, candidate sites (best 10 %) labelled, outlined and written — the
                  step whose whole-grid label raster bounds the memory at scale.

Then the agreement of geotool's and atlite's eligibility masks, pixel by pixel, and of geotool's
and the naive script's scores (where both define one).

Usage::

    python benchmarks/score_vs_peers.py --size 4000 --workdir bench-output
    python benchmarks/score_vs_peers.py --setup-atlite          # once: the atlite venv
    python benchmarks/score_vs_peers.py --size 20000 --skip naive --skip atlite
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TypeGuard

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scene  # noqa: E402
from _harness import cpu_seconds, measure, report  # noqa: E402

ATLITE_VENV = HERE / ".venv-atlite"
STEPS = (
    "io_floor",
    "io_floor_2t",
    "geotool",
    "naive",
    "geotool_elig",
    "geotool_elig_mem",
    "atlite",
    "geotool_sites",
)


# ----------------------------------------------------------------------------- children


def io_floor(folder: Path, threads: int) -> dict[str, Any]:
    """Read every block of every raster once (and the vectors)."""
    from concurrent.futures import ThreadPoolExecutor

    import geopandas as gpd
    import numpy as np
    import rasterio

    def read_all(path: Path) -> tuple[int, float]:
        n, total = 0, 0.0
        with rasterio.open(path) as ds:
            for _, window in ds.block_windows(1):
                block = ds.read(1, window=window)
                n += block.size
                total += float(block[0, 0])
        return n, total

    def read_windows(args: tuple[Path, list[Any]]) -> int:
        path, windows = args
        n = 0
        with rasterio.open(path) as ds:
            for w in windows:
                n += ds.read(1, window=w).size
        return n

    paths = list(scene.raster_paths(folder).values())
    if threads == 1:
        n = sum(read_all(p)[0] for p in paths)
    else:
        jobs = []
        for p in paths:
            with rasterio.open(p) as ds:
                windows = [w for _, w in ds.block_windows(1)]
            jobs += [(p, windows[i::threads]) for i in range(threads)]
        with ThreadPoolExecutor(threads) as pool:
            n = sum(pool.map(read_windows, jobs))
    features = sum(len(gpd.read_file(p)) for p in scene.vector_paths(folder).values())
    return {"pixels": n, "features": features, "dtype_bytes": np.dtype("float32").itemsize}


def _grid(size: int) -> Any:
    from pyproj import CRS

    from geotool.grid import Grid

    return Grid(CRS.from_user_input(scene.CRS), scene.grid_transform(), (size, size))


def _geotool_stack(folder: Path, size: int, layers: list[str]) -> tuple[Any, Any, Any]:
    """The stack the profile reads, built with geotool's loader functions."""
    import xarray as xr

    from geotool.catalog import get_layer
    from geotool.io.buffers import within_layer
    from geotool.io.raster import align_raster, open_raster
    from geotool.io.rasterize import build_index, mask_layer
    from geotool.io.vector import reach_bounds, read_vector
    from geotool.suitability import load_profile
    from geotool.suitability.specs import CAP_MARGIN_M, VectorConstraint

    grid = _grid(size)
    profile = load_profile(str(folder / "profile.toml"))
    rasters = scene.raster_paths(folder)
    variables = {n: align_raster(open_raster(rasters[n]), get_layer(n), grid) for n in layers}
    for c in profile.constraints:
        if not isinstance(c, VectorConstraint):
            continue
        gdf = read_vector(
            scene.vector_paths(folder)[c.layer],
            bbox=reach_bounds(grid.bounds, c.buffer_m + CAP_MARGIN_M),
            bbox_crs=grid.crs,
        )
        index = build_index(gdf, grid)
        if c.buffer_m > 0:  # as geotool.stack.load_stack: the buffer zone, exact, no distances
            variables[c.variable] = within_layer(index, grid, c.buffer_m, name=c.variable)
        else:
            variables[c.variable] = mask_layer(index, grid, name=c.variable)
    ds = xr.Dataset(variables)
    ds.attrs["grid"] = grid
    return ds, profile, grid


def geotool_score(folder: Path, size: int) -> dict[str, Any]:
    from geotool.io.outputs import write_cog
    from geotool.suitability import evaluate

    stack, profile, grid = _geotool_stack(folder, size, list(scene.LAYERS))
    ev = evaluate(stack, profile)
    out = folder / "geotool_score.tif"
    write_cog(ev["score"], out, grid, tags={"profile": profile.name})
    return {"bytes": out.stat().st_size, "chunks": [len(c) for c in ev["score"].chunks or ()]}


def geotool_eligibility(folder: Path, size: int, *, in_memory: bool = False) -> dict[str, Any]:
    from geotool.io.outputs import write_cog
    from geotool.suitability import exclusion_codes

    stack, profile, grid = _geotool_stack(folder, size, ["dem", "land_cover"])
    eligible = (exclusion_codes(stack, profile) == 0).astype("uint8")
    if in_memory:  # as atlite's shape_availability returns its mask
        import dask.array as da
        import numpy as np

        mask = np.empty(grid.shape, dtype="uint8")
        da.store(eligible.data, mask, lock=False)  # blocks written in place, no concatenation
        return {"eligible_share": float(mask.mean())}
    out = folder / "geotool_eligible.tif"
    write_cog(eligible, out, grid, dtype="uint8", nodata=255, categorical=True)
    return {"bytes": out.stat().st_size}


def geotool_sites(folder: Path, size: int) -> dict[str, Any]:
    """What ``geotool run`` does per profile: score, limiting and memberships written once,
    read back, candidate sites extracted (top 10 %) and written as GeoPackage."""
    import xarray as xr

    from geotool.io.outputs import RasterOutput, open_output, write_cogs
    from geotool.sites import extract_sites, write_sites
    from geotool.suitability import evaluate

    stack, profile, grid = _geotool_stack(folder, size, list(scene.LAYERS))
    ev = evaluate(stack, profile)
    work = folder / "sites_work"
    work.mkdir(exist_ok=True)
    names = ["score", *[f"m_{c.name}" for c in profile.criteria]]
    write_cogs([RasterOutput(ev[n], work / f"{n}.tif") for n in names], grid, cog=False)
    del stack, ev  # as geotool run does: the lazy stack holds the feature indexes
    evaluated = xr.Dataset({n: open_output(work / f"{n}.tif") for n in names})
    t0 = time.perf_counter()
    sites = extract_sites(evaluated, profile, grid, workdir=work)  # as geotool run does
    seconds_sites = time.perf_counter() - t0
    write_sites(sites, folder, profile.name)
    return {"sites": len(sites), "extract_s": seconds_sites}


def naive(folder: Path, size: int) -> dict[str, Any]:
    """What a planner writes by hand: whole arrays, numpy, rasterize, distance transform."""
    import geopandas as gpd
    import numpy as np
    import rasterio
    from rasterio.features import rasterize
    from scipy.ndimage import distance_transform_edt

    rasters = scene.raster_paths(folder)
    data = {}
    for name, path in rasters.items():
        with rasterio.open(path) as src:
            data[name] = src.read(1)
            profile = src.profile
            transform = src.transform
    score = np.zeros((size, size), dtype="float32")
    for name, (layer, lo, hi, inc) in scene.LINEAR_CRITERIA.items():
        m = np.clip((data[layer] - lo) / (hi - lo), 0.0, 1.0)
        score += scene.WEIGHTS[name] * (m if inc else 1.0 - m)
    land = np.zeros((size, size), dtype="float32")
    for code, value in scene.LAND_TABLE.items():
        land[data["land_cover"] == code] = value
    score += scene.WEIGHTS["land"] * land
    excluded = (data["dem"] > scene.DEM_MAX_M) | np.isin(data["land_cover"], scene.EXCLUDED_CLASSES)
    vec = scene.vector_paths(folder)
    pa = gpd.read_file(vec["protected_areas"])
    excluded |= rasterize(pa.geometry, out_shape=(size, size), transform=transform).astype(bool)
    for name, buffer in (
        ("roads", scene.ROAD_BUFFER_M),
        ("settlements", scene.SETTLEMENT_BUFFER_M),
    ):
        gdf = gpd.read_file(vec[name])
        burnt = rasterize(gdf.geometry, out_shape=(size, size), transform=transform)
        dist = distance_transform_edt(burnt == 0) * scene.RES_M
        excluded |= dist <= buffer
        del dist, burnt
    score[excluded] = np.nan
    profile.update(dtype="float32", nodata=np.nan, compress="deflate", tiled=True)
    out = folder / "naive_score.tif"
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(score, 1)
    return {"bytes": out.stat().st_size}


def _at_buffer_edge(folder: Path, size: int, pixels: Any) -> int:
    """How many of these pixels (row, col) lie within a buffer's circular edge band that a
    polygonal buffer leaves out: exact distance to roads or settlements in
    ``[buffer - sagitta, buffer]``, the sagitta of shapely's 16-segments-per-quarter circle
    (``buffer · (1 - cos(π/64))``: 0.6 m at 500 m, 1.2 m at 1,000 m)."""
    import numpy as np

    from geotool.io.rasterize import build_index, distances_at
    from geotool.io.vector import read_vector

    if len(pixels) == 0:
        return 0
    grid = _grid(size)
    xy = np.column_stack([grid.xs[pixels[:, 1]], grid.ys[pixels[:, 0]]])
    hit = np.zeros(len(xy), dtype=bool)
    for layer, buffer in (
        ("roads", scene.ROAD_BUFFER_M),
        ("settlements", scene.SETTLEMENT_BUFFER_M),
    ):
        index = build_index(read_vector(scene.vector_paths(folder)[layer]), grid)
        d = distances_at(index, xy, buffer + 10.0)
        band = buffer * (1.0 - np.cos(np.pi / 64.0)) + 0.01
        hit |= (d <= buffer) & (d >= buffer - band)
    return int(hit.sum())


def compare(folder: Path, size: int) -> dict[str, Any]:
    """Pixel agreement: geotool vs atlite eligibility, geotool vs naive score."""
    import numpy as np
    import rasterio

    out: dict[str, Any] = {}
    atl_path = folder / "atlite_eligible.npy"
    geo_path = folder / "geotool_eligible.tif"
    if atl_path.exists() and geo_path.exists():
        atl = np.load(atl_path, mmap_mode="r")
        counts = np.zeros(4, dtype=np.int64)  # both, geotool only, atlite only, neither
        only_atlite: list[np.ndarray] = []
        with rasterio.open(geo_path) as ds:
            for r0 in range(0, size, 1024):
                h = min(1024, size - r0)
                g = ds.read(1, window=((r0, r0 + h), (0, size))) == 1
                a = np.asarray(atl[r0 : r0 + h]) == 1
                rr, cc = np.nonzero(a & ~g)
                only_atlite.append(np.column_stack([rr + r0, cc]))
                counts += [
                    np.sum(g & a),
                    np.sum(g & ~a),
                    np.sum(~g & a),
                    np.sum(~g & ~a),
                ]
        n = int(counts.sum())
        out["eligibility"] = {
            "agreement": float((counts[0] + counts[3]) / n),
            "eligible_geotool": float((counts[0] + counts[1]) / n),
            "eligible_atlite": float((counts[0] + counts[2]) / n),
            "geotool_only": int(counts[1]),
            "atlite_only": int(counts[2]),
            "atlite_only_at_buffer_edge": _at_buffer_edge(
                folder, size, np.concatenate(only_atlite)
            ),
        }
    g_path, n_path = folder / "geotool_score.tif", folder / "naive_score.tif"
    if g_path.exists() and n_path.exists():
        same_nan = total = 0
        max_diff = 0.0
        with rasterio.open(g_path) as g, rasterio.open(n_path) as nv:
            for r0 in range(0, size, 1024):
                h = min(1024, size - r0)
                w = ((r0, r0 + h), (0, size))
                a, b = g.read(1, window=w), nv.read(1, window=w)
                both = np.isfinite(a) & np.isfinite(b)
                same_nan += int(np.sum(np.isnan(a) == np.isnan(b)))
                total += a.size
                if both.any():
                    max_diff = max(max_diff, float(np.max(np.abs(a[both] - b[both]))))
        out["score"] = {"nan_agreement": same_nan / total, "max_abs_diff": max_diff}
    return out


def _gdal_as_in_geotool_run() -> Any:
    """The bounded GDAL block cache ``geotool run`` reads with (geotool.pipeline)."""
    import rasterio

    from geotool.io.raster import GDAL_CACHE_BYTES

    return rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES)


def child(mode: str, folder: Path, size: int) -> int:
    # imports happen before the clock starts: every step is timed on its work alone
    import geopandas  # noqa: F401
    import numpy  # noqa: F401
    import pyogrio  # noqa: F401  (geopandas imports its I/O engine at the first read_file)
    import rasterio
    import rasterio.features  # noqa: F401
    import scipy.ndimage  # noqa: F401

    if mode in ("geotool", "geotool_elig", "geotool_elig_mem", "geotool_sites"):
        import dask.array  # noqa: F401
        import distributed  # noqa: F401  (dask imports it at the first compute when installed)
        import xarray  # noqa: F401

        import geotool.io.outputs
        import geotool.io.raster
        import geotool.io.rasterize
        import geotool.io.vector
        import geotool.suitability  # noqa: F401
    if mode in (
        "io_floor",
        "io_floor_2t",
        "geotool",
        "geotool_elig",
        "geotool_elig_mem",
        "geotool_sites",
    ):
        # as the geotool command does (the floor too, to stay the least any tool spends);
        # the naive script and atlite run as a planner would run them
        from geotool.io.allocator import keep_freed_memory

        keep_freed_memory()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    if mode == "generate":
        info = scene.generate(folder, size)
    elif mode == "io_floor":
        info = io_floor(folder, 1)
    elif mode == "io_floor_2t":
        info = io_floor(folder, 2)
    elif mode == "geotool":
        with _gdal_as_in_geotool_run():
            info = geotool_score(folder, size)
    elif mode == "geotool_elig":
        with _gdal_as_in_geotool_run():
            info = geotool_eligibility(folder, size)
    elif mode == "geotool_elig_mem":
        with _gdal_as_in_geotool_run():
            info = geotool_eligibility(folder, size, in_memory=True)
    elif mode == "naive":
        info = naive(folder, size)
    elif mode == "geotool_sites":
        with _gdal_as_in_geotool_run():
            info = geotool_sites(folder, size)
    elif mode == "compare":
        info = compare(folder, size)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    report({"mode": mode, **info}, time.perf_counter() - t0, cpu0)
    return 0


# ----------------------------------------------------------------------------- parent


def setup_atlite() -> Path:
    """Create ``benchmarks/.venv-atlite`` with atlite from PyPI (kept out of geotool's deps)."""
    python = ATLITE_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ATLITE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "atlite"], check=True)
    return python


def run_step(step: str, workdir: Path, size: int) -> dict[str, Any]:
    folder = workdir / f"scene_{size}"
    if step == "atlite":
        python = ATLITE_VENV / "bin" / "python"
        if not python.exists():
            return {"failed": True, "error": "no atlite venv: run with --setup-atlite first"}
        return measure(HERE / "atlite_child.py", [str(folder), str(size)], python=str(python))
    return measure(
        Path(__file__), ["--child", step, "--workdir", str(workdir), "--size", str(size)]
    )


def best_of(step: str, workdir: Path, size: int, repeat: int) -> dict[str, Any]:
    """Run ``step`` ``repeat`` times, each in a fresh process: the fastest run's figures (the
    same rule for every step, the floor included: the least that noise from other tenants of
    the machine added), with every run's seconds in ``runs_s`` and the highest peak memory of
    all runs in ``peak_mb`` (memory bars are about the worst case). A failed run fails the
    step (a step that fails once is not reliable), keeping the earlier runs' seconds."""
    runs: list[dict[str, Any]] = []
    for _ in range(max(1, repeat)):
        r = run_step(step, workdir, size)
        if r.get("failed"):
            return {**r, "runs_s": [m["seconds"] for m in runs]}
        runs.append(r)
    best = dict(min(runs, key=lambda m: m["seconds"]))
    best["runs_s"] = [m["seconds"] for m in runs]
    best["peak_mb"] = max(m["peak_mb"] for m in runs)
    return best


def _ok(r: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    """A step that ran and did not fail."""
    return r is not None and not r.get("failed")


def _fmt(r: dict[str, Any] | None, floor: float, key: str = "seconds") -> str:
    if r is None:
        return f"{'skipped':>9} {'':>8} {'':>9} {'':>10}"
    if r.get("failed"):
        return f"{'FAILED':>9} {'':>8} {'':>9} {'':>10}"
    return (
        f"{r[key]:>9.2f} {r[key] / floor:>8.2f} {r.get('work_cpu_s', float('nan')):>9.2f} "
        f"{r['peak_mb']:>10.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=4000, help="pixels per side (4000)")
    p.add_argument("--workdir", type=Path, default=Path("bench-output"), help="scene folder")
    p.add_argument("--skip", action="append", default=[], choices=STEPS, help="skip a step")
    p.add_argument("--setup-atlite", action="store_true", help="create the atlite venv, then exit")
    p.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs per step, the fastest kept, the highest peak memory reported (2)",
    )
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    folder = args.workdir / f"scene_{args.size}"
    if args.child:
        return child(args.child, folder, args.size)
    if args.setup_atlite:
        print(f"atlite venv: {setup_atlite()}")
        return 0

    import psutil

    load = os.getloadavg()[0]
    print(f"score_vs_peers: load average {load:.1f} at start (timings assume an idle machine)")
    print(
        f"score_vs_peers: {args.size:,} x {args.size:,} px x {len(scene.LAYERS)} layers "
        f"({args.size**2 * 4 * len(scene.LAYERS) / 2**30:.1f} GiB of float32), "
        f"{psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"scene in {folder}",
        flush=True,
    )
    gen = run_step("generate", args.workdir, args.size)
    if gen.get("failed"):
        print(gen["error"])
        return 1
    print(f"scene ready ({gen['bytes'] / 2**20:,.0f} MiB on disk, {gen['seconds']:.1f} s)")
    results: dict[str, Any] = {}
    for step in STEPS:
        if step in args.skip:
            continue
        r = best_of(step, args.workdir, args.size, args.repeat)
        results[step] = r
        status = "FAILED: " + r["error"] if r.get("failed") else f"{r['seconds']:.2f} s"
        runs = " / ".join(f"{s:.2f}" for s in r.get("runs_s", []))
        print(f"  {step}: {status} (runs {runs}), peak {r.get('peak_mb', 0):.0f} MB", flush=True)
    cmp = run_step("compare", args.workdir, args.size)
    results["compare"] = cmp

    floor = results.get("io_floor", {}).get("seconds", float("nan"))
    print()
    print(f"{'step':<16} {'seconds':>9} {'x floor':>8} {'work CPU s':>9} {'peak MB':>10}")
    for step in STEPS:
        print(f"{step:<16} {_fmt(results.get(step), floor)}")
    geo, elig = results.get("geotool"), results.get("geotool_elig")
    nv, atl = results.get("naive"), results.get("atlite")
    print()
    if _ok(geo):
        print(f"geotool scoring / I/O floor (1 thread):  {geo['seconds'] / floor:.2f}x")
        if _ok(results.get("io_floor_2t")):
            f2 = results["io_floor_2t"]["seconds"]
            print(f"geotool scoring / I/O floor (2 threads): {geo['seconds'] / f2:.2f}x")
    if _ok(geo) and "work_cpu_s" in geo:
        # wall >= CPU / cores: how close the step could get to the floor with no idle core
        bound = geo["work_cpu_s"] / (os.cpu_count() or 1)
        print(
            f"geotool scoring CPU {geo['work_cpu_s']:.2f} s on {os.cpu_count()} cores: at least"
            f" {bound:.2f} s = {bound / floor:.2f}x the floor with every core busy throughout"
        )
    if _ok(geo) and _ok(nv):
        print(f"naive script / geotool scoring:          {nv['seconds'] / geo['seconds']:.2f}x")
    if _ok(elig) and _ok(atl):
        print(f"atlite / geotool eligibility (COG):      {atl['seconds'] / elig['seconds']:.2f}x")
    mem = results.get("geotool_elig_mem")
    if _ok(mem) and _ok(atl):
        print(f"atlite / geotool eligibility (in memory): {atl['seconds'] / mem['seconds']:.2f}x")
    if cmp.get("failed"):
        print(f"comparison FAILED: {cmp['error']}")
    else:
        if "eligibility" in cmp:
            e = cmp["eligibility"]
            print(
                f"eligibility agreement geotool vs atlite: {100 * e['agreement']:.3f} % "
                f"(eligible {100 * e['eligible_geotool']:.2f} % vs {100 * e['eligible_atlite']:.2f}"
                f" %; {e['geotool_only']:,} px only geotool, {e['atlite_only']:,} px only atlite,"
                f" of which {e['atlite_only_at_buffer_edge']:,} in the edge band that atlite's"
                " polygonal buffers leave out)"
            )
        if "score" in cmp:
            s = cmp["score"]
            print(
                f"score geotool vs naive: same NaN pattern on {100 * s['nan_agreement']:.3f} % of"
                f" pixels, max |diff| {s['max_abs_diff']:.2e} where both score"
            )
    checks = targets(results, args.size)
    print()
    for name, met, detail in checks:
        print(f"target {'met   ' if met else 'MISSED'} {name}: {detail}")
    if args.json:
        args.json.write_text(json.dumps({"size": args.size, **results}, indent=2) + "\n")
    return 0 if all(met for _, met, _ in checks) else 1


def targets(results: dict[str, Any], size: int) -> list[tuple[str, bool, str]]:
    """Issue 8's bars that this run measured: (name, met, figures)."""
    out = []
    floor, geo = results.get("io_floor"), results.get("geotool")
    if _ok(floor) and _ok(geo):
        ratio = geo["seconds"] / floor["seconds"]
        out.append(("scoring <= 1.2x the I/O floor", ratio <= 1.2, f"{ratio:.2f}x"))
    elig, atl = results.get("geotool_elig_mem"), results.get("atlite")
    if _ok(elig) and _ok(atl):
        speed = atl["seconds"] / elig["seconds"]
        out.append(("eligibility >= 3x faster than atlite", speed >= 3.0, f"{speed:.2f}x"))
    cmp = results.get("compare", {})
    if "eligibility" in cmp:
        e = cmp["eligibility"]
        out.append(
            (
                "eligibility agreement >= 99.5 %, differences only at atlite's buffer edges",
                e["agreement"] >= 0.995 and e["geotool_only"] == 0,
                f"{100 * e['agreement']:.3f} %, {e['geotool_only']} px only geotool",
            )
        )
    if size >= 20_000:
        for step in ("geotool", "geotool_elig", "geotool_sites"):
            if _ok(results.get(step)):
                peak = results[step]["peak_mb"] * 2**20 / 1e9
                out.append((f"{step} peak memory <= 2 GB", peak <= 2.0, f"{peak:.2f} GB"))
    return out


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
