"""Citizens' panel queries: size and composition as at a date, aggregated in SQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.filters import Filters, in_icp

PANEL_TARGET = 2000


def panel_size(conn: Connection, day: dt.date, icp: str | None = None) -> int:
    """Panel members serving on a day (term started, not yet ended), in the ICP area if given."""
    p = m.PanelMember
    stmt = select(func.count()).select_from(p).where(p.term_start <= day, p.term_end >= day)
    stmt = in_icp(stmt, p.lsoa_code, conn, icp)
    return int(conn.execute(stmt).scalar_one())


def panel_by_wave(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Members recruited in each wave, and how many still serve at the period end: wave, recruited, serving."""
    p = m.PanelMember
    serving = func.sum(case((and_(p.term_start <= filters.end, p.term_end >= filters.end), 1), else_=0))
    stmt = (select(p.wave, func.min(p.term_start), func.count(), serving)
            .group_by(p.wave).order_by(p.wave))
    stmt = in_icp(stmt, p.lsoa_code, conn, filters.icp)
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["wave", "started", "recruited", "serving"])
    frame["serving"] = frame["serving"].fillna(0).astype(int)
    return frame

