"""The recruitment quota planner: how many recruits of each group the next wave needs so that the panel
after the wave matches residents, and a joint quota table whose margins meet every dimension's targets.

Pure computation on aggregated frames (counts by group); no database and no Streamlit.
"""

from __future__ import annotations

import io
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data_access.disclosure import is_small, policy, publish_count, round_count
from data_access.representativeness import Tolerance


def largest_remainder(values: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers, each the floor or ceiling of a value, that add up to total (Hamilton's method)."""
    values = np.clip(np.asarray(values, dtype=float), 0, None)
    base = np.floor(values + 1e-9).astype(int)
    short = int(total - base.sum())
    if short > 0:
        order = np.argsort(-(values - base), kind="stable")
        base[order[:short]] += 1
    elif short < 0:
        order = np.argsort(values - base, kind="stable")
        for i in order:
            if short == 0:
                break
            if base[i] > 0:
                base[i] -= 1
                short += 1
    return base


def fill_levels(retained: np.ndarray, shares: np.ndarray, final_total: float) -> np.ndarray:
    """The panel after the wave closest to the resident shares that recruitment alone can reach:
    final_g = max(retained_g, lam * share_g), with lam chosen so the finals add up to final_total.
    Groups already above their share keep what they have; the others are brought to one common ratio."""
    retained = np.asarray(retained, dtype=float)
    shares = np.asarray(shares, dtype=float)
    if final_total <= retained.sum() + 1e-12:
        return retained.copy()
    lo, hi = 0.0, final_total / max(shares[shares > 0].min(), 1e-12) if (shares > 0).any() else 0.0
    if hi == 0.0:
        return retained.copy()
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.maximum(retained, mid * shares).sum() < final_total:
            lo = mid
        else:
            hi = mid
    return np.maximum(retained, hi * shares)


SMALL = "small"
POOLED = "pooled"
HIDDEN = "hidden"


def planning_counts(kept: np.ndarray, hide: np.ndarray | None = None,
                    pool: bool = True) -> tuple[np.ndarray, list[str]]:
    """The members still serving that the plan works from, so that no figure it produces gives away a count of
    1-4: such a group is planned as if none were serving; when it is the only one, its members are counted with
    the smallest other group instead (whose own count is then hidden too), so the totals stay exact and neither
    count can be worked out by subtraction. Where the policy rounds counts (HES), the others are planned from
    their rounded (published) counts and nothing is pooled: rounding already hides the exact totals.
    With `hide` (the groups whose counts are hidden with everything published with them: panel.panel_hidden),
    the hidden groups are planned as if none were serving, except the smallest one that is not small, which is
    planned with all their members ('pooled'; only where `pool`: their total is given away by the published
    total anyway); the others not small are 'hidden'. Returns the counts and each group's status ('', 'small',
    'pooled', 'hidden')."""
    kept = np.asarray(kept, dtype=int)
    if hide is not None:
        status = [SMALL if is_small(v) else HIDDEN if h else "" for v, h in zip(kept, hide)]
        plan = np.array([0 if s else round_count(v) for v, s in zip(kept, status)], dtype=int)
        larger = [i for i in np.argsort(kept, kind="stable") if status[i] == HIDDEN]
        if pool and larger and policy().secondary:
            status[larger[0]] = POOLED
            plan[larger[0]] = sum(int(v) for v, s in zip(kept, status) if s)
        return plan, status
    status = [SMALL if is_small(v) else "" for v in kept]
    plan = np.array([0 if s == SMALL else round_count(v) for v, s in zip(kept, status)], dtype=int)
    small = [i for i, s in enumerate(status) if s == SMALL]
    if len(small) == 1 and policy().secondary:
        others = [i for i in np.argsort(kept, kind="stable") if not status[i] and kept[i] > 0]
        if others:
            j = others[0]
            status[j] = POOLED
            plan[j] += kept[small[0]]
    return plan, status


def plan_dimension(retained: pd.DataFrame, residents: pd.DataFrame, wave: int, tolerance: Tolerance,
                   order: list[str] | None = None, hidden: set | None = None, pool: bool = True) -> pd.DataFrame:
    """Recruits of each group for one dimension.

    retained: group, count (members still serving at the wave, unstated groups included and ignored);
    residents: group, residents. Columns: group, retained (the true count), hidden ('small' for a count of 1-4,
    'pooled' for the group its members are counted with; see planning_counts), planned_from (the count the
    plan works from), resident_share, ideal (the group's share of the stated panel after the wave less
    planned_from), recruits (whole numbers adding up to the wave), at_least and at_most (the range that keeps
    the group within tolerance), after, share_after, ratio_after, note. Every column but retained is worked out
    from planned_from, so none of them gives a hidden count away.
    """
    res = residents.set_index("group")["residents"].astype(float)
    groups = [g for g in (order or []) if g in res.index] + [g for g in res.index if g not in (order or [])]
    res = res.reindex(groups)
    true_kept = retained.set_index("group")["count"].reindex(groups).fillna(0).astype(int).to_numpy()
    kept, hidden = planning_counts(true_kept, None if hidden is None else [g in hidden for g in groups], pool)
    shares = (res / res.sum()).to_numpy() if res.sum() > 0 else np.zeros(len(groups))
    total_after = kept.sum() + wave
    ideal = total_after * shares
    final = fill_levels(kept, shares, total_after)
    recruits = largest_remainder(final - kept, wave)
    after = kept + recruits
    at_least, at_most, notes = [], [], []
    for g, r, s, i, h in zip(groups, kept, shares, ideal, hidden):
        lo, hi = tolerance.share_bounds(s)
        need = max(0, math.ceil(lo * total_after - r - 1e-9))
        room = math.floor(hi * total_after - r + 1e-9)
        at_least.append(min(need, wave))
        at_most.append(max(0, min(room, wave)))
        serving = "More members" if h else f"{r:,}"
        if room < 0:
            notes.append(f"{serving} will still be serving than the {hi * total_after:,.0f} tolerance allows in a "
                         f"stated panel of {total_after:,}: only removing members would bring it within tolerance."
                         if h else
                         f"{r:,} will still be serving, more than the {hi * total_after:,.0f} tolerance allows in a "
                         f"stated panel of {total_after:,}: only removing members would bring it within tolerance.")
        elif r > i + 1e-9:
            notes.append((f"{serving} will still be serving than its share ({i:,.0f})" if h else
                          f"{r:,} will still be serving, more than its share ({i:,.0f})")
                         + ": it gets no recruits, and the other groups are brought as close to their shares as "
                         "the wave allows.")
        elif need > wave:
            notes.append(f"Needs at least {need:,} recruits to reach tolerance, more than the whole wave.")
        else:
            notes.append("")
    out = pd.DataFrame({
        "group": groups, "retained": true_kept, "hidden": hidden, "planned_from": kept, "resident_share": shares,
        "ideal": ideal - kept, "recruits": recruits, "at_least": at_least, "at_most": at_most, "after": after})
    out["share_after"] = out["after"] / total_after if total_after else np.nan
    out["ratio_after"] = (out["share_after"] / out["resident_share"]).where(out["resident_share"] > 0)
    out["note"] = notes
    return out


def ipf(seed: np.ndarray, margins: list[np.ndarray], max_iter: int = 1000, tol: float = 1e-9) -> tuple[np.ndarray, bool]:
    """Iterative proportional fitting of a table (one axis per dimension) to one-way margins."""
    x = np.asarray(seed, dtype=float).copy()
    for _ in range(max_iter):
        for axis, target in enumerate(margins):
            other = tuple(a for a in range(x.ndim) if a != axis)
            sums = x.sum(axis=other)
            factor = np.divide(target, sums, out=np.zeros_like(sums), where=sums > 0)
            shape = [1] * x.ndim
            shape[axis] = -1
            x = x * factor.reshape(shape)
        worst = max(np.abs(x.sum(axis=tuple(a for a in range(x.ndim) if a != ax)) - t).max()
                    for ax, t in enumerate(margins))
        if worst < tol:
            return x, True
    return x, False


def controlled_round(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
    """Whole numbers, each the floor or ceiling of a cell of a 2-D table, whose row and column totals are
    the given whole numbers (a bipartite flow: exists whenever the table's own totals are those numbers)."""
    base = np.floor(x + 1e-9).astype(int)
    frac = x - base
    need_r = rows.astype(int) - base.sum(axis=1)
    need_c = cols.astype(int) - base.sum(axis=0)
    if (need_r < 0).any() or (need_c < 0).any() or need_r.sum() != need_c.sum():
        return None
    n_r, n_c = x.shape
    # Residual capacities: source -> row i (need_r), row i -> col j (1 if frac > 0), col j -> sink (need_c).
    cap_rc = (frac > 1e-9).astype(int)
    flow = np.zeros_like(cap_rc)
    r_left, c_left = need_r.copy(), need_c.copy()
    total = int(need_r.sum())
    for _ in range(total):
        # Breadth-first search for an augmenting path from a row with need to a column with need.
        prev: dict = {}
        queue = deque(("r", i) for i in range(n_r) if r_left[i] > 0)
        for node in queue:
            prev[node] = None
        end = None
        while queue and end is None:
            kind, k = queue.popleft()
            if kind == "r":
                for j in np.argsort(-frac[k]):
                    if cap_rc[k, j] - flow[k, j] > 0 and ("c", j) not in prev:
                        prev[("c", j)] = (kind, k)
                        if c_left[j] > 0:
                            end = ("c", j)
                            break
                        queue.append(("c", j))
            else:
                for i in range(n_r):
                    if flow[i, k] > 0 and ("r", i) not in prev:
                        prev[("r", i)] = (kind, k)
                        queue.append(("r", i))
        if end is None:
            return None
        node = end
        c_left[node[1]] -= 1
        while prev[node] is not None:
            p = prev[node]
            if node[0] == "c":
                flow[p[1], node[1]] += 1
            else:
                flow[node[1], p[1]] -= 1
            node = p
        r_left[node[1]] -= 1
    return base + flow


@dataclass
class JointQuota:
    """Recruits by ICP area x IMD quintile x age band (cells), whether every margin was met, and notes."""

    cells: pd.DataFrame
    met: bool
    notes: list[str] = field(default_factory=list)


def joint_quota(seed: pd.DataFrame, margins: dict[str, pd.Series]) -> JointQuota:
    """A joint quota table over the dimensions of margins (in order; 2 or 3 of them), fitted by IPF from
    the seed (residents by the same dimensions, column 'residents') to each dimension's recruits, then
    rounded to whole recruits so that every one-way margin is met exactly (and, for three dimensions, the
    first-by-second and first-by-third tables are whole numbers too)."""
    dims = list(margins)
    levels = [list(margins[d].index) for d in dims]
    targets = [margins[d].to_numpy(dtype=float) for d in dims]
    table = np.zeros([len(lv) for lv in levels])
    for row in seed.itertuples(index=False):
        key = []
        for d, lv in zip(dims, levels):
            v = getattr(row, d)
            if v not in lv:
                break
            key.append(lv.index(v))
        else:
            table[tuple(key)] += float(row.residents)
    notes = []
    fitted, ok = ipf(table, targets)
    if not ok:
        notes.append("The population has no residents in some combinations the quotas call for, so the joint "
                     "table is fitted from the quotas alone (as if the dimensions were independent).")
        outer = targets[0]
        for t in targets[1:]:
            outer = np.multiply.outer(outer, t)
        fitted, ok = ipf(outer + 0.0, targets)
    counts = _round_joint(fitted, targets)
    if counts is None:
        counts = np.rint(fitted).astype(int)
        notes.append("The table could not be rounded to whole recruits that meet every margin exactly.")
    met = all(np.array_equal(counts.sum(axis=tuple(a for a in range(counts.ndim) if a != ax)).astype(int),
                             t.astype(int)) for ax, t in enumerate(targets))
    index = pd.MultiIndex.from_product(levels, names=dims)
    cells = pd.DataFrame({"recruits": counts.reshape(-1), "fitted": fitted.reshape(-1)}, index=index).reset_index()
    return JointQuota(cells, met, notes)


def _round_joint(fitted: np.ndarray, targets: list[np.ndarray]) -> np.ndarray | None:
    if fitted.ndim == 1:
        return largest_remainder(fitted, int(targets[0].sum()))
    if fitted.ndim == 2:
        return controlled_round(fitted, targets[0], targets[1])
    if fitted.ndim != 3:
        return None
    a = controlled_round(fitted.sum(axis=1), targets[0], targets[2])  # first x third
    b = controlled_round(fitted.sum(axis=2), targets[0], targets[1])  # first x second
    if a is None or b is None:
        return None
    out = np.zeros(fitted.shape, dtype=int)
    for i in range(fitted.shape[0]):
        if a[i].sum() == 0:
            continue
        part, ok = ipf(fitted[i], [b[i].astype(float), a[i].astype(float)])
        if not ok:
            part, ok = ipf(np.multiply.outer(b[i], a[i]).astype(float) + 0.0, [b[i].astype(float), a[i].astype(float)])
        cell = controlled_round(part, b[i], a[i])
        if cell is None:
            return None
        out[i] = cell
    return out


def to_xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook with one sheet per table (sheet names cut to Excel's 31 characters)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            for k, col in enumerate(frame.columns, start=1):
                width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)])
                sheet.column_dimensions[sheet.cell(row=1, column=k).column_letter].width = min(60, width + 2)
    return buffer.getvalue()


JOINT_DIMENSIONS = ["icp_area", "imd_quintile", "age_band"]


@dataclass
class QuotaPlan:
    """A wave's plan: its size, the recruits per group on each dimension, and the joint quota table."""

    target_size: int
    serving: int
    wave: int
    by_dimension: dict[str, pd.DataFrame]
    joint: JointQuota | None

    @property
    def notes(self) -> list[tuple[str, str, str]]:
        """(dimension, group, note) for every group with something to say."""
        return [(d, r.group, r.note) for d, t in self.by_dimension.items() for r in t.itertuples() if r.note]


def plan_wave(inputs: dict, target_size: int, tolerance: Tolerance, orders: dict[str, list[str]]) -> QuotaPlan:
    """The plan for the next wave from quota_inputs: wave = target size - members still serving (not below 0),
    the members still serving as published (rounded under the HES rule; a small number is kept as it is, for
    the page to hide the plan)."""
    serving = int(publish_count(int(inputs["serving"])))
    wave = max(int(target_size) - serving, 0)
    hidden, unpooled = inputs.get("hidden", {}), inputs.get("stated_hidden", {})
    by_dim = {d: plan_dimension(inputs["retained"][d], inputs["residents"][d], wave, tolerance, orders.get(d),
                                hidden.get(d), not unpooled.get(d, False))
              for d in inputs["residents"] if not inputs["residents"][d].empty}
    joint = None
    if wave > 0 and all(d in by_dim for d in JOINT_DIMENSIONS) and not inputs["seed"].empty:
        margins = {d: by_dim[d].set_index("group")["recruits"] for d in JOINT_DIMENSIONS}
        joint = joint_quota(inputs["seed"], margins)
    return QuotaPlan(int(target_size), serving, wave, by_dim, joint)
