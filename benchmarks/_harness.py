"""Run one measurement in a fresh process and record its time and peak resident memory.

The child prints one JSON line (its own ``seconds`` of work, imports excluded, and
``ru_maxrss``); the parent polls the child's RSS (children included) every 20 ms with psutil.
The parent imports nothing heavy, so a child's ``ru_maxrss`` is its own.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

POLL_S = 0.02


def measure(
    script: Path,
    args: list[str],
    *,
    python: str | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``python script args`` and return its JSON result plus ``peak_mb`` and ``wall_s``
    (or ``failed``, ``returncode`` and the tail of its stderr as ``error``)."""
    import psutil

    cmd = [python or sys.executable, str(script), *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss
            rss += sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(POLL_S)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-15:]
        return {"failed": True, "returncode": proc.returncode, "error": "\n".join(tail)}
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    result["polled_peak_mb"] = peak / 2**20
    result["peak_mb"] = max(result.get("maxrss_mb", 0.0), result["polled_peak_mb"])
    result["wall_s"] = wall
    return result


def cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + kids.ru_utime + kids.ru_stime


def report(info: dict[str, Any], seconds: float, cpu_at_start: float | None = None) -> None:
    """Child side: print the result line (KiB ru_maxrss on Linux). ``cpu_s`` is the CPU time
    of the whole process (imports included); ``work_cpu_s`` that of the timed work alone, when
    ``cpu_at_start`` (:func:`cpu_seconds` when the clock started) is given."""
    cpu = cpu_seconds()
    line = {"seconds": seconds, "cpu_s": cpu}
    if cpu_at_start is not None:
        line["work_cpu_s"] = cpu - cpu_at_start
    line["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**line, **info}))
    sys.stdout.flush()


def tiled_tiff_profile(
    size: int, crs: str, transform: Any, nodata: float | None, block: int = 512
) -> dict[str, Any]:
    """rasterio creation options of the benchmarks' square float32 sources: GeoTIFF tiled
    ``block`` × ``block``, deflate-compressed, BigTIFF when needed."""
    return {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
    }
