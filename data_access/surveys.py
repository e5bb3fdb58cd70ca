"""Survey queries: the list of surveys, responses over time and against target, aggregated in SQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access import summaries
from data_access.disclosure import (
    Policy, format_count, is_small, linked_suppression, policy, round_count, suppress,
)
from data_access.cached import remembered
from data_access.filters import Filters, counted_icp, icp_id, in_icp
from data_access.gauss_suppression import ordered_suppression
from data_access.geography import CORE20_MAX_DECILE
from data_access.profiles import DIMENSIONS, representation_tables
from data_access.sql import day_of, year_of


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

    Status and days left are as at the end of the period; small response counts are hidden (missing). With an
    ICP area chosen, target is that area's share of the survey's target (by population, among the areas the survey
    covers) and target_all the whole target. Columns: id, title, project, opens_on, closes_on, target, responses,
    status, days_left, areas, target_all, protected. Responses are hidden where the survey page hides its Responses
    figure (progress_hidden); protected says it is hidden only so that a small count cannot be worked out.
    """
    s, r = m.Survey, m.SurveyResponse
    if summaries.current(conn):
        t = m.SummaryResponseDay
        counts = summaries.in_area(select(t.survey_id, func.sum(t.n).label("responses")).group_by(t.survey_id),
                                   t, conn, filters.icp).subquery()
    else:
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
    frame["target_all"] = frame["target"]
    if filters.icp and len(frame):
        populations = icp_populations(conn)
        frame["target"] = [area_target(None if pd.isna(t) else int(t), areas.get(i, []), filters.icp, populations)
                           for i, t in zip(frame["id"], frame["target_all"])]
    shown = suppress(frame, "responses").drop(columns="suppressed")
    # the survey page's Responses figure: hidden where its release (every view together) hides it
    view = icp_id(conn, filters.icp)
    secret = [(view, "total") in progress_hidden(conn, int(i), filters.end) for i in frame["id"]]
    secret = pd.Series(secret, index=shown.index, dtype=bool)
    shown["protected"] = secret & shown["responses"].notna()  # hidden only so that a small one cannot be worked out
    shown["responses"] = shown["responses"].mask(secret)
    return shown


def icp_populations(conn: Connection) -> dict[str, int]:
    """Residents of each ICP area (0 where no population is loaded)."""
    L = m.Lsoa
    rows = conn.execute(select(m.IcpArea.name, func.coalesce(func.sum(L.population), 0))
                        .outerjoin(L, L.icp_id == m.IcpArea.id).group_by(m.IcpArea.name)).all()
    return {name: int(n or 0) for name, n in rows}


def area_target(target: int | None, covered: list[str], icp: str | None, populations: dict[str, int]) -> int | None:
    """An ICP area's share of a survey's response target, by population among the ICP areas the survey covers
    (all four where it lists none), as the panel's target is shared; the whole target where no area is chosen,
    the survey covers that area alone, or no population is loaded."""
    if target is None or not icp:
        return target
    covered = list(covered) or list(populations)
    if covered == [icp]:
        return target
    total = sum(populations.get(a, 0) for a in covered)
    if not total:
        return target
    return int(round(target * populations.get(icp, 0) / total))


def survey(conn: Connection, survey_id: int) -> dict:
    """One survey's fields, with the list of ICP areas it covers."""
    row = conn.execute(select(m.Survey.__table__).where(m.Survey.id == survey_id)).mappings().one_or_none()
    if row is None:
        raise ValueError(f"There is no survey with id {survey_id}.")
    data = dict(row)
    data["areas"] = survey_areas(conn).get(survey_id, [])
    return data


