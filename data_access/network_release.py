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
from data_access.disclosure import Policy, policy, round_count
from data_access.filters import Filters, counted_icp, icp_id
from data_access.gauss_suppression import ordered_suppression
from data_access.cached import remembered
from data_access.sql import age_band, imd_quintile, month_start, year_of

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


RECENT_MONTHS = 2  # recent growth: the months to the period end


def recent_start(end: dt.date, months: int = RECENT_MONTHS) -> dt.date:
    """The day before recent growth's window (the same date `months` months before the end)."""
    return (pd.Timestamp(end) - pd.DateOffset(months=months)).date()


CELL_COLUMNS = ["network", "icp", "district", "channel", "joined", "left", "still_6", "still_12", "age_band",
                "imd_quintile", "placed", "before", "joined_recent", "left_recent"]


def cohort_cells(conn: Connection, start: dt.date, end: dt.date, quarters: int = QUARTERS) -> pd.DataFrame:
    """Memberships of the period (members at its start or joining in it), of the retention quarters and of recent
    growth's window, per network, ICP area (missing where not known), district (the small area's local authority
    code; missing where the small area is not known), recruitment channel, month joined, month left, whether still
    a member 6 and 12 months after joining and, for those joining in the period, age band at joining and IMD
    quintile; counted in SQL in one GROUP BY. Columns: network, icp, district, channel, joined ('YYYY-MM-01' in the
    period, 'p:YYYY-MM-01' before it from the first retention quarter, else 'before'), left ('YYYY-MM-01' in the
    period, 'gone' before it, 'after' still a member at its end), still_6, still_12 (0 or 1; 0 outside the retention
    quarters), age_band, imd_quintile (None unless joined in the period), placed (1 where the small area is known,
    as the growth tables by area count), before (1 for a member on the day before recent growth's window),
    joined_recent, left_recent (1 for joining, leaving in the window), n."""
    t = m.NetworkMembership
    first_q = retention_quarters(end, quarters)[0].start_time.date()
    first = min(start, first_q)
    before = recent_start(end)
    icp = counted_icp(t)
    joined_month = case((t.joined_on >= first, month_start(t.joined_on)), else_=None)
    joined_in = case((t.joined_on >= start, 1), else_=0)
    left_month = case((and_(t.left_on.is_not(None), t.left_on <= end), month_start(t.left_on)), else_=None)
    left_in = case((t.left_on >= start, 1), else_=0)
    joined_key, left_key = day_key(t.joined_on), day_key(t.left_on)

    def still(months: int):
        return case((and_(t.joined_on >= first_q, or_(t.left_on.is_(None), left_key > joined_key + months * 100)), 1),
                    else_=0)

    def when_joined_in(col):
        return case((t.joined_on >= start, col), else_=None)

    def flag(condition):
        return case((condition, 1), else_=0)

    groups = [t.network_id, icp, m.Lsoa.lad_code, t.channel, joined_month, joined_in, left_month, left_in, still(6),
              still(12), when_joined_in(age_band(t.birth_year, year_of(t.joined_on))),
              when_joined_in(imd_quintile(m.Lsoa.imd_decile)), flag(m.Lsoa.code.is_not(None)),
              flag(and_(t.joined_on <= before, or_(t.left_on.is_(None), t.left_on > before))),
              flag(t.joined_on > before), flag(and_(t.left_on > before, t.left_on <= end))]
    stmt = (select(*groups, func.count()).select_from(t).outerjoin(m.Lsoa, m.Lsoa.code == t.lsoa_code)
            .where(t.joined_on <= end, or_(t.left_on.is_(None), t.left_on >= start, t.left_on > before,
                                           t.joined_on >= first_q))
            .group_by(*groups))
    raw = pd.DataFrame(conn.execute(stmt).all(),
                       columns=["network", "icp", "district", "channel", "jm", "j_in", "lm", "l_in", "still_6",
                                "still_12", "age_band", "imd_quintile", "placed", "before", "joined_recent",
                                "left_recent", "n"])
    out = pd.DataFrame({"network": raw["network"].astype(int)})
    for col in ("icp", "district", "channel", "age_band", "imd_quintile"):
        values = [None if pd.isna(v) else (int(v) if col == "icp" else str(v)) for v in raw[col]]
        out[col] = pd.Series(values, dtype=object)
    out["joined"] = [jm if j_in else (f"p:{jm}" if pd.notna(jm) else "before")
                     for jm, j_in in zip(raw["jm"], raw["j_in"])]
    out["left"] = [lm if pd.notna(lm) and l_in else "gone" if pd.notna(lm) else "after"
                   for lm, l_in in zip(raw["lm"], raw["l_in"])]
    for col in ("still_6", "still_12", "placed", "before", "joined_recent", "left_recent", "n"):
        out[col] = pd.to_numeric(raw[col]).astype(int)
    return out.groupby(CELL_COLUMNS, as_index=False, dropna=False)["n"].sum()


def _quarter_of(joined: np.ndarray) -> np.ndarray:
    """The quarter ('2025Q1') of each joined label that names a month, else ''."""
    months = [j.removeprefix("p:") for j in joined]
    return np.array([str(pd.Period(mo, "Q")) if mo[:1].isdigit() else "" for mo in months], dtype=object)


MIX_DIMENSIONS = ("age_band", "imd_quintile")  # channel mix: who each channel brings
GROWTH_COUNTS = ("members_start", "members_end", "joiners", "leavers")


def _column(cells: pd.DataFrame, col: str) -> np.ndarray:
    """A cell column as objects, None where missing."""
    return np.array([None if pd.isna(v) else v for v in cells[col]], dtype=object)


def _add(published: dict, key: tuple, where: np.ndarray) -> None:
    """A count that may be empty: an empty one is 0 (always shown), so it is left out."""
    if where.any():
        published[key] = np.flatnonzero(where).tolist()


