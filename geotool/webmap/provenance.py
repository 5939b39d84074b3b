"""What the map says about its inputs: read from the output folder's ``manifest.json``.

The manifest is written by the pipeline; its layout may grow, so this reader takes what it finds
and never fails the map: a missing or unreadable manifest gives a line saying so. Recognised:
a top-level or ``study`` ``"synthetic": true``, and per-input records under ``inputs`` or
``layers`` (a mapping name -> record, or a list of records with ``name`` or ``role``) carrying
``synthetic``, ``path`` and optionally ``layer`` (GeoPackage layer); ``study.layers`` (name ->
path) only helps to find vector files such as substations.

Examples
--------
>>> m = {"inputs": {"dem": {"synthetic": True}, "regions": {"synthetic": False}}}
>>> p = summarise(m)
>>> p.warnings, p.notes
(('Synthetic inputs (not real data): elevation (DEM).',), ('Real inputs: region boundaries.',))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class InputRecord:
    """One input named in the manifest."""

    name: str
    path: str | None
    layer: str | None
    synthetic: bool | None


@dataclass(frozen=True)
class Provenance:
    """Plain-text lines for the map's info panel (warnings shown prominently), and the inputs."""

    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    inputs: tuple[InputRecord, ...]
    all_synthetic: bool
    study: str
    locations: tuple[InputRecord, ...] = ()


INPUT_NAMES: dict[str, str] = {
    "study": "study file",
    "region": "study region",
    "regions": "region boundaries",
    "dem": "elevation (DEM)",
    "land_cover": "land cover",
    "forest_cover": "tree cover",
    "biomass": "above-ground biomass",
    "growing_stock": "growing stock volume",
    "wind_speed_100m": "wind speed at 100 m",
    "weibull_k": "wind speed distribution (Weibull k)",
    "ghi": "solar irradiation (GHI)",
    "pvout": "PV output (PVOUT)",
    "air_temperature": "air temperature",
    "precipitation": "precipitation",
    "heat_flow": "heat flow",
    "geothermal_gradient": "geothermal gradient",
    "settlements": "settlements",
    "demand_centres": "demand centres",
    "roads": "roads",
    "power_lines": "power lines",
    "substations": "substations",
    "protected_areas": "protected areas",
    "water_bodies": "water bodies",
}
"""How the info panel names the catalog's layers (``layers/*.toml``); others lose underscores."""


def input_name(name: str) -> str:
    """Plain-language name of an input layer.

    >>> input_name("dem"), input_name("my_extra_layer")
    ('elevation (DEM)', 'my extra layer')
    """
    return INPUT_NAMES.get(name, name.replace("_", " "))


def _listing(names: list[str]) -> str:
    return ", ".join(input_name(n) for n in names)


def read_manifest(outdir: Path) -> dict[str, Any] | None:
    """The parsed ``manifest.json`` of an output folder, or None if absent or not JSON."""
    path = Path(outdir) / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _records(manifest: dict[str, Any]) -> list[InputRecord]:
    out: list[InputRecord] = []
    for key in ("inputs", "layers"):
        raw = manifest.get(key)
        if isinstance(raw, dict):
            items = list(raw.items())
        elif isinstance(raw, list):
            items = [(r.get("name", r.get("role")), r) for r in raw if isinstance(r, dict)]
        else:
            continue
        for name, rec in items:
            if not isinstance(name, str):
                continue
            rec = rec if isinstance(rec, dict) else {"path": rec}
            synthetic = rec.get("synthetic")
            path, layer = rec.get("path"), rec.get("layer")
            out.append(
                InputRecord(
                    name=name,
                    path=path if isinstance(path, str) else None,
                    layer=layer if isinstance(layer, str) else None,
                    synthetic=synthetic if isinstance(synthetic, bool) else None,
                )
            )
        if out:
            break
    return out


def summarise(manifest: dict[str, Any] | None) -> Provenance:
    """Info-panel lines saying which inputs are synthetic (degrades to a notice)."""
    if manifest is None:
        return Provenance(
            warnings=(),
            notes=(
                "No manifest.json in the output folder: where the inputs came from is unknown.",
            ),
            inputs=(),
            all_synthetic=False,
            study="",
        )
    study_info = manifest.get("study")
    study = study_info if isinstance(study_info, dict) else {}
    raw_name = study.get("name")
    name = raw_name if isinstance(raw_name, str) else ""
    records = _records(manifest)
    flagged = manifest.get("synthetic") is True or study.get("synthetic") is True
    synthetic = sorted(r.name for r in records if r.synthetic)
    real = sorted(r.name for r in records if r.synthetic is False)
    unknown = sorted(r.name for r in records if r.synthetic is None)
    # the study's flag covers the inputs only when none is listed as real or unmarked (the
    # user's parcels given to a demo study on the command line carry no flag)
    others = sorted(real + unknown)
    all_synthetic = flagged and not others
    warnings: list[str] = []
    notes: list[str] = []
    if all_synthetic:
        warnings.append(
            "ALL INPUTS ARE SYNTHETIC (demo data): no result here describes a real place."
        )
    elif others and len(synthetic) > max(4, 2 * len(others)):
        # a demo with one real or unmarked layer: name the exception, not twenty synthetic
        # layers (an unmarked one is still named below as such)
        warnings.append(f"Synthetic inputs (not real data): all except {_listing(others)}.")
        real = []
    elif synthetic:
        warnings.append(f"Synthetic inputs (not real data): {_listing(synthetic)}.")
    elif flagged and not real:
        warnings.append(
            "The study is marked synthetic (demo data); its inputs are not marked one by one."
        )
    if real:
        notes.append(f"Real inputs: {_listing(real)}.")
    if unknown and not all_synthetic:
        notes.append(f"Inputs not marked real or synthetic: {_listing(unknown)}.")
    if not warnings and not notes:
        notes.append("manifest.json lists no inputs and no synthetic flag.")
    return Provenance(
        warnings=tuple(warnings),
        notes=tuple(notes),
        inputs=tuple(records),
        all_synthetic=all_synthetic,
        study=name,
        locations=tuple(records) + _study_layers(study),
    )


def _study_layers(study: dict[str, Any]) -> tuple[InputRecord, ...]:
    layers = study.get("layers")
    if not isinstance(layers, dict):
        return ()
    return tuple(
        InputRecord(name=k, path=v, layer=None, synthetic=None)
        for k, v in layers.items()
        if isinstance(k, str) and isinstance(v, str)
    )