def responses_by_day(conn: Connection, survey_id: int, filters: Filters) -> pd.DataFrame:
    """Responses to one survey per day and channel, in the filtered area: day, channel, responses. attrs['release']:
    the as-at day (the period end) and the keys of _survey_release the page hides in this view (progress_hidden:
    chosen for the all-areas view and every ICP area's view together)."""
    r, t = m.SurveyResponse, m.SummaryResponseDay
    if summaries.current(conn):
        rows = sorted(summaries.counted(conn, t, [t.day, t.channel], [t.survey_id == survey_id], filters.icp))
    else:
        day = day_of(r.submitted_at).label("day")
        stmt = (select(day, r.channel, func.count())
                .where(r.survey_id == survey_id)
                .group_by(day, r.channel).order_by(day))
        rows = conn.execute(in_icp(stmt, r.lsoa_code, conn, filters.icp)).all()
    frame = pd.DataFrame(rows, columns=["day", "channel", "responses"])
    frame["day"] = pd.to_datetime(frame["day"])
    # what the page hides of these, chosen for every view together (survey_hidden reads it)
    hidden = view_hidden(progress_hidden(conn, survey_id, filters.end), icp_id(conn, filters.icp))
    frame.attrs["release"] = {"as_at": filters.end, "hidden": frozenset(hidden)}
    return frame


def _survey_release(daily: pd.DataFrame, days: pd.DatetimeIndex, as_at: dt.date
                    ) -> tuple[list[int], dict[tuple, list[int]]]:
    """Every count one survey's progress chart, its sentence, the Responses figure and the channel chart with its
    sentence publish together in one view, as sums of cells (responses per day and channel): see _view_keys."""
    if len(daily):
        cells = daily.groupby(["day", "channel"], as_index=False)["responses"].sum()
    else:
        cells = pd.DataFrame({"day": pd.Series(dtype="datetime64[ns]"), "channel": [], "responses": []})
    cells["day"] = pd.to_datetime(cells["day"])
    published: dict[tuple, list[int]] = {}
    _view_keys(published, (), cells, np.ones(len(cells), dtype=bool), days, as_at)
    return cells["responses"].astype(int).tolist(), published


def _view_keys(published: dict, view: tuple, cells: pd.DataFrame, mine: np.ndarray, days: pd.DatetimeIndex,
               as_at: dt.date) -> None:
    """The keys one view of a survey publishes, each prefixed with `view`, as the rows of cells (columns day,
    channel) where `mine` holds that it adds up: ("day", day) a day's responses, ("cum", day) responses so far on a
    day that has happened, ("total",) all responses, ("week", week, channel) a bar of the channel chart, ("week",
    week) a week's stack and ("channel", channel) a channel's total."""
    day = cells["day"].to_numpy()
    rows = np.flatnonzero(mine)
    published[(*view, "total")] = rows.tolist()
    in_window = mine & cells["day"].isin(days).to_numpy()
    for d in days:
        published[(*view, "day", d)] = np.flatnonzero(mine & (day == d.to_datetime64())).tolist()
        if d <= pd.Timestamp(as_at):
            published[(*view, "cum", d)] = np.flatnonzero(in_window & (day <= d.to_datetime64())).tolist()
    part = cells.iloc[rows]
    week = part["day"].dt.to_period("W-SUN").dt.start_time
    for key, idx in part.assign(week=week).groupby(["week", "channel"], sort=True).indices.items():
        published[(*view, "week", *key)] = rows[idx].tolist()
    for key, idx in part.assign(week=week).groupby("week", sort=True).indices.items():
        published[(*view, "week", key)] = rows[idx].tolist()
    for key, idx in part.groupby("channel", sort=True).indices.items():
        published[(*view, "channel", key)] = rows[idx].tolist()


def survey_hidden(daily: pd.DataFrame, opens: dt.date, closes: dt.date, as_at: dt.date) -> set[tuple]:
    """The keys of _survey_release that one survey's page hides: small, or giving a small one away. Where daily
    came from responses_by_day for the same as-at day, the choice made for every view together (its attrs); else
    (a frame made by hand) the view's own."""
    release = daily.attrs.get("release")
    if release is not None and release["as_at"] == as_at:
        return set(release["hidden"])
    counts, published = _survey_release(daily, pd.date_range(opens, closes, freq="D"), as_at)
    return _hidden_of(counts, published, policy())


def _hidden_of(counts: list[int], published: dict[tuple, list[int]], rules: Policy) -> set:
    keys = list(published)
    flags = linked_suppression(counts, [published[k] for k in keys], rules.threshold, rules.secondary)
    return {k for k, flag in zip(keys, flags) if flag}


NO_ICP = 0  # the icp_key of responses in no ICP area (counted only in the all-areas view)


