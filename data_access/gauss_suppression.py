"""The one secondary-suppression engine, in one pass: the published numbers are taken in order of how much we want to
show them (zeros, then the numbers ranked to be kept, then the largest or dearest first), and each is shown only if,
with it, no protected number (a small one, or one hidden elsewhere) can be written as a linear combination of the
shown ones and of what a reader knows besides (two tables' sums of the same number are equal). This is the standard
of tau-ARGUS and Statistics Norway's GaussSuppression, worked out by Gram-Schmidt on the shown numbers, so thousands
of numbers take a second. disclosure.linked_suppression, answers.hidden_over_tables and the memberships release
(ordered_suppression) all use it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

_TOL = 1e-8


def distinct_sets(counts: np.ndarray, published: Sequence[Sequence[int]]) -> tuple[np.ndarray, list, np.ndarray]:
    """The distinct sets of cells among the published numbers: (for each number, its set's index; each set's cells;
    each set's value)."""
    sets: dict[frozenset, int] = {}
    which = np.array([sets.setdefault(frozenset(int(c) for c in cells), len(sets)) for cells in published],
                     dtype=int)
    members = [np.fromiter(s, dtype=int, count=len(s)) for s in sets]
    return which, members, np.array([counts[mm].sum() for mm in members], dtype=float)


def per_set(which: np.ndarray, n_sets: int, flags: Sequence | None, how=np.maximum) -> np.ndarray:
    """One value per distinct set from one per published number: the largest of a set published twice (np.minimum:
    the smallest); zeros where flags is None."""
    if flags is None:
        return np.zeros(n_sets)
    out = np.full(n_sets, -np.inf if how is np.maximum else np.inf)
    how.at(out, which, np.asarray(flags, dtype=float))
    return out


def show_order(values: np.ndarray, members: list, hidden: np.ndarray, withheld: np.ndarray,
               rank: np.ndarray | None = None, worth: np.ndarray | None = None, sums_first: bool = True) -> list[int]:
    """The sets that may be shown, in the order they are offered: zeros first (always shown: they give no one
    away), then the highest rank (numbers to hide only where nothing else will do), then the highest worth (the
    value, or a cost: a total made dearer to hide than its parts), then (sums_first) sums of several cells before
    single cells."""
    rank = np.zeros(len(members), dtype=int) if rank is None else rank
    worth = values if worth is None else worth
    candidates = [i for i in range(len(members)) if not hidden[i] and not withheld[i] and len(members[i])]
    return sorted(candidates, key=lambda i: (values[i] != 0, -rank[i], -worth[i],
                                             sums_first and len(members[i]) == 1, i))


def protect(n_cells: int, members: list[np.ndarray], hidden: np.ndarray, order: Sequence[int],
            withheld: np.ndarray | None = None, known: np.ndarray | None = None) -> np.ndarray:
    """hidden (the sets to protect: a boolean per set) with more sets hidden: each set in `order` joins the shown
    ones unless then some protected set would be a linear combination of the shown ones and of the rows of `known`
    (vectors over the cells whose value a reader knows, such as the difference of two tables' sums of one number).
    withheld sets are never offered (and protected only if hidden too). Returns the hidden sets (protected,
    withheld and secondary)."""
    hidden = np.asarray(hidden, dtype=bool).copy()
    withheld = np.zeros(len(members), dtype=bool) if withheld is None else withheld
    protected = [p for p in np.flatnonzero(hidden) if len(members[p])]
    if not protected or not len(order):
        return hidden | withheld
    with threadpool_limits(limits=1, user_api="blas"):  # many small products: threads only contend
        return _gram_schmidt(n_cells, members, hidden, withheld, protected, list(order), known)


def _gram_schmidt(n: int, members: list[np.ndarray], hidden: np.ndarray, withheld: np.ndarray,
                  protected: list[int], order: list[int], known: np.ndarray | None) -> np.ndarray:
    """Secondary suppressions: each candidate x, in order, joins the shown numbers S unless that would put a protected
    p in their span. With r_p and r_x the parts of p and x orthogonal to span(S) (an orthonormal basis is kept), p is
    in span(S + x) exactly when r_p is parallel to r_x: |r_p|^2 = (r_p . x)^2 / |r_x|^2, where r_p . x = r_p . r_x and
    |r_x|^2 = |x|^2 - |basis x|^2 need only x's own cells; the full r_x is worked out only for a number shown."""
    # the protected sets as one index array with offsets: p . v for every p is one np.add.reduceat over v's rows
    flat = np.concatenate([members[p] for p in protected])
    starts = np.concatenate([[0], np.cumsum([len(members[p]) for p in protected])[:-1]]).astype(int)
    sizes = np.array([len(members[p]) for p in protected], dtype=float)

    def dot_protected(v: np.ndarray) -> np.ndarray:
        return np.add.reduceat(v[flat], starts, axis=0)

    seed = _orthonormal(known, n)
    basis = np.zeros((n, min(n, len(order) + seed.shape[1])), order="F")  # column j: the j-th orthonormal vector
    k = seed.shape[1]
    basis[:, :k] = seed
    bp = np.zeros((basis.shape[1], len(protected)))  # row j: basis[:, j] . p for every protected p
    if k:
        bp[:k] = dot_protected(seed).T
    left = sizes - (bp[:k] ** 2).sum(axis=0)
    watch = left > _TOL  # a protected number already known (none should be) cannot be helped: not watched
    for batch in (order[b:b + _BATCH] for b in range(0, len(order), _BATCH)):
        # r_p . x = p . x - (basis' p) . (basis' x), and |r_x|^2 = |x|^2 - |basis' x|^2, for the whole batch in matrix
        # products; each number shown in the batch updates the rest with a rank-one change
        x = np.zeros((n, len(batch)))
        for col, i in enumerate(batch):
            x[members[i], col] = 1.0
        bx = basis[:, :k].T @ x
        norm2 = x.sum(axis=0) - (bx ** 2).sum(axis=0)
        dots = dot_protected(x) - bp[:k].T @ bx
        for col, i in enumerate(batch):
            r = None
            if norm2[col] < 1e-3:  # nearly in the span: work the residual out in full, for accuracy
                r = _residual(basis[:, :k], basis[:, :k].T @ x[:, col], members[i])
                if r @ r < 1e-9:
                    continue  # already worked out from the shown numbers: showing it adds nothing
                norm2[col] = r @ r
            if (left - dots[:, col] ** 2 / norm2[col] < _TOL)[watch].any():
                hidden[i] = True
                continue
            if r is None:
                r = _residual(basis[:, :k], basis[:, :k].T @ x[:, col], members[i])
            q = r / np.linalg.norm(r)
            basis[:, k] = q
            bp[k] = qp = dot_protected(q)
            k += 1
            qx = q @ x
            left = left - qp ** 2
            dots -= np.outer(qp, qx)
            norm2 -= qx ** 2
    return hidden | withheld


_BATCH = 256


def _orthonormal(known: np.ndarray | None, n: int) -> np.ndarray:
    """An orthonormal basis (as columns) of the span of the rows of known."""
    if known is None or not len(known):
        return np.zeros((n, 0))
    u, s, _ = np.linalg.svd(np.asarray(known, dtype=float).T, full_matrices=False)
    return u[:, s > 1e-9 * max(1.0, s.max(initial=0.0))]


def _residual(basis: np.ndarray, bx: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """x (the 0/1 vector of the cells) less its projection on the columns of basis (bx = basis.T @ x), orthogonalised
    a second time where much of x was in the span (Daniel, Gragg, Kaufman and Stewart's test)."""
    r = -(basis @ bx)
    r[cells] += 1.0
    if r @ r < 0.5 * len(cells):
        r -= basis @ (basis.T @ r)
    return r


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
    from data_access.disclosure import policy, threshold

    limit = threshold() if threshold_n is None else threshold_n
    secondary = policy().secondary if secondary is None else secondary
    counts = np.asarray(counts, dtype=float)
    which, members, values = distinct_sets(counts, published)
    hidden = (values > 0) & (values < limit)
    # a set published for real somewhere is shown there: only sets that are never published stay withheld
    withheld = per_set(which, len(members), never_shown, how=np.minimum).astype(bool)
    early = per_set(which, len(members), first)
    if secondary and hidden.any():
        hidden = protect(counts.size, members, hidden,
                         show_order(values, members, hidden, withheld, rank=early, sums_first=False), withheld)
    return hidden[which] if len(which) else np.zeros(0, dtype=bool)
