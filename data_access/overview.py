"""Headline figures for the overview page, each computed in SQL from the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.filters import Filters, in_icp
from data_access.geography import CORE20_MAX_DECILE, core20_share_of_residents
from data_access.networks import members_on
from data_access.panel import PANEL_TARGET, panel_size


@dataclass(frozen=True)
class Headlines:
    """The overview's headline figures for one area and period."""

    members: int
    members_year_before: int
    open_surveys: int
    responses: int
    panel_members: int
    panel_target: int
    respondents_with_area: int
    core20_respondents: int
    core20_share_respondents: float | None
    core20_share_residents: float | None

    @property
    def growth_12m(self) -> int:
        """Net change in network members over the 12 months to the period end."""
        return self.members - self.members_year_before


def year_before(day: dt.date) -> dt.date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def core20_respondents(conn: Connection, filters: Filters) -> tuple[int, int]:
    """(Respondents in the period whose small area is known, of whom living in Core20 areas)."""
    r, L = m.SurveyResponse, m.Lsoa
    start = dt.datetime.combine(filters.start, dt.time())
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time())
    stmt = (select(func.count(), func.sum(case((L.imd_decile <= CORE20_MAX_DECILE, 1), else_=0)))
            .select_from(r).join(L, L.code == r.lsoa_code)
            .where(and_(r.submitted_at >= start, r.submitted_at < end)))
    stmt = in_icp(stmt, r.lsoa_code, conn, filters.icp)
    known, core = conn.execute(stmt).one()
    return int(known or 0), int(core or 0)


def panel_target(conn: Connection, icp: str | None) -> int:
    """The panel's target size: 2,000 for Kent and Medway, or an ICP area's population share of it."""
    if not icp:
        return PANEL_TARGET
    L = m.Lsoa
    total = conn.execute(select(func.sum(L.population))).scalar_one() or 0
    area = conn.execute(select(func.sum(L.population)).where(
        L.icp_id == select(m.IcpArea.id).where(m.IcpArea.name == icp).scalar_subquery())).scalar_one() or 0
    return int(round(PANEL_TARGET * area / total)) if total else 0


def headline_figures(conn: Connection, filters: Filters) -> Headlines:
    """The headline figures for the filtered area, as at the end of the period."""
    s, r = m.Survey, m.SurveyResponse
    end = filters.end
    open_surveys = int(conn.execute(select(func.count()).select_from(s).where(
        s.opens_on <= end, s.closes_on >= end)).scalar_one())
    start_dt = dt.datetime.combine(filters.start, dt.time())
    end_dt = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    responses_stmt = select(func.count()).select_from(r).where(r.submitted_at >= start_dt, r.submitted_at < end_dt)
    responses = int(conn.execute(in_icp(responses_stmt, r.lsoa_code, conn, filters.icp)).scalar_one())
    known, core = core20_respondents(conn, filters)
    return Headlines(
        members=members_on(conn, end, filters),
        members_year_before=members_on(conn, year_before(end), filters),
        open_surveys=open_surveys,
        responses=responses,
        panel_members=panel_size(conn, end, filters.icp),
        panel_target=panel_target(conn, filters.icp),
        respondents_with_area=known,
        core20_respondents=core,
        core20_share_respondents=core / known if known else None,
        core20_share_residents=core20_share_of_residents(conn, filters.icp),
    )