@remembered
def response_cells(conn: Connection) -> pd.DataFrame:
    """Responses per survey, day, channel and ICP area (icp_key as filters.in_icp counts them, NO_ICP where none),
    counted in SQL in one GROUP BY: survey_id, day, channel, icp_key, responses. Unsuppressed: the cells the
    published numbers add up, never shown as they are."""
    r, t = m.SurveyResponse, m.SummaryResponseDay
    if summaries.current(conn):
        rows = summaries.counted(conn, t, [t.survey_id, t.day, t.channel, t.icp_key], [], None)
    else:
        day = day_of(r.submitted_at).label("day")
        icp_key = counted_icp(r).label("icp_key")
        keys = [r.survey_id, day, r.channel, icp_key]
        rows = conn.execute(select(*keys, func.count()).select_from(r)
                            .outerjoin(m.Lsoa, m.Lsoa.code == r.lsoa_code).group_by(*keys)).all()
    frame = pd.DataFrame(rows, columns=["survey_id", "day", "channel", "icp_key", "responses"])
    frame["day"] = pd.to_datetime(frame["day"])
    frame["icp_key"] = pd.to_numeric(frame["icp_key"]).fillna(NO_ICP).astype(int)
    frame["responses"] = pd.to_numeric(frame["responses"]).astype(int)
    return frame.sort_values(["survey_id", "day", "channel", "icp_key"], kind="stable").reset_index(drop=True)


def _icp_views(conn: Connection) -> list[int | None]:
    """The all-areas view (None) and every ICP area's view (its id): a reader can switch between them."""
    return [None, *conn.execute(select(m.IcpArea.id).order_by(m.IcpArea.id)).scalars()]


def cross_view_release(cells: pd.DataFrame, views: list, days: pd.DatetimeIndex, as_at: dt.date
                       ) -> dict[tuple, list[int]]:
    """Every number one survey's page publishes in every view, as the rows of cells (one survey's response_cells)
    each adds up: the keys of _view_keys prefixed with the view (None or an ICP area's id), and (view, "month",
    month) the survey's responses in a month, which the overview's responses each month add up over surveys (taken
    as published here, so that the overview's months are sums of shown numbers wherever these are shown)."""
    published: dict[tuple, list[int]] = {}
    icp = cells["icp_key"].to_numpy()
    month = cells["day"].dt.to_period("M").dt.start_time
    for view in views:
        mine = np.ones(len(cells), dtype=bool) if view is None else icp == view
        _view_keys(published, (view,), cells, mine, days, as_at)
        # the survey's part of the overview's responses each month (overview.months_hidden)
        for key, idx in month[mine].groupby(month[mine], sort=True).indices.items():
            published[(view, "month", key)] = np.flatnonzero(mine)[idx].tolist()
    return published


@remembered
def _progress_hidden(conn: Connection, survey_id: int, as_at: dt.date, rules: Policy) -> frozenset:
    info = conn.execute(select(m.Survey.opens_on, m.Survey.closes_on).where(m.Survey.id == survey_id)).one_or_none()
    if info is None:
        return frozenset()
    every = response_cells(conn)
    cells = every[every["survey_id"] == survey_id].reset_index(drop=True)
    published = cross_view_release(cells, _icp_views(conn), pd.date_range(info[0], info[1], freq="D"), as_at)
    keys = list(published)
    # every number in turn (zeros, the Responses figures and the months, then the largest first) is shown only where
    # no small one can then be worked out
    flags = ordered_suppression(cells["responses"].tolist(), [published[k] for k in keys], rules.threshold,
                                rules.secondary, first=[k[1] in ("total", "month") for k in keys])
    return frozenset(k for k, flag in zip(keys, flags) if flag)


def progress_hidden(conn: Connection, survey_id: int, as_at: dt.date) -> frozenset:
    """The keys of cross_view_release one survey's pages hide on the as-at day: small, or letting a small one be
    worked out from what the survey page publishes in the all-areas view and every ICP area's view together
    (the days, the running total, the "so far" sentence, the Responses figure and the channel chart). Decided once
    per data load, survey, as-at day and policy."""
    return _progress_hidden(conn, survey_id, as_at, policy())


