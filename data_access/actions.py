"""'You said, we did': what people raised in a survey, what was done about it, and what is still open."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import exists, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.filters import Filters, icp_id

OPEN_STATUSES = ["Planned", "In progress"]


def survey_actions(conn: Connection, survey_id: int) -> pd.DataFrame:
    """The actions recorded for one survey, by date: theme, you_said, we_did, status, action_date."""
    a = m.Action
    rows = conn.execute(select(a.theme, a.you_said, a.we_did, a.status, a.action_date)
                        .where(a.survey_id == survey_id).order_by(a.action_date, a.id)).all()
    return pd.DataFrame(rows, columns=["theme", "you_said", "we_did", "status", "action_date"])


def open_actions(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Actions not yet done, across all surveys that cover the filtered area, oldest first:
    survey, theme, you_said, we_did, status, action_date."""
    a, s, sa = m.Action, m.Survey, m.SurveyArea
    stmt = (select(s.title, a.theme, a.you_said, a.we_did, a.status, a.action_date)
            .join(s, s.id == a.survey_id)
            .where(a.status.in_(OPEN_STATUSES))
            .order_by(a.action_date, a.id))
    ident = icp_id(conn, filters.icp)
    if ident is not None:
        covers_all = ~exists(select(sa.survey_id).where(sa.survey_id == s.id))
        covers_it = exists(select(sa.survey_id).where(sa.survey_id == s.id, sa.icp_id == ident))
        stmt = stmt.where(or_(covers_all, covers_it))
    return pd.DataFrame(conn.execute(stmt).all(),
                        columns=["survey", "theme", "you_said", "we_did", "status", "action_date"])
