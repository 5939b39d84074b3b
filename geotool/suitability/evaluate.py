"""Evaluate a profile on a stack: memberships, exclusions, score and limiting factor.

:func:`evaluate` returns lazy float32/bool/int16 variables on the stack's grid:

- ``score`` — 0..1; NaN where excluded or where any needed input is NaN;
- ``m_<criterion>`` — each criterion's membership (NaN where its layer has no data);
- ``excluded`` — True where a constraint removed the pixel;
- ``limiting`` — per pixel a code (:func:`limiting_codes`): the *first* constraint (in profile
  order) that excluded it; else, for a scored pixel, the criterion with the largest share of
  the shortfall from a perfect score (``w_i (1 − m_i)`` for WLC, ``w_i (−ln m_i)`` for the
  weighted product, ``ω_i (1 − m_i)`` with the pixel's effective weights for OWA; ties go to
  the criterion listed first); ``0`` when the score is 1 (nothing limits); ``−1`` where a
  needed input is missing.

Criteria with weight 0 are not needed: their layer's NaN does not blank the score and they
never limit it (their ``m_`` variable is still returned).

Examples
--------
>>> import numpy as np, xarray as xr
>>> from geotool.suitability.specs import (Aggregation, Criterion, DirectWeights, Linear,
...     Profile, RangeConstraint, SitesSpec)
>>> ds = xr.Dataset({"wind_speed_hub": (("y", "x"), [[5.0, 7.0]]),
...                  "slope": (("y", "x"), [[2.0, 20.0]])})
>>> p = Profile("demo", "", (RangeConstraint("steep", "slope", max=11.3),),
...             (Criterion("wind", Linear(4.0, 8.0), layer="wind_speed_hub"),),
...             DirectWeights({"wind": 1.0}), Aggregation(), SitesSpec(threshold=0.5))
>>> out = evaluate(ds, p)
>>> out.score.values.tolist(), out.limiting.values.tolist()
([[0.25, nan]], [[2, 1]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from geotool.errors import InputError
from geotool.suitability.aggregation import aggregate, shortfalls
from geotool.suitability.constraints import (
    constraint_block,
    constraint_masks,
    constraint_variable,
    pixel_area_m2,
    small_patches,
)
from geotool.suitability.parse import DERIVED_INPUTS
from geotool.suitability.specs import (
    Aggregation,
    Constraint,
    Criterion,
    MinAreaConstraint,
    Profile,
    VectorConstraint,
)

LIMITING_NODATA = -1
"""``limiting`` code of pixels with a missing input (and not excluded)."""
LIMITING_NONE = 0
"""``limiting`` code of pixels scoring 1: no criterion falls short."""


def limiting_codes(profile: Profile) -> dict[int, str]:
    """Meaning of each ``limiting`` code: constraints 1..n, then criteria, in profile order.

    >>> from geotool.suitability import load_profile
    >>> codes = limiting_codes(load_profile("windfarm"))
    >>> codes[-1], codes[0], codes[1]
    ('nodata', 'none', 'constraint:high_elevation')
    """
    codes = {LIMITING_NODATA: "nodata", LIMITING_NONE: "none"}
    for i, c in enumerate(profile.constraints, start=1):
        codes[i] = f"constraint:{c.name}"
    n = len(profile.constraints)
    for j, cr in enumerate(profile.criteria, start=1):
        codes[n + j] = f"criterion:{cr.name}"
    return codes


@dataclass(frozen=True)
class Prepared:
    """Intermediate results shared by :func:`evaluate` and :func:`stability`."""

    memberships: dict[str, xr.DataArray]
    active: tuple[str, ...]  # criteria with weight > 0, profile order
    weights: np.ndarray  # of the active criteria, sum 1
    stacked: xr.DataArray  # ("criterion", y, x) memberships of the active criteria
    code: xr.DataArray  # int16: first excluding constraint, 0 if none
    valid: xr.DataArray  # every needed input has data


def check_inputs(stack: xr.Dataset, profile: Profile) -> None:
    """Every variable the profile reads is in the stack, or an error naming them."""
    stand_ins = {
        c.variable: c.distance_variable
        for c in profile.constraints
        if isinstance(c, VectorConstraint) and c.buffer_m > 0
    }
    missing = [
        v
        for v in profile.layers()
        if v not in stack.data_vars and stand_ins.get(v) not in stack.data_vars
    ]
    if missing:
        layers = _missing_layers(profile, missing)
        listed = [f"{n} (from {DERIVED_INPUTS[n]})" if n in DERIVED_INPUTS else n for n in layers]
        direct = [n for n in layers if n not in DERIVED_INPUTS]
        example = direct[0] if direct else DERIVED_INPUTS[layers[0]].split()[0].rstrip(",")
        raise InputError(
            f"needs layers the study does not give: {', '.join(listed)}",
            where=f"profile {profile.name}",
            fix=f'add them to the study\'s [layers] (e.g. {example} = "file"), or run '
            "another profile",
        )


def _missing_layers(profile: Profile, missing: list[str]) -> list[str]:
    """The study layers (catalog or derived names) behind the stack variables ``missing``:
    ``power_lines`` for ``power_lines[voltage_kv>=220]_distance_m``, ``pv_yield`` for itself."""
    out: list[str] = []
    for item in (*profile.constraints, *profile.criteria):
        if item.variable not in missing:
            continue
        name = getattr(item, "distance_to", None) or getattr(item, "layer", None)
        if name is not None and name not in out:
            out.append(str(name))
    return out or list(missing)


def prepare(stack: xr.Dataset, profile: Profile) -> Prepared:
    """Memberships, exclusion codes and validity (lazy for dask stacks)."""
    check_inputs(stack, profile)
    memberships = {
        c.name: c.membership(stack[c.variable]).astype(np.float32).rename(f"m_{c.name}")
        for c in profile.criteria
    }
    template = stack[profile.criteria[0].variable]
    code = xr.zeros_like(template, dtype=np.int16)
    valid = xr.ones_like(template, dtype=bool)
    min_area: tuple[int, MinAreaConstraint] | None = None
    for i, c in enumerate(profile.constraints, start=1):
        if isinstance(c, MinAreaConstraint):
            min_area = (i, c)
            continue
        hit, ok = constraint_masks(stack, c)
        code = xr.where((code == 0) & hit, np.int16(i), code)
        valid = valid & ok
    weights = profile.weights
    active = tuple(n for n, w in weights.items() if w > 0)
    for n in active:
        valid = valid & memberships[n].notnull()
    if min_area is not None:
        i, c = min_area
        small = small_patches((code == 0) & valid, c, pixel_area_m2(stack))
        code = xr.where(small, np.int16(i), code)
    w = np.array([weights[n] for n in active], dtype=np.float64)
    stacked = xr.concat([memberships[n] for n in active], dim="criterion")
    stacked = stacked.assign_coords(criterion=list(active))
    if isinstance(stacked.data, da.Array):
        stacked = stacked.chunk({"criterion": -1})
    return Prepared(memberships, active, w / w.sum(), stacked, code.astype(np.int16), valid)


def _score_kernel(
    m: np.ndarray, *, weights: np.ndarray, spec: Aggregation, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Blockwise: memberships (..., k) -> score (float32) and limiting criterion code (int16)."""
    if spec.method == "wlc":
        planes = np.asarray(m)
        return _wlc_kernel([planes[..., i] for i in range(planes.shape[-1])], weights, codes)
    mk = np.moveaxis(np.asarray(m, dtype=np.float64), -1, 0)
    score = aggregate(mk, weights, spec)
    contrib = shortfalls(mk, weights, spec)
    contrib = np.where(np.isnan(contrib), -np.inf, contrib)
    top = np.argmax(contrib, axis=0)
    limited = np.take_along_axis(contrib, top[None], axis=0)[0] > 0
    limit = np.where(limited, codes[top], LIMITING_NONE).astype(np.int16)
    return np.clip(score, 0.0, 1.0).astype(np.float32), limit