def view_hidden(hidden: frozenset, view) -> set[tuple]:
    """One view's hidden keys (those of _survey_release) out of progress_hidden's."""
    return {k[1:] for k in hidden if k[0] == view}


def progress_against_target(daily: pd.DataFrame, opens: dt.date, closes: dt.date, target: int | None,
                            as_at: dt.date) -> pd.DataFrame:
    """Cumulative responses per day from opening to closing, beside the straight-line trajectory
    that reaches the target on the closing day. Columns: day, responses, cumulative, trajectory.

    Days after `as_at` have no cumulative figure (they have not happened yet). Small daily counts are hidden,
    and so is the running total where the change since the last point shown is small; attrs['responses'] is
    the number so far, for target_verdict (which words it as the policy says).
    """
    days = pd.date_range(opens, closes, freq="D")
    per_day = daily.groupby("day")["responses"].sum() if len(daily) else pd.Series(dtype=int)
    out = pd.DataFrame({"day": days})
    raw = out["day"].map(per_day).fillna(0).astype(int)
    cumulative = raw.cumsum().astype(float)
    happened = out["day"] <= pd.Timestamp(as_at)
    # the days, the running total, all responses and the channel chart, published together
    hidden = survey_hidden(daily, opens, closes, as_at)
    # As shown: a day, or the running total on a day, is hidden where it is small or would let a small one be
    # worked out from the others (the days, the running total and all responses are published together).
    out["responses"] = pd.array([None if ("day", d) in hidden else round_count(v) for d, v in zip(days, raw)],
                                dtype="Int64")
    out["cumulative"] = [float("nan") if not h or ("cum", d) in hidden else float(round_count(c))
                         for d, c, h in zip(days, cumulative, happened)]
    out.attrs["responses"] = int(raw[happened].sum())
    last = [d for d, h in zip(days, happened) if h]
    out.attrs["responses_hidden"] = bool(last) and ("cum", last[-1]) in hidden
    out.attrs["total_hidden"] = ("total",) in hidden
    n_days = len(days)
    if target:
        out["trajectory"] = [target * (i + 1) / n_days for i in range(n_days)]
    else:
        out["trajectory"] = float("nan")
    return out


def responses_by_week(daily: pd.DataFrame, opens: dt.date, closes: dt.date, as_at: dt.date,
                      channels: list[str]) -> pd.DataFrame:
    """Responses per week and channel as the channel chart shows them (week, channel, responses; missing where
    hidden), protected together with the progress chart (survey_hidden). attrs: 'totals' {channel: count or None
    where hidden} for the channels given that have responses, 'total' all responses (None where hidden) and
    'hidden' (whether anything is hidden)."""
    if daily.empty:
        frame = pd.DataFrame({"week": pd.Series(dtype="datetime64[ns]"), "channel": [],
                              "responses": pd.array([], dtype="Int64")})
        frame.attrs.update(totals={}, total=0, raw_totals={}, raw_total=0, hidden=False)
        return frame
    hidden = survey_hidden(daily, opens, closes, as_at)
    weekly = (daily.assign(week=pd.to_datetime(daily["day"]).dt.to_period("W-SUN").dt.start_time)
              .groupby(["week", "channel"], as_index=False)["responses"].sum())
    weekly = weekly[weekly["channel"].isin(channels)].reset_index(drop=True)
    weekly["responses"] = pd.array([None if ("week", w, c) in hidden else round_count(n)
                                    for w, c, n in zip(weekly["week"], weekly["channel"], weekly["responses"])],
                                   dtype="Int64")
    raw = daily.groupby("channel")["responses"].sum()
    totals = {c: (None if ("channel", c) in hidden else int(raw[c])) for c in channels if raw.get(c, 0)}
    total = int(daily["responses"].sum())
    weekly.attrs.update(totals=totals, total=None if ("total",) in hidden else total,
                        raw_totals={c: int(raw[c]) for c in totals}, raw_total=total,
                        hidden=bool(weekly["responses"].isna().any()) or None in totals.values()
                        or ("total",) in hidden)
    return weekly


