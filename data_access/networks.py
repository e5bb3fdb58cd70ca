"""Engagement network queries, aggregated in SQL: joiners, leavers and size over time, growth per 1,000
residents by area, recent growth per network, and the SPC measures' settings."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access import summaries
from data_access.disclosure import is_small, round_count
from data_access.filters import Filters, icp_id, in_icp
from data_access.network_release import (
    GROWTH_COUNTS, RECENT_MONTHS, period_months, recent_start, release_values, shown_counts,
)
from data_access.cached import remembered
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
    t = summaries.memberships(conn, ends=[day]).c
    stmt = select(func.coalesce(func.sum(t.n), 0)).where(t.joined_on <= day, or_(t.left_on.is_(None), t.left_on > day))
    if network_id is not None:
        stmt = stmt.where(t.network_id == network_id)
    stmt = summaries.in_area(stmt, t, conn, filters.icp)
    return int(conn.execute(stmt).scalar_one())


@remembered
def _monthly_raw(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """Monthly joiners, leavers, net change and members at month end, per network, unsuppressed (for
    totals and projections only; never shown as they are). Worked out once per data load, period and network:
    the monthly series, the totals and the projection read the same scans."""
    start, end = filters.start, filters.end
    day_before = start - dt.timedelta(days=1)
    source = summaries.memberships(conn, starts=[start], ends=[end, day_before])
    t = source.c

    def bucketed(date_col):
        month = month_start(date_col).label("month")
        stmt = (select(m.Network.name.label("network"), month, func.sum(t.n).label("n"))
                .select_from(source).join(m.Network, m.Network.id == t.network_id)
                .where(and_(date_col >= start, date_col <= end))
                .group_by(m.Network.name, month))
        if network_id is not None:
            stmt = stmt.where(t.network_id == network_id)
        stmt = summaries.in_area(stmt, t, conn, filters.icp)
        return pd.DataFrame(conn.execute(stmt).all(), columns=["network", "month", "n"])

    joiners = bucketed(t.joined_on).rename(columns={"n": "joiners"})
    leavers = bucketed(t.left_on).rename(columns={"n": "leavers"})
    base_stmt = (select(m.Network.name.label("network"), func.sum(t.n).label("base"))
                 .select_from(source).join(m.Network, m.Network.id == t.network_id)
                 .where(t.joined_on <= day_before, or_(t.left_on.is_(None), t.left_on > day_before))
                 .group_by(m.Network.name))
    if network_id is not None:
        base_stmt = base_stmt.where(t.network_id == network_id)
    base_stmt = summaries.in_area(base_stmt, t, conn, filters.icp)
    base = {name: int(n) for name, n in conn.execute(base_stmt).all()}

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


def _monthly_frame(shown: dict, months: list[str]) -> pd.DataFrame:
    """month, joiners, leavers, net, members from one view and selection's shown counts (network_release)."""
    out = pd.DataFrame({"month": pd.to_datetime(months)})
    for col in ("joiners", "leavers", "members"):
        out[col] = pd.array([shown[(col, mo)] for mo in months], dtype="Int64")
    out["net"] = out["joiners"] - out["leavers"]  # from the counts as shown; missing where either is hidden
    return out[["month", "joiners", "leavers", "net", "members"]]


