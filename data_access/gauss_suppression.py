"""Secondary suppression for large linked releases, in one pass: the published numbers are taken in order of how much
we want to show them (zeros, then the largest first), and each is shown only if, with it, no hidden small number can
be written as a linear combination of the shown ones (the standard of disclosure.linked_suppression, worked out by
Gram-Schmidt on the shown numbers instead of a decomposition per round, so thousands of numbers take a second)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data_access.disclosure import policy, threshold

_TOL = 1e-8


def ordered_suppression(counts: Sequence[float], published: Sequence[Sequence[int]],
                        threshold_n: int | None = None, secondary: bool | None = None,
                        never_shown: Sequence[bool] | None = None,
                        first: Sequence[bool] | None = None) -> np.ndarray:
    """Which published numbers to hide (True), where number i is the sum of the cells published[i] lists.

    Numbers of 1 to threshold - 1 are hidden (primary). Under the threshold rule, every other number is then taken
    in turn, zeros first, then from the largest down, and hidden as well if showing it together with those already
    shown would make some primary a linear combination of shown numbers. never_shown marks numbers that are not
    published as such but can be worked out (a difference of two shown counts): protected when small, never shown.
    first marks numbers to consider before the others (after zeros), such as a headline figure.
    The same set of cells published twice is hidden or shown together."""
    limit = threshold() if threshold_n is None else threshold_n
    secondary = policy().secondary if secondary is None else secondary
    counts = np.asarray(counts, dtype=float)
    sets: dict[frozenset, int] = {}
    which = np.array([sets.setdefault(frozenset(int(c) for c in cells), len(sets)) for cells in published],
                     dtype=int)
    members = [np.fromiter(s, dtype=int, count=len(s)) for s in sets]
    values = np.array([counts[mm].sum() for mm in members], dtype=float)
    hidden = (values > 0) & (values < limit)
    withheld = np.zeros(len(sets), dtype=bool)
    if never_shown is not None:
        np.logical_or.at(withheld, which, np.asarray(never_shown, dtype=bool))
        # a set published for real somewhere is shown there: only sets that are never published stay withheld
        np.logical_and.at(withheld, which, np.asarray(never_shown, dtype=bool))
    early = np.zeros(len(sets), dtype=bool)
    if first is not None:
        np.logical_or.at(early, which, np.asarray(first, dtype=bool))
    if secondary and hidden.any():
        hidden = _gram_schmidt(counts.size, members, values, hidden, withheld, early)
    return hidden[which] if len(which) else np.zeros(0, dtype=bool)


def _vector(n: int, cells: np.ndarray) -> np.ndarray:
    out = np.zeros(n)
    out[cells] = 1.0
    return out


def _gram_schmidt(n: int, members: list[np.ndarray], values: np.ndarray, hidden: np.ndarray,
                  withheld: np.ndarray, early: np.ndarray) -> np.ndarray:
    """Secondary suppressions: each candidate, in order, joins the shown numbers unless that would put a primary in
    their span (checked through each primary's residual after projection on the shown ones)."""
    hidden = hidden.copy()
    primary = np.flatnonzero(hidden)
    residual = np.array([_vector(n, members[p]) for p in primary])  # primaries less their projection on the shown
    left = (residual ** 2).sum(axis=1)
    basis = np.zeros((n, n))
    k = 0
    candidates = [i for i in range(len(members)) if not hidden[i] and not withheld[i]]
    for i in sorted(candidates, key=lambda i: (values[i] != 0, not early[i], -values[i], i)):
        x = _vector(n, members[i])
        r = x - basis[:k].T @ (basis[:k] @ x)
        r -= basis[:k].T @ (basis[:k] @ r)  # twice, for accuracy
        norm = np.linalg.norm(r)
        if norm < 1e-9:
            continue  # already worked out from the shown numbers: showing it adds nothing
        q = r / norm
        c = residual @ q
        if (left - c ** 2 < _TOL).any():
            hidden[i] = True
            continue
        basis[k] = q
        k += 1
        residual -= np.outer(c, q)
        left = (residual ** 2).sum(axis=1)
    return hidden | withheld
