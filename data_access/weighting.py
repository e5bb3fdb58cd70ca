"""Raking (iterative proportional fitting) of a sample to population margins, and the
design effect and effective sample size of the weights.

Small and hand-written on purpose: `balance` pulls in scikit-learn, statsmodels and plotting
libraries, and `ipfn` has been unmaintained since 2021. Tested in tests/test_weighting.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


class RakingError(ValueError):
    """Raking cannot reach the margins (e.g. a group with residents has nobody in the sample)."""


@dataclass
class RakingResult:
    """Weights (mean 1 over the rows raked), whether the margins were met, and how many sweeps it took."""

    weights: pd.Series
    converged: bool
    iterations: int


def rake(sample: pd.DataFrame, margins: dict[str, pd.Series], max_iter: int = 200,
         tol: float = 1e-9) -> RakingResult:
    """Weights that make the sample's weighted shares match every margin.

    sample: one row per person, one column per dimension named in margins.
    margins: dimension -> Series of population counts or shares by group (normalised here).
    Rows whose group is not in a margin (e.g. 'Not known') are left out (weight NaN).
    """
    dims = list(margins)
    targets = {d: (margins[d] / margins[d].sum()).astype(float) for d in dims}
    usable = np.ones(len(sample), dtype=bool)
    for d in dims:
        usable &= sample[d].isin(targets[d].index).to_numpy()
    part = sample.loc[usable, dims]
    if part.empty:
        raise RakingError("Nobody in the sample has a known group on every dimension, so no weights can be made.")
    for d in dims:
        present = set(part[d])
        missing = [g for g, share in targets[d].items() if share > 0 and g not in present]
        if missing:
            raise RakingError(f"No one in the sample is in {', '.join(map(str, missing))} ({d}), "
                              "so the sample cannot be weighted to match residents.")
    codes = {d: pd.Categorical(part[d], categories=targets[d].index).codes for d in dims}
    want = {d: targets[d].to_numpy() for d in dims}
    w = np.ones(len(part))
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):
        for d in dims:
            totals = np.bincount(codes[d], weights=w, minlength=len(want[d]))
            shares = totals / w.sum()
            factor = np.divide(want[d], shares, out=np.zeros_like(want[d]), where=shares > 0)
            w = w * factor[codes[d]]
        worst = max(np.abs(np.bincount(codes[d], weights=w, minlength=len(want[d])) / w.sum() - want[d]).max()
                    for d in dims)
        if worst < tol:
            converged = True
            break
    w = w / w.mean()
    out = pd.Series(np.nan, index=sample.index)
    out[usable] = w
    return RakingResult(out, converged, iterations)


def kish_design_effect(weights) -> float:
    """Kish's design effect from unequal weights: n Σw² / (Σw)² (= 1 + relative variance of the weights)."""
    w = np.asarray(pd.Series(weights).dropna(), dtype=float)
    return float(len(w) * (w ** 2).sum() / w.sum() ** 2) if len(w) else float("nan")


def effective_sample_size(weights) -> float:
    """Kish's effective sample size: (Σw)² / Σw²."""
    w = np.asarray(pd.Series(weights).dropna(), dtype=float)
    return float(w.sum() ** 2 / (w ** 2).sum()) if len(w) else 0.0


def weighted_shares(values: pd.Series, weights: pd.Series) -> pd.Series:
    """Each value's share of the total weight (rows with no weight left out)."""
    ok = weights.notna()
    totals = weights[ok].groupby(values[ok]).sum()
    return totals / totals.sum()
