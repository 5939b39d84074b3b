"""Killing a run at any moment never damages the previous outputs or leaves a partial file.

A tiny study (the corpus base at 100 m: 220 × 350 px, a user profile named ``windfarm`` so that
the default map composition shows it, carbon stage on) is run once into ``out/``; its files are
the "previous outputs". The same run is then started again with ``--force`` and killed with
SIGKILL after delays spread over the measured duration of the first run, and once interrupted
with SIGINT. After every kill, every file in ``out/`` must be byte-identical (sha256) to the
previous outputs, with nothing added — no partial file, no temporary file. A final run replaces
the outputs, and sweeps the staging folders the killed runs left behind.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

from geotool.io.outputs import STAGING_PREFIX
from tests.test_errors_corpus import build_base, tree_digest

KILL_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
"""SIGKILL delays as fractions of an uninterrupted run's duration."""
SIGINT_FRACTION = 0.6


def command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "geotool",
        "run",
        "study.toml",
        "--profile",
        "windfarm.toml",
        "--out",
        str(out),
        "--force",
        "-q",
    ]


def check_outputs(out: Path) -> None:
    """Every output is complete: listed in the manifest, and readable by its own library."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = set(manifest["outputs"])
    present = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert listed <= present, listed - present
    assert present - listed == {"manifest.json"}, present - listed
    for name in present:
        path = out / name
        if path.suffix == ".tif":
            with rasterio.open(path) as ds:
                values = ds.read(1)
                assert values.shape == (ds.height, ds.width)
        elif path.suffix == ".gpkg":
            assert len(gpd.read_file(path)) >= 0
        elif path.suffix == ".csv":
            assert len(pd.read_csv(path).columns) > 0
        elif path.suffix == ".html":
            assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")
    score = out / "score_windfarm.tif"
    with rasterio.open(score) as ds:
        finite = ds.read(1)[np.isfinite(ds.read(1))]
        assert finite.size and finite.min() >= 0 and finite.max() <= 1


def stale_staging(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(STAGING_PREFIX))


XSS_STUDY = "Tiny <img src=x onerror=alert(1)>"
XSS_REGION = "West <script>alert('x')</script>"


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kill")
    build_base(folder)
    text = (folder / "study.toml").read_text(encoding="utf-8")
    text = text.replace("resolution = 1000", "resolution = 100")
    text = text.replace('name = "Tiny"', f'name = "{XSS_STUDY}"')
    (folder / "study.toml").write_text(text, encoding="utf-8")
    regions = (folder / "regions.geojson").read_text(encoding="utf-8")
    (folder / "regions.geojson").write_text(
        regions.replace('"West"', json.dumps(XSS_REGION)), encoding="utf-8"
    )
    profile = (folder / "mini.toml").read_text(encoding="utf-8")
    (folder / "windfarm.toml").write_text(profile.replace('name = "mini"', 'name = "windfarm"'))
    return folder


def test_killed_runs_leave_previous_outputs_intact(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    t0 = time.monotonic()
    first = subprocess.run(command(out), cwd=study, capture_output=True, text=True, timeout=300)
    duration = time.monotonic() - t0
    assert first.returncode == 0, first.stderr
    check_outputs(out)
    previous = tree_digest(out)
    saved = tmp_path / "saved"
    shutil.copytree(out, saved)

    outcomes = []
    for fraction in KILL_FRACTIONS:
        proc = subprocess.Popen(
            command(out), cwd=study, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(fraction * duration)
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        # the machine was quicker this time (or the run ended between poll and kill, when
        # send_signal does nothing): a complete new output set
        if finished or proc.returncode == 0:
            assert proc.returncode == 0
            check_outputs(out)
            shutil.rmtree(out)
            shutil.copytree(saved, out)
            outcomes.append("finished")
            continue
        assert proc.returncode == -signal.SIGKILL
        if tree_digest(out) != previous:
            # the signal landed after the run had swapped its complete new folder in (during
            # interpreter shutdown): that must be a whole, consistent new output set
            check_outputs(out)
            assert not list(out.parent.glob(".geotool-*")), "commit left folders behind"
            shutil.rmtree(out)
            shutil.copytree(saved, out)
            outcomes.append("committed before the kill")
            continue
        outcomes.append("killed")
    print(
        "kill outcomes:", dict(zip(KILL_FRACTIONS, outcomes, strict=True)), f"run {duration:.1f} s"
    )
    assert "killed" in outcomes

    # SIGINT: the run stops cleanly, says so, discards its staging folder
    proc = subprocess.Popen(
        command(out), cwd=study, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    time.sleep(SIGINT_FRACTION * duration)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        if tree_digest(out) != previous:
            # the run had swapped its complete new folder in when the signal landed (during the
            # interpreter's shutdown Python then exits by SIGINT, -2): a whole new output set
            assert proc.returncode in (0, 130, -signal.SIGINT), err
            check_outputs(out)
            assert f"{STAGING_PREFIX}out-{proc.pid}" not in stale_staging(tmp_path)
        elif proc.returncode != 0:  # (0 only if it finished just before the signal)
            assert proc.returncode == 130, err
            assert err.strip().splitlines()[-1] == "geotool: interrupted"
            assert "Traceback" not in err
            assert f"{STAGING_PREFIX}out-{proc.pid}" not in stale_staging(tmp_path)

    # a later run replaces the outputs and sweeps what the killed runs left
    final = subprocess.run(command(out), cwd=study, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    check_outputs(out)
    assert stale_staging(tmp_path) == []
    # user strings (study and region names) reach the map escaped, never as markup
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page and "<script>alert" not in page
    assert XSS_REGION in pd.read_csv(out / "regions_windfarm.csv")["region"].tolist()
    assert tree_digest(out)["manifest.json"] != previous["manifest.json"]
