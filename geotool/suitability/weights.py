"""Criterion weights: direct (normalised) or from an AHP pairwise comparison matrix.

AHP (Saaty 1977, 1980): the weights are the principal right eigenvector of the positive
reciprocal matrix ``A`` (``a_ij`` = how much more important criterion *i* is than *j*, on
Saaty's 1–9 scale; ``a_ji = 1/a_ij``), normalised to sum 1. Consistency index
``CI = (λmax − n) / (n − 1)``; consistency ratio ``CR = CI / RI(n)`` with Saaty's random
index. Judgements with ``CR > 0.10`` are refused (Saaty 1980, ch. 1; Saaty 1990, EJOR 48:9–26)
unless the caller allows it.

Examples
--------
>>> w, cr = ahp_weights([[1, 3], [1 / 3, 1]])
>>> w.round(3).tolist(), cr
([0.75, 0.25], 0.0)
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from geotool.errors import ConfigError, ConsistencyError

RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}
"""Saaty's random consistency index RI(n), the mean CI of random reciprocal matrices, from
Saaty (1980) *The Analytic Hierarchy Process*, McGraw-Hill, as used in Saaty (1990) EJOR
48:9–26 (its 8-criterion house example: CR = 0.238 / 1.41 = 0.169)."""

MAX_CR = 0.10
"""Largest acceptable consistency ratio (Saaty 1980; Saaty 1990, EJOR 48:9–26, §"consistency")."""

RECIPROCAL_TOLERANCE = 0.02
"""``|a_ij · a_ji − 1|`` allowed, so that ``0.33`` may stand for ``1/3`` in a TOML file."""


def ahp_weights(
    matrix: ArrayLike,
    *,
    allow_inconsistent: bool = False,
    max_cr: float = MAX_CR,
    where: str = "ahp.matrix",
) -> tuple[np.ndarray, float]:
    """Principal-eigenvector weights and consistency ratio of a pairwise comparison matrix.

    Parameters
    ----------
    matrix
        Square ``n × n`` positive reciprocal matrix, ``n <= 10``; ``matrix[i][j]`` is the
        importance of criterion *i* relative to *j*.
    allow_inconsistent
        Return the weights even when ``CR > max_cr``.
    max_cr
        Consistency limit (Saaty's 0.10).
    where
        Label for error messages (a file and key).

    Returns
    -------
    weights, cr
        Weights (float64, sum 1) and the consistency ratio (0 for ``n <= 2``).

    Raises
    ------
    ConsistencyError
        A non-reciprocal matrix, or ``CR > max_cr`` without ``allow_inconsistent``.

    Examples
    --------
    Saaty (2008), Int. J. Services Sciences 1(1):83–98, relative consumption of drinks:

    >>> A = [[1, 9, 5, 2, 1, 1, 1/2], [1/9, 1, 1/3, 1/9, 1/9, 1/9, 1/9],
    ...      [1/5, 3, 1, 1/3, 1/4, 1/3, 1/9], [1/2, 9, 3, 1, 1/2, 1, 1/3],
    ...      [1, 9, 4, 2, 1, 2, 1/2], [1, 9, 3, 1, 1/2, 1, 1/3], [2, 9, 9, 3, 2, 3, 1]]
    >>> w, cr = ahp_weights(A)
    >>> w.round(3).tolist(), round(cr, 3)
    ([0.177, 0.019, 0.042, 0.116, 0.19, 0.129, 0.327], 0.022)
    """
    a = _check_matrix(matrix, where)
    n = a.shape[0]
    # exact reciprocity (geometric mean of a_ij and 1/a_ji) so rounding like 0.33 cannot bias λmax
    a = np.sqrt(a / a.T)
    if n == 1:
        return np.ones(1), 0.0
    eigenvalues, eigenvectors = np.linalg.eig(a)
    k = int(np.argmax(eigenvalues.real))
    lam = float(eigenvalues[k].real)
    vec = np.abs(eigenvectors[:, k].real)  # Perron vector: one sign, positive entries
    weights = vec / vec.sum()
    ri = RANDOM_INDEX[n]
    cr = 0.0 if ri == 0.0 else max(0.0, (lam - n) / (n - 1) / ri)
    if cr > max_cr and not allow_inconsistent:
        raise ConsistencyError(
            f"pairwise comparisons are inconsistent: consistency ratio CR = {cr:.3f} "
            f"exceeds {max_cr:.2f} (λmax = {lam:.3f}, n = {n})",
            where=where,
            fix="revise the judgements (Saaty: CR ≤ 0.10) or set allow_inconsistent = true",
        )
    return weights, cr


def _check_matrix(matrix: ArrayLike, where: str) -> np.ndarray:
    try:
        a = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConsistencyError(
            "the AHP matrix is not a square table of numbers",
            where=where,
            fix="write one row per criterion, e.g. [[1, 3], [0.3333, 1]]",
        ) from exc
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ConsistencyError(
            f"the AHP matrix must be square, got shape {a.shape}",
            where=where,
            fix="give one row and one column per criterion",
        )
    n = a.shape[0]
    if n > max(RANDOM_INDEX):
        raise ConfigError(
            f"AHP supports at most {max(RANDOM_INDEX)} criteria (Saaty's random index table), got {n}",
            where=where,
            fix="group criteria, or give direct weights",
        )
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ConsistencyError(
            "AHP judgements must be positive finite numbers",
            where=where,
            fix="use Saaty's scale 1/9 .. 9",
        )
    if not np.allclose(np.diag(a), 1.0, rtol=0, atol=RECIPROCAL_TOLERANCE):
        raise ConsistencyError(
            "the diagonal of the AHP matrix must be 1", where=where, fix="set a_ii = 1"
        )
    bad = np.argwhere(np.abs(a * a.T - 1.0) > RECIPROCAL_TOLERANCE)
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ConsistencyError(
            f"the AHP matrix is not reciprocal: a[{i}][{j}] = {a[i, j]:.4g} but "
            f"a[{j}][{i}] = {a[j, i]:.4g} (should be {1 / a[i, j]:.4g})",
            where=where,
            fix="make a_ji = 1 / a_ij",
        )
    return a


def normalise_weights(weights: Mapping[str, float], *, where: str = "weights") -> dict[str, float]:
    """Direct weights scaled to sum 1; negative, NaN or all-zero weights are errors.

    >>> normalise_weights({"wind": 2, "grid": 1, "slope": 1})
    {'wind': 0.5, 'grid': 0.25, 'slope': 0.25}
    """
    values: dict[str, float] = {}
    for name, w in weights.items():
        # float(True) and float("2") would pass: a TOML boolean or string is a typo, not a weight
        if isinstance(w, bool | np.bool_) or not isinstance(w, numbers.Real):
            raise ConfigError(
                f"expected a number, got {w!r}", where=f"{where}.{name}", fix="give a number ≥ 0"
            )
        v = float(w)
        if not np.isfinite(v) or v < 0:
            raise ConfigError(
                f"weight must be a finite number ≥ 0, got {w!r}",
                where=f"{where}.{name}",
                fix="give a number ≥ 0",
            )
        values[name] = v
    total = sum(values.values())
    if not np.isfinite(total):  # 1e308 + 1e308 overflows: every weight would be v / inf = 0
        largest = max(values.values())
        values = {k: v / largest for k, v in values.items()}
        total = sum(values.values())
    if total <= 0:
        raise ConfigError(
            "all weights are zero", where=where, fix="give at least one criterion a weight > 0"
        )
    return {k: v / total for k, v in values.items()}


def perturb_weights(
    weights: ArrayLike, n: int, perturbation: float, rng: np.random.Generator
) -> np.ndarray:
    """``n`` Monte Carlo draws of weights ``w_i·(1 + u_i)``, ``u_i ~ U(−p, +p)``, renormalised.

    Returns an ``(n, k)`` array; zero weights stay zero.

    >>> perturb_weights([0.5, 0.5, 0.0], 2, 0.2, np.random.default_rng(0)).sum(axis=1)
    array([1., 1.])
    """
    w = np.asarray(weights, dtype=np.float64)
    if not 0.0 <= perturbation < 1.0:
        raise ConfigError(
            f"perturbation must be in [0, 1), got {perturbation}",
            where="stability",
            fix="give a share such as 0.2 (±20 %)",
        )
    u = rng.uniform(-perturbation, perturbation, size=(n, w.size))
    draws = w[None, :] * (1.0 + u)
    return np.asarray(draws / draws.sum(axis=1, keepdims=True))
