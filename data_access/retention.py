"""Network retention, recruitment channels and network activities, in SQL: who stays, who each channel
brings, and what happened when."""

from __future__ import annotations


import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.disclosure import is_small, round_count, suppress_table
from data_access.filters import Filters, icp_id, in_icp
from data_access.network_release import QUARTERS, quarter_ready, retention_quarters, shown_counts
from data_access.cached import remembered
from data_access.profiles import representation, resident_counts
from data_access.sql import age_band, imd_quintile, month_start, year_of


def retention_by_quarter(conn: Connection, filters: Filters, network_id: int | None = None,
                         quarters: int = QUARTERS) -> pd.DataFrame:
    """Of those who joined in each of the `quarters` calendar quarters to the period end, how many were
    still members 6 and 12 months after joining (a member on the day 6 or 12 months after their join date).

    A quarter is shown only once all its joiners have reached the mark by the period end ("too recent"
    otherwise, missing). Counts of 1-4 people (joiners, those still members, and those who left: the difference),
    and the shares from them, are hidden (missing), and more with them until none can be worked out from everything
    the page publishes about memberships over time, in this view and every ICP area's view together
    (data_access.network_release). Columns: cohort, quarter_start, joiners, still_6, share_6, still_12, share_12.
    """
    shown = shown_counts(conn, filters, network_id, quarters)
    rows = []
    for period in retention_quarters(filters.end, quarters):
        joiners = shown[("quarter", str(period))]
        row = {"cohort": f"{period.year} Q{period.quarter}", "quarter_start": period.start_time.date(),
               "joiners": joiners}
        for months in (6, 12):
            still = shown.get((f"still_{months}", str(period))) if quarter_ready(period, months, filters.end) else None
            row[f"still_{months}"] = still
            row[f"share_{months}"] = still / joiners if still is not None and joiners else None
        rows.append(row)
    out = pd.DataFrame(rows, columns=["cohort", "quarter_start", "joiners", "still_6", "share_6", "still_12",
                                      "share_12"])
    for col in ("joiners", "still_6", "still_12"):
        out[col] = pd.array(out[col].tolist(), dtype="Int64")
    for col in ("share_6", "share_12"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out


def _joined_in(t, filters: Filters):
    return and_(t.joined_on >= filters.start, t.joined_on <= filters.end)


def joiners_by_channel(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """People joining each month by recruitment channel; small counts hidden (missing), with a second cell
    hidden where one could be worked out from a month's or a channel's total.

    Columns: month (Timestamp), channel, joiners.
    """
    t = m.NetworkMembership
    month = month_start(t.joined_on).label("month")
    stmt = (select(month, t.channel, func.count()).select_from(t).where(_joined_in(t, filters))
            .group_by(month, t.channel).order_by(month, t.channel))
    if network_id is not None:
        stmt = stmt.where(t.network_id == network_id)
    stmt = in_icp(stmt, t.lsoa_code, conn, filters.icp)
    out = pd.DataFrame(conn.execute(stmt).all(), columns=["month", "channel", "joiners"])
    out["month"] = pd.to_datetime(out["month"])
    out["joiners"] = pd.to_numeric(out["joiners"]).astype(int)
    # each month's total joiners is shown elsewhere, and so is each channel's total: secondary suppression
    return suppress_table(out, "joiners", ["month", "channel"]).drop(columns="suppressed")


def channel_totals(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """People joining in the period by recruitment channel, most first (small counts hidden, with a second
    channel hidden where one could be worked out from the total). Columns: channel, joiners; attrs 'total'
    is everyone who joined, as it may be shown."""
    t = m.NetworkMembership
    stmt = select(t.channel, func.count()).select_from(t).where(_joined_in(t, filters)).group_by(t.channel)
    if network_id is not None:
        stmt = stmt.where(t.network_id == network_id)
    stmt = in_icp(stmt, t.lsoa_code, conn, filters.icp)
    out = pd.DataFrame(conn.execute(stmt).all(), columns=["channel", "joiners"])
    out["joiners"] = pd.to_numeric(out["joiners"]).astype(int)
    out = out.sort_values(["joiners", "channel"], ascending=[False, True]).reset_index(drop=True)
    total = int(out["joiners"].sum())
    out = suppress_table(out, "joiners", [()]).drop(columns="suppressed")
    out.attrs["total"] = None if is_small(total) else round_count(total)
    return out


@remembered
def channel_cells(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """Joiners in the period by channel, age band (at joining) and IMD quintile, in one scan, unsuppressed (for
    channel_mix to add up by one of them). Columns: channel, age_band, imd_quintile, count."""
    t = m.NetworkMembership
    age = age_band(t.birth_year, year_of(t.joined_on)).label("age_band")
    quintile = imd_quintile(m.Lsoa.imd_decile).label("imd_quintile")
    stmt = (select(t.channel, age, quintile, func.count()).select_from(t)
            .outerjoin(m.Lsoa, m.Lsoa.code == t.lsoa_code).where(_joined_in(t, filters))
            .group_by(t.channel, age, quintile))
    if network_id is not None:
        stmt = stmt.where(t.network_id == network_id)
    stmt = in_icp(stmt, t.lsoa_code, conn, filters.icp)
    out = pd.DataFrame(conn.execute(stmt).all(), columns=["channel", "age_band", "imd_quintile", "count"])
    out["count"] = pd.to_numeric(out["count"]).astype(int)
    return out


def channel_mix(conn: Connection, filters: Filters, dimension: str, network_id: int | None = None) -> pd.DataFrame:
    """Who each channel brings: joiners in the period by channel and age band (at joining) or IMD quintile,
    against residents of the filtered area (see data_access.profiles.representation; small counts hidden).

    Columns: channel, group, count, share, residents, resident_share, ratio, gap_pp, stated, suppressed.
    """
    if dimension not in ("age_band", "imd_quintile"):
        raise ValueError(f"Unknown dimension {dimension!r}: expected age_band or imd_quintile.")
    cells = channel_cells(conn, filters, network_id)
    counts = (cells.groupby(["channel", dimension], as_index=False, dropna=False)["count"].sum()
              .rename(columns={dimension: "group"}))
    residents = resident_counts(conn, dimension, icp=filters.icp)
    parts = []
    for channel in [c for c in m.CHANNELS_NETWORK if c in set(counts["channel"])] + sorted(
            set(counts["channel"]) - set(m.CHANNELS_NETWORK)):
        rep = representation(counts.loc[counts["channel"] == channel, ["group", "count"]], residents, dimension)
        parts.append(rep.assign(channel=channel))
    cols = ["channel", "group", "count", "share", "residents", "resident_share", "ratio", "gap_pp", "stated",
            "suppressed"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def network_activities(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """Engagement activities tied to a network (recruitment campaigns, events) in the period.

    With an ICP area chosen, activities held in another ICP area are left out. Columns: held_on, kind,
    title, network.
    """
    a = m.Activity
    stmt = (select(a.held_on, a.kind, a.title, m.Network.name).select_from(a)
            .join(m.Network, m.Network.id == a.network_id)
            .where(and_(a.held_on >= filters.start, a.held_on <= filters.end)).order_by(a.held_on, a.id))
    if network_id is not None:
        stmt = stmt.where(a.network_id == network_id)
    if filters.icp:
        ident = icp_id(conn, filters.icp)
        stmt = stmt.where(or_(a.icp_id.is_(None), a.icp_id == ident))
    out = pd.DataFrame(conn.execute(stmt).all(), columns=["held_on", "kind", "title", "network"])
    out["held_on"] = pd.to_datetime(out["held_on"])
    return out
