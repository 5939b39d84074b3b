"""Built-in suitability profiles (package data) and the name-or-path resolver.

The TOML files next to this module are the built-in profiles. A user copies one
(``geotool profiles show windfarm > my_wind.toml``), edits it and passes the path wherever a
profile name is accepted.

Profile file keys (every default number cites its source in ``source`` or a comment):

- ``name``, ``description``.
- ``[constraints.<name>]`` with ``kind`` and ``source`` (optional ``enabled = false``):
  ``"range"`` — ``layer``, ``min`` and/or ``max`` (the *allowed* range), ``min_inclusive`` /
  ``max_inclusive`` (default true); ``"classes"`` — categorical ``layer`` and ``exclude`` or
  ``allow`` = [codes]; ``"vector"`` — vector ``layer``, optional ``where = "field op value"``,
  ``buffer_m`` (exact disc/corridor on distances; 0 = the features themselves) and
  ``exclude = "inside" | "outside"`` (outside = "must lie within buffer_m");
  ``"min_area"`` — ``min_area_km2``, ``connectivity = 8 | 4``.
- ``[criteria.<name>]``: ``layer`` (raster or derived) or ``distance_to`` (vector, metres,
  optional ``where``); ``units`` (checked against the layer); ``membership`` =
  ``"linear"`` (``low``, ``high``, ``direction``), ``"sigmoid"`` (``midpoint``, ``scale``,
  ``direction``), ``"trapezoid"`` (``a``, ``b``, ``c``, ``d``), ``"gaussian"`` (``center``,
  ``sigma``), ``"step"`` (``thresholds``, ``values``), ``"categorical"`` (``table``,
  ``default``); ``source``.
- ``[weights]`` (criterion = number, normalised) *or* ``[ahp]`` (``criteria`` order,
  ``matrix`` rows with numbers or ``"1/3"`` fractions, ``allow_inconsistent``, ``source``).
- ``[aggregation]``: ``method = "wlc" | "product" | "owa"``; for owa ``order_weights`` =
  [best .. worst] or ``"and"`` / ``"or"``.
- ``[sites]``: ``threshold`` or ``top_share``, ``min_area_km2``, ``max_area_km2``,
  ``min_separation_m`` and metric parameters (``geotool.suitability.SITE_PARAMS``).

Examples
--------
>>> builtin_names()
('datacenter', 'windfarm', 'solarfarm', 'carbon_sink', 'geothermal_heat')
>>> profile_path("windfarm").name
'windfarm.toml'
"""

from __future__ import annotations

import difflib
import tomllib
from importlib.resources import files
from pathlib import Path

from geotool.errors import ConfigError, MissingFileError, UnknownNameError

BUILTIN_PROFILES: tuple[str, ...] = (
    "datacenter",
    "windfarm",
    "solarfarm",
    "carbon_sink",
    "geothermal_heat",
)


def builtin_names() -> tuple[str, ...]:
    """Names of the built-in profiles, in presentation order."""
    return BUILTIN_PROFILES


def _unknown(name: str) -> UnknownNameError:
    # a bare word is a built-in's name; a profile file of that name (with or without .toml)
    # in the working folder is what the user most likely meant
    for candidate in (Path(name), Path(f"{name}.toml")):
        if candidate.is_file():
            return UnknownNameError(
                f"unknown profile {name!r} (a bare name is a built-in's; there is a file "
                f"{candidate} here)",
                where="profile",
                fix=f"give the file as a path: ./{candidate}",
            )
    close = difflib.get_close_matches(name, BUILTIN_PROFILES, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return UnknownNameError(
        f"unknown profile {name!r}",
        where="profile",
        fix=f"{hint}built-in profiles: {', '.join(BUILTIN_PROFILES)}; or give a .toml path",
    )


def profile_path(name: str) -> Path:
    """File of a built-in profile (to read or copy)."""
    if name not in BUILTIN_PROFILES:
        raise _unknown(name)
    return Path(str(files(__name__).joinpath(f"{name}.toml")))


def is_path_like(name_or_path: str | Path) -> bool:
    """A path rather than a built-in name: a Path, a ``.toml`` suffix or a path separator."""
    if isinstance(name_or_path, Path):
        return True
    return name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path


def read_profile_source(name_or_path: str | Path) -> tuple[str, str, str]:
    """``(label, toml_text, stem)`` of a built-in name or a profile file path.

    ``label`` names the source in error messages (``windfarm.toml`` or the given path);
    ``stem`` is the default profile name.
    """
    if is_path_like(name_or_path):
        path = Path(name_or_path)
        if path.is_dir():
            raise ConfigError(
                "is a folder, not a profile file",
                where=str(path),
                fix="give the profile's .toml file (geotool profiles show NAME > my.toml "
                "writes one)",
            )
        if not path.is_file():
            raise MissingFileError(
                "profile file not found",
                where=str(path),
                fix=f"check the path, or use a built-in: {', '.join(BUILTIN_PROFILES)}",
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read the file: {exc}",
                where=str(path),
                fix="save it as UTF-8 text (a TOML file), readable by you",
            ) from exc
        return str(path), text, path.stem
    name = str(name_or_path)
    path = profile_path(name)
    return path.name, path.read_text(encoding="utf-8"), name


def describe_builtins() -> list[tuple[str, str]]:
    """``(name, one-line description)`` of each built-in profile."""
    out = []
    for name in BUILTIN_PROFILES:
        raw = tomllib.loads(profile_path(name).read_text(encoding="utf-8"))
        out.append((name, " ".join(str(raw.get("description", "")).split())))
    return out
