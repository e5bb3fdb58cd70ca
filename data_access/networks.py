"""Engagement network queries: joiners, leavers and size over time, aggregated in SQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.filters import Filters, in_icp
from data_access.sql import month_start


def networks(conn: Connection) -> pd.DataFrame:
    """All networks: id, name, kind, target_members."""
    rows = conn.execute(select(m.Network.id, m.Network.name, m.Network.kind, m.Network.target_members)
                        .order_by(m.Network.id)).all()
    return pd.DataFrame(rows, columns=["id", "name", "kind", "target_members"])


def _month_range(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), end, freq="MS")


def members_on(conn: Connection, day: dt.date, filters: Filters, network_id: int | None = None) -> int:
    """Members on a day (joined on or before it, not yet left), in the filtered area."""
    t = m.NetworkMembership
    stmt = select(func.count()).select_from(t).where(
        t.joined_on <= day, or_(t.left_on.is_(None), t.left_on > day))
    if network_id is not None:
        stmt = stmt.where(t.network_id == network_id)
    stmt = in_icp(stmt, t.lsoa_code, conn, filters.icp)
    return int(conn.execute(stmt).scalar_one())


def membership_by_month(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """Monthly joiners, leavers, net change and members at month end, per network.

    A member counts from the day they join until the day before they leave. Members at the
    end of each month = members on the day before the period starts + joiners - leavers so far.
    Columns: network, month, joiners, leavers, net, members.
    """
    t = m.NetworkMembership
    start, end = filters.start, filters.end

    def bucketed(date_col):
        month = month_start(date_col).label("month")
        stmt = (select(m.Network.name.label("network"), month, func.count().label("n"))
                .select_from(t).join(m.Network, m.Network.id == t.network_id)
                .where(and_(date_col >= start, date_col <= end))
                .group_by(m.Network.name, month))
        if network_id is not None:
            stmt = stmt.where(t.network_id == network_id)
        stmt = in_icp(stmt, t.lsoa_code, conn, filters.icp)
        return pd.DataFrame(conn.execute(stmt).all(), columns=["network", "month", "n"])

    joiners = bucketed(t.joined_on).rename(columns={"n": "joiners"})
    leavers = bucketed(t.left_on).rename(columns={"n": "leavers"})
    day_before = start - dt.timedelta(days=1)
    base_stmt = (select(m.Network.name.label("network"), func.count().label("base"))
                 .select_from(t).join(m.Network, m.Network.id == t.network_id)
                 .where(t.joined_on <= day_before, or_(t.left_on.is_(None), t.left_on > day_before))
                 .group_by(m.Network.name))
    if network_id is not None:
        base_stmt = base_stmt.where(t.network_id == network_id)
    base_stmt = in_icp(base_stmt, t.lsoa_code, conn, filters.icp)
    base = dict(conn.execute(base_stmt).all())

    names = networks(conn)
    if network_id is not None:
        names = names[names["id"] == network_id]
    months = _month_range(start, end)
    grid = pd.MultiIndex.from_product([names["name"], months], names=["network", "month"]).to_frame(index=False)
    for part in (joiners, leavers):
        part["month"] = pd.to_datetime(part["month"])
    out = grid.merge(joiners, on=["network", "month"], how="left").merge(leavers, on=["network", "month"], how="left")
    out[["joiners", "leavers"]] = out[["joiners", "leavers"]].fillna(0).astype(int)
    out["net"] = out["joiners"] - out["leavers"]
    out["members"] = out.groupby("network")["net"].cumsum() + out["network"].map(lambda n: base.get(n, 0))
    return out[["network", "month", "joiners", "leavers", "net", "members"]]


def membership_totals_by_month(frame: pd.DataFrame) -> pd.DataFrame:
    """All networks together, from `membership_by_month`: month, joiners, leavers, net, members."""
    return frame.groupby("month", as_index=False)[["joiners", "leavers", "net", "members"]].sum()


def membership_by_icp(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Members at the period end and joiners in the period, per ICP area, with residents.

    Columns: icp, members, joiners, residents, members_per_1000, joiners_per_1000.
    """
    t = m.NetworkMembership
    day = filters.end
    active = func.sum(case((and_(t.joined_on <= day, or_(t.left_on.is_(None), t.left_on > day)), 1), else_=0))
    joined = func.sum(case((and_(t.joined_on >= filters.start, t.joined_on <= day), 1), else_=0))
    stmt = (select(m.IcpArea.name, active, joined)
            .select_from(t).join(m.Lsoa, m.Lsoa.code == t.lsoa_code)
            .join(m.IcpArea, m.IcpArea.id == m.Lsoa.icp_id)
            .group_by(m.IcpArea.name))
    counts = pd.DataFrame(conn.execute(stmt).all(), columns=["icp", "members", "joiners"])
    res = pd.DataFrame(conn.execute(
        select(m.IcpArea.name, func.sum(m.Lsoa.population)).join(m.Lsoa, m.Lsoa.icp_id == m.IcpArea.id)
        .group_by(m.IcpArea.name)).all(), columns=["icp", "residents"])
    out = res.merge(counts, on="icp", how="left").fillna(0)
    for col in ("members", "joiners", "residents"):
        out[col] = out[col].astype(int)
    out["members_per_1000"] = out["members"] / out["residents"] * 1000
    out["joiners_per_1000"] = out["joiners"] / out["residents"] * 1000
    return out


def measure_settings(conn: Connection, key: str) -> dict:
    """A measure's label, improvement direction and target from the Measure table (defaults if absent)."""
    row = conn.execute(select(m.Measure.label, m.Measure.improvement, m.Measure.target)
                       .where(m.Measure.key == key)).first()
    if row is None:
        return {"key": key, "label": key.replace("_", " ").capitalize(), "improvement": "increase", "target": None}
    improvement = row.improvement if row.improvement in ("increase", "decrease", "neither") else "neither"
    return {"key": key, "label": row.label, "improvement": improvement,
            "target": None if row.target is None else float(row.target)}


def complete_months(totals: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Only the months wholly inside the period (a part month would look like a fall)."""
    if totals.empty:
        return totals
    first_day = pd.to_datetime(totals["month"])
    last_day = first_day + pd.offsets.MonthEnd(0)
    keep = (first_day >= pd.Timestamp(filters.start)) & (last_day <= pd.Timestamp(filters.end))
    return totals[keep].reset_index(drop=True)
