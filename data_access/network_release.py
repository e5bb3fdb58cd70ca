"""What the network growth page publishes about memberships over time, protected as one release: for all networks
together and for each network, each month's joiners and leavers, members at each month end, the period's joined and
left totals, and retention by quarter of joining (joiners, still members 6 and 12 months on), in the all-areas view
and every ICP area's view together (see README, "Small numbers").

Every one of these numbers is a sum of cohorts: memberships per network, ICP area, month joined, month left and
whether still a member 6 and 12 months after joining, counted in SQL. disclosure.linked_suppression decides once per
data version, period and rule which numbers to hide, so that no small one can be worked out from the others.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Integer, and_, case, cast, extract, func, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access import summaries
from data_access.disclosure import Policy, policy, round_count
from data_access.filters import Filters, icp_id
from data_access.gauss_suppression import ordered_suppression
from data_access.cached import remembered
from data_access.sql import month_start, year_of

QUARTERS = 8  # retention: the calendar quarters to the period end


def day_key(col):
    """A date as a whole number (months since year 0) * 100 + day, so that adding 600 adds six months."""
    month = cast(extract("month", col), Integer)
    day = cast(extract("day", col), Integer)
    return (year_of(col) * 12 + month - 1) * 100 + day


def period_months(start: dt.date, end: dt.date) -> list[str]:
    """The months of the period, 'YYYY-MM-01' (the first and last may be part months)."""
    first = pd.Timestamp(start).to_period("M").to_timestamp()
    return [f"{mo:%Y-%m-%d}" for mo in pd.date_range(first, end, freq="MS")]


def retention_quarters(end: dt.date, quarters: int = QUARTERS) -> list[pd.Period]:
    """The `quarters` calendar quarters to the one the period ends in."""
    last = pd.Timestamp(end).to_period("Q")
    return [last - (quarters - 1 - k) for k in range(quarters)]


def quarter_ready(quarter: pd.Period, months: int, end: dt.date) -> bool:
    """True once every joiner of the quarter has reached `months` months by the period end."""
    return quarter.end_time.normalize() + pd.DateOffset(months=months) <= pd.Timestamp(end)


def cohort_cells(conn: Connection, start: dt.date, end: dt.date, quarters: int = QUARTERS) -> pd.DataFrame:
    """Memberships of the period (members at its start or joining in it) and of the retention quarters, per network,
    ICP area (missing where not known), month joined, month left and whether still a member 6 and 12 months after
    joining, counted in SQL. Columns: network, icp, joined ('YYYY-MM-01' in the period, 'p:YYYY-MM-01' before it
    from the first retention quarter, else 'before'), left ('YYYY-MM-01' in the period, 'gone' before it, 'after'
    still a member at its end), still_6, still_12 (0 or 1; 0 outside the retention quarters), n."""
    first_q = retention_quarters(end, quarters)[0].start_time.date()
    first = min(start, first_q)
    source = summaries.memberships(conn, starts=[start, first_q], ends=[end])  # the summary's cells, or the records
    t = source.c
    icp = t.icp_key  # as filters.in_icp counts them
    joined_month = case((t.joined_on >= first, month_start(t.joined_on)), else_=None)
    joined_in = case((t.joined_on >= start, 1), else_=0)
    left_month = case((and_(t.left_on.is_not(None), t.left_on <= end), month_start(t.left_on)), else_=None)
    left_in = case((t.left_on >= start, 1), else_=0)

    def still(months: int):
        return case((and_(t.joined_on >= first_q, t[f"still_{months}"] == 1), 1), else_=0)

    groups = [t.network_id, icp, joined_month, joined_in, left_month, left_in, still(6), still(12)]
    stmt = (select(*groups, func.sum(t.n)).select_from(source)
            .where(t.joined_on <= end, or_(t.left_on.is_(None), t.left_on >= start, t.joined_on >= first_q))
            .group_by(*groups))
    raw = pd.DataFrame(conn.execute(stmt).all(),
                       columns=["network", "icp", "jm", "j_in", "lm", "l_in", "still_6", "still_12", "n"])
    icps = [None if pd.isna(v) else int(v) for v in raw["icp"]]
    out = pd.DataFrame({"network": raw["network"].astype(int), "icp": pd.Series(icps, dtype=object)})
    out["joined"] = [jm if j_in else (f"p:{jm}" if pd.notna(jm) else "before")
                     for jm, j_in in zip(raw["jm"], raw["j_in"])]
    out["left"] = [lm if pd.notna(lm) and l_in else "gone" if pd.notna(lm) else "after"
                   for lm, l_in in zip(raw["lm"], raw["l_in"])]
    for col in ("still_6", "still_12", "n"):
        out[col] = pd.to_numeric(raw[col]).astype(int)
    return out.groupby(["network", "icp", "joined", "left", "still_6", "still_12"], as_index=False, dropna=False)[
        "n"].sum()


def _quarter_of(joined: np.ndarray) -> np.ndarray:
    """The quarter ('2025Q1') of each joined label that names a month, else ''."""
    months = [j.removeprefix("p:") for j in joined]
    return np.array([str(pd.Period(mo, "Q")) if mo[:1].isdigit() else "" for mo in months], dtype=object)


def release(cells: pd.DataFrame, months: list[str], quarters: list[pd.Period], ready: dict, views: list,
            selections: list) -> tuple[list[int], dict[tuple, list[int]]]:
    """Every count published in each view (None, or an ICP area's id) and selection (None for all networks, or a
    network's id), as lists of cells (rows of cohort_cells): (view, selection, "joiners" | "leavers" | "members",
    month); (view, selection, "start" | "joined" | "left") for the period (members at its start, joiners, leavers);
    and (view, selection, "quarter" | "still_6" | "still_12" | "gone_6" | "gone_12", quarter) for retention (still_
    and gone_ only where the quarter is ready: ready[(quarter, months)]). Net changes are differences of these;
    gone_6 and gone_12 (joiners less those still members) are not shown but can be worked out, so they are counted as
    published to be protected."""
    joined, left = cells["joined"].to_numpy(dtype=object), cells["left"].to_numpy(dtype=object)
    came = np.array([j[:1].isdigit() for j in joined], dtype=bool)
    went = np.array([lv[:1].isdigit() for lv in left], dtype=bool)
    gone = left == "gone"
    quarter = _quarter_of(joined)
    still = {k: cells[f"still_{k}"].to_numpy(dtype=int) == 1 for k in (6, 12)}
    network, icp = cells["network"].to_numpy(), cells["icp"].to_numpy(dtype=object)
    per_month = {mo: ((joined == mo), (left == mo), (~came | (joined <= mo)) & (~went | (left > mo)) & ~gone)
                 for mo in months}
    published: dict[tuple, list[int]] = {}
    for view in views:
        in_view = np.ones(len(cells), dtype=bool) if view is None else np.array([v == view for v in icp], dtype=bool)
        for sel in selections:
            mine = in_view if sel is None else in_view & (network == sel)
            key = (view, sel)
            published[key + ("start",)] = np.flatnonzero(mine & ~came & ~gone).tolist()
            published[key + ("joined",)] = np.flatnonzero(mine & came).tolist()
            published[key + ("left",)] = np.flatnonzero(mine & went).tolist()
            for mo, (joins, leaves, members) in per_month.items():
                published[key + ("joiners", mo)] = np.flatnonzero(mine & joins).tolist()
                published[key + ("leavers", mo)] = np.flatnonzero(mine & leaves).tolist()
                published[key + ("members", mo)] = np.flatnonzero(mine & members).tolist()
            for q in quarters:
                cohort = mine & (quarter == str(q))
                published[key + ("quarter", str(q))] = np.flatnonzero(cohort).tolist()
                for k in (6, 12):
                    if ready[(q, k)]:
                        published[key + (f"still_{k}", str(q))] = np.flatnonzero(cohort & still[k]).tolist()
                        published[key + (f"gone_{k}", str(q))] = np.flatnonzero(cohort & ~still[k]).tolist()
    return cells["n"].astype(int).tolist(), published


@remembered
def _values(conn: Connection, start: dt.date, end: dt.date, quarters: int, rules: Policy) -> dict[tuple, tuple]:
    cells = cohort_cells(conn, start, end, quarters)
    months = period_months(start, end)
    periods = retention_quarters(end, quarters)
    ready = {(q, k): quarter_ready(q, k, end) for q in periods for k in (6, 12)}
    views = [None, *conn.execute(select(m.IcpArea.id).order_by(m.IcpArea.id)).scalars()]
    selections = [None, *conn.execute(select(m.Network.id).order_by(m.Network.id)).scalars()]
    counts, published = release(cells, months, periods, ready, views, selections)
    keys = list(published)
    virtual = [k[2].startswith("gone_") for k in keys]
    # the overview's headline (members at the end, and at the start of a year's period) is shown where it can be
    headline = [k[1] is None and k[2:] in (("members", months[-1]), ("start",)) for k in keys]
    flags = ordered_suppression(counts, [published[k] for k in keys], rules.threshold, rules.secondary, virtual,
                                headline)
    out = {}
    for k, flag, gone in zip(keys, flags, virtual):
        if not gone:
            raw = sum(counts[i] for i in published[k])
            out[k] = (None if flag else round_count(raw), raw)
    return out


def _view_values(conn: Connection, filters: Filters, network_id: int | None, quarters: int) -> dict[tuple, tuple]:
    values = _values(conn, filters.start, filters.end, quarters, policy())
    prefix = (icp_id(conn, filters.icp), network_id)
    return {k[2:]: v for k, v in values.items() if k[:2] == prefix}


def shown_counts(conn: Connection, filters: Filters, network_id: int | None = None,
                 quarters: int = QUARTERS) -> dict[tuple, int | None]:
    """The counts as they may be shown for this view and selection (None where hidden, rounded as the policy asks),
    keyed as release() keys them less the view and selection: ("joiners", month), ("joined",), ("quarter", "2025Q1"),
    ..."""
    return {k: v[0] for k, v in _view_values(conn, filters, network_id, quarters).items()}


def published_counts(conn: Connection, filters: Filters, network_id: int | None = None,
                     quarters: int = QUARTERS) -> dict[tuple, int | None]:
    """As shown_counts, but a small count is given as it is (for a caller that hides small counts itself, as
    disclosure.format_count does); only the counts hidden to protect others are None."""
    return {k: raw if shown is None and 0 < raw < _limit() else shown
            for k, (shown, raw) in _view_values(conn, filters, network_id, quarters).items()}


def _limit() -> int:
    return policy().threshold
