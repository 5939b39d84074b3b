"""`geotool resources` on the demo inputs: every derived layer written, ranges plausible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geotool.demo import build_demo

pytestmark = pytest.mark.slow

# layer -> plausible (min, max) for subtropical northern Guangdong (4–8 m/s at 100 m,
# GHI 1,200–1,400 kWh/m², 8–21 °C annual mean, 24–51 °C/km gradients)
RANGES = {
    "wind_speed_hub": (3.5, 10.0),
    "air_density": (0.9, 1.25),  # ISA at ~2,000 m is ~1.0; warm air lowers it further
    "wind_capacity_factor": (0.05, 0.6),
    "pv_yield": (900.0, 1400.0),  # kWh/kWp/yr; GSA PVOUT for Shaoguan ≈ 1,000–1,150
    "slope": (0.0, 60.0),
    "temperature_at_depth": (70.0, 180.0),  # 2,900 m at 24–51 °C/km from 8–21 °C
    "free_cooling_hours": (0.0, 8760.0),
    "pue": (1.1, 1.58),
    "latency_ms": (0.5, 5.0),  # 100–290 km to the Pearl River Delta cities
    "green_energy_gwh_per_yr_within_radius": (0.0, 1e6),
}


def test_resources_on_demo(tmp_path: Path) -> None:
    study = build_demo(tmp_path / "inputs")
    out = tmp_path / "res"
    res = subprocess.run(
        [sys.executable, "-m", "geotool", "resources", str(study), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    # every note of the manifest (how layers were derived) is also said on the terminal
    import json

    notes = json.loads((out / "manifest.json").read_text())["notes"]
    assert any(n.startswith("wind shear:") for n in notes)
    for note in notes:
        assert f"note: {note}" in res.stderr, note
    for name, (lo, hi) in RANGES.items():
        with rasterio.open(out / f"{name}.tif") as ds:
            a = ds.read(1, masked=True).filled(np.nan)
        finite = a[np.isfinite(a)]
        assert finite.size > 0.9 * a.size * 0.99, name
        assert lo <= finite.min() and finite.max() <= hi, (name, finite.min(), finite.max())
    # physical consistency: hub-height wind is faster than at 100 m (hub 122 m, shear > 0)
    with rasterio.open(out / "wind_speed_hub.tif") as ds:
        hub = ds.read(1)
    assert np.nanmean(hub) > 4.0
