"""Grid-sized scratch arrays kept on disk instead of in memory.

The sites stage needs one full-grid array, the label raster (2–4 bytes per pixel: 0.8 GB at
20,000² px, 20 GB at 100,000²). :func:`scratch_array` backs it with a file mapped into memory
(``numpy.memmap``) in a work folder: the kernel pages it in as strips are touched, and
:func:`release` drops the touched pages from the process after each strip, so the resident
memory of the stage no longer grows with the region (the pages stay in the page cache, shared
and reclaimable, and dirty ones are written back by the kernel). The file is unlinked as soon
as it is mapped: nothing is left on disk however the process ends.

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     a = scratch_array((4, 3), np.uint16, d)
...     a[1:3] = 7
...     release(a)  # the values survive: they live in the (unlinked) file
...     int(a.sum()), os.listdir(d)
(42, [])
"""

from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def scratch_array(
    shape: tuple[int, ...], dtype: Any, folder: str | Path | None = None
) -> np.ndarray:
    """A zero-filled array of ``shape``: file-backed in ``folder`` (unlinked at once), or an
    ordinary in-memory array when ``folder`` is None or the array is empty."""
    if folder is None or int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype=dtype)
    fd, name = tempfile.mkstemp(prefix=".geotool-scratch-", suffix=".bin", dir=folder)
    os.close(fd)
    try:
        return np.memmap(name, dtype=dtype, mode="w+", shape=shape)  # sparse: reads as zeros
    finally:
        os.unlink(name)  # the mapping keeps the data; the name goes at once


def scratch_like(like: np.ndarray, dtype: Any) -> np.ndarray:
    """:func:`scratch_array` of ``like``'s shape, file-backed when ``like`` is."""
    filename = like.filename if isinstance(like, np.memmap) else None
    return scratch_array(like.shape, dtype, os.path.dirname(filename) if filename else None)


def is_mapped(arr: np.ndarray) -> bool:
    """Whether ``arr`` (or the array it views) is file-backed."""
    return getattr(arr, "_mmap", None) is not None


def release(*arrays: np.ndarray) -> None:
    """Drop the pages of file-backed ``arrays`` from this process's resident memory
    (``madvise(MADV_DONTNEED)`` on their mappings; the data stay in the file). In-memory
    arrays are left alone."""
    for arr in arrays:
        mapping = getattr(arr, "_mmap", None)
        if mapping is not None and not mapping.closed:
            mapping.madvise(mmap.MADV_DONTNEED)