def _planes_kernel(
    *planes: np.ndarray, weights: np.ndarray, spec: Aggregation, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_score_kernel` on the criteria's membership blocks given one by one (no stacked
    copy of them is made for the weighted linear combination)."""
    if spec.method == "wlc":
        return _wlc_kernel(planes, weights, codes)
    return _score_kernel(np.stack(planes, axis=-1), weights=weights, spec=spec, codes=codes)


def _wlc_kernel(
    planes: Sequence[np.ndarray], weights: np.ndarray, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The WLC case of :func:`_score_kernel` one criterion plane at a time, in float32 (the
    precision memberships and scores are stored in; rounding of the sum stays below 1e-6)
    and in place: 6 passes per criterion, no (k, ...) temporaries. A NaN membership makes the
    score NaN and never limits; ties go to the criterion listed first."""
    shape = np.shape(planes[0])
    score = np.zeros(shape, dtype=np.float32)
    best = np.full(shape, -np.inf, dtype=np.float32)
    index = np.int8 if len(planes) < 128 else np.intp
    top = np.zeros(shape, dtype=index)
    step = np.empty(shape, dtype=index)
    part = np.empty(shape, dtype=np.float32)
    contrib = np.empty(shape, dtype=np.float32)
    better = np.empty(shape, dtype=bool)
    for i, plane in enumerate(planes):
        w = np.float32(weights[i])
        np.multiply(plane, w, out=part, casting="unsafe")  # w_i m_i
        score += part
        np.subtract(w, part, out=contrib)  # w_i (1 - m_i); exactly 0 at m = 1, w_i at m = 0
        np.greater(contrib, best, out=better)  # False for NaN and for ties with an earlier one
        # top = i where better: as arithmetic, since a masked copy (np.copyto where=) costs
        # ~10x a plain pass on scattered masks (measured, NumPy 2.4)
        np.subtract(index(i), top, out=step)
        step *= better
        top += step
        np.fmax(best, contrib, out=best)  # NaN contributions leave best as it is
    limit = np.where(best > 0, codes[top], LIMITING_NONE).astype(np.int16)
    np.clip(score, 0.0, 1.0, out=score)
    return score, limit


def evaluate(stack: xr.Dataset, profile: Profile) -> xr.Dataset:
    """Suitability of every pixel of ``stack`` under ``profile`` (see the module docstring).

    Parameters
    ----------
    stack
        Dataset on the analysis grid with dims ``("y", "x")`` holding every variable of
        ``profile.layers()`` (raster and derived layers in physical units, ``<key>_mask`` and
        ``<key>_distance_m`` for vector requests). Dask-backed stacks stay lazy, except that a
        min-area constraint labels the whole eligible mask in one task.
    profile
        A validated profile (:func:`geotool.suitability.load_profile`).

    Returns
    -------
    xarray.Dataset
        ``score``, ``m_<criterion>`` (float32), ``excluded`` (bool), ``limiting`` (int16;
        meanings in ``limiting.attrs`` and :func:`limiting_codes`).
    """
    if any(isinstance(c, MinAreaConstraint) for c in profile.constraints):
        memberships, score, excluded, limiting = _evaluate_layered(stack, profile)
    else:
        memberships, score, excluded, limiting = _evaluate_fused(stack, profile)
    meanings = limiting_codes(profile)
    out = xr.Dataset(
        {
            "score": score.assign_attrs(
                long_name=f"suitability score ({profile.name})",
                units="1",
                aggregation=profile.aggregation.method,
            ),
            **{
                f"m_{c.name}": memberships[c.name].assign_attrs(
                    long_name=f"membership of criterion {c.name} ({c.variable})",
                    units="1",
                    weight=profile.weights[c.name],
                )
                for c in profile.criteria
            },
            "excluded": excluded.assign_attrs(long_name="excluded by a constraint"),
            "limiting": limiting.assign_attrs(
                long_name="first excluding constraint or most limiting criterion",
                flag_values=list(meanings),
                flag_meanings=" ".join(meanings.values()),
            ),
        },
        attrs={k: v for k, v in stack.attrs.items() if k == "grid"} | {"profile": profile.name},
    )
    return out


def _criterion_codes(profile: Profile, active: Sequence[str]) -> np.ndarray:
    n_constraints = len(profile.constraints)
    position = {c.name: n_constraints + j for j, c in enumerate(profile.criteria, start=1)}
    return np.array([position[n] for n in active], dtype=np.int16)


def _evaluate_layered(
    stack: xr.Dataset, profile: Profile
) -> tuple[dict[str, xr.DataArray], xr.DataArray, xr.DataArray, xr.DataArray]:
    """:func:`evaluate` as a graph of array operations (the min-area filter needs the whole
    eligible mask, so it cannot run in one pass per block)."""
    prep = prepare(stack, profile)
    codes = _criterion_codes(profile, prep.active)
    score, limit = xr.apply_ufunc(
        _planes_kernel,
        *[prep.memberships[n] for n in prep.active],
        output_core_dims=[[], []],
        kwargs={"weights": prep.weights, "spec": profile.aggregation, "codes": codes},
        dask="parallelized",
        output_dtypes=[np.float32, np.int16],
    )
    excluded = prep.code > 0
    blank = excluded | ~prep.valid
    score = score.where(~blank).astype(np.float32)
    limiting = xr.where(
        excluded, prep.code, xr.where(prep.valid, limit, np.int16(LIMITING_NODATA))
    ).astype(np.int16)
    return prep.memberships, score, excluded, limiting


def _evaluate_fused(
    stack: xr.Dataset, profile: Profile
) -> tuple[dict[str, xr.DataArray], xr.DataArray, xr.DataArray, xr.DataArray]:
    """:func:`evaluate` in one task per block: the kernel reads the blocks of the profile's
    variables and returns score, exclusion, limiting code and memberships together, with no
    intermediate arrays between tasks (3x fewer passes over memory than the layered graph)."""
    check_inputs(stack, profile)
    weights = profile.weights
    active = tuple(n for n, w in weights.items() if w > 0)
    w = np.array([weights[n] for n in active], dtype=np.float64)
    variables: list[str] = []
    constraint_vars = []
    for c in profile.constraints:
        var = constraint_variable(stack, c)
        constraint_vars.append((c, var, var != c.variable))
        if var not in variables:
            variables.append(var)
    for cr in profile.criteria:
        if cr.variable not in variables:
            variables.append(cr.variable)
    kernel = partial(
        _fused_kernel,
        variables=tuple(variables),
        constraints=tuple(constraint_vars),
        criteria=tuple(profile.criteria),
        active=active,
        weights=w / w.sum(),
        spec=profile.aggregation,
        codes=_criterion_codes(profile, active),
    )
    template = stack[variables[0]]
    dtypes = _fused_dtypes(len(profile.criteria))
    out = _per_block(kernel, [stack[v].data for v in variables], dtypes)

    def plane(i: int, name: str) -> xr.DataArray:
        return xr.DataArray(out[i], coords=template.coords, dims=template.dims, name=name)

    score = plane(0, "score")
    excluded = plane(1, "excluded")
    limiting = plane(2, "limiting")
    memberships = {cr.name: plane(3 + j, f"m_{cr.name}") for j, cr in enumerate(profile.criteria)}
    return memberships, score, excluded, limiting


def _fused_dtypes(n_criteria: int) -> list[Any]:
    """Outputs of :func:`_fused_kernel`: score, excluded, limiting, one membership each."""
    return [np.float32, np.bool_, np.int16] + [np.float32] * n_criteria


def _fused_kernel(*blocks: np.ndarray, **params: Any) -> tuple[np.ndarray, ...]:
    """One block of :func:`_evaluate_fused`: score, excluded, limiting code and the criteria's
    memberships, each its own array in its own dtype. Separate arrays of one block's size
    (not one stacked array of all of them, 44 MB per 1,024² block for 8 criteria) are small
    enough for the C allocator to recycle between blocks: a fresh large allocation costs a
    page fault per 4 KiB when first written (measured: 0.3-0.5 s of system time per 16 blocks
    of the 4,000² benchmark)."""
    shape = np.shape(blocks[0])
    out = tuple(np.empty(shape, dtype=dt) for dt in _fused_dtypes(len(params["criteria"])))
    for r0 in range(0, shape[0], FUSED_STRIP_ROWS):
        rows = slice(r0, r0 + FUSED_STRIP_ROWS)
        _fused_rows([np.asarray(b)[rows] for b in blocks], [o[rows] for o in out], **params)
    return out


FUSED_STRIP_ROWS = 32
"""Rows of a block evaluated at a time by :func:`_fused_kernel`: the temporaries of a strip
(32 × 1,024 float32 = 128 KiB each) stay in the CPU cache between the ~70 passes (measured
~10 % faster per 1,024² block of the benchmark profile than whole blocks)."""


def _fused_rows(
    blocks: list[np.ndarray],
    out: list[np.ndarray],
    *,
    variables: tuple[str, ...],
    constraints: tuple[tuple[Constraint, str, bool], ...],
    criteria: tuple[Criterion, ...],
    active: tuple[str, ...],
    weights: np.ndarray,
    spec: Aggregation,
    codes: np.ndarray,
) -> None:
    x = dict(zip(variables, blocks, strict=True))
    shape = np.shape(blocks[0])
    code = np.zeros(shape, dtype=np.int16)
    valid = np.ones(shape, dtype=bool)
    _first_exclusion(x, constraints, code, valid)
    members = {}
    for j, cr in enumerate(criteria):
        out[3 + j][...] = cr.membership(np.asarray(x[cr.variable]))
        members[cr.name] = out[3 + j]
    planes = [members[n] for n in active]
    score, limit = _planes_kernel(*planes, weights=weights, spec=spec, codes=codes)
    if spec.method == "wlc":  # every weight is > 0: the sum is NaN exactly where a plane is
        valid &= ~np.isnan(score)
    else:
        for m in planes:
            valid &= ~np.isnan(m)
    excluded = code > 0
    blank = ~valid
    blank |= excluded
    np.copyto(score, np.float32(np.nan), where=blank)
    out[0][...] = score
    out[1][...] = excluded
    lim = out[2]
    np.copyto(lim, limit)
    np.copyto(lim, np.int16(LIMITING_NODATA), where=~valid)
    np.copyto(lim, code, where=excluded)


def exclusion_codes(stack: xr.Dataset, profile: Profile) -> xr.DataArray:
    """Per pixel the first constraint (1-based, profile order) that excludes it, 0 where none
    does: the eligibility of :func:`evaluate` (``limiting`` codes 1..n) without reading or
    scoring the criteria's layers. Lazy for dask stacks, one task per block. Min-area
    constraints are not applied (they act on the scored eligible mask, see :func:`evaluate`).

    >>> import numpy as np, xarray as xr
    >>> from geotool.suitability.specs import DirectWeights, RangeConstraint, SitesSpec
    >>> ds = xr.Dataset({"slope": (("y", "x"), np.array([[2.0, 20.0, np.nan]]))})
    >>> p = Profile("p", "", (RangeConstraint("steep", "slope", max=11.3),), (),
    ...             DirectWeights({}), Aggregation(), SitesSpec(threshold=0.5))
    >>> exclusion_codes(ds, p).values.tolist()
    [[0, 1, 0]]
    """
    constraints = []
    variables: list[str] = []
    for c in profile.constraints:
        if isinstance(c, MinAreaConstraint):
            continue
        var = constraint_variable(stack, c)
        if var not in stack.data_vars:
            check_inputs(stack, profile)
        constraints.append((c, var, var != c.variable))
        if var not in variables:
            variables.append(var)
    if not variables:
        raise InputError(
            f"profile {profile.name!r} has no constraint to evaluate",
            where=f"profile {profile.name}",
            fix="add a [constraints.*] table",
        )
    kernel = partial(_exclusion_kernel, variables=tuple(variables), constraints=tuple(constraints))
    template = stack[variables[0]]
    data = _per_block(kernel, [stack[v].data for v in variables], np.int16)
    return xr.DataArray(data, coords=template.coords, dims=template.dims, name="exclusion")


def _per_block(kernel: Any, arrays: list[Any], dtype: Any) -> Any:
    """``kernel(*blocks)`` on NumPy arrays, or lazily block by block when any is a dask array
    (all then take the first dask array's chunks). ``dtype`` a list: the kernel returns a tuple
    of arrays of these dtypes (computed together, one task per block; each a dask array)."""
    if not any(isinstance(a, da.Array) for a in arrays):
        return kernel(*[np.asarray(a) for a in arrays])
    lazy = [a if isinstance(a, da.Array) else da.asarray(a) for a in arrays]
    chunks = next(a for a in arrays if isinstance(a, da.Array)).chunks
    lazy = [a if a.chunks == chunks else a.rechunk(chunks) for a in lazy]
    if not isinstance(dtype, list):
        return da.map_blocks(kernel, *lazy, dtype=dtype, meta=np.empty((0, 0), dtype=dtype))
    signature = ",".join(["()"] * len(lazy)) + "->" + ",".join(["()"] * len(dtype))
    return da.apply_gufunc(kernel, signature, *lazy, output_dtypes=dtype, vectorize=False)


def _exclusion_kernel(
    *blocks: np.ndarray,
    variables: tuple[str, ...],
    constraints: tuple[tuple[Constraint, str, bool], ...],
) -> np.ndarray:
    x = dict(zip(variables, blocks, strict=True))
    code = np.zeros(np.shape(blocks[0]), dtype=np.int16)
    _first_exclusion(x, constraints, code, np.ones(code.shape, dtype=bool))
    return code


def _first_exclusion(
    x: dict[str, np.ndarray],
    constraints: Sequence[tuple[Constraint, str, bool]],
    code: np.ndarray,
    valid: np.ndarray,
) -> None:
    """In place: ``code`` = first constraint excluding each pixel, ``valid`` &= inputs present."""
    for i, (c, var, distance) in enumerate(constraints, start=1):
        hit, ok = constraint_block(x[var], c, distance)
        hit &= code == 0
        code += hit * np.int16(i)  # code is 0 where hit: arithmetic beats a masked copy
        valid &= ok
