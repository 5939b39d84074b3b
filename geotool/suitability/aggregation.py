"""Aggregation of memberships into one score, and each criterion's share of the shortfall.

All functions take a stacked membership array ``m`` of shape ``(k, ...)`` (criterion first,
values in 0..1) and weights ``w`` of shape ``(k,)`` summing to 1 (criteria with weight 0
should be left out by the caller; see :func:`geotool.suitability.evaluate`). Any NaN
membership gives a NaN score.

Methods
-------
- ``wlc``: weighted linear combination ``S = Σ w_i m_i`` (Malczewski 1999, *GIS and
  Multicriteria Decision Analysis*, ch. 6).
- ``product``: weighted product ``S = Π m_i^w_i`` — a zero in any criterion gives 0.
- ``owa``: ordered weighted averaging with importance weights, Torra's WOWA (Torra 1997,
  *Int. J. Intelligent Systems* 12:153–166): memberships are sorted from best to worst; the
  order weights ``v`` define the piecewise-linear quantifier ``Q`` through
  ``(j/k, v_1 + … + v_j)``; the weight of the j-th best criterion is
  ``Q(S_j) − Q(S_{j−1})`` with ``S_j`` the cumulative importance of the j best. Equal order
  weights give the WLC; equal importance gives Yager's OWA. ``"and"`` is the minimum and
  ``"or"`` the maximum over the criteria.

Shortfall contributions (used for the limiting factor) decompose the score's distance from
the ideal exactly: ``1 − S = Σ w_i (1 − m_i)`` (wlc), ``−ln S = Σ w_i (−ln m_i)`` (product),
``1 − S = Σ ω_i (1 − m_i)`` with the pixel's effective OWA weights ``ω`` (owa).

Examples
--------
>>> m = np.array([[0.2, 1.0], [0.8, 0.5]])
>>> w = np.array([0.75, 0.25])
>>> weighted_linear(m, w)
array([0.35 , 0.875])
>>> owa(m, w, "and")
array([0.2, 0.5])
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from geotool.suitability.specs import Aggregation

OrderWeights = tuple[float, ...] | Literal["and", "or"]


def _nan_rows(m: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(m).any(axis=0), np.nan, s)


def weighted_linear(m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``Σ w_i m_i`` over axis 0."""
    return np.tensordot(np.asarray(w, dtype=np.float64), m, axes=(0, 0))


def weighted_product(m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``Π m_i^w_i`` over axis 0 (0 when any weighted membership is 0)."""
    m = np.asarray(m, dtype=np.float64)
    wk = np.asarray(w, dtype=np.float64).reshape((-1,) + (1,) * (m.ndim - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        wl = np.where(wk > 0, wk * np.log(m), 0.0)  # 0^0 = 1: a zero weight never matters
    return np.exp(_nan_rows(m, wl.sum(axis=0)))


def owa_weights(m: np.ndarray, w: np.ndarray, order: OrderWeights) -> np.ndarray:
    """Per-pixel effective weights ``ω`` (shape of ``m``, in criterion order, summing to 1)."""
    m = np.asarray(m, dtype=np.float64)
    k = m.shape[0]
    w = np.asarray(w, dtype=np.float64)
    if order in ("and", "or"):
        filled = np.where(np.isnan(m), np.inf if order == "and" else -np.inf, m)
        pick = np.argmin(filled, axis=0) if order == "and" else np.argmax(filled, axis=0)
        return (np.arange(k).reshape((-1,) + (1,) * (m.ndim - 1)) == pick).astype(np.float64)
    v = np.asarray(order, dtype=np.float64)
    idx = np.argsort(-m, axis=0, kind="stable")  # best first
    importance = w[idx]
    cum = np.clip(np.cumsum(importance, axis=0) / w.sum(), 0.0, 1.0)
    # the quantifier is defined by all order weights; criteria left out for a zero weight
    # have zero importance, so evaluating Q on the others' cumulative importance is exact
    knots_x = np.linspace(0.0, 1.0, v.size + 1)
    knots_y = np.concatenate([[0.0], np.cumsum(v) / v.sum()])
    q = np.interp(cum, knots_x, knots_y)
    omega_sorted = np.diff(q, axis=0, prepend=np.zeros((1, *q.shape[1:])))
    omega = np.empty_like(omega_sorted)
    np.put_along_axis(omega, idx, omega_sorted, axis=0)
    return omega


def owa(m: np.ndarray, w: np.ndarray, order: OrderWeights) -> np.ndarray:
    """Ordered weighted average with importance weights (WOWA); ``"and"``/``"or"`` = min/max."""
    m = np.asarray(m, dtype=np.float64)
    if order == "and":
        return _nan_rows(m, np.min(np.where(np.isnan(m), np.inf, m), axis=0))
    if order == "or":
        return _nan_rows(m, np.max(np.where(np.isnan(m), -np.inf, m), axis=0))
    omega = owa_weights(m, w, order)
    return _nan_rows(m, np.sum(omega * np.nan_to_num(m), axis=0))


def aggregate(m: np.ndarray, w: np.ndarray, spec: Aggregation) -> np.ndarray:
    """Score of stacked memberships ``m`` (axis 0 = criteria) by the profile's method."""
    m = np.asarray(m, dtype=np.float64)
    if spec.method == "wlc":
        return weighted_linear(m, w)
    if spec.method == "product":
        return weighted_product(m, w)
    assert spec.order_weights is not None
    return owa(m, w, spec.order_weights)


def shortfalls(m: np.ndarray, w: np.ndarray, spec: Aggregation) -> np.ndarray:
    """Each criterion's share of the score's shortfall from 1 (see the module docstring)."""
    m = np.asarray(m, dtype=np.float64)
    wk = np.asarray(w, dtype=np.float64).reshape((-1,) + (1,) * (m.ndim - 1))
    if spec.method == "wlc":
        return wk * (1.0 - m)
    if spec.method == "product":
        with np.errstate(divide="ignore"):
            return np.where(wk > 0, -wk * np.log(m), 0.0)
    assert spec.order_weights is not None
    return owa_weights(m, w, spec.order_weights) * (1.0 - m)
