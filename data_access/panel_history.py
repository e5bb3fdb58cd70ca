"""The citizens' panel over time and its participation: size by month, joiners per recruitment wave, terms
about to end, and response rates to panel surveys, by group. Aggregated in SQL; small counts (and any count
that would give one away by subtraction) are hidden before the frames are returned."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.disclosure import publish_count, round_count
from data_access.filters import Filters, in_icp
from data_access.linked_groups import TOTAL, hidden_groups
from data_access.panel import group_order, panel_group, panel_hidden, participation_hidden, recruits_hidden
from data_access.profiles import DIMENSIONS, HORIZONS, horizon_days
from data_access.representativeness import wilson_interval
from data_access.sql import year_of



def _with_areas(stmt):
    p = m.PanelMember
    return (stmt.outerjoin(m.Lsoa, m.Lsoa.code == p.lsoa_code)
            .outerjoin(m.IcpArea, m.IcpArea.id == m.Lsoa.icp_id)
            .outerjoin(m.LocalAuthority, m.LocalAuthority.code == m.Lsoa.lad_code))


def _check(dimension: str) -> None:
    if dimension not in DIMENSIONS:
        raise ValueError(f"Unknown dimension {dimension!r}: expected one of {', '.join(DIMENSIONS)}.")


def _ordered(frame: pd.DataFrame, dimension: str, col: str = "group") -> pd.DataFrame:
    """Groups in their usual order, unstated groups (not known, prefer not to say) last."""
    rank = {g: i for i, g in enumerate(group_order(dimension))}
    known = set(rank) if rank else None
    out = frame.copy()
    out["stated"] = out[col].isin(known) if known is not None else out[col] != m.NOT_KNOWN
    out["_o"] = out[col].map(lambda g: rank.get(g, len(rank)))
    out = out.sort_values(["stated", "_o", col], ascending=[False, True, True])
    return out.drop(columns="_o").reset_index(drop=True)


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """The last day of every month from start's month to end's month (end's own month ends at end)."""
    days = [d.date() for d in pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="ME")]
    return [d for d in days if d < end] + [end]


def panel_size_by_month(conn: Connection, filters: Filters, ahead: int = 12) -> pd.DataFrame:
    """Members serving at the end of each month of the period (the last point is the period end), and at each
    month end for `ahead` months after it counting only members already on record (no new recruits):
    day, members, recorded (False for the months ahead). One pass over the panel, in SQL."""
    past = month_ends(filters.start, filters.end)
    horizon = (pd.Timestamp(filters.end) + pd.DateOffset(months=ahead)).date()
    future = [d for d in month_ends(filters.end, horizon) if d > filters.end] if ahead > 0 else []
    days = past + future
    p = m.PanelMember
    cols = [func.sum(case((and_(p.term_start <= d, p.term_end >= d), 1), else_=0)).label(f"d{k}")
            for k, d in enumerate(days)]
    stmt = in_icp(select(*cols).select_from(p), p.lsoa_code, conn, filters.icp)
    row = conn.execute(stmt).one()
    return pd.DataFrame({"day": days, "members": [int(v or 0) for v in row],
                         "recorded": [d <= filters.end for d in days]})


def joiners_by_wave(conn: Connection, dimension: str, filters: Filters) -> pd.DataFrame:
    """Members recruited in each wave that had started by the period end, by group on a dimension (age as at
    the wave's start): wave, started, group, joiners, stated, hidden. Every group is kept (unstated ones too),
    so a wave's joiners add up to its total; the counts hidden (joiners missing) are those of
    panel.recruits_hidden: small, or hidden so that none can be worked out from the waves' totals, the other
    dimensions' breakdowns or the other views."""
    _check(dimension)
    p = m.PanelMember
    group = panel_group(dimension, year_of(p.term_start)).label("group")
    stmt = _with_areas(select(p.wave, func.min(p.term_start).label("started"), group, func.count().label("n"))
                       .select_from(p))
    stmt = in_icp(stmt.where(p.term_start <= filters.end).group_by(p.wave, group), p.lsoa_code, conn, filters.icp)
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["wave", "started", "group", "joiners"])
    if frame.empty:
        return frame.assign(stated=pd.Series(dtype=bool), hidden=pd.Series(dtype=bool))
    frame["joiners"] = pd.to_numeric(frame["joiners"]).astype(int)
    frame["started"] = frame.groupby("wave")["started"].transform("min")
    linked, view = recruits_hidden(conn, filters.end, filters.icp)
    out = pd.concat([part for _, part in _ordered(frame, dimension).groupby("wave", sort=True)], ignore_index=True)
    out["hidden"] = [(view, "joined", w, dimension, g) in linked or ((view, "joined", w) in linked and n > 0)
                     for w, g, n in zip(out["wave"], out["group"], out["joiners"])]
    out["joiners"] = out["joiners"].map(round_count).astype("Int64").mask(out["hidden"])
    return out[["wave", "started", "group", "joiners", "stated", "hidden"]]


