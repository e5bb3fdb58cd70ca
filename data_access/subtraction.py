"""Secondary suppression: hiding the counts from which a hidden small count could be worked out by subtraction.

Hiding a count of 1-4 (data_access.disclosure) is not enough when the total it belongs to is shown: the total
minus the other counts gives it away. These helpers decide which further counts to hide. They work on plain
numbers; the query modules apply them before anything reaches a screen.
"""

from __future__ import annotations

import numpy as np

from data_access.disclosure import is_small


def hide_parts(counts) -> np.ndarray:
    """Which of a set of counts adding up to a shown total must be hidden: every count of 1 to threshold-1 and,
    when exactly one is hidden, the smallest other non-zero count too (else total minus the rest gives it away)."""
    values = np.asarray([0 if v is None else v for v in counts], dtype=float)
    hidden = np.array([is_small(v) for v in values], dtype=bool)
    if hidden.sum() == 1:
        others = [i for i in np.argsort(values, kind="stable") if not hidden[i] and values[i] > 0]
        if others:
            hidden[others[0]] = True
    return hidden


def hide_cumulative(table, protect_last: bool = True) -> np.ndarray:
    """Which cells of a table of running counts to hide. Each row is one group's counts, never falling from
    left to right (e.g. terms ending within 3, 6 and 12 months, then the group's current size); the column
    totals are treated as shown. A cell is hidden when it is 1 to threshold-1; when the difference between two
    neighbouring shown cells of a row (or between 0 and the first) is 1 to threshold-1, the later of them is
    hidden (the earlier, if the later is the last column); and a column with exactly one hidden cell has its
    smallest other non-zero cell hidden too (the last column only if protect_last). Repeats until nothing
    changes."""
    values = np.asarray(table, dtype=float)
    if values.size == 0:
        return np.zeros(values.shape, dtype=bool)
    n_rows, n_cols = values.shape
    hidden = np.vectorize(is_small, otypes=[bool])(values)
    changed = True
    while changed:
        changed = False
        for i in range(n_rows):
            prev = -1  # the column of the previous shown cell (-1: the zero before the row)
            for j in range(n_cols):
                if hidden[i, j]:
                    continue
                before = values[i, prev] if prev >= 0 else 0.0
                if is_small(values[i, j] - before):
                    target = prev if (j == n_cols - 1 and prev >= 0) else j
                    hidden[i, target] = True
                    changed = True
                    break
                prev = j
        cols = range(n_cols) if protect_last else range(n_cols - 1)
        for j in cols:
            if hidden[:, j].sum() == 1:
                others = [i for i in np.argsort(values[:, j], kind="stable") if not hidden[i, j] and values[i, j] > 0]
                if others:
                    hidden[others[0], j] = True
                    changed = True
    return hidden
