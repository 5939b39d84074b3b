"""Computing dask arrays block by block into writable targets, on any scheduler.

The output writers (:mod:`geotool.io.outputs`) hand :func:`store_blocks` their lazy arrays and
one target per array (an object accepting ``target[rows, cols] = block``, e.g. a window writer
on an open GeoTIFF). Open files never leave the process that opened them.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np


def store_blocks(sources: list[da.Array], targets: list[Any], lock: Any = True) -> None:
    """Compute ``sources`` block by block and assign each block into its target
    (``target[rows, cols] = block``), on whichever scheduler is active.

    Threaded (the default): ``dask.array.store`` with a lock, the targets written from the
    worker threads as blocks finish — one graph, shared inputs computed once. Distributed
    (:mod:`geotool.scheduler`): open files cannot travel to other processes, so all blocks are
    computed on the workers in one graph, each output position returning the tuple of its
    blocks, and the client writes them as they arrive (workers hold only blocks computed but
    not fetched yet).
    """
    from geotool.scheduler import current_client

    client = current_client()
    if client is None:
        da.store(sources, targets, lock=lock)
        return
    _store_distributed(client, sources, targets)


def _block_tuple(*blocks: np.ndarray) -> tuple[np.ndarray, ...]:
    return blocks


def _store_distributed(client: Any, sources: list[da.Array], targets: list[Any]) -> None:
    import dask
    from distributed import as_completed

    from geotool.progress import block_reporter

    chunks = sources[0].chunks
    sources = [s if s.chunks == chunks else s.rechunk(chunks) for s in sources]
    slices = list(da.core.slices_from_chunks(chunks))
    parts = [s.to_delayed().ravel() for s in sources]
    positions = [
        dask.delayed(_block_tuple, pure=True)(*(p[k] for p in parts)) for k in range(len(slices))
    ]
    futures = client.compute(positions)
    where = {f.key: k for k, f in enumerate(futures)}
    tick = block_reporter(len(slices))
    try:
        for fut in as_completed(futures):
            blocks = fut.result()
            key = slices[where[fut.key]]
            for target, block in zip(targets, blocks, strict=True):
                target[key] = block
            fut.release()
            tick()
    except BaseException:
        client.cancel(futures)
        raise
