"""Raking (iterative proportional fitting) of a sample to population margins, and the
design effect and effective sample size of the weights.

Small and hand-written on purpose: `balance` pulls in scikit-learn, statsmodels and plotting
libraries, and `ipfn` has been unmaintained since 2021. Raking works on cells (people with the same groups share
one weight), so it costs the same however many people there are. Tested in tests/test_weighting.py, by hand and
against samplics' raking (a test dependency) on the same cells.
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
    Rows whose group is not in a margin (e.g. 'Not known') are left out (weight NaN). Raked as cells (rake_table):
    everyone in a cell gets the same weight.
    """
    dims = list(margins)
    keys = sample[dims].astype(object).where(sample[dims].notna(), None)
    cells = keys.groupby(dims, dropna=False, sort=False).size().rename("n").reset_index()
    result = rake_table(cells, margins, max_iter=max_iter, tol=tol)
    position = keys.merge(cells[dims].assign(_cell=range(len(cells))), on=dims, how="left")["_cell"].to_numpy()
    weights = pd.Series(result.weights.to_numpy()[position], index=sample.index)
    return RakingResult(weights, result.converged, result.iterations)


def rake_table(cells: pd.DataFrame, margins: dict[str, pd.Series], max_iter: int = 200,
               tol: float = 1e-9) -> RakingResult:
    """Raking (iterative proportional fitting) on a contingency table: each cell's weight, the same for everyone
    in it, so that the weighted shares match every margin.

    cells: one row per cell, one column per dimension named in margins, and n (people in the cell).
    Cells whose group is not in a margin (e.g. 'Not known') are left out (weight NaN). The weights have mean 1 over
    the people weighted (sum of n x weight = sum of n over the cells weighted).
    """
    dims = list(margins)
    targets = {d: (margins[d] / margins[d].sum()).astype(float) for d in dims}
    counts = pd.to_numeric(cells["n"]).to_numpy(dtype=float)
    usable = counts > 0
    for d in dims:
        usable &= cells[d].isin(targets[d].index).to_numpy()
    part = cells.loc[usable, dims]
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
    n = counts[usable]
    w = np.ones(len(part))
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):
        for d in dims:
            totals = np.bincount(codes[d], weights=n * w, minlength=len(want[d]))
            shares = totals / (n * w).sum()
            factor = np.divide(want[d], shares, out=np.zeros_like(want[d]), where=shares > 0)
            w = w * factor[codes[d]]
        worst = max(np.abs(np.bincount(codes[d], weights=n * w, minlength=len(want[d])) / (n * w).sum() - want[d]).max()
                    for d in dims)
        if worst < tol:
            converged = True
            break
    w = w / ((n * w).sum() / n.sum())
    out = pd.Series(np.nan, index=cells.index)
    out[usable] = w
    return RakingResult(out, converged, iterations)


def people_weights(cells: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """One weight per person (each cell's weight repeated n times; cells without a weight left out), for the design
    effect and effective sample size."""
    ok = weights.notna().to_numpy()
    return pd.Series(np.repeat(weights.to_numpy()[ok], pd.to_numeric(cells["n"]).to_numpy(dtype=int)[ok]))


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
