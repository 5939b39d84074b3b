#!/usr/bin/env python
"""Peak memory and time of aligning a large raster, against the plain I/O floor.

A ``size`` × ``size`` float32 GeoTIFF (EPSG:32649, 30 m, tiled 512 × 512, deflate) holding a
smooth analytic wind field (2.5–11.5 m/s, inside the catalog's 0–20 m/s) is written block by
block. Then, each in its own fresh Python process, the script measures

``baseline``  importing numpy, rasterio, dask, xarray and geotool only (the interpreter floor);
``io_floor``  reading every block of the source once with rasterio (the I/O floor, the peer);
``align``     geotool's ``align_raster`` onto a grid of the same size in EPSG:32650 (a real
              warp: the two UTM zones are rotated ~2.6° against each other here), every block
              computed and reduced to a sum, nothing written;
``geotool``   the same alignment streamed to a Cloud-Optimized GeoTIFF with
              ``geotool.io.outputs.write_cog`` (the product path).

For each it reports the wall time of the work and the peak resident memory: the kernel's
high-water mark (``getrusage(RUSAGE_SELF).ru_maxrss`` reported by the child) and, as a cross-check,
the largest RSS seen by polling the child with psutil every 20 ms. Finally a separate process
checks the COG: its grid, and that sampled pixels equal the analytic field at their positions
(to within 4e-3 m/s, see ``TOLERANCE_M_S``).

Exit status: 0 if geotool's peak RSS is below ``--limit-mb`` (default 1024 MB) and the output
checks pass, 1 otherwise.

Usage::

    python benchmarks/align_memory.py                 # 10,000 × 10,000, temporary workdir
    python benchmarks/align_memory.py --size 20000 --workdir bench-output
    python benchmarks/align_memory.py --gdal-cachemax 64   # GDAL block cache capped at 64 MB
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The parent imports nothing heavy: on Linux a child's ru_maxrss can include the RSS of the
# parent at fork time, so the parent must stay far below what the children use.
import _harness
import psutil

SOURCE_CRS = "EPSG:32649"  # WGS 84 / UTM 49N (Shaoguan)
TARGET_CRS = "EPSG:32650"  # the neighbouring zone: every pixel really warps
RES_M = 30.0
SOURCE_LEFT_M, SOURCE_TOP_M = 600_000.0, 2_900_000.0  # ~112.0°E, 26.2°N in zone 49
BLOCK = 512
MODES = ("baseline", "io_floor", "align", "geotool")
# Allowed |aligned - analytic| in m/s, from the field's largest gradient (|df/dx| + |df/dy| <=
# 1.3e-3 (m/s)/m, see wind_field) times the largest shift of the effective sample position:
# GDAL's warper (most likely) sizes its kernel from the source window's bounding box, which the
# ~2.6° rotation between the zones makes ~4.5 % wider than the block, so bilinear weights act as
# if the sample moved by up to ~0.045 px (1.35 m): <= 1.8e-3 m/s. Measured: 1.2e-3, the same with
# an exact transformer (error_threshold=0), while scipy's exact bilinear interpolation of the same
# source is within 3e-5. A half-pixel shift would show as errors up to 1.4e-2.
TOLERANCE_M_S = 4e-3


def wind_field(x: Any, y: Any) -> Any:
    """Smooth analytic wind speed (m/s) at source-CRS coordinates (m); range 2.5..11.5."""
    import numpy as np

    tau = 2.0 * np.pi
    return (
        7.0
        + 3.0 * np.sin(tau * x / 97_000.0) * np.cos(tau * y / 61_000.0)
        + 1.5 * np.sin(tau * (x + y) / 23_000.0)
    )


# ----------------------------------------------------------------------------- child work


def _source_transform() -> Any:
    from affine import Affine

    return Affine(RES_M, 0.0, SOURCE_LEFT_M, 0.0, -RES_M, SOURCE_TOP_M)


def _target_grid(size: int) -> Any:
    """A ``size`` × ``size`` 30 m grid in EPSG:32650 centred on the source's centre."""
    from affine import Affine
    from pyproj import CRS, Transformer

    from geotool.grid import Grid

    half = size * RES_M / 2.0
    cx, cy = SOURCE_LEFT_M + half, SOURCE_TOP_M - half
    tx, ty = Transformer.from_crs(SOURCE_CRS, TARGET_CRS, always_xy=True).transform(cx, cy)
    x0 = round((tx - half) / RES_M) * RES_M
    y1 = round((ty + half) / RES_M) * RES_M
    return Grid(CRS.from_user_input(TARGET_CRS), Affine(RES_M, 0, x0, 0, -RES_M, y1), (size, size))


