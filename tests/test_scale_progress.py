"""Progress bars for long stages: counted from dask's tasks (local) or output blocks
(distributed), drawn only on a terminal and never with --quiet; scheduler options on the CLI."""

from __future__ import annotations

import io
import subprocess
import sys

import dask.array as da
from rich.console import Console

from geotool.progress import ProgressBars, block_reporter


def _terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=100), buf


def test_local_tasks_drive_the_bar():
    console, buf = _terminal()
    arr = da.ones((400, 400), chunks=100) * 2  # 16 blocks (dask may fuse their tasks)
    with ProgressBars(enabled=True, console=console) as bars:
        assert bars.active
        with bars.stage("scoring test"):
            total = float(arr.sum().compute())
        task = bars._progress.tasks[0]
    assert total == 400 * 400 * 2
    assert task.total is not None and task.total >= 16
    assert task.completed == task.total  # every task counted once
    assert "scoring test" in buf.getvalue()


def test_block_reporter_counts_blocks_of_the_active_stage():
    console, _ = _terminal()
    with ProgressBars(enabled=True, console=console) as bars, bars.stage("writing"):
        tick = block_reporter(5)
        for _ in range(3):
            tick()
        task = bars._progress.tasks[0]
        assert (task.total, task.completed) == (5, 3)


def test_quiet_or_no_terminal_draws_nothing():
    console, buf = _terminal()
    with ProgressBars(enabled=False, console=console) as bars, bars.stage("x"):
        assert not bars.active
        block_reporter(3)()  # a no-op without a bar
        da.ones(10, chunks=5).sum().compute()
    assert buf.getvalue() == ""
    piped = Console(file=io.StringIO())  # not a terminal: logs get no bars
    assert not ProgressBars(enabled=True, console=piped).active


def test_run_and_demo_offer_scheduler_options():
    for command in ("run", "demo"):
        res = subprocess.run(
            [sys.executable, "-m", "geotool", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0
        assert "--scheduler ADDRESS" in res.stdout and "--workers" in res.stdout
        assert "--quiet" in res.stdout


def test_cli_silences_rasterios_spurious_geotransform_warning():
    # rasterize on 2 threads now and then warns about its own in-memory target; the command
    # line installs a filter for exactly that message from rasterio.features, nothing wider
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    from geotool.cli import main

    assert main(["layers"]) in (0, None)
    with warnings.catch_warnings(record=True) as seen:
        warnings.warn_explicit(
            "Dataset has no geotransform, gcps, or rpcs. The identity matrix will be returned.",
            NotGeoreferencedWarning,
            "rasterio/features.py",
            382,
            module="rasterio.features",
        )
        warnings.warn_explicit(
            "Dataset has no geotransform, gcps, or rpcs.",
            NotGeoreferencedWarning,
            "rasterio/__init__.py",
            220,
            module="rasterio",
        )
    assert [str(w.message) for w in seen] == ["Dataset has no geotransform, gcps, or rpcs."]