def target_verdict(progress: pd.DataFrame, target: int | None, as_at: dt.date, whole: int | None = None,
                   area: str | None = None) -> dict:
    """Where a survey stands against its target on a day: status, responses, expected, gap, sentence. Where
    target is an area's share of the survey's whole target (surveys.area_target), the sentence says so."""
    shared = bool(target) and whole is not None and whole != target
    the_target = (f"{area or 'this area'}'s share of the target ({target:,} of the survey's {whole:,}, shared by "
                  f"population)" if shared else f"the target of {target:,}" if target else "")
    happened = progress[progress["day"] <= pd.Timestamp(as_at)]
    done = progress.dropna(subset=["cumulative"])
    responses = progress.attrs.get("responses", int(done["cumulative"].iloc[-1]) if len(done) else 0)
    secret = progress.attrs.get("responses_hidden", False) and not is_small(responses)
    shown = format_count(responses)
    if secret:  # the number so far would give a hidden day away: say no more than the chart's last point shown
        shown = f"at least {int(done['cumulative'].iloc[-1]):,}" if len(done) else "an unshown number of"
    if not target:
        return {"status": "no target", "responses": responses, "expected": None, "gap": None,
                "sentence": f"{shown} responses so far; this survey has no response target."}
    if responses >= target:
        return {"status": "target met", "responses": responses, "expected": target, "gap": 0,
                "sentence": f"Target met: {shown} responses against {the_target}."}
    expected = int(round(happened["trajectory"].iloc[-1])) if len(happened) else 0
    last_day = progress["day"].iloc[-1]
    closed = pd.Timestamp(as_at) >= last_day
    if responses >= expected:
        status = "on track"
        sentence = (f"On track: {shown} responses against the {expected:,} needed by now "
                    f"to reach {the_target}.")
    else:
        status = "missed" if closed else "behind"
        sentence = (f"Target missed: {shown} responses against {the_target}."
                    if closed else
                    (f"Behind by {format_count(expected - round_count(responses))} responses: " if not (is_small(
                        responses) or secret) else "Behind: ")
                    + f"{shown} so far against the {expected:,} needed by now to reach {the_target}.")
    return {"status": status, "responses": responses, "expected": expected,
            "gap": max(expected - responses, 0), "sentence": sentence}


# --- Reach: responses per 1,000 residents, Core20 and under-35 shares ------------------------------

TOLERANCE = (0.8, 1.25)
YOUNG_BANDS = ("16-24", "25-34")


def _icp_residents(conn: Connection) -> dict[str, int]:
    """Residents of each ICP area (all ages), from the small areas' populations."""
    rows = conn.execute(select(m.IcpArea.name, func.sum(m.Lsoa.population))
                        .join(m.Lsoa, m.Lsoa.icp_id == m.IcpArea.id).group_by(m.IcpArea.name)).all()
    return {name: int(n or 0) for name, n in rows}


def covered_areas(areas: list[str], icp: str | None) -> list[str] | None:
    """The ICP areas a survey's figures refer to: its own areas (None = all), narrowed to the filter's area."""
    if icp:
        return [icp] if (not areas or icp in areas) else []
    return areas or None


def survey_reach(conn: Connection, filters: Filters) -> pd.DataFrame:
    """survey_reach_in for the filtered ICP area (all dates)."""
    return survey_reach_in(conn, filters.icp)


def survey_reach_in(conn: Connection, icp: str | None) -> pd.DataFrame:
    """Every survey's respondents (in the ICP area, or all), counted in SQL: responses, with a known small
    area, of whom in Core20 areas, with a known age (16+), of whom under 35, and the residents of the
    areas covered. Columns: id, title, opens_on, closes_on, panel (a citizens' panel survey), responses,
    with_area, core20, with_age, under_35, residents."""
    s = m.Survey
    counts = _reach_counts_summarised(conn, icp) if summaries.current(conn) else _reach_counts(conn, icp)
    cols = ["responses", "with_area", "core20", "with_age", "under_35"]
    rows = conn.execute(select(s.id, s.title, s.opens_on, s.closes_on, s.is_panel_survey)
                        .order_by(s.opens_on, s.id)).all()
    frame = pd.DataFrame(rows, columns=["id", "title", "opens_on", "closes_on", "panel"])
    frame = frame.merge(counts, left_on="id", right_index=True, how="left")
    frame["panel"] = frame["panel"].astype(bool)
    frame[cols] = frame[cols].apply(pd.to_numeric).fillna(0).astype(int)
    per_icp = _icp_residents(conn)
    areas = survey_areas(conn)
    residents = []
    for sid in frame["id"]:
        names = covered_areas(areas.get(sid, []), icp)
        residents.append(sum(per_icp.values()) if names is None else sum(per_icp.get(n, 0) for n in names))
    frame["residents"] = residents
    return frame