def generate(path: Path, size: int) -> dict[str, Any]:
    """Write the source raster one 512-row strip of tiles at a time (bounded memory)."""
    import numpy as np
    import rasterio
    import rasterio.windows

    t = _source_transform()
    profile = _harness.tiled_tiff_profile(size, SOURCE_CRS, t, -9999.0, BLOCK)
    tmp = path.with_name(path.name + ".part")
    xs = t.c + (np.arange(size) + 0.5) * RES_M
    # rasterio hands an integer GDAL_CACHEMAX to GDALSetCacheMax64, i.e. in *bytes* (the
    # environment variable of the same name is read by GDAL as megabytes).
    with rasterio.Env(GDAL_CACHEMAX=64 * 2**20), rasterio.open(tmp, "w", **profile) as ds:
        for r0 in range(0, size, BLOCK):
            h = min(BLOCK, size - r0)
            ys = t.f - (np.arange(r0, r0 + h) + 0.5) * RES_M
            strip = wind_field(xs[None, :], ys[:, None]).astype("float32")
            ds.write(strip, 1, window=rasterio.windows.Window(0, r0, size, h))
    os.replace(tmp, path)
    return {"bytes": path.stat().st_size}


def io_floor(path: Path) -> dict[str, Any]:
    """Read every block of the source once, in file order."""
    import numpy as np
    import rasterio

    total, n = 0.0, 0
    with rasterio.open(path) as ds:
        for _, window in ds.block_windows(1):
            block = ds.read(1, window=window)
            total += float(np.sum(block, dtype="float64"))
            n += block.size
    return {"pixels": n, "mean": total / n}


def _aligned(path: Path, size: int) -> tuple[Any, Any]:
    from geotool.catalog import get_layer
    from geotool.io.raster import align_raster, open_raster

    src = open_raster(path)
    grid = _target_grid(size)
    return align_raster(src, get_layer("wind_speed_100m"), grid), grid


def align_only(path: Path, size: int) -> dict[str, Any]:
    """Compute every aligned block and reduce it to a sum (no output written)."""
    arr, _ = _aligned(path, size)
    valid = int(arr.notnull().sum().compute())
    mean = float(arr.mean().compute())
    return {"valid_pixels": valid, "mean": mean, "chunks": [len(c) for c in arr.chunks]}


def geotool_cog(path: Path, size: int, out: Path) -> dict[str, Any]:
    """Align and stream the result to a Cloud-Optimized GeoTIFF."""
    from geotool.io.outputs import write_cog

    arr, grid = _aligned(path, size)
    write_cog(arr, out, grid)
    return {"bytes": out.stat().st_size, "chunks": [len(c) for c in arr.chunks]}


