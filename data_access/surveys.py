"""Survey queries: the list of surveys, responses over time and against target, aggregated in SQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.filters import Filters, in_icp
from data_access.sql import day_of


def survey_areas(conn: Connection) -> dict[int, list[str]]:
    """The ICP areas each survey covers (a survey absent here covers all of Kent and Medway)."""
    rows = conn.execute(select(m.SurveyArea.survey_id, m.IcpArea.name)
                        .join(m.IcpArea, m.IcpArea.id == m.SurveyArea.icp_id)
                        .order_by(m.SurveyArea.survey_id, m.IcpArea.name)).all()
    out: dict[int, list[str]] = {}
    for sid, name in rows:
        out.setdefault(sid, []).append(name)
    return out


def status_on(opens: dt.date, closes: dt.date, day: dt.date) -> str:
    """'Upcoming', 'Open' or 'Closed' on the day given."""
    if day < opens:
        return "Upcoming"
    if day > closes:
        return "Closed"
    return "Open"


def survey_summary(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Surveys open at any time in the period or still to come, with responses (in the filtered area).

    Status and days left are as at the end of the period. Columns: id, title, project,
    opens_on, closes_on, target, responses, status, days_left, areas.
    """
    s, r = m.Survey, m.SurveyResponse
    counts = select(r.survey_id, func.count().label("responses")).group_by(r.survey_id)
    counts = in_icp(counts, r.lsoa_code, conn, filters.icp).subquery()
    stmt = (select(s.id, s.title, s.project, s.opens_on, s.closes_on, s.target_responses,
                   func.coalesce(counts.c.responses, 0))
            .outerjoin(counts, counts.c.survey_id == s.id)
            .where(s.closes_on >= filters.start)
            .order_by(s.opens_on.desc(), s.id))
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=[
        "id", "title", "project", "opens_on", "closes_on", "target", "responses"])
    areas = survey_areas(conn)
    frame["areas"] = frame["id"].map(lambda i: ", ".join(areas.get(i, [])) or "All Kent and Medway")
    if filters.icp:
        keep = frame["id"].map(lambda i: i not in areas or filters.icp in areas[i])
        frame = frame[keep].reset_index(drop=True)
    frame["status"] = [status_on(o, c, filters.end) for o, c in zip(frame["opens_on"], frame["closes_on"])]
    frame["days_left"] = [max((c - filters.end).days, 0) if st == "Open" else None
                          for c, st in zip(frame["closes_on"], frame["status"])]
    frame["responses"] = frame["responses"].astype(int)
    return frame


def survey(conn: Connection, survey_id: int) -> dict:
    """One survey's fields, with the list of ICP areas it covers."""
    row = conn.execute(select(m.Survey.__table__).where(m.Survey.id == survey_id)).mappings().one_or_none()
    if row is None:
        raise ValueError(f"There is no survey with id {survey_id}.")
    data = dict(row)
    data["areas"] = survey_areas(conn).get(survey_id, [])
    return data


def responses_by_day(conn: Connection, survey_id: int, filters: Filters) -> pd.DataFrame:
    """Responses to one survey per day and channel, in the filtered area: day, channel, responses."""
    r = m.SurveyResponse
    day = day_of(r.submitted_at).label("day")
    stmt = (select(day, r.channel, func.count())
            .where(r.survey_id == survey_id)
            .group_by(day, r.channel).order_by(day))
    stmt = in_icp(stmt, r.lsoa_code, conn, filters.icp)
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["day", "channel", "responses"])
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def progress_against_target(daily: pd.DataFrame, opens: dt.date, closes: dt.date, target: int | None,
                            as_at: dt.date) -> pd.DataFrame:
    """Cumulative responses per day from opening to closing, beside the straight-line trajectory
    that reaches the target on the closing day. Columns: day, responses, cumulative, trajectory.

    Days after `as_at` have no cumulative figure (they have not happened yet).
    """
    days = pd.date_range(opens, closes, freq="D")
    per_day = daily.groupby("day")["responses"].sum() if len(daily) else pd.Series(dtype=int)
    out = pd.DataFrame({"day": days})
    out["responses"] = out["day"].map(per_day).fillna(0).astype(int)
    out["cumulative"] = out["responses"].cumsum().astype(float)
    out.loc[out["day"] > pd.Timestamp(as_at), "cumulative"] = float("nan")
    n_days = len(days)
    if target:
        out["trajectory"] = [target * (i + 1) / n_days for i in range(n_days)]
    else:
        out["trajectory"] = float("nan")
    return out


def target_verdict(progress: pd.DataFrame, target: int | None, as_at: dt.date) -> dict:
    """Where a survey stands against its target on a day: status, responses, expected, gap, sentence."""
    done = progress.dropna(subset=["cumulative"])
    responses = int(done["cumulative"].iloc[-1]) if len(done) else 0
    if not target:
        return {"status": "no target", "responses": responses, "expected": None, "gap": None,
                "sentence": f"{responses:,} responses so far; this survey has no response target."}
    if responses >= target:
        return {"status": "target met", "responses": responses, "expected": target, "gap": 0,
                "sentence": f"Target met: {responses:,} responses against a target of {target:,}."}
    expected = int(round(done["trajectory"].iloc[-1])) if len(done) else 0
    last_day = progress["day"].iloc[-1]
    closed = pd.Timestamp(as_at) >= last_day
    if responses >= expected:
        status = "on track"
        sentence = (f"On track: {responses:,} responses against the {expected:,} needed by now "
                    f"to reach the target of {target:,}.")
    else:
        status = "missed" if closed else "behind"
        gap = expected - responses
        sentence = (f"Target missed: {responses:,} responses against a target of {target:,}."
                    if closed else
                    f"Behind by {gap:,} responses: {responses:,} so far against the {expected:,} needed by now "
                    f"to reach the target of {target:,}.")
    return {"status": status, "responses": responses, "expected": expected,
            "gap": max(expected - responses, 0), "sentence": sentence}
