"""Where the dask graphs run: the local threaded scheduler, a local cluster, or a remote one.

Every stage builds lazy dask graphs and computes them with ``dask.compute``/``da.store``; this
module only chooses the scheduler those calls use, for the duration of a ``with`` block:

- ``SchedulerSpec()`` — dask's local threaded scheduler (one thread per core): the fastest
  choice on one machine, since tasks share memory and nothing is pickled;
- ``SchedulerSpec(workers=N)`` — a ``distributed.LocalCluster`` of N worker *processes* with one
  thread each (a test bed for clusters; also sidesteps the GIL for pure-Python kernels);
- ``SchedulerSpec(address="tcp://host:8786")`` — an existing Dask distributed scheduler.

With a distributed scheduler, task inputs and results are pickled to and from the workers, and
workers open input files by path: a remote cluster needs the study's files (and the output
folder, where the stack is materialized) on a file system every worker sees at the same path,
and its workers should run with ``GDAL_CACHEMAX=128`` (megabytes) in their environment, as the
local cluster's do, to keep GDAL's block cache bounded.
Output rasters are always written by the client process (:func:`geotool.io.outputs.write_cogs`
fetches each computed block and writes it), never by workers into a shared file.

Examples
--------
>>> with use_scheduler(SchedulerSpec()) as client:
...     client is None
True
>>> SchedulerSpec(workers=2).describe()
'local cluster of 2 worker processes'
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from geotool.errors import ConfigError
from geotool.io.raster import GDAL_CACHE_BYTES

CONNECT_TIMEOUT_S = 10
"""Seconds to wait for a remote scheduler before giving up with a clear error."""


@dataclass(frozen=True)
class SchedulerSpec:
    """Which scheduler runs the pipeline.

    Parameters
    ----------
    address
        Address of a running Dask distributed scheduler (``tcp://host:8786``); None for local.
    workers
        Start a ``distributed.LocalCluster`` with this many single-threaded worker processes.
    """

    address: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.address is not None and self.workers is not None:
            raise ConfigError(
                "give either a scheduler address or a number of local workers, not both",
                where="--scheduler/--workers",
                fix="drop --workers to use the cluster at the address",
            )
        if self.workers is not None and self.workers < 1:
            raise ConfigError(
                f"--workers must be at least 1, got {self.workers}",
                where="--workers",
                fix="pass --workers 2 (or leave it out for the local threaded scheduler)",
            )

    @property
    def distributed(self) -> bool:
        return self.address is not None or self.workers is not None

    def describe(self) -> str:
        if self.address is not None:
            return f"dask distributed scheduler at {self.address}"
        if self.workers is not None:
            return f"local cluster of {self.workers} worker processes"
        return "local threaded scheduler"


@contextmanager
def use_scheduler(spec: SchedulerSpec) -> Iterator[Any]:
    """Run the dask computations inside the block on ``spec``'s scheduler.

    Yields the ``distributed.Client`` (None for the threaded scheduler); the client and any
    local cluster are closed on exit.
    """
    if not spec.distributed:
        import dask

        with dask.config.set(scheduler="threads"):
            yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ConfigError(
            "dask.distributed is not installed",
            where="--scheduler",
            fix="pip install 'dask[distributed]'",
        ) from exc
    cluster = None
    try:
        if spec.workers is not None:
            cluster = LocalCluster(
                n_workers=spec.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # GDAL reads this variable as megabytes: each worker's block cache stays
                # bounded (geotool.io.raster.GDAL_CACHE_BYTES) instead of 5 % of RAM
                env={"GDAL_CACHEMAX": str(GDAL_CACHE_BYTES // 2**20)},
            )
            client = Client(cluster, set_as_default=True)
        else:
            client = Client(spec.address, timeout=CONNECT_TIMEOUT_S, set_as_default=True)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ConfigError(
            f"cannot reach the Dask scheduler ({exc.__class__.__name__}: {exc})",
            where=f"scheduler {spec.address}",
            fix="start one with `dask scheduler` (and `dask worker ADDRESS`), check the "
            "address, or leave --scheduler out to run locally",
        ) from None
    try:
        with warnings.catch_warnings():
            # the site-label windows and feature indexes travel inside the graphs by design
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def current_client() -> Any:
    """The distributed client that ``dask.compute`` uses now, or None (threaded/sync)."""
    if "distributed" not in sys.modules:  # never imported: cannot be in use
        return None
    import dask
    from distributed import default_client

    if dask.config.get("scheduler", None) not in ("dask.distributed", "distributed"):
        return None
    try:
        return default_client()
    except ValueError:
        return None


def worker_threads(client: Any) -> int:
    """Total worker threads of a client's cluster (at least 1)."""
    info = client.scheduler_info()
    return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))