def verify(path: Path, size: int, out: Path, n_samples: int = 2000) -> dict[str, Any]:
    """Check the COG's grid and compare sampled pixels with the analytic field."""
    import numpy as np
    import rasterio
    from pyproj import Transformer

    grid = _target_grid(size)
    problems: list[str] = []
    with rasterio.open(out) as ds:
        if (ds.height, ds.width) != grid.shape:
            problems.append(f"shape {(ds.height, ds.width)} != {grid.shape}")
        if ds.crs.to_epsg() != 32650:
            problems.append(f"CRS {ds.crs} is not {TARGET_CRS}")
        if not ds.transform.almost_equals(grid.transform):
            problems.append("transform differs from the analysis grid")
        if not ds.overviews(1):
            problems.append("no overviews: not a COG")
        rng = np.random.default_rng(0)
        rows = rng.integers(0, size, n_samples)
        cols = rng.integers(0, size, n_samples)
        got = np.array(
            [
                ds.read(1, window=((r, r + 1), (c, c + 1)))[0, 0]
                for r, c in zip(rows, cols, strict=True)
            ]
        )
    x = grid.transform.c + (cols + 0.5) * RES_M
    y = grid.transform.f - (rows + 0.5) * RES_M
    sx, sy = Transformer.from_crs(TARGET_CRS, SOURCE_CRS, always_xy=True).transform(x, y)
    # pixel centres whose bilinear neighbourhood lies fully inside the source
    lim = size * RES_M
    inside = (
        (sx > SOURCE_LEFT_M + RES_M)
        & (sx < SOURCE_LEFT_M + lim - RES_M)
        & (sy < SOURCE_TOP_M - RES_M)
        & (sy > SOURCE_TOP_M - lim + RES_M)
    )
    outside = (
        (sx < SOURCE_LEFT_M)
        | (sx > SOURCE_LEFT_M + lim)
        | (sy > SOURCE_TOP_M)
        | (sy < SOURCE_TOP_M - lim)
    )
    expected = wind_field(sx, sy)
    err = np.abs(got[inside] - expected[inside])
    max_err = float(err.max()) if err.size else float("nan")
    if not inside.any() or not np.isfinite(got[inside]).all():
        problems.append("pixels inside the source footprint are no data")
    elif max_err > TOLERANCE_M_S:
        problems.append(f"max |aligned - analytic| = {max_err:.2e} m/s > {TOLERANCE_M_S}")
    if outside.any() and np.isfinite(got[outside]).any():
        problems.append("pixels outside the source footprint are not NaN")
    return {
        "samples_inside": int(inside.sum()),
        "samples_outside": int(outside.sum()),
        "max_abs_error_m_s": max_err,
        "problems": problems,
    }


def child(mode: str, workdir: Path, size: int) -> int:
    """Run one measurement in this (fresh) process and print its result as JSON."""
    import resource

    source = workdir / f"source_{size}.tif"
    out = workdir / f"aligned_{size}.tif"
    # Imports happen before the clock starts: "work s" is the work alone. The memory they take
    # is part of every peak; the baseline row shows how much.
    import numpy  # noqa: F401
    import rasterio  # noqa: F401

    if mode in ("baseline", "align", "geotool", "verify"):
        import dask.array  # noqa: F401
        import xarray  # noqa: F401

        import geotool.catalog
        import geotool.io.outputs
        import geotool.io.raster  # noqa: F401
    if mode in ("baseline", "io_floor", "align", "geotool"):
        from geotool.io.allocator import keep_freed_memory

        keep_freed_memory()  # as the geotool command does
    t0 = time.perf_counter()
    if mode == "generate":
        info = generate(source, size)
    elif mode == "baseline":
        info = {}
    elif mode == "io_floor":
        info = io_floor(source)
    elif mode == "align":
        info = align_only(source, size)
    elif mode == "geotool":
        info = geotool_cog(source, size, out)
    elif mode == "verify":
        info = verify(source, size, out)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    seconds = time.perf_counter() - t0
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"mode": mode, "seconds": seconds, "maxrss_mb": maxrss_kb / 1024, **info}))
    return 0


# ----------------------------------------------------------------------------- parent


def measure(mode: str, workdir: Path, size: int, env: dict[str, str]) -> dict[str, Any]:
    """Run ``mode`` in a child process, polling its RSS every 20 ms (``_harness.measure``)."""
    args = ["--child", mode, "--workdir", str(workdir), "--size", str(size)]
    result = _harness.measure(Path(__file__), args, env=env)
    if result.get("failed"):
        sys.stderr.write(result["error"] + "\n")
        raise SystemExit(f"{mode}: child process failed with exit code {result['returncode']}")
    result["process_wall_s"] = result.pop("wall_s")
    return result


