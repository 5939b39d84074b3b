"""geotool.io.allocator: freed block memory is reused instead of faulting in fresh pages."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc malloc only"
)

# Allocate and touch 10 arrays of 3 MB (below NumPy's 4 MiB huge-page hint), free them all,
# 20 times over: the pattern of a block task's temporaries. Reports the page faults taken.
SNIPPET = """
import json, resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from geotool.io.allocator import keep_freed_memory
    print(json.dumps({"set": keep_freed_memory()}))
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
before = faults()
for _ in range(20):
    arrays = [np.ones(3 << 18, dtype=np.float32) for _ in range(10)]
    del arrays
print(json.dumps({"faults": faults() - before}))
"""


def _run(mode: str, env: dict[str, str] | None = None) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    clean.pop("GLIBC_TUNABLES", None)
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET, mode],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict = {}
    for line in out.splitlines():
        result.update(json.loads(line))
    return result


def test_freed_blocks_are_reused_instead_of_faulting_fresh_pages() -> None:
    default, tuned = _run("default"), _run("tuned")
    assert tuned["set"] is True
    pages_per_round = 10 * (3 << 20) // 4096  # 7,680 pages of 4 KiB touched per round
    # glibc's defaults give the 30 MB back to the kernel after each round: every round faults
    assert default["faults"] > 10 * pages_per_round
    # kept for reuse: the first round faults, later rounds reuse the same pages
    assert tuned["faults"] < 3 * pages_per_round, (default, tuned)


def test_settings_in_the_environment_win() -> None:
    result = _run("tuned", {"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert result["set"] is False
