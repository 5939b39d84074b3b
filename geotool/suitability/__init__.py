"""Suitability: declarative profiles evaluated into 0..1 scores per pixel.

A profile (built-in TOML under ``geotool/profiles`` or a user file) declares constraints
(exclusions), criteria (a layer and a membership function in physical units), weights
(direct or an AHP matrix), an aggregation method and site-extraction parameters.
:func:`load_profile` validates it into typed specs; :func:`evaluate` turns a stack into
``score``, ``m_<criterion>``, ``excluded`` and ``limiting``; :func:`stability` measures how
robust the top decile is to weight changes.

Examples
--------
>>> p = load_profile("solarfarm")
>>> [r.key for r in p.vector_requests()][:2]
['power_lines', 'protected_areas']
>>> w, cr = ahp_weights([[1, 2], [0.5, 1]])
>>> w.round(4).tolist(), cr
([0.6667, 0.3333], 0.0)
"""

from geotool.suitability.aggregation import aggregate, owa, weighted_linear, weighted_product
from geotool.suitability.evaluate import (
    LIMITING_NODATA,
    LIMITING_NONE,
    evaluate,
    exclusion_codes,
    limiting_codes,
)
from geotool.suitability.membership import categorical, gaussian, linear, sigmoid, step, trapezoid
from geotool.suitability.profile import SITE_PARAMS, load_profile, parse_profile
from geotool.suitability.sensitivity import stability
from geotool.suitability.specs import (
    Aggregation,
    AHPWeights,
    Categorical,
    ClassConstraint,
    Constraint,
    Criterion,
    DirectWeights,
    Gaussian,
    Linear,
    Membership,
    MinAreaConstraint,
    Profile,
    RangeConstraint,
    Sigmoid,
    SitesSpec,
    Step,
    Trapezoid,
    VectorConstraint,
)
from geotool.suitability.weights import RANDOM_INDEX, ahp_weights, normalise_weights

__all__ = [
    "LIMITING_NODATA",
    "LIMITING_NONE",
    "RANDOM_INDEX",
    "SITE_PARAMS",
    "AHPWeights",
    "Aggregation",
    "Categorical",
    "ClassConstraint",
    "Constraint",
    "Criterion",
    "DirectWeights",
    "Gaussian",
    "Linear",
    "Membership",
    "MinAreaConstraint",
    "Profile",
    "RangeConstraint",
    "Sigmoid",
    "SitesSpec",
    "Step",
    "Trapezoid",
    "VectorConstraint",
    "aggregate",
    "ahp_weights",
    "categorical",
    "evaluate",
    "exclusion_codes",
    "gaussian",
    "limiting_codes",
    "linear",
    "load_profile",
    "normalise_weights",
    "owa",
    "parse_profile",
    "sigmoid",
    "stability",
    "step",
    "trapezoid",
    "weighted_linear",
    "weighted_product",
]