def _reach_counts(conn: Connection, icp: str | None) -> pd.DataFrame:
    """survey_reach_in's counts from the records, per survey id: responses, with_area, core20, with_age, under_35."""
    r, L = m.SurveyResponse, m.Lsoa
    # Two scans of the responses, each read from an index alone: per survey and small area, and per survey,
    # birth year and year of responding; small areas' deciles and age bands are matched in pandas.
    by_area = in_icp(select(r.survey_id, r.lsoa_code, func.count()).group_by(r.survey_id, r.lsoa_code),
                     r.lsoa_code, conn, icp)
    areas = pd.DataFrame(conn.execute(by_area).all(), columns=["id", "code", "n"])
    deciles = dict(conn.execute(select(L.code, L.imd_decile)).all())
    known = areas["code"].isin(deciles.keys())
    decile = pd.to_numeric(areas["code"].map(deciles), errors="coerce")
    areas["with_area"] = areas["n"].where(known, 0)
    areas["core20"] = areas["n"].where(decile <= CORE20_MAX_DECILE, 0)
    year = year_of(r.submitted_at)
    by_age = in_icp(select(r.survey_id, r.birth_year, year, func.count()).group_by(r.survey_id, r.birth_year, year),
                    r.lsoa_code, conn, icp)
    ages = pd.DataFrame(conn.execute(by_age).all(), columns=["id", "birth_year", "year", "n"])
    age = pd.to_numeric(ages["year"]) - pd.to_numeric(ages["birth_year"])  # missing where not known
    ages["with_age"] = ages["n"].where(age >= 16, 0)  # the bands 16-24 to 65+ (data_access.sql.age_band)
    ages["under_35"] = ages["n"].where((age >= 16) & (age <= 34), 0)  # YOUNG_BANDS
    return (areas.groupby("id")[["n", "with_area", "core20"]].sum().rename(columns={"n": "responses"})
            .join(ages.groupby("id")[["with_age", "under_35"]].sum(), how="outer"))


def _reach_counts_summarised(conn: Connection, icp: str | None) -> pd.DataFrame:
    """_reach_counts from the respondents' summary cells (survey x age band x small area's decile, placed)."""
    t = m.SummaryRespondentCell
    rows = summaries.counted(conn, t, [t.survey_id, t.age_band, t.imd_decile, t.placed], [], icp)
    cells = pd.DataFrame(rows, columns=["id", "age_band", "decile", "placed", "n"])
    n = pd.to_numeric(cells["n"]).astype(int)
    cells["responses"] = n
    cells["with_area"] = n.where(cells["placed"].astype(bool), 0)
    cells["core20"] = n.where(pd.to_numeric(cells["decile"], errors="coerce") <= CORE20_MAX_DECILE, 0)
    cells["with_age"] = n.where(cells["age_band"].isin(m.AGE_BANDS), 0)  # 16 and over, as the records' count
    cells["under_35"] = n.where(cells["age_band"].isin(YOUNG_BANDS), 0)
    return cells.groupby("id")[["responses", "with_area", "core20", "with_age", "under_35"]].sum()


