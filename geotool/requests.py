"""What later stages ask the loader to put in the stack.

The stack (an ``xarray.Dataset`` on the analysis grid, dims ``("y", "x")``, dask-backed,
float32 with NaN for no data) holds, by variable name:

- every raster layer under its catalog name (``dem``, ``land_cover``, ``wind_speed_100m`` ...);
- for every vector layer ``L``: ``L_mask`` (1 where a pixel centre lies inside a polygon, or a
  line/point touches the pixel; else 0) and ``L_distance_m`` (exact distance in metres from the
  pixel centre to the nearest feature, 0 inside polygons, capped at the request's maximum);
- for every buffer ``B`` a request asks for: ``L_within_<B>m`` (1 where the pixel centre lies
  within ``B`` metres of a feature, exactly the pixels with ``L_distance_m <= B``, computed
  without distances: :mod:`geotool.io.buffers`), e.g. ``roads_within_500m``;
- for a vector layer with an attribute filter, the same variables under
  ``request_key(L, where)``, e.g. ``power_lines[voltage_kv>=220]_distance_m``.

Stages that need a capped distance or a filtered subset declare a :class:`VectorRequest`; the
loader computes each distinct request once.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_DISTANCE_M = 50_000.0
"""Distance cap when no stage asks for more: 50 km covers every setback and proximity
criterion of the built-in profiles (largest: airport 5.1 km, GLAES; grid connection ~30 km)."""


@dataclass(frozen=True)
class VectorRequest:
    """A vector layer (optionally filtered) rasterized as mask and distance on the grid.

    Parameters
    ----------
    layer
        Canonical catalog name, e.g. ``"power_lines"``.
    where
        Optional attribute filter ``"<field> <op> <value>"`` with op one of
        ``== != < <= > >= in``, e.g. ``"voltage_kv >= 220"`` or ``"kind in ['town','city']"``.
    max_distance_m
        Distances are exact up to this value; farther pixels hold this value.
    buffers
        Buffer distances (m, > 0) whose zones (:attr:`within_var`) are wanted.
    """

    layer: str
    where: str | None = None
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M
    buffers: tuple[float, ...] = ()

    @property
    def key(self) -> str:
        return request_key(self.layer, self.where)

    @property
    def distance_var(self) -> str:
        return f"{self.key}_distance_m"

    @property
    def mask_var(self) -> str:
        return f"{self.key}_mask"

    def within_var(self, buffer_m: float) -> str:
        return within_variable(self.key, buffer_m)


def within_variable(key: str, buffer_m: float) -> str:
    """Stack name of the buffer zone of ``key`` at ``buffer_m`` metres.

    >>> within_variable("roads", 500.0), within_variable("settlements", 1234.5)
    ('roads_within_500m', 'settlements_within_1234.5m')
    """
    return f"{key}_within_{float(buffer_m):g}m"


def request_key(layer: str, where: str | None = None) -> str:
    """Stack name stem for a vector layer and filter.

    >>> request_key("power_lines", "voltage_kv >= 220")
    'power_lines[voltage_kv>=220]'
    >>> request_key("roads")
    'roads'
    """
    if not where:
        return layer
    return f"{layer}[{''.join(where.split())}]"