def _table(rows: list[dict[str, Any]], floor: dict[str, Any]) -> str:
    head = (
        f"{'step':<10} {'work s':>8} {'x floor':>8} {'peak RSS MB':>12} "
        f"{'(polled MB)':>12} {'x floor':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        t_ratio = r["seconds"] / floor["seconds"] if r["mode"] != "baseline" else float("nan")
        lines.append(
            f"{r['mode']:<10} {r['seconds']:>8.2f} {t_ratio:>8.2f} {r['peak_mb']:>12.0f} "
            f"{r['polled_peak_mb']:>12.0f} {r['peak_mb'] / floor['peak_mb']:>8.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=10_000, help="raster edge in pixels (10000)")
    p.add_argument("--workdir", type=Path, help="keep files here (default: temporary, removed)")
    p.add_argument("--limit-mb", type=float, default=1024.0, help="fail at this peak RSS (1024)")
    p.add_argument(
        "--gdal-cachemax",
        type=int,
        help="GDAL block cache in MB for every child (default: GDAL's own, 5%% of RAM)",
    )
    p.add_argument("--child", choices=("generate", *MODES, "verify"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.size < 2 * BLOCK:
        p.error(f"--size must be at least {2 * BLOCK}")

    if args.child:
        return child(args.child, args.workdir, args.size)

    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="geotool-bench-")) if temporary else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.gdal_cachemax is not None:
        env["GDAL_CACHEMAX"] = str(args.gdal_cachemax)
    try:
        source = workdir / f"source_{args.size}.tif"
        mem = psutil.virtual_memory().total / 2**30
        print(
            f"align_memory: {args.size:,} x {args.size:,} float32 ({args.size**2 * 4 / 2**20:,.0f}"
            f" MiB raw), {psutil.cpu_count()} CPUs, {mem:.0f} GiB RAM, "
            f"GDAL_CACHEMAX={env.get('GDAL_CACHEMAX', 'default')}, workdir {workdir}"
        )
        if source.exists():
            print(f"reusing {source}")
        else:
            gen = measure("generate", workdir, args.size, env)
            print(
                f"generated {source.name}: {gen['bytes'] / 2**20:,.0f} MiB on disk in "
                f"{gen['seconds']:.1f} s, peak RSS {gen['peak_mb']:.0f} MB"
            )
        rows = []
        for mode in MODES:
            r = measure(mode, workdir, args.size, env)
            if mode == "io_floor":
                # The floor is the least reading can cost: best of two runs, so a disk still
                # writing back the freshly generated source does not inflate it.
                again = measure(mode, workdir, args.size, env)
                r = min(r, again, key=lambda m: m["seconds"])
                r["peak_mb"] = max(r["peak_mb"], again["peak_mb"])
            rows.append(r)
            print(f"  {mode}: {r['seconds']:.2f} s, peak {r['peak_mb']:.0f} MB", flush=True)
        by_mode = {r["mode"]: r for r in rows}
        floor = by_mode["io_floor"]
        print()
        print(_table(rows, floor))
        check = measure("verify", workdir, args.size, env)
        geo = by_mode["geotool"]
        base = by_mode["baseline"]
        print()
        print(
            f"geotool (align + COG) takes {geo['seconds'] / floor['seconds']:.1f}x the I/O floor "
            f"and peaks at {geo['peak_mb']:.0f} MB ({geo['peak_mb'] - base['peak_mb']:.0f} MB "
            f"above the {base['peak_mb']:.0f} MB of the imports alone; dask chunks "
            f"{geo['chunks']})."
        )
        print(
            f"output check: {check['samples_inside']} sampled pixels inside the source, max "
            f"|aligned - analytic| = {check['max_abs_error_m_s']:.2e} m/s; "
            f"{check['samples_outside']} outside are NaN"
            if not check["problems"]
            else f"output check FAILED: {'; '.join(check['problems'])}"
        )
        failed = False
        if geo["peak_mb"] >= args.limit_mb:
            print(f"FAIL: geotool peak RSS {geo['peak_mb']:.0f} MB >= {args.limit_mb:.0f} MB")
            failed = True
        if check["problems"]:
            failed = True
        if not failed:
            print(f"OK: geotool peak RSS below {args.limit_mb:.0f} MB")
        return 1 if failed else 0
    finally:
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