def release(cells: pd.DataFrame, months: list[str], quarters: list[pd.Period], ready: dict, views: list,
            selections: list, mix: bool = False,
            districts: dict | None = None) -> tuple[list[int], dict[tuple, list[int]]]:
    """Every count published in each view (None, or an ICP area's id) and selection (None for all networks, or a
    network's id), as lists of cells (rows of cohort_cells): (view, selection, "joiners" | "leavers" | "members",
    month); (view, selection, "start" | "joined" | "left") for the period (members at its start, joiners, leavers);
    and (view, selection, "quarter" | "still_6" | "still_12" | "gone_6" | "gone_12", quarter) for retention (still_
    and gone_ only where the quarter is ready: ready[(quarter, months)]). Net changes are differences of these;
    gone_6 and gone_12 (joiners less those still members) are not shown but can be worked out, so they are counted as
    published to be protected.

    Recruitment channels: (view, selection, "channel", channel) for the period's joiners and (view, selection,
    "channel_joiners", month, channel) each month; where mix, the channel mix, (view, selection, "mix", dimension,
    channel, group) for every group of MIX_DIMENSIONS (its shares are of the channel's joiners). Growth by area (members whose small
    area is known): (None, selection, "growth", "icp", ICP area id, count) in every view alike, (view, selection,
    "growth", "district", district name, count) for the districts (their parts in an ICP area's view), for count
    in GROWTH_COUNTS, and the total of the areas' members at the end, (None, None, "km", "members_end"), which the
    deprivation map publishes. Recent growth, for each network:
    (view, network, "recent", count) for members_before, members_end, joiners, leavers. Empty counts of these (0)
    are left out."""
    joined, left = cells["joined"].to_numpy(dtype=object), cells["left"].to_numpy(dtype=object)
    came = np.array([j[:1].isdigit() for j in joined], dtype=bool)
    went = np.array([lv[:1].isdigit() for lv in left], dtype=bool)
    gone = left == "gone"
    quarter = _quarter_of(joined)
    still = {k: cells[f"still_{k}"].to_numpy(dtype=int) == 1 for k in (6, 12)}
    network, icp = cells["network"].to_numpy(), _column(cells, "icp")
    channel = _column(cells, "channel")
    channels = sorted({c for c in channel[came] if c is not None})
    groups = {dim: _column(cells, dim) for dim in MIX_DIMENSIONS}
    placed = cells["placed"].to_numpy(dtype=int) == 1
    district = np.array([(districts or {}).get(code) for code in _column(cells, "district")], dtype=object)
    at_end = left == "after"
    growth = {"members_start": ~came & ~gone, "members_end": at_end, "joiners": came, "leavers": went}
    recent = {"members_before": cells["before"].to_numpy(dtype=int) == 1, "members_end": at_end,
              "joiners": cells["joined_recent"].to_numpy(dtype=int) == 1,
              "leavers": cells["left_recent"].to_numpy(dtype=int) == 1}
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
            for ch in channels:
                by_channel = mine & came & (channel == ch)
                _add(published, key + ("channel", ch), by_channel)
                for mo in months:
                    _add(published, key + ("channel_joiners", mo, ch), by_channel & (joined == mo))
                for dim in MIX_DIMENSIONS if mix else ():
                    for group in sorted({g for g in groups[dim][by_channel] if g is not None}):
                        _add(published, key + ("mix", dim, ch, group), by_channel & (groups[dim] == group))
            if districts is not None:
                here = mine & placed
                for name in sorted({d for d in district[here] if d is not None}):
                    for col, where in growth.items():
                        _add(published, key + ("growth", "district", name, col), here & (district == name) & where)
                if view is None:
                    for area in sorted({a for a in icp[here] if a is not None}):
                        for col, where in growth.items():
                            _add(published, key + ("growth", "icp", area, col), here & (icp == area) & where)
                    if sel is None:  # the deprivation map publishes the total of the areas' members
                        _add(published, key + ("km", "members_end"), here & growth["members_end"])
            if sel is not None:
                for col, where in recent.items():
                    _add(published, key + ("recent", col), mine & where)
    return cells["n"].astype(int).tolist(), published


@remembered
def _values(conn: Connection, start: dt.date, end: dt.date, quarters: int, rules: Policy) -> dict[tuple, tuple]:
    cells = cohort_cells(conn, start, end, quarters)
    months = period_months(start, end)
    periods = retention_quarters(end, quarters)
    ready = {(q, k): quarter_ready(q, k, end) for q in periods for k in (6, 12)}
    views = [None, *conn.execute(select(m.IcpArea.id).order_by(m.IcpArea.id)).scalars()]
    selections = [None, *conn.execute(select(m.Network.id).order_by(m.Network.id)).scalars()]
    districts = dict(conn.execute(select(m.LocalAuthority.code, m.LocalAuthority.name)).all())
    counts, published = release(cells, months, periods, ready, views, selections, True, districts)
    keys = list(published)
    virtual = [k[2].startswith("gone_") for k in keys]
    # the overview's headline (members at the end, and at the start of a year's period) and the map's total of the
    # areas are shown where they can be
    headline = [k[1] is None and k[2:] in (("members", months[-1]), ("start",), ("km", "members_end")) for k in keys]
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


def release_values(conn: Connection, filters: Filters, network_id: int | None = None,
                   quarters: int = QUARTERS) -> dict[tuple, tuple]:
    """(shown, raw) for every count of this view and selection, keyed as shown_counts keys them: shown is None where
    hidden (rounded as the policy asks); raw is the count itself, for the caller to hide small ones as it shows them.
    Counts left out of the release are 0."""
    return _view_values(conn, filters, network_id, quarters)


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
