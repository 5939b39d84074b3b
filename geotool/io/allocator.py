"""Keeping freed memory in the process between blocks (glibc's malloc tuning).

A block-by-block computation allocates and frees arrays of a few megabytes thousands of times.
By default glibc's malloc serves such sizes with ``mmap`` or gives the top of its heap back to
the kernel (``M_TRIM_THRESHOLD``, 128 KiB by default, adjusted upwards to at most 64 MiB), so
the next block's arrays are fresh pages: one page fault and one zeroing per 4 KiB the first
time they are written. On the 2-core VM geotool is benchmarked on, scoring the 16,000²
benchmark scene took 3.1 million page faults and 14-16 s of system time for 26 s of reading;
with freed memory kept for reuse it took 155,000 faults, 6.5-7 s of system time and 15-20 %
less wall time, for ~75 MB more peak memory (``benchmarks/score_vs_peers.py``).

:func:`keep_freed_memory` is called once by the ``geotool`` command (an application may tune
its process; importing the library changes nothing). Settings given in the environment
(``MALLOC_TRIM_THRESHOLD_`` and friends, see ``mallopt(3)``) are left as they are. Dask
distributed workers are separate processes with their own settings.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt(3) parameter numbers (glibc malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

TRIM_THRESHOLD_BYTES = 256 << 20
"""Free memory at the top of a heap kept before it is returned to the kernel: room for one
block's arrays of a profile's inputs and outputs (~60 MB for 11 layers at 1,024² float32)
several times over."""

TOP_PAD_BYTES = 64 << 20
"""Extra memory taken when a heap grows, so that growing block by block is not a system call
(and a later trim) each time."""

MMAP_THRESHOLD_BYTES = 32 << 20
"""Allocations at least this large get their own mapping (returned at once when freed); 32 MiB
is the largest glibc accepts. Smaller ones — every 1,024² float32 block (4 MiB) — come from
the heap. Setting it also stops glibc from adapting the threshold and the trim threshold."""

_ENVIRONMENT = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_")


def keep_freed_memory() -> bool:
    """Tune glibc's malloc to keep freed memory for reuse; True when it was set.

    Does nothing (False) off Linux, without glibc's ``mallopt``, or when the environment
    already sets one of ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_TOP_PAD_``,
    ``MALLOC_MMAP_THRESHOLD_`` or ``GLIBC_TUNABLES`` (the user's choice wins).
    """
    if not sys.platform.startswith("linux"):
        return False
    if any(name in os.environ for name in (*_ENVIRONMENT, "GLIBC_TUNABLES")):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        (M_TOP_PAD, TOP_PAD_BYTES),
    )
    return all(mallopt(param, value) == 1 for param, value in settings)