def _share(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, missing where the denominator is 0 or the numerator is a small count."""
    share = (numerator / denominator.where(denominator > 0)).astype(float)
    small = numerator.map(is_small)
    return share.mask(small)


def reach_shares(reach: pd.DataFrame) -> pd.DataFrame:
    """Add per_1000 (responses per 1,000 residents of the areas covered), core20_share (of respondents
    with a known small area) and under_35_share (of respondents with a known age 16+); a share whose
    count is small is hidden, and every small count with it (see data_access.disclosure)."""
    out = reach.copy()
    out["per_1000"] = (out["responses"] / out["residents"].where(out["residents"] > 0) * 1000).astype(float)
    out["core20_share"] = _share(out["core20"], out["with_area"])
    out["under_35_share"] = _share(out["under_35"], out["with_age"])
    # the counts as they may be shown: a share goes with its count and its base
    out = suppress(out, "responses", derived=("per_1000",)).drop(columns="suppressed")
    for count, base, derived in (("core20", "with_area", "core20_share"), ("under_35", "with_age", "under_35_share")):
        out = suppress(out, count, derived=(derived,), total=base).drop(columns="suppressed")
        out = suppress(out, base).drop(columns="suppressed")
        out[derived] = out[derived].mask(out[base].isna())
        # the others (base - count) could give a small number away too
        out[derived] = out[derived].mask((reach[base] - reach[count]).map(is_small))
    return out


def surveys_at_a_glance(conn: Connection, filters: Filters) -> pd.DataFrame:
    """survey_summary with reach: responses per 1,000 residents of the areas covered and the Core20
    share of respondents (see reach_shares)."""
    return glance_with_reach(survey_summary(conn, filters), survey_reach(conn, filters))


def glance_with_reach(summary: pd.DataFrame, reach: pd.DataFrame) -> pd.DataFrame:
    """survey_summary joined to survey_reach's counts as reach_shares shows them."""
    keep = ["id", "residents", "with_area", "core20", "per_1000", "core20_share"]
    out = summary.merge(reach_shares(reach)[keep], on="id", how="left")
    out["per_1000"] = out["per_1000"].mask(out["responses"].isna())  # responses per resident give the count away
    return out


def reach_over_time(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Core20 and under-35 shares of respondents for every survey with responses, oldest first
    (all dates; the filtered area only). Columns as survey_reach plus the shares."""
    return reach_over_time_from(survey_reach(conn, filters))


def reach_over_time_from(reach: pd.DataFrame) -> pd.DataFrame:
    """reach_over_time from survey_reach's frame."""
    shares = reach_shares(reach)
    return shares[shares["responses"].fillna(1) > 0].reset_index(drop=True)  # missing: a small number, not none


# --- Promotional activities ------------------------------------------------------------------------

def promotions(conn: Connection, survey_id: int) -> pd.DataFrame:
    """Activities that promoted one survey: held_on, kind, title, attendance (by date)."""
    a = m.Activity
    rows = conn.execute(select(a.held_on, a.kind, a.title, a.attendance)
                        .where(a.survey_id == survey_id).order_by(a.held_on, a.id)).all()
    return pd.DataFrame(rows, columns=["held_on", "kind", "title", "attendance"])


# --- Who responded against who lives there, every dimension -----------------------------------------

REPRESENTATION_DIMENSIONS = ["age_band", "sex", "ethnic_group", "disability", "icp_area", "imd_quintile"]


def representation_gaps(conn: Connection, survey_id: int, filters: Filters,
                        icp_names: list[str] | None) -> pd.DataFrame:
    """Respondents' share against residents' share for every group of every dimension, groups outside
    the tolerance (ratio below 0.8 or above 1.25) first, the furthest out first.
    Columns: dimension, group, count, share, residents, resident_share, ratio, gap_pp, outside, suppressed."""
    frames = []
    tables = representation_tables(conn, "respondents", filters, REPRESENTATION_DIMENSIONS, survey_id=survey_id,
                                   icp_names=icp_names)  # one scan of the respondents for every dimension
    for dim, rep in tables.items():
        rep = rep[rep["stated"]].copy()
        rep.insert(0, "dimension", DIMENSIONS[dim])
        frames.append(rep)
    out = pd.concat(frames, ignore_index=True)
    ratio = pd.to_numeric(out["ratio"], errors="coerce")
    out["outside"] = ((ratio < TOLERANCE[0]) | (ratio > TOLERANCE[1])).fillna(False).astype(bool)
    distance = np.abs(np.log(ratio.where(ratio > 0)))
    out["_d"] = distance.where(ratio > 0, np.inf).where(ratio.notna(), -1.0)
    out = out.sort_values(["outside", "_d"], ascending=[False, False], kind="stable").drop(columns="_d")
    cols = ["dimension", "group", "count", "share", "residents", "resident_share", "ratio", "gap_pp", "outside",
            "suppressed"]
    return out[cols].reset_index(drop=True)
