"""The shared filters every page applies: an ICP area (or all) and a date range."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, or_, select
from sqlalchemy.engine import Connection

from data_access.cached import remembered
from data_access.models import IcpArea, Lsoa

ALL_AREAS = "All Kent and Medway"
# The default period: the year (365 days) to the latest engagement data, as the pages' sidebar starts.
DEFAULT_PERIOD_DAYS = 365


@dataclass(frozen=True)
class Filters:
    """What the user is looking at: one ICP area (None = all) over a period (inclusive)."""

    icp: str | None = None
    start: dt.date = dt.date(2016, 1, 1)
    end: dt.date = field(default_factory=dt.date.today)

    @property
    def area_label(self) -> str:
        """The area in words, for sentences."""
        return self.icp or "Kent and Medway"

    @property
    def period_label(self) -> str:
        """The period in words, for sentences."""
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"


@remembered
def icp_id(conn: Connection, name: str | None) -> int | None:
    """The id of the named ICP area (None for all); an unknown name is an error."""
    if not name:
        return None
    value = conn.execute(select(IcpArea.id).where(IcpArea.name == name)).scalar_one_or_none()
    if value is None:
        raise ValueError(f"There is no ICP area called {name!r}.")
    return value


def counted_icp(table):
    """The ICP area a record counts in for the area filter, as in_icp counts it: its small area's (the query must
    join Lsoa on the record's small area), or its own where the small area is not known."""
    return case((table.lsoa_code.is_(None), table.icp_id), else_=Lsoa.icp_id)


def in_icp(statement, lsoa_col, conn: Connection, icp: str | None):
    """The statement restricted to people whose small area lies in the ICP area (if one is chosen).

    Records whose small area is not known but whose ICP area is (imported at that level) count too.
    """
    ident = icp_id(conn, icp)
    if ident is None:
        return statement
    in_area = lsoa_col.in_(select(Lsoa.code).where(Lsoa.icp_id == ident))
    icp_col = lsoa_col.table.c.get("icp_id")
    if icp_col is not None:
        in_area = or_(in_area, and_(lsoa_col.is_(None), icp_col == ident))
    return statement.where(in_area)


def data_bounds(conn: Connection) -> tuple[dt.date, dt.date]:
    """The first day with engagement data (the earliest joining) and the last (the latest joining or response);
    today where there is none."""
    from sqlalchemy import func

    from data_access.models import NetworkMembership, SurveyResponse

    first = conn.execute(select(func.min(NetworkMembership.joined_on))).scalar()
    last_join = conn.execute(select(func.max(NetworkMembership.joined_on))).scalar()
    last_resp = conn.execute(select(func.max(SurveyResponse.submitted_at))).scalar()
    candidates = [d.date() if isinstance(d, dt.datetime) else d for d in (last_join, last_resp) if d is not None]
    last = max(candidates) if candidates else dt.date.today()
    return (first or dt.date(2016, 1, 1)), last


def default_period(conn: Connection) -> tuple[dt.date, dt.date]:
    """The period the pages start with: the year to the latest engagement data (not before the first)."""
    first, last = data_bounds(conn)
    return max(first, last - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)), last