def wave_totals(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Members recruited in each wave that had started by the period end: wave, started, joiners (missing where
    panel.recruits_hidden hides it)."""
    p = m.PanelMember
    stmt = select(p.wave, func.min(p.term_start), func.count()).where(p.term_start <= filters.end).group_by(p.wave)
    stmt = in_icp(stmt.order_by(p.wave), p.lsoa_code, conn, filters.icp)
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["wave", "started", "joiners"])
    frame["joiners"] = pd.to_numeric(frame["joiners"]).astype(int).map(round_count)  # as published (HES: to 5)
    linked, view = recruits_hidden(conn, filters.end, filters.icp)
    frame["joiners"] = frame["joiners"].astype(float).mask([(view, "joined", w) in linked for w in frame["wave"]])
    return frame


def terms_ending(conn: Connection, dimension: str, day: dt.date, icp: str | None = None) -> pd.DataFrame:
    """Members serving on a day, by group (age as in that year), and how many of them have terms ending within
    3, 6 and 12 months (gone before the day that many months later): group, serving, within_3, within_6,
    within_12, share_3, share_6, share_12 (of the group's members), stated. The counts hidden (missing) are those
    of panel.panel_hidden: small, or hidden so that none can be worked out from everything the panel page
    publishes about the members serving, in any view (a group's serving count is its count in the breakdowns)."""
    _check(dimension)
    p = m.PanelMember
    group = panel_group(dimension, day.year).label("group")
    ends = horizon_days(day)
    cols = [func.sum(case((p.term_end < ends[h], 1), else_=0)).label(f"within_{h}") for h in HORIZONS]
    stmt = _with_areas(select(group, *cols, func.count().label("serving")).select_from(p))
    stmt = stmt.where(p.term_start <= day, p.term_end >= day).group_by(group)
    stmt = in_icp(stmt, p.lsoa_code, conn, icp)
    names = [f"within_{h}" for h in HORIZONS]
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["group", *names, "serving"])
    if frame.empty:
        return pd.DataFrame(columns=["group", "serving", *names, *[f"share_{h}" for h in HORIZONS], "stated"])
    for col in [*names, "serving"]:
        frame[col] = pd.to_numeric(frame[col]).fillna(0).astype(int)
    frame = _ordered(frame, dimension)
    counts = [*names, "serving"]
    linked, view = panel_hidden(conn, day, icp)  # hidden with everything the panel page publishes, in every view
    gone = (view, TOTAL) in linked
    hidden = np.array([[(view, "within", h, dimension, g) in linked for h in HORIZONS] for g in frame["group"]],
                      dtype=bool).reshape(len(frame), len(HORIZONS))
    serving = frame["group"].isin(hidden_groups(linked, view, dimension)).to_numpy()  # as the breakdown shows it
    hidden = np.column_stack([hidden, serving]) | (gone & (frame[counts].to_numpy() > 0))
    raw = frame[counts].copy()
    for k, col in enumerate(counts):
        frame[col] = frame[col].astype("Int64").mask(hidden[:, k])
    raw = raw.map(publish_count)  # shares are worked out from the counts as published (rounded under HES)
    for h in HORIZONS:
        frame[f"share_{h}"] = (raw[f"within_{h}"] / raw["serving"]).where(
            frame[f"within_{h}"].notna() & frame["serving"].notna() & (raw["serving"] > 0)).astype(float)
    return frame[["group", "serving", *names, *[f"share_{h}" for h in HORIZONS], "stated"]]


def terms_ending_total(conn: Connection, day: dt.date, icp: str | None = None) -> dict:
    """The whole panel: members serving on a day and how many have terms ending within 3, 6 and 12 months (as
    published: rounded under the HES rule, see disclosure.publish_count; NaN where panel.panel_hidden hides it)."""
    p = m.PanelMember
    ends = horizon_days(day)
    stmt = select(func.count(), *[func.sum(case((p.term_end < ends[h], 1), else_=0)) for h in HORIZONS])
    stmt = in_icp(stmt.select_from(p).where(p.term_start <= day, p.term_end >= day), p.lsoa_code, conn, icp)
    row = conn.execute(stmt).one()
    linked, view = panel_hidden(conn, day, icp)

    def shown(value, key):
        return float("nan") if key in linked else int(publish_count(int(value or 0)))

    return {"serving": shown(row[0], (view, TOTAL)),
            **{f"within_{h}": shown(v, (view, "within", h)) for h, v in zip(HORIZONS, row[1:])}, "ends": ends}


# --- Participation -----------------------------------------------------------------------------


def panel_surveys(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Panel surveys with invitations sent in the period (to members in the area): survey_id, title,
    invited_on, invited, responded."""
    i, p, s = m.PanelInvitation, m.PanelMember, m.Survey
    replied = func.sum(case((i.responded, 1), else_=0))
    stmt = (select(s.id, s.title, func.min(i.invited_on), func.count(), replied)
            .select_from(i).join(s, s.id == i.survey_id).join(p, p.id == i.panel_member_id)
            .where(i.invited_on >= filters.start, i.invited_on <= filters.end)
            .group_by(s.id, s.title).order_by(func.min(i.invited_on), s.id))
    stmt = in_icp(stmt, p.lsoa_code, conn, filters.icp)
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["survey_id", "title", "invited_on", "invited", "responded"])
    for col in ("invited", "responded"):
        frame[col] = pd.to_numeric(frame[col]).astype(int)
    return frame


def participation(conn: Connection, dimension: str, filters: Filters, survey_id: int | None = None) -> pd.DataFrame:
    """Panel survey invitations sent in the period (or for one survey), by the member's group (age as in the
    year invited): group, invited, responded, rate, low, high (95% interval of the rate), stated. The counts
    hidden (missing, and the rate with them) are those of panel.participation_hidden: small (answered, invited or
    unanswered), or hidden so that none can be worked out, in any view."""
    _check(dimension)
    i, p = m.PanelInvitation, m.PanelMember
    group = panel_group(dimension, year_of(i.invited_on)).label("group")
    replied = func.sum(case((i.responded, 1), else_=0))
    stmt = _with_areas(select(group, replied.label("responded"), func.count().label("invited"))
                       .select_from(i).join(p, p.id == i.panel_member_id))
    if survey_id is not None:
        stmt = stmt.where(i.survey_id == survey_id)
    else:
        stmt = stmt.where(i.invited_on >= filters.start, i.invited_on <= filters.end)
    stmt = in_icp(stmt.group_by(group), p.lsoa_code, conn, filters.icp)
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["group", "responded", "invited"])
    cols = ["group", "invited", "responded", "rate", "low", "high", "stated"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    for col in ("responded", "invited"):
        frame[col] = pd.to_numeric(frame[col]).fillna(0).astype(int)
    frame = _ordered(frame, dimension)
    raw = frame[["responded", "invited"]].copy()
    linked, view = participation_hidden(conn, filters, survey_id)
    hidden = np.array([[(view, what, dimension, g) in linked for what in ("responded", "invited")]
                       for g in frame["group"]], dtype=bool).reshape(len(frame), 2)
    frame["responded"] = frame["responded"].astype("Int64").mask(hidden[:, 0])
    frame["invited"] = frame["invited"].astype("Int64").mask(hidden[:, 1])
    shown = ~hidden.any(axis=1) & (raw["invited"] > 0).to_numpy()
    raw = raw.map(publish_count)  # the rate is worked out from the counts as published (rounded under HES)
    frame["rate"] = (raw["responded"] / raw["invited"]).where(shown).astype(float)
    bounds = [wilson_interval(r, n) if ok else (np.nan, np.nan)
              for r, n, ok in zip(raw["responded"], raw["invited"], shown)]
    frame["low"] = [b[0] for b in bounds]
    frame["high"] = [b[1] for b in bounds]
    return frame[cols]


def participation_total(conn: Connection, filters: Filters, survey_id: int | None = None) -> dict:
    """All invitations in the period (or for one survey) in the area: invited, responded (as published: rounded
    under the HES rule, see disclosure.publish_count; NaN where panel.participation_hidden hides it) and the rate
    worked out from them."""
    i, p = m.PanelInvitation, m.PanelMember
    stmt = select(func.count(), func.sum(case((i.responded, 1), else_=0))).select_from(i).join(
        p, p.id == i.panel_member_id)
    if survey_id is not None:
        stmt = stmt.where(i.survey_id == survey_id)
    else:
        stmt = stmt.where(i.invited_on >= filters.start, i.invited_on <= filters.end)
    invited, responded = conn.execute(in_icp(stmt, p.lsoa_code, conn, filters.icp)).one()
    linked, view = participation_hidden(conn, filters, survey_id)
    invited, responded = [float("nan") if (view, what) in linked else int(publish_count(int(v or 0)))
                          for what, v in (("invited", invited), ("responded", responded))]
    return {"invited": invited, "responded": responded, "rate": responded / invited if invited else float("nan")}
