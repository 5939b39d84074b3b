"""The credit chain per vintage, as A/R standards apply it.

    gross removals - baseline - leakage                    = net
    net, deficits carried forward                          = creditable
    creditable x (1 - uncertainty deduction)               = after deduction
    after deduction x buffer %                             = buffer credits
    after deduction - buffer credits                       = issuable   (x price = value)

Leakage is ``leakage_pct`` of (gross - baseline). Credits are counted on the cumulative net
removals: a vintage whose net is negative issues nothing, and its deficit must be made up by
later vintages before they issue again (creditable through a vintage = the highest cumulative
net so far, never below 0), so the crediting period never issues more than its net removals.
A loss after credits were issued is not clawed back here: that is what the buffer covers
(VCS AFOLU Non-Permanence Risk Tool; Gold Standard compliance buffer). The deduction fraction
comes from the 90 % half-width of the *net* removals (``half_width_pct``), floored by the
standard's minimum. Registries issue whole units: ``issuable_units`` is the floor of
``issuable``.

Examples
--------
>>> from geotool.carbon.params import get_standard
>>> res = credit_chain(CreditInputs(
...     vintages=(2025,), gross_removals_tco2e=[1000.0], baseline_tco2e=[100.0],
...     leakage_pct=10.0, half_width_pct=[15.0], standard=get_standard("gold_standard"),
...     price_cny_per_t=(50.0, 80.0)))
>>> float(res.net_tco2e[0]), float(res.issuable_tco2e[0])
(810.0, 648.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geotool.carbon.params import DeductionRule, Standard
from geotool.carbon.uncertainty import deduction_fraction
from geotool.errors import ConfigError, InputError


def _vec(name: str, value: Any, n: int) -> np.ndarray:
    given = np.asarray(value, dtype=float)
    if given.ndim > 1 or given.size not in (1, n):
        raise InputError(
            f"{name} has {given.size} values for {n} vintages",
            where=name,
            fix="give one value per vintage, or one number for all of them",
        )
    arr = np.broadcast_to(given.reshape(-1) if given.ndim else given, (n,)).copy()
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} has non-finite values", where=name, fix="give numbers")
    return arr


@dataclass(frozen=True)
class CreditInputs:
    """Everything the chain needs, per vintage (scalars are broadcast to all vintages).

    Attributes
    ----------
    vintages
        Calendar years, one per crediting year.
    gross_removals_tco2e
        Project removals per vintage (t CO2e).
    baseline_tco2e
        Baseline removals per vintage (t CO2e).
    leakage_pct
        Leakage, % of (gross - baseline).
    half_width_pct
        90 % CI half-width of the net removals, % of their mean, per vintage.
    standard
        Preset with the deduction and buffer rules.
    rule
        Optional override of ``standard.rule``.
    buffer_pct
        Non-permanence buffer (%); ``None`` takes the standard's fixed value (for a
        risk-tool standard pass the risk-tool result, floored by the standard).
    price_cny_per_t
        ``(low, high)`` CNY per t CO2e, or ``None`` (values NaN).
    """

    vintages: Sequence[int]
    gross_removals_tco2e: Any
    baseline_tco2e: Any
    leakage_pct: float
    half_width_pct: Any
    standard: Standard
    rule: DeductionRule | None = None
    buffer_pct: float | None = None
    price_cny_per_t: tuple[float, float] | None = None


@dataclass(frozen=True)
class CreditResult:
    """Every intermediate of the chain, one array element per vintage."""

    vintages: np.ndarray
    standard: str
    rule: str
    gross_removals_tco2e: np.ndarray
    baseline_tco2e: np.ndarray
    leakage_tco2e: np.ndarray
    net_tco2e: np.ndarray
    creditable_tco2e: np.ndarray
    half_width_pct: np.ndarray
    deduction_pct: np.ndarray
    uncertainty_deduction_tco2e: np.ndarray
    after_deduction_tco2e: np.ndarray
    buffer_pct: np.ndarray
    buffer_credits_tco2e: np.ndarray
    issuable_tco2e: np.ndarray
    issuable_units: np.ndarray
    value_low_cny: np.ndarray
    value_high_cny: np.ndarray
    min_deduction_pct: float = 0.0
    """The standard's least uncertainty deduction that applied (VCS: VM0047 s.8.7's 10 %),
    whichever rule turned the half-widths into deductions: an overriding rule, ``none``
    included, never deducts less."""
    columns: tuple[str, ...] = field(
        default=(
            "vintage",
            "gross_removals_tco2e",
            "baseline_tco2e",
            "leakage_tco2e",
            "net_tco2e",
            "creditable_tco2e",
            "half_width_pct",
            "deduction_pct",
            "uncertainty_deduction_tco2e",
            "after_deduction_tco2e",
            "buffer_pct",
            "buffer_credits_tco2e",
            "issuable_tco2e",
            "issuable_units",
            "value_low_cny",
            "value_high_cny",
        ),
        repr=False,
    )

    def to_frame(self) -> pd.DataFrame:
        """One row per vintage (the ``carbon_vintages.csv`` table) plus standard and rule."""
        data = {c: getattr(self, "vintages" if c == "vintage" else c) for c in self.columns}
        df = pd.DataFrame(data)
        df.insert(1, "standard", self.standard)
        df.insert(2, "uncertainty_rule", self.rule)
        return df

    def totals(self) -> dict[str, float]:
        """Sums over the crediting period of the t CO2e and CNY columns."""
        keys = [c for c in self.columns if c.endswith(("_tco2e", "_cny", "_units"))]
        return {k: float(np.sum(getattr(self, k))) for k in keys}


def credit_chain(inputs: CreditInputs) -> CreditResult:
    """Run the chain for every vintage; see the module docstring for the formulas."""
    n = len(inputs.vintages)
    if n == 0:
        raise InputError("no vintages", where="credit chain", fix="give >= 1 crediting year")
    gross = _vec("gross_removals_tco2e", inputs.gross_removals_tco2e, n)
    base = _vec("baseline_tco2e", inputs.baseline_tco2e, n)
    hw = _vec("half_width_pct", inputs.half_width_pct, n)
    if not 0.0 <= inputs.leakage_pct <= 100.0:
        raise ConfigError(
            f"leakage {inputs.leakage_pct} % outside 0..100", where="leakage_pct", fix="0..100"
        )
    rule = inputs.rule or inputs.standard.rule
    if inputs.buffer_pct is None:
        if inputs.standard.buffer_mode == "risk_tool":
            raise ConfigError(
                f"standard '{inputs.standard.name}' needs the risk-tool buffer",
                where="buffer_pct",
                fix="pass the AFOLU Non-Permanence Risk Tool result",
            )
        buf = inputs.standard.buffer_pct
    else:
        buf = max(float(inputs.buffer_pct), inputs.standard.buffer_floor_pct)
    if not 0.0 <= buf <= 100.0:
        raise ConfigError(f"buffer {buf} % outside 0..100", where="buffer_pct", fix="0..100")

    leak = np.maximum(gross - base, 0.0) * inputs.leakage_pct / 100.0
    net = gross - base - leak
    # deficits carried forward: credited through a vintage = best cumulative net so far
    credited_through = np.maximum.accumulate(np.maximum(np.cumsum(net), 0.0))
    creditable = np.diff(credited_through, prepend=0.0)
    positive = creditable > 0
    fraction = np.asarray(deduction_fraction(hw, rule), dtype=float)
    floor_pct = inputs.standard.min_deduction_pct
    fraction = np.maximum(fraction, floor_pct / 100.0)
    ded = np.where(positive, fraction, 0.0)
    unc = creditable * ded
    after = creditable - unc
    buffer_pct = np.full(n, buf)
    buffer_credits = after * buf / 100.0
    issuable = after - buffer_credits
    if inputs.price_cny_per_t is None:
        lo = hi = np.full(n, np.nan)
    else:
        lo = issuable * inputs.price_cny_per_t[0]
        hi = issuable * inputs.price_cny_per_t[1]
    return CreditResult(
        vintages=np.asarray(inputs.vintages, dtype=int),
        standard=inputs.standard.name,
        rule=rule.name,
        gross_removals_tco2e=gross,
        baseline_tco2e=base,
        leakage_tco2e=leak,
        net_tco2e=net,
        creditable_tco2e=creditable,
        half_width_pct=hw,
        deduction_pct=ded * 100.0,
        uncertainty_deduction_tco2e=unc,
        after_deduction_tco2e=after,
        buffer_pct=buffer_pct,
        buffer_credits_tco2e=buffer_credits,
        issuable_tco2e=issuable,
        issuable_units=np.floor(issuable + 1e-9),
        value_low_cny=np.asarray(lo, dtype=float),
        value_high_cny=np.asarray(hi, dtype=float),
        min_deduction_pct=floor_pct,
    )