def membership_by_month(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """Monthly joiners, leavers, net change and members at month end, per network (every network, or the one given).

    A member counts from the day they join until the day before they leave. Small counts are hidden (missing), and
    more with them until none can be worked out from everything the page publishes about memberships over time:
    each network's line, all networks' totals and retention, in this view and every other ICP area's view together
    (data_access.network_release). Columns: network, month, joiners, leavers, net, members.
    """
    months = period_months(filters.start, filters.end)
    names = networks(conn)
    if network_id is not None:
        names = names[names["id"] == network_id]
    parts = [_monthly_frame(shown_counts(conn, filters, int(ident)), months).assign(network=name)
             for ident, name in zip(names["id"], names["name"])]
    cols = ["network", "month", "joiners", "leavers", "net", "members"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def membership_totals_by_month(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """All networks together (or the one given), month by month: month, joiners, leavers, net, members (at the
    month end); attrs 'joined' and 'left' hold the period's totals. Small counts are hidden (missing), and more
    with them until none can be worked out from the rest, together with each network's line and retention, in
    this view and every other ICP area's view (data_access.network_release)."""
    shown = shown_counts(conn, filters, network_id)
    out = _monthly_frame(shown, period_months(filters.start, filters.end))
    out.attrs["joined"], out.attrs["left"] = shown[("joined",)], shown[("left",)]
    return out


def projection_base(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """Each network's members at month end and monthly net change, for projecting its size: networks with
    a small membership at the period end are left out, and members are rounded as the policy asks; under the HES
    rule the net change is the rounded joiners less the rounded leavers, so the mean change shown is worked out
    from rounded counts too. Columns: network, month, net, members."""
    raw = _monthly_raw(conn, filters, network_id)
    if raw.empty:
        return raw[["network", "month", "net", "members"]]
    current = raw.groupby("network", sort=False)["members"].last()
    keep = [n for n, v in current.items() if not is_small(v)]
    out = raw[raw["network"].isin(keep)].copy()
    out["members"] = out["members"].map(round_count)
    out["net"] = out["joiners"].map(round_count) - out["leavers"].map(round_count)
    return out[["network", "month", "net", "members"]].reset_index(drop=True)


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


def _active_on(t, day):
    """1 for a membership active on the day (joined on or before it, not yet left), else 0."""
    return case((and_(t.joined_on <= day, or_(t.left_on.is_(None), t.left_on > day)), 1), else_=0)


@remembered
def small_area_places(conn: Connection) -> pd.DataFrame:
    """Every small area with its ICP area, district and residents. Columns: lsoa_code, icp_id, icp, district,
    population."""
    lsoa = m.Lsoa
    rows = conn.execute(select(lsoa.code, lsoa.icp_id, m.IcpArea.name, m.LocalAuthority.name, lsoa.population)
                        .select_from(lsoa).outerjoin(m.IcpArea, m.IcpArea.id == lsoa.icp_id)
                        .outerjoin(m.LocalAuthority, m.LocalAuthority.code == lsoa.lad_code)).all()
    return pd.DataFrame(rows, columns=["lsoa_code", "icp_id", "icp", "district", "population"])


def _release_table(out: pd.DataFrame, values: dict, key, counts: list[str]) -> pd.DataFrame:
    """The count columns of a table from the release's values (key(row, count) -> its key; absent: 0), with small
    ones and those hidden with them missing, and net (end - start) from the counts as shown."""
    out = out.copy()
    for col in counts:
        out[col] = pd.array([values.get(key(area, col), (0, 0))[0] for area in out["area"]], dtype="Int64")
    start = "members_start" if "members_start" in out else "members_before"
    out["net"] = (out["members_end"].astype("Float64") - out[start].astype("Float64")).astype(float)
    return out


def growth_by_area(conn: Connection, filters: Filters, level: str = "icp", network_id: int | None = None) -> pd.DataFrame:
    """Members at the period start and end, joiners, leavers and net growth per ICP area or district,
    with residents and rates per 1,000 residents (members whose small area is known).

    ICP level lists every ICP area (for comparison); district level lists the districts of the filtered ICP
    area (a split district counts only its small areas in that ICP area). Counts of 1-4 people, and the
    rates from them, are hidden (missing), and more with them until none can be worked out from everything the page
    publishes about memberships (data_access.network_release: these tables, members over time, retention,
    channels and recent growth, for every network choice and view together); rates are worked out from the counts
    as shown. Columns: area, members_start, members_end, joiners, leavers, net, residents, members_per_1000,
    joiners_per_1000, net_per_1000.
    """
    if level not in ("icp", "district"):
        raise ValueError(f"Unknown level {level!r}: expected icp or district.")
    places = small_area_places(conn)
    if level == "district":
        ident = icp_id(conn, filters.icp)
        if ident is not None:
            places = places[places["icp_id"] == ident]
        values = release_values(conn, filters, network_id)
        ids = {}
    else:
        values = release_values(conn, dataclasses.replace(filters, icp=None), network_id)
        ids = dict(zip(places["icp"], places["icp_id"]))
    places = places.dropna(subset=[level]).rename(columns={level: "area"})
    out = places.groupby("area", as_index=False)["population"].sum(min_count=1).rename(
        columns={"population": "residents"})
    out["residents"] = pd.to_numeric(out["residents"]).fillna(0).astype(int)
    out = _release_table(out, values, lambda area, col: ("growth", level, ids.get(area, area), col),
                         list(GROWTH_COUNTS))
    per = out["residents"].where(out["residents"] > 0)
    out["members_per_1000"] = out["members_end"].astype(float) / per * 1000
    out["joiners_per_1000"] = out["joiners"].astype(float) / per * 1000
    out["net_per_1000"] = out["net"] / per * 1000
    cols = ["area", "members_start", "members_end", "joiners", "leavers", "net", "residents",
            "members_per_1000", "joiners_per_1000", "net_per_1000"]
    return out[cols].sort_values("area").reset_index(drop=True)


def recent_growth(conn: Connection, filters: Filters, months: int = RECENT_MONTHS) -> pd.DataFrame:
    """Net growth of each network over the last `months` months to the period end, in the filtered area.

    The window runs from the day after the same date `months` months before the end, to the end.
    Columns: network, window_start, window_end, members_before, members_end, joiners, leavers, net.
    Counts of 1-4 people (and a net change from them) are hidden (missing), and so are those that would let
    one be worked out from everything the page publishes about memberships (data_access.network_release, with
    members before + joiners - leavers = members at the end, for every network and view together);
    joiners_small and leavers_small say which hidden joiners and leavers are small ones, so a sentence can say
    "fewer than 5" only of the small ones.
    """
    if months != RECENT_MONTHS:
        raise ValueError(f"Recent growth is published for the last {RECENT_MONTHS} months only.")
    before = recent_start(filters.end, months)
    four = ["members_before", "members_end", "joiners", "leavers"]
    nets = networks(conn)
    parts = []
    for ident, name in zip(nets["id"], nets["name"]):
        values = release_values(conn, filters, int(ident))
        row = _release_table(pd.DataFrame({"area": [name]}), values, lambda _, col: ("recent", col), four)
        for col in ("joiners", "leavers"):
            raw = values.get(("recent", col), (0, 0))[1]
            row[f"{col}_small"] = row[col].isna() & bool(is_small(raw))
        parts.append(row)
    out = (pd.concat(parts, ignore_index=True) if parts else
           pd.DataFrame(columns=["area", *four, "net", "joiners_small", "leavers_small"]))
    out = out.rename(columns={"area": "network"})
    out.insert(1, "window_start", before + dt.timedelta(days=1))
    out.insert(2, "window_end", filters.end)
    return out[["network", "window_start", "window_end", *four, "net", "joiners_small", "leavers_small"]]
