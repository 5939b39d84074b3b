"""Writing outputs without ever leaving a half-written file or losing previous results.

Every command writes into a hidden staging folder beside the output folder; only when the whole
command succeeded is that folder swapped in for the output folder with atomic renames. A run that fails,
is interrupted or is killed leaves the previous outputs as they were. An existing, non-empty
output folder is only replaced with ``force=True``, and then as a whole: no file of an earlier
run survives.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import rasterio
import rasterio.shutil
import rasterio.windows
import xarray as xr
from rasterio.enums import Resampling

from geotool.errors import OutputExistsError, OutputWriteError
from geotool.grid import Grid
from geotool.io.blocks import store_blocks
from geotool.io.raster import GDAL_CACHE_BYTES

STAGING_PREFIX = ".geotool-staging-"
OLD_PREFIX = ".geotool-old-"


class OutputDir:
    """A staging area that replaces the output folder, whole, only on :meth:`commit`.

    With ``force=True`` an existing, non-empty ``out`` is allowed and is replaced as a whole: no
    file of an earlier run survives beside the new manifest (a different study's or profile's
    outputs left there would be listed nowhere, yet drawn by ``geotool map``). Without it such a
    folder raises :class:`~geotool.errors.OutputExistsError`, and so does, even with ``force``,
    an ``out`` that holds one of the command's ``inputs`` (replacing it would delete them).

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "out"
    >>> with OutputDir(out) as o:
    ...     _ = o.path("score_windfarm.tif").write_text("earlier run")
    >>> with OutputDir(out, force=True) as o:
    ...     _ = o.path("score_solarfarm.tif").write_text("this run")
    >>> sorted(p.name for p in out.iterdir())
    ['score_solarfarm.tif']
    """

    def __init__(self, out: Path, *, force: bool = False, inputs: Iterable[Path] = ()) -> None:
        out = Path(out)
        # `.` or `..` have no name to put the staging folder beside: use the folder's own
        self.out = out.absolute().resolve() if out.name in ("", "..") else out
        if self.out.exists() and not self.out.is_dir():
            raise OutputExistsError(
                "exists and is not a folder", where=str(self.out), fix="choose another --out"
            )
        if self.out.is_dir():
            inside = [p for p in inputs if Path(p).resolve().is_relative_to(self.out.resolve())]
            if inside:
                raise OutputExistsError(
                    f"output folder holds an input of this command ({inside[0]}); "
                    "replacing the folder would delete it",
                    where=str(self.out),
                    fix="choose an --out that holds none of the inputs",
                )
        if Path.cwd().resolve().is_relative_to(self.out.absolute().resolve()):
            # replacing it would leave the shell in a deleted folder (and `.` holds no name
            # to stage beside)
            raise OutputExistsError(
                "is the folder you are working in (or holds it)",
                where=str(out),
                fix="write into a subfolder, e.g. --out results",
            )
        if self.out.is_dir() and os.path.ismount(self.out):
            # committing renames the folder away, which a mount point (a Docker volume, a
            # network share) refuses with EBUSY -- after the whole run
            raise OutputWriteError(
                "is a mount point: geotool replaces an output folder as a whole, which a "
                "mount point cannot be",
                where=str(self.out),
                fix=f"write into a subfolder of it, e.g. --out {self.out / 'results'}",
            )
        if self.out.is_dir() and any(self.out.iterdir()) and not force:
            raise OutputExistsError(
                "output folder exists and is not empty",
                where=str(self.out),
                fix="pass --force to replace the whole folder (none of its files are kept), "
                "or choose another --out",
            )
        self.out.parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale(self.out.parent)
        self.staging = self.out.parent / f"{STAGING_PREFIX}{self.out.name}-{os.getpid()}"
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir()
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}

    def path(self, name: str) -> Path:
        """Where to write output ``name`` (inside the staging area)."""
        p = self.staging / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a pipeline stage for the manifest."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - t0, 3)

    def commit(self) -> Path:
        """Swap the staging folder in for the output folder with two renames.

        The old folder is replaced whole: its files that this run did not produce go with it.
        Between the two renames the output folder is briefly missing; a run killed exactly
        there is repaired by the next run's sweep, which renames the old folder back. A kill at
        any other moment leaves either the complete old or the complete new folder — never a
        mix.
        """
        try:
            if not self.out.exists():
                os.replace(self.staging, self.out)
                return self.out
            old = self.out.parent / f"{OLD_PREFIX}{self.out.name}-{os.getpid()}"
            os.replace(self.out, old)
            try:
                os.replace(self.staging, self.out)
            except OSError:
                os.replace(old, self.out)  # the previous outputs back where they were
                raise
        except OSError:
            # a folder that cannot be renamed (immutable, in use, a mount point): nothing of
            # this run stays behind, the previous outputs are untouched
            self.discard()
            raise
        shutil.rmtree(old, ignore_errors=True)
        return self.out

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def _sweep_stale(parent: Path) -> None:
    """Repair what killed runs (whose process is gone) left: an old output folder whose
    replacement never arrived is renamed back; staging folders are removed."""
    for p in parent.glob(f"{OLD_PREFIX}*"):
        stem, _, pid = p.name[len(OLD_PREFIX) :].rpartition("-")
        if pid.isdigit() and not _alive(int(pid)):
            target = parent / stem
            if stem and not target.exists():
                os.replace(p, target)
            else:
                shutil.rmtree(p, ignore_errors=True)
    for p in parent.glob(f"{STAGING_PREFIX}*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


CSV_ENCODING = "utf-8-sig"
"""Encoding of every CSV geotool writes: UTF-8 with a byte-order mark. Excel, which planners
open the tables in, reads a CSV without one in the ANSI code page -- GBK on Chinese Windows --
and shows every region name as mojibake; the BOM is the one sign it honours on a double-click
(Microsoft: "Opening CSV UTF-8 files correctly in Excel"). pandas, R's readr, QGIS and
LibreOffice skip it."""


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ----------------------------------------------------------------------------- rasters

COG_BLOCK = 512
COG_DEFLATE_LEVEL = 1
INTERMEDIATE_ZSTD_LEVEL = 1
"""ZSTD level of intermediate GeoTIFFs (the materialised stack, site work files), which are
written under one lock and read back once or twice. GDAL's default level 9 wrote the demo's
1,784 × 1,915 float32 layers in 0.10-0.14 s each, level 1 in 0.02-0.03 s for files 1-2 %
larger (measured here, GDAL 3.10)."""


class _WindowWriter:
    """``da.store`` target that writes each block into an open rasterio dataset."""

    def __init__(self, ds: rasterio.io.DatasetWriter) -> None:
        self.ds = ds

    def __setitem__(self, key: tuple[slice, slice], value: np.ndarray) -> None:
        if self.ds.closed:  # a failed store closed the file while other threads still ran
            return
        rows, cols = key
        window = rasterio.windows.Window(
            cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start
        )
        self.ds.write(np.asarray(value), 1, window=window)


@dataclass(frozen=True)
class RasterOutput:
    """One single-band COG to write: data on ``grid`` and how to encode it."""

    data: xr.DataArray | da.Array | np.ndarray
    path: Path
    dtype: str = "float32"
    nodata: float | None = None
    categorical: bool = False
    tags: dict[str, Any] | None = None


def cog_overview_factors(shape: tuple[int, int], block: int = COG_BLOCK) -> list[int]:
    """Overview factors GDAL's COG driver makes by default: halving until the largest side of
    the smallest level is at most ``block``.

    >>> cog_overview_factors((4000, 4000)), cog_overview_factors((300, 200))
    ([2, 4, 8], [])
    """
    factors, f = [], 2
    while -(-max(shape) // (f // 2)) > block:
        factors.append(f)
        f *= 2
    return factors


def write_cog(
    data: xr.DataArray | da.Array | np.ndarray,
    path: Path,
    grid: Grid,
    *,
    dtype: str = "float32",
    nodata: float | None = None,
    categorical: bool = False,
    tags: dict[str, Any] | None = None,
) -> Path:
    """Write a single-band Cloud-Optimized GeoTIFF, streaming block by block.

    The array is computed chunk by chunk into a tiled GeoTIFF (never whole in memory), then
    GDAL's COG driver copies it with overviews (``average`` for continuous values, ``nearest``
    for classes) and the final file appears with an atomic rename.
    """
    write_cogs([RasterOutput(data, Path(path), dtype, nodata, categorical, tags)], grid)
    return Path(path)


def write_cogs(outputs: list[RasterOutput], grid: Grid, *, cog: bool = True) -> list[Path]:
    """Write several COGs from ONE pass over their dask graphs (shared inputs computed once).

    With ``cog=False`` the tiled, ZSTD-compressed GeoTIFFs are kept as they are (no overviews):
    the fast form for intermediate files that are only read back.
    """
    sources, targets, datasets, raws = [], [], [], []
    lock = threading.Lock()
    env = rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES)
    env.__enter__()
    try:
        for out in outputs:
            arr = out.data.data if isinstance(out.data, xr.DataArray) else out.data
            if not isinstance(arr, da.Array):
                arr = da.from_array(np.asarray(arr), chunks=(1024, 1024))
            if arr.shape != grid.shape:
                raise ValueError(f"array shape {arr.shape} does not match grid {grid.shape}")
            nodata = out.nodata
            if nodata is None and np.issubdtype(np.dtype(out.dtype), np.floating):
                nodata = float("nan")
            raw = out.path.with_name(f".{out.path.name}.raw-{os.getpid()}.tif")
            raws.append(raw)
            ds = rasterio.open(
                raw,
                "w",
                driver="GTiff",
                width=grid.width,
                height=grid.height,
                count=1,
                dtype=out.dtype,
                crs=grid.crs.to_wkt(),
                transform=grid.transform,
                nodata=nodata,
                tiled=True,
                blockxsize=COG_BLOCK,
                blockysize=COG_BLOCK,
                # the COG copy below compresses: an uncompressed raw file is written and read
                # back without spending a compression pass on it (measured: 0.1 s instead of
                # 0.8 s for 4,000² float32); intermediate files stay compact with ZSTD
                compress="none" if cog else "zstd",
                BIGTIFF="IF_SAFER",
                **({} if cog else {"zstd_level": INTERMEDIATE_ZSTD_LEVEL}),
            )
            datasets.append(ds)
            if out.tags:
                ds.update_tags(**{k: str(v) for k, v in out.tags.items()})
            sources.append(arr.astype(out.dtype))
            targets.append(_WindowWriter(ds))
        store_blocks(sources, targets, lock=lock)
        for ds in datasets:
            ds.close()
        if not cog:
            for out, raw in zip(outputs, raws, strict=True):
                os.replace(raw, out.path)
            return [o.path for o in outputs]
        for out, raw in zip(outputs, raws, strict=True):
            final_tmp = out.path.with_name(f".{out.path.name}.tmp-{os.getpid()}.tif")
            resampling = Resampling.nearest if out.categorical else Resampling.average
            try:
                # overviews built on the uncompressed raw file (GDAL's threads), which the COG
                # driver then copies as they are: the same pixels as letting the COG driver
                # build them, in 0.4 s instead of 0.6 s for 4,000² float32 (measured here)
                with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), rasterio.open(raw, "r+") as ds:
                    ds.build_overviews(cog_overview_factors(grid.shape), resampling)
                rasterio.shutil.copy(
                    raw,
                    final_tmp,
                    driver="COG",
                    COMPRESS="DEFLATE",
                    # GDAL COG driver option (1..9, default 6): level 1 writes 4,000² float32
                    # in 1.3 s instead of 2.2 s for a file ~5 % larger (measured here)
                    LEVEL=str(COG_DEFLATE_LEVEL),
                    PREDICTOR="NO" if out.categorical else "YES",
                    BLOCKSIZE=str(COG_BLOCK),
                    OVERVIEW_RESAMPLING=resampling.name,
                    NUM_THREADS="ALL_CPUS",
                    BIGTIFF="IF_SAFER",
                )
                os.replace(final_tmp, out.path)
            finally:
                if final_tmp.exists():
                    final_tmp.unlink()
    finally:
        # after a failed block, other threads may still be writing: close under the same lock
        # (closing a GDAL dataset mid-write crashed the process: exit 139 in 6 of 12 runs)
        with lock:
            for ds in datasets:
                if not ds.closed:
                    ds.close()
        for raw in raws:
            if raw.exists():
                raw.unlink()
        env.__exit__(None, None, None)
    return [o.path for o in outputs]


def materialize(ds: xr.Dataset, folder: Path, grid: Grid, *, chunk: int = 1024) -> xr.Dataset:
    """Compute every variable of ``ds`` once, in one streaming pass, into tiled GeoTIFFs under
    ``folder``, and return the same Dataset read back lazily from them.

    Later stages that each need several of these layers (one pass per profile) then read
    them from disk instead of recomputing shared work such as exact distance layers and
    warps — memory stays bounded because nothing is held in RAM.
    """
    folder.mkdir(parents=True, exist_ok=True)
    names = [str(v) for v in ds.data_vars]
    outputs = []
    for name in names:
        arr = ds[name]
        dtype = "float32" if arr.dtype.kind == "f" or arr.dtype == bool else str(arr.dtype)
        data = arr.astype("float32") if arr.dtype == bool else arr
        outputs.append(RasterOutput(data, folder / f"{name}.tif", dtype=dtype))
    write_cogs(outputs, grid, cog=False)
    out = xr.Dataset(
        {
            name: open_output(folder / f"{name}.tif", chunk=chunk)
            .assign_coords(x=ds["x"].values, y=ds["y"].values)
            .assign_attrs(ds[name].attrs)
            for name in names
        }
    )
    out.attrs.update(ds.attrs)
    return out


def open_output(path: Path, *, chunk: int = 1024) -> xr.DataArray:
    """Lazily read back a single-band output raster (dims ``y, x``; nodata as NaN for floats)."""
    import rioxarray

    arr = rioxarray.open_rasterio(path, chunks={"x": chunk, "y": chunk}, masked=True)
    assert isinstance(arr, xr.DataArray)
    return arr.squeeze("band", drop=True)


# ----------------------------------------------------------------------------- manifest


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    """Checksum and size of an input file (and of a Shapefile's sidecars)."""
    path = Path(path)
    files = [path]
    if path.suffix.lower() == ".shp":
        files += [
            path.with_suffix(s) for s in (".shx", ".dbf", ".prj") if path.with_suffix(s).exists()
        ]
    return {
        "path": str(path),
        "bytes": sum(f.stat().st_size for f in files),
        "sha256": sha256(path),
    }


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = [
        "geotool",
        "numpy",
        "scipy",
        "xarray",
        "dask",
        "rasterio",
        "rioxarray",
        "geopandas",
        "shapely",
        "pyproj",
        "pyogrio",
        "exactextract",
        "pvlib",
        "windpowerlib",
        "folium",
    ]
    out = {}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            continue
    out["gdal"] = rasterio.__gdal_version__
    return out


def write_manifest(outdir: OutputDir, content: dict[str, Any]) -> Path:
    """``manifest.json``: inputs with checksums, parameters, versions, timings, outputs."""
    manifest = {
        "geotool_manifest": 1,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **content,
        "versions": package_versions(),
        "timings_s": {**outdir.timings, "total": round(time.perf_counter() - outdir.started, 3)},
        "outputs": sorted(
            str(p.relative_to(outdir.staging))
            for p in outdir.staging.rglob("*")
            if p.is_file() and p.name != "manifest.json"
        ),
    }
    path = outdir.path("manifest.json")
    write_text_atomic(path, json.dumps(manifest, indent=2, default=_json_default) + "\n")
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return str(obj)
