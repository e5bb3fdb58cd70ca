"""An auditor for small-number protection, independent of the suppression code: given every number one view
publishes, each defined as a sum over underlying cells, it finds the hidden small numbers that a reader could
still work out exactly as a linear combination of the shown ones (a least-squares residual of zero)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


def determined(shown: np.ndarray, hidden: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """For each column of hidden (cells x H), whether it is a linear combination of the columns of shown
    (cells x P)."""
    hidden = np.asarray(hidden, dtype=float)
    if hidden.ndim == 1:
        hidden = hidden[:, None]
    if shown.shape[1] == 0:
        return np.linalg.norm(hidden, axis=0) < tol
    coef, *_ = np.linalg.lstsq(np.asarray(shown, dtype=float), hidden, rcond=None)
    return np.linalg.norm(shown @ coef - hidden, axis=0) < tol


@dataclass
class Release:
    """The numbers a view publishes: for each, its name, the cells it adds up and the value shown (None where
    hidden). cells: the true count of each underlying cell, by key."""

    cells: pd.Series
    numbers: list[tuple[Hashable, frozenset, float | None]] = field(default_factory=list)
    relations: list[tuple[frozenset, frozenset]] = field(default_factory=list)

    def _truth(self, keys: frozenset) -> float:
        """The true sum of the cells with these keys (the cells' positions remembered, for speed)."""
        if getattr(self, "_pos", None) is None or len(self._pos) != len(self.cells):
            self._pos = {k: i for i, k in enumerate(self.cells.index)}
            self._values = self.cells.to_numpy(dtype=float)
        return float(self._values[[self._pos[k] for k in keys]].sum()) if keys else 0.0

    def relate(self, keys_a: Iterable, keys_b: Iterable) -> None:
        """Something a reader knows without its being published: the cells keys_a add up to the same as keys_b (e.g.
        one count written as a sum over two different breakdowns)."""
        a, b = frozenset(keys_a), frozenset(keys_b)
        truth = [self._truth(k) for k in (a, b)]
        assert truth[0] == truth[1], f"not a relation: {truth}"
        self.relations.append((a, b))

    def add(self, name: Hashable, keys: Iterable, shown) -> None:
        """One published number: the sum of the cells with these keys, shown as `shown` (None/NA = hidden)."""
        keys = frozenset(keys)
        self._truth(frozenset())
        missing = [k for k in keys if k not in self._pos]
        assert not missing, f"{name}: unknown cells {sorted(missing)[:5]}"
        value = None if shown is None or pd.isna(shown) else float(shown)
        truth = self._truth(keys)
        # the model must describe what is published: a shown number is the sum of its cells
        assert value is None or value == truth, f"{name}: shown {value}, but its cells add up to {truth}"
        self.numbers.append((name, keys, value))

    def matrix(self, which: list[int]) -> np.ndarray:
        index = {k: i for i, k in enumerate(self.cells.index)}
        out = np.zeros((len(self.cells), len(which)))
        for j, n in enumerate(which):
            out[[index[k] for k in self.numbers[n][1]], j] = 1.0
        return out

    def leaks(self, threshold: int = 5) -> list[tuple[Hashable, float]]:
        """The hidden numbers of 1 to threshold - 1 that the shown ones determine: (name, true value)."""
        first: dict[frozenset, int] = {}
        for i, n in enumerate(self.numbers):
            if n[2] is not None:
                first.setdefault(n[1], i)  # the same cells shown twice add nothing
        shown = list(first.values())
        small = []
        for i, (name, keys, value) in enumerate(self.numbers):
            truth = self._truth(keys)
            if value is None and 0 < truth < threshold:
                small.append((i, name, truth))
        if not small:
            return []
        shown_m, hidden_m = self.matrix(shown), self.matrix([i for i, _, _ in small])
        if self.relations:
            index = {k: i for i, k in enumerate(self.cells.index)}
            extra = np.zeros((len(self.cells), len(self.relations)))
            for j, (a, b) in enumerate(self.relations):
                extra[[index[k] for k in a], j] += 1.0
                extra[[index[k] for k in b], j] -= 1.0
            shown_m = np.hstack([shown_m, extra])
        # A cell shown on its own is known: drop its row (and the column showing it), so that the least-squares
        # problem is about the other cells only (x is in span(S, e_k) iff x without row k is in span(S without
        # row k)).
        alone = ((shown_m != 0).sum(axis=0) == 1) & (shown_m.sum(axis=0) == 1)
        known = shown_m[:, alone].sum(axis=1) > 0
        found = determined(shown_m[~known][:, ~alone], hidden_m[~known])
        return [(name, truth) for (_, name, truth), hit in zip(small, found) if hit]
