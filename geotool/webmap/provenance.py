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
(('Synthetic inputs (not real data): dem.',), ('Real inputs: regions.',))
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
    all_synthetic = flagged and not real
    warnings: list[str] = []
    notes: list[str] = []
    if all_synthetic:
        warnings.append(
            "ALL INPUTS ARE SYNTHETIC (demo data): no result here describes a real place."
        )
    elif synthetic:
        warnings.append(f"Synthetic inputs (not real data): {', '.join(synthetic)}.")
    if real:
        notes.append(f"Real inputs: {', '.join(real)}.")
    if unknown and not all_synthetic:
        notes.append(f"Inputs not marked real or synthetic: {', '.join(unknown)}.")
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
