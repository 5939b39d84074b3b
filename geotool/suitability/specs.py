"""Typed specs of a suitability profile: constraints, criteria, weights, aggregation, sites.

A profile is *declared* (parsed from TOML into these frozen dataclasses, validated once) and
*evaluated* later onto a stack (:func:`geotool.suitability.evaluate`). Unlike atlite's
``ExclusionContainer`` (untyped dicts, ``assert``), every option here is a typed field with a
``Literal`` choice, and bad values are rejected with a :class:`geotool.errors.ConfigError`
naming the key (see :mod:`geotool.suitability.parse`).

Examples
--------
>>> c = VectorConstraint("settlements", layer="settlements", buffer_m=1000.0)
>>> c.variable, c.describe()
('settlements_within_1000m', 'exclude within 1000 m of settlements')
>>> Criterion("wind", Linear(5.6, 7.5), layer="wind_speed_hub").variable
'wind_speed_hub'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from types import MappingProxyType
from typing import Any, Literal

from geotool.requests import DEFAULT_MAX_DISTANCE_M, VectorRequest, request_key, within_variable
from geotool.suitability import membership as mf

Direction = Literal["increasing", "decreasing"]
ExcludeSide = Literal["inside", "outside"]
ClassMode = Literal["exclude", "allow"]
AggregationMethod = Literal["wlc", "product", "owa"]
Connectivity = Literal[4, 8]
ParamValue = float | str
"""A site-metric parameter: a number (in the unit its key names) or a name (a turbine type)."""

CAP_MARGIN_M = 1.0
"""Distance layers are requested exact to 1 m beyond the largest buffer or membership reach,
so that a capped pixel (holding the cap) is always farther than every threshold."""


# ----------------------------------------------------------------------------- membership


@dataclass(frozen=True)
class Linear:
    """Linear ramp from ``low`` to ``high`` (physical units); see :func:`membership.linear`."""

    low: float
    high: float
    direction: Direction = "increasing"
    kind: Literal["linear"] = "linear"

    def __call__(self, x: mf.Values) -> mf.Values:
        return mf.linear(x, self.low, self.high, increasing=self.direction == "increasing")

    def reach(self) -> float:
        return self.high


@dataclass(frozen=True)
class Sigmoid:
    """Logistic curve with ``midpoint`` and ``scale``; see :func:`membership.sigmoid`."""

    midpoint: float
    scale: float
    direction: Direction = "increasing"
    kind: Literal["sigmoid"] = "sigmoid"

    def __call__(self, x: mf.Values) -> mf.Values:
        return mf.sigmoid(x, self.midpoint, self.scale, increasing=self.direction == "increasing")

    def reach(self) -> float:
        return self.midpoint + mf.SIGMOID_TAIL * self.scale


@dataclass(frozen=True)
class Trapezoid:
    """Trapezoid ``a <= b <= c <= d``; see :func:`membership.trapezoid`."""

    a: float
    b: float
    c: float
    d: float
    kind: Literal["trapezoid"] = "trapezoid"

    def __call__(self, x: mf.Values) -> mf.Values:
        return mf.trapezoid(x, self.a, self.b, self.c, self.d)

    def reach(self) -> float:
        return self.d


@dataclass(frozen=True)
class Gaussian:
    """Bell curve around ``center`` with ``sigma``; see :func:`membership.gaussian`."""

    center: float
    sigma: float
    kind: Literal["gaussian"] = "gaussian"

    def __call__(self, x: mf.Values) -> mf.Values:
        return mf.gaussian(x, self.center, self.sigma)

    def reach(self) -> float:
        return self.center + mf.GAUSSIAN_TAIL * self.sigma


@dataclass(frozen=True)
class Step:
    """Classes between ascending ``thresholds``; see :func:`membership.step`."""

    thresholds: tuple[float, ...]
    values: tuple[float, ...]
    kind: Literal["step"] = "step"

    def __call__(self, x: mf.Values) -> mf.Values:
        return mf.step(x, self.thresholds, self.values)

    def reach(self) -> float:
        return self.thresholds[-1]


@dataclass(frozen=True)
class Categorical:
    """Class code -> membership table; see :func:`membership.categorical`."""

    table: Mapping[int, float]
    default: float = 0.0
    kind: Literal["categorical"] = "categorical"

    def __call__(self, x: mf.Values) -> mf.Values:
        return mf.categorical(x, self.table, default=self.default)

    def reach(self) -> float:
        return float(max(self.table)) if self.table else 0.0


Membership = Linear | Sigmoid | Trapezoid | Gaussian | Step | Categorical


# ----------------------------------------------------------------------------- constraints


@dataclass(frozen=True)
class RangeConstraint:
    """Keep pixels whose raster value lies in ``[min, max]``; exclude the rest.

    ``min_inclusive`` / ``max_inclusive`` say whether the bounds themselves are allowed
    (default: yes). A missing bound is open. NaN (no data) neither keeps nor excludes: the pixel
    gets no score.
    """

    name: str
    layer: str
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    source: str = ""
    kind: Literal["range"] = "range"

    @property
    def variable(self) -> str:
        return self.layer

    def describe(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"{self.layer} {'>=' if self.min_inclusive else '>'} {self.min:g}")
        if self.max is not None:
            parts.append(f"{self.layer} {'<=' if self.max_inclusive else '<'} {self.max:g}")
        return "keep " + " and ".join(parts)


@dataclass(frozen=True)
class ClassConstraint:
    """Exclude (``mode="exclude"``) or keep only (``mode="allow"``) the listed class codes."""

    name: str
    layer: str
    codes: frozenset[int]
    mode: ClassMode = "exclude"
    source: str = ""
    kind: Literal["classes"] = "classes"

    @property
    def variable(self) -> str:
        return self.layer

    def describe(self) -> str:
        codes = ", ".join(str(c) for c in sorted(self.codes))
        verb = "exclude" if self.mode == "exclude" else "keep only"
        return f"{verb} {self.layer} classes {codes}"


@dataclass(frozen=True)
class VectorConstraint:
    """Exclude pixels within (``exclude="inside"``) or beyond (``"outside"``) a buffer.

    Exact circular semantics: the buffered zone ``<key>_within_<buffer>m`` holds the pixels
    whose centre lies within ``buffer_m`` of a feature (the pixels with ``<key>_distance_m <=
    buffer_m``, which a stack may give instead), so a point buffer is a true disc and a line
    buffer a rounded corridor (no dilation staircase). With ``buffer_m == 0`` the zone is the
    feature itself: ``<key>_mask`` (pixel centre inside a polygon, or a line/point touching the
    pixel).
    """

    name: str
    layer: str
    where: str | None = None
    buffer_m: float = 0.0
    exclude: ExcludeSide = "inside"
    source: str = ""
    kind: Literal["vector"] = "vector"

    @property
    def key(self) -> str:
        return request_key(self.layer, self.where)

    @property
    def variable(self) -> str:
        if self.buffer_m > 0:
            return within_variable(self.key, self.buffer_m)
        return f"{self.key}_mask"

    @property
    def distance_variable(self) -> str:
        """The distance layer that can stand in for :attr:`variable` when ``buffer_m > 0``."""
        return f"{self.key}_distance_m"

    def describe(self) -> str:
        target = self.key if self.where is None else f"{self.layer} where {self.where}"
        if self.exclude == "inside":
            if self.buffer_m > 0:
                return f"exclude within {self.buffer_m:g} m of {target}"
            return f"exclude {target}"
        if self.buffer_m > 0:
            return f"exclude farther than {self.buffer_m:g} m from {target}"
        return f"keep only {target}"


@dataclass(frozen=True)
class MinAreaConstraint:
    """Exclude eligible patches smaller than ``min_area_km2`` (connected pixels).

    Applied last, to the pixels every other constraint left eligible and that have all
    inputs. ``connectivity`` 8 joins diagonal neighbours (queen), 4 only edge neighbours.
    Not chunk-local: the boolean mask of the whole grid is labelled in one task
    (``scipy.ndimage.label``; about 5 bytes per pixel while it runs).
    """

    name: str
    min_area_km2: float
    connectivity: Connectivity = 8
    source: str = ""
    kind: Literal["min_area"] = "min_area"

    @property
    def variable(self) -> None:
        return None

    def describe(self) -> str:
        return f"exclude eligible patches smaller than {self.min_area_km2:g} km²"


Constraint = RangeConstraint | ClassConstraint | VectorConstraint | MinAreaConstraint


# ----------------------------------------------------------------------------- criteria


@dataclass(frozen=True)
class Criterion:
    """One criterion: a layer (or a distance to vector features) and a membership function.

    Exactly one of ``layer`` (a raster or derived layer name) and ``distance_to`` (a vector
    layer, optionally filtered by ``where``; values are metres) is set. ``units`` documents the
    physical units the membership parameters are in.
    """

    name: str
    membership: Membership
    layer: str | None = None
    distance_to: str | None = None
    where: str | None = None
    units: str = ""
    source: str = ""

    @property
    def variable(self) -> str:
        if self.distance_to is not None:
            return f"{request_key(self.distance_to, self.where)}_distance_m"
        assert self.layer is not None  # guaranteed by the parser
        return self.layer


# ----------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class DirectWeights:
    """Weights given directly, normalised to sum 1 (in criteria order)."""

    values: Mapping[str, float]
    method: Literal["direct"] = "direct"


@dataclass(frozen=True)
class AHPWeights:
    """Weights from an AHP pairwise matrix (rows/columns in ``criteria`` order)."""

    criteria: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]
    values: Mapping[str, float]
    consistency_ratio: float
    allow_inconsistent: bool = False
    source: str = ""
    method: Literal["ahp"] = "ahp"


Weighting = DirectWeights | AHPWeights


@dataclass(frozen=True)
class Aggregation:
    """How memberships combine into one score.

    ``wlc`` — weighted linear combination ``Σ w_i m_i``; ``product`` — weighted product
    ``Π m_i^w_i``; ``owa`` — ordered weighted averaging with criterion importance (Torra's
    WOWA): ``order_weights`` (from the best membership to the worst, one per criterion) or
    ``"and"`` (the minimum) / ``"or"`` (the maximum) over criteria with a weight > 0.
    """

    method: AggregationMethod = "wlc"
    order_weights: tuple[float, ...] | Literal["and", "or"] | None = None


# ----------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class SitesSpec:
    """Site-extraction parameters, read by the sites stage.

    Exactly one of ``threshold`` (score ≥ threshold) and ``top_share`` (best share of eligible
    pixels) selects candidate pixels. ``params`` holds the profile's metric parameters with
    units in their keys (``capacity_density_mw_per_km2``, ``hub_height_m`` ...), validated by
    :data:`geotool.suitability.profile.SITE_PARAMS`.
    """

    threshold: float | None = None
    top_share: float | None = None
    min_area_km2: float = 0.0
    max_area_km2: float | None = None
    min_separation_m: float = 0.0
    params: Mapping[str, ParamValue] = field(default_factory=lambda: MappingProxyType({}))


# ----------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class Profile:
    """A validated suitability profile; build it with :func:`geotool.suitability.load_profile`."""

    name: str
    description: str
    constraints: tuple[Constraint, ...]
    criteria: tuple[Criterion, ...]
    weighting: Weighting
    aggregation: Aggregation
    sites: SitesSpec
    origin: str = ""

    @property
    def weights(self) -> dict[str, float]:
        """Normalised weights by criterion name, in criteria order."""
        return {c.name: float(self.weighting.values[c.name]) for c in self.criteria}

    def criterion(self, name: str) -> Criterion:
        for c in self.criteria:
            if c.name == name:
                return c
        raise KeyError(name)

    def layers(self) -> list[str]:
        """Stack variables the evaluation reads (raster, derived, mask and distance layers)."""
        names: list[str] = []
        for item in (*self.constraints, *self.criteria):
            var = item.variable
            if var is not None and var not in names:
                names.append(var)
        return names

    def vector_requests(self) -> list[VectorRequest]:
        """Every (layer, where, max_distance) the profile needs from the loader.

        ``max_distance_m`` is at least :data:`geotool.requests.DEFAULT_MAX_DISTANCE_M` and
        exceeds every distance-criterion membership reach by :data:`CAP_MARGIN_M`, so capped
        distances never fall inside a threshold; constraint buffers go to ``buffers``.
        """
        need: dict[tuple[str, str | None], float] = {}
        buffers: dict[tuple[str, str | None], set[float]] = {}
        for c in self.constraints:
            if isinstance(c, VectorConstraint):
                k = (c.layer, c.where)
                need.setdefault(k, 0.0)
                if c.buffer_m > 0:
                    buffers.setdefault(k, set()).add(float(c.buffer_m))
        for cr in self.criteria:
            if cr.distance_to is not None:
                k = (cr.distance_to, cr.where)
                need[k] = max(need.get(k, 0.0), cr.membership.reach())
        return [
            VectorRequest(
                layer,
                where,
                max(DEFAULT_MAX_DISTANCE_M, d + CAP_MARGIN_M),
                tuple(sorted(buffers.get((layer, where), ()))),
            )
            for (layer, where), d in sorted(need.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        ]

    def to_dict(self) -> dict[str, Any]:
        """Resolved parameters as plain data (for ``manifest.json``)."""
        weighting: dict[str, Any] = {"method": self.weighting.method, "weights": self.weights}
        if isinstance(self.weighting, AHPWeights):
            weighting |= {
                "criteria": list(self.weighting.criteria),
                "matrix": _plain(self.weighting.matrix),
                "consistency_ratio": self.weighting.consistency_ratio,
            }
        return {
            "name": self.name,
            "description": self.description,
            "origin": self.origin,
            "constraints": [{**_plain(c), "rule": c.describe()} for c in self.constraints],
            "criteria": [{**_plain(c), "variable": c.variable} for c in self.criteria],
            "weighting": weighting,
            "aggregation": _plain(self.aggregation),
            "sites": _plain(self.sites),
        }


def _plain(obj: Any) -> Any:
    """Dataclasses, mappings, tuples and sets as JSON-ready dicts, lists and scalars."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, frozenset | set):
        return sorted(obj)
    if isinstance(obj, tuple | list):
        return [_plain(v) for v in obj]
    return obj
