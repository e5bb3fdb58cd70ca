"""Secondary suppression for large linked releases, in one pass: the published numbers are taken in order of how much
we want to show them (zeros, then the largest first), and each is shown only if, with it, no hidden small number can
be written as a linear combination of the shown ones (the standard of disclosure.linked_suppression, worked out by
Gram-Schmidt on the shown numbers instead of a decomposition per round, so thousands of numbers take a second)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from data_access.disclosure import distinct_sets, policy, threshold

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
    which, members, values = distinct_sets(counts, published)
    hidden = (values > 0) & (values < limit)
    withheld = np.zeros(len(members), dtype=bool)
    if never_shown is not None:
        np.logical_or.at(withheld, which, np.asarray(never_shown, dtype=bool))
        # a set published for real somewhere is shown there: only sets that are never published stay withheld
        np.logical_and.at(withheld, which, np.asarray(never_shown, dtype=bool))
    early = np.zeros(len(members), dtype=bool)
    if first is not None:
        np.logical_or.at(early, which, np.asarray(first, dtype=bool))
    if secondary and hidden.any():
        with threadpool_limits(limits=1, user_api="blas"):  # many small products: threads only contend
            hidden = _gram_schmidt(counts.size, members, values, hidden, withheld, early)
    return hidden[which] if len(which) else np.zeros(0, dtype=bool)


def _gram_schmidt(n: int, members: list[np.ndarray], values: np.ndarray, hidden: np.ndarray,
                  withheld: np.ndarray, early: np.ndarray) -> np.ndarray:
    """Secondary suppressions: each candidate x, in order, joins the shown numbers S unless that would put a primary p
    in their span. With r_p and r_x the parts of p and x orthogonal to span(S) (an orthonormal basis is kept), p is in
    span(S + x) exactly when r_p is parallel to r_x: |r_p|^2 = (r_p . x)^2 / |r_x|^2, where r_p . x = r_p . r_x and
    |r_x|^2 = |x|^2 - |basis x|^2 need only x's own cells; the full r_x is worked out only for a number shown."""
    hidden = hidden.copy()
    primary = np.flatnonzero(hidden)
    # the primaries as one index array with offsets: p . v for every primary p is one np.add.reduceat over v's rows
    flat = np.concatenate([members[p] for p in primary])
    starts = np.concatenate([[0], np.cumsum([len(members[p]) for p in primary])[:-1]]).astype(int)
    sizes = np.array([len(members[p]) for p in primary], dtype=float)

    def dot_primaries(v: np.ndarray) -> np.ndarray:
        return np.add.reduceat(v[flat], starts, axis=0)

    basis = np.zeros((n, n), order="F")  # column j: the j-th orthonormal vector of span(S), each contiguous
    bp = np.zeros((n, len(primary)))  # row j: basis[:, j] . p for every primary p
    k = 0
    candidates = [i for i in range(len(members)) if not hidden[i] and not withheld[i] and len(members[i])]
    order = sorted(candidates, key=lambda i: (values[i] != 0, not early[i], -values[i], i))
    for batch in (order[b:b + _BATCH] for b in range(0, len(order), _BATCH)):
        # r_p . x = p . x - (basis' p) . (basis' x), and |r_x|^2 = |x|^2 - |basis' x|^2, for the whole batch in matrix
        # products; each number shown in the batch updates the rest with a rank-one change
        x = np.zeros((n, len(batch)))
        for col, i in enumerate(batch):
            x[members[i], col] = 1.0
        bx = basis[:, :k].T @ x
        norm2 = x.sum(axis=0) - (bx ** 2).sum(axis=0)
        dots = dot_primaries(x) - bp[:k].T @ bx
        left = sizes - (bp[:k] ** 2).sum(axis=0)
        for col, i in enumerate(batch):
            r = None
            if norm2[col] < 1e-3:  # nearly in the span: work the residual out in full, for accuracy
                r = _residual(basis[:, :k], basis[:, :k].T @ x[:, col], members[i])
                if r @ r < 1e-9:
                    continue  # already worked out from the shown numbers: showing it adds nothing
                norm2[col] = r @ r
            if (left - dots[:, col] ** 2 / norm2[col] < _TOL).any():
                hidden[i] = True
                continue
            if r is None:
                r = _residual(basis[:, :k], basis[:, :k].T @ x[:, col], members[i])
            q = r / np.linalg.norm(r)
            basis[:, k] = q
            bp[k] = qp = dot_primaries(q)
            k += 1
            qx = q @ x
            left = left - qp ** 2
            dots -= np.outer(qp, qx)
            norm2 -= qx ** 2
    return hidden | withheld


_BATCH = 256


def _residual(basis: np.ndarray, bx: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """x (the 0/1 vector of the cells) less its projection on the columns of basis (bx = basis.T @ x), orthogonalised
    a second time where much of x was in the span (Daniel, Gragg, Kaufman and Stewart's test)."""
    r = -(basis @ bx)
    r[cells] += 1.0
    if r @ r < 0.5 * len(cells):
        r -= basis @ (basis.T @ r)
    return r
