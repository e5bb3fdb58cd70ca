"""A survey's progress and channel charts in every view together, and the overview's survey responses each month beside
the survey pages, checked by the independent auditor (tests/audit.py).

The cells are worked out here from the raw rows (each response's ICP area in Python, not the SQL under test): responses
per day, channel and ICP area (None where none). For each view (all areas, every ICP area), the numbers the survey page
publishes: each day's responses and the running total on the progress chart, the number in the "so far" sentence, the
Responses figure, the at-a-glance table's responses, each week's bar per channel of "How people responded" and the
channel totals and all responses in its sentence. A reader can flip the ICP filter, so all views are one release."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import insert, select

from data_access import disclosure as d
from data_access import models as m
from data_access.filters import Filters
from data_access.overview import responses_by_month
from data_access.surveys import (
    progress_against_target, responses_by_day, responses_by_week, survey, survey_summary, target_verdict,
)
from tests.audit import Release
from tests.factories import build_tiny_store


@pytest.fixture(autouse=True)
def rule5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)


def raw_cells(conn, survey_ids=None) -> pd.Series:
    """Responses per (survey, day, channel, ICP area id or None), from the rows, each response's area in Python."""
    lsoa_icp = dict(conn.execute(select(m.Lsoa.code, m.Lsoa.icp_id)).all())
    r = m.SurveyResponse
    stmt = select(r.survey_id, r.submitted_at, r.channel, r.lsoa_code, r.icp_id)
    counts: dict = {}
    for sid, at, channel, lsoa, icp in conn.execute(stmt):
        if survey_ids is not None and sid not in survey_ids:
            continue
        area = icp if lsoa is None else lsoa_icp.get(lsoa)
        key = (sid, pd.Timestamp(at.date() if isinstance(at, dt.datetime) else at), channel, area)
        counts[key] = counts.get(key, 0) + 1
    return pd.Series(counts, dtype=float)


def views(conn) -> list[tuple[str | None, int | None]]:
    return [(None, None), *conn.execute(select(m.IcpArea.name, m.IcpArea.id).order_by(m.IcpArea.id)).all()]


def shown(value):
    return None if value is None or pd.isna(value) else float(value)


def add_survey_page(release: Release, conn, sid: int, as_at: dt.date, start: dt.date, per_view: bool = False) -> None:
    """Everything one survey's page publishes about its responses in every view, added to the release. per_view: as
    the page was before (each view protected on its own: the frame's cross-view choice taken away)."""
    info = survey(conn, sid)
    days = pd.date_range(info["opens_on"], info["closes_on"], freq="D")
    keys = [k for k in release.cells.index if k[0] == sid]
    for name, area in views(conn):
        filters = Filters(name, start, as_at)
        mine = [k for k in keys if area is None or k[3] == area]
        if not mine:
            continue
        daily = responses_by_day(conn, sid, filters)
        if per_view:
            daily.attrs = {}
        glance = survey_summary(conn, filters).set_index("id")
        target = None if sid not in glance.index or pd.isna(glance.loc[sid, "target"]) else int(
            glance.loc[sid, "target"])
        prog = progress_against_target(daily, info["opens_on"], info["closes_on"], target, as_at)
        verdict = target_verdict(prog, target, as_at)
        for i, day in enumerate(days):
            release.add((sid, name, "day", day), [k for k in mine if k[1] == day], prog["responses"].iloc[i])
            if day <= pd.Timestamp(as_at):
                release.add((sid, name, "so far", day), [k for k in mine if days[0] <= k[1] <= day],
                            prog["cumulative"].iloc[i])
        so_far = [k for k in mine if days[0] <= k[1] <= pd.Timestamp(as_at)]
        stated = None if "at least" in verdict["sentence"] or d.is_small(verdict["responses"]) else \
            verdict["responses"]
        release.add((sid, name, "sentence"), so_far, stated)
        total = sum(release.cells[k] for k in mine)
        figure = None if prog.attrs.get("total_hidden") or d.is_small(total) else total
        release.add((sid, name, "Responses"), mine, figure)
        if not per_view and sid in glance.index:
            release.add((sid, name, "glance"), mine, shown(glance.loc[sid, "responses"]))
        weekly = responses_by_week(daily, info["opens_on"], info["closes_on"], as_at, m.CHANNELS_SURVEY)
        for row in weekly.itertuples():
            week = [k for k in mine if k[2] == row.channel and row.week <= k[1] < row.week + pd.Timedelta(days=7)]
            release.add((sid, name, "week", row.week, row.channel), week, shown(row.responses))
        for channel, value in weekly.attrs["totals"].items():
            release.add((sid, name, "channel", channel), [k for k in mine if k[2] == channel], value)
        release.add((sid, name, "all responses"), mine, weekly.attrs["total"])


def build_two_area_survey(engine, per_day: list[tuple[int, int]]) -> None:
    """The tiny store with survey 3 (open 1 and 2 March 2025), answered online each day by (East Kent, West Kent)
    people: small area A2 (East Kent) and B2 (West Kent)."""
    build_tiny_store(engine)
    rows, rid = [], 5000
    with engine.begin() as conn:
        conn.execute(insert(m.Survey.__table__), [dict(
            id=3, title="Two areas", project="Test", opens_on=dt.date(2025, 3, 1), closes_on=dt.date(2025, 3, 2),
            target_responses=None, is_panel_survey=False)])
        for day, (east, west) in enumerate(per_day, start=1):
            for lsoa, n in (("A2", east), ("B2", west)):
                for _ in range(n):
                    rid += 1
                    rows.append(dict(id=rid, survey_id=3, external_id=f"v{rid}", channel="Online", lsoa_code=lsoa,
                                     submitted_at=dt.datetime(2025, 3, day, 12), birth_year=1980, sex="Female",
                                     ethnic_group="White", disability="Not disabled"))
        conn.execute(insert(m.SurveyResponse.__table__), rows)


def test_a_day_hidden_in_one_area_is_not_the_all_areas_day_less_the_other(engine):
    # East Kent 10 and 6, West Kent 2 and 7 on 1 and 2 March. Each view on its own: West Kent's 2 is hidden with its
    # 7 (9 - 7 = 2), but all areas' 12 on 1 March less East Kent's 10 gives the 2 away.
    build_two_area_survey(engine, [(10, 2), (6, 7)])
    as_at, start = dt.date(2025, 3, 2), dt.date(2025, 3, 1)
    with engine.connect() as conn:
        cells = raw_cells(conn, {3})
        old = Release(cells)
        add_survey_page(old, conn, 3, as_at, start, per_view=True)
        assert ((3, "West Kent", "day", pd.Timestamp("2025-03-01")), 2.0) in old.leaks()
        new = Release(cells)
        add_survey_page(new, conn, 3, as_at, start)
        assert new.leaks() == []
        # By hand (totals first, then the largest): all areas' 25 and East Kent's 16 and West Kent's 9 are shown;
        # all areas' 13 on 2 March too (with the totals it gives neither area's day); its 12 on 1 March is then
        # 25 - 13 and adds nothing; East Kent's 10 would give the 2 (12 - 10), so it goes, and so do West Kent's 7
        # (9 - 7) and East Kent's 6 (13 - 6 = 7, then 9 - 7).
        got = {}
        for name in (None, "East Kent", "West Kent"):
            daily = responses_by_day(conn, 3, Filters(name, start, as_at))
            prog = progress_against_target(daily, start, as_at, None, as_at)
            got[name] = ([None if pd.isna(v) else int(v) for v in prog["responses"]],
                         [None if pd.isna(v) else int(v) for v in prog["cumulative"]])
        assert got == {None: ([12, 13], [12, 25]), "East Kent": ([None, None], [None, 16]),
                       "West Kent": ([None, None], [None, 9])}


def test_every_survey_page_of_the_demo_store_publishes_nothing_determined_across_views(demo7):
    as_at, start = dt.date(2026, 11, 15), dt.date(2025, 11, 16)
    with demo7.connect() as conn:
        ids = [i for (i,) in conn.execute(select(m.Survey.id).where(m.Survey.opens_on <= as_at).order_by(m.Survey.id))]
        cells = raw_cells(conn)
        checked = 0
        for sid in ids:
            release = Release(cells[[k[0] == sid for k in cells.index]])
            add_survey_page(release, conn, sid, as_at, start)
            assert release.leaks() == [], sid
            checked += 1
        assert checked >= 10


# --- the overview's survey responses each month, beside the survey pages -------------------------------------

def add_months(release: Release, conn, as_at: dt.date, old: bool = False) -> None:
    """The overview's survey responses each month in every view, as published (the chart is drawn only where no month
    is hidden or small: otherwise none of it is published). old: as before, every month as counted."""
    for name, area in views(conn):
        frame = responses_by_month(conn, Filters(name, as_at, as_at))
        column = "responses" if old else "published"
        drawn = not frame[column].map(lambda v: pd.isna(v) or d.is_small(v)).any()
        for row in frame.itertuples():
            month = [k for k in release.cells.index if (area is None or k[3] == area)
                     and k[1].to_period("M").start_time == row.month]
            release.add(("month", name, row.month), month, getattr(row, column) if drawn else None)


def build_two_surveys(engine) -> None:
    """The tiny store without its own responses, and two surveys answered in East Kent (small area A2): survey 3 open
    31 March to 2 April 2025 (2, 10 and 10 responses) and survey 4 open in March 2025 (20 on 1 March)."""
    build_tiny_store(engine)
    rows, rid = [], 6000
    with engine.begin() as conn:
        conn.execute(m.Answer.__table__.delete())
        conn.execute(m.SurveyResponse.__table__.delete())
        conn.execute(insert(m.Survey.__table__), [
            dict(id=3, title="Spring", project="Test", opens_on=dt.date(2025, 3, 31), closes_on=dt.date(2025, 4, 2),
                 target_responses=None, is_panel_survey=False),
            dict(id=4, title="March", project="Test", opens_on=dt.date(2025, 3, 1), closes_on=dt.date(2025, 3, 31),
                 target_responses=None, is_panel_survey=False)])
        for sid, day, n in ((3, dt.date(2025, 3, 31), 2), (3, dt.date(2025, 4, 1), 10), (3, dt.date(2025, 4, 2), 10),
                            (4, dt.date(2025, 3, 1), 20)):
            for _ in range(n):
                rid += 1
                rows.append(dict(id=rid, survey_id=sid, external_id=f"w{rid}", channel="Online", lsoa_code="A2",
                                 submitted_at=dt.datetime.combine(day, dt.time(12)), birth_year=1980, sex="Female",
                                 ethnic_group="White", disability="Not disabled"))
        conn.execute(insert(m.SurveyResponse.__table__), rows)


def test_a_month_less_the_other_surveys_gives_no_hidden_day_away(engine):
    # March 2025 had 22 responses: survey 4's 20 (shown on its page) and survey 3's 2 on 31 March (hidden there).
    # Before, the overview charted March as 22, so 22 - 20 gave the 2 away. Now survey 3's March (2) is small, so
    # the months of the views that count it (all areas and East Kent) are not drawn; the other areas have none.
    build_two_surveys(engine)
    as_at = dt.date(2025, 4, 30)
    with engine.connect() as conn:
        cells = raw_cells(conn)
        old = Release(cells)
        for sid in (3, 4):
            add_survey_page(old, conn, sid, as_at, as_at, per_view=True)
        add_months(old, conn, as_at, old=True)
        assert ((3, None, "day", pd.Timestamp("2025-03-31")), 2.0) in old.leaks()
        new = Release(cells)
        for sid in (3, 4):
            add_survey_page(new, conn, sid, as_at, as_at)
        add_months(new, conn, as_at)
        assert new.leaks() == []
        for name in (None, "East Kent"):
            frame = responses_by_month(conn, Filters(name, as_at, as_at)).set_index("month")
            assert frame.loc[pd.Timestamp("2025-03-01"), "responses"] == 22  # for the verdict only
            assert frame["published"].isna().all()
        west = responses_by_month(conn, Filters("West Kent", as_at, as_at))
        assert (west["published"] == 0).all()


def test_the_demo_store_survey_pages_and_monthly_responses_publish_nothing_determined(demo7):
    as_at, start = dt.date(2026, 11, 15), dt.date(2025, 11, 16)
    with demo7.connect() as conn:
        cells = raw_cells(conn)
        release = Release(cells)
        for (sid,) in conn.execute(select(m.Survey.id).where(m.Survey.opens_on <= as_at).order_by(m.Survey.id)):
            add_survey_page(release, conn, sid, as_at, start)
        add_months(release, conn, as_at)
        assert sum(v is not None for name, _, v in release.numbers if name[0] == "month") >= 24  # drawn somewhere
        assert release.leaks() == []


def test_under_the_hes_rule_every_view_shows_rounded_counts_only(demo7, monkeypatch):
    monkeypatch.setenv("DISCLOSURE_RULE", "hes")
    as_at, start = dt.date(2026, 11, 15), dt.date(2025, 11, 16)
    with demo7.connect() as conn:
        ids = [i for (i,) in conn.execute(select(m.Survey.id).where(m.Survey.opens_on <= as_at).order_by(m.Survey.id))]
        seen = 0
        for sid in ids[:4]:
            info = survey(conn, sid)
            for name, _ in views(conn):
                daily = responses_by_day(conn, sid, Filters(name, start, as_at))
                prog = progress_against_target(daily, info["opens_on"], info["closes_on"], None, as_at)
                weekly = responses_by_week(daily, info["opens_on"], info["closes_on"], as_at, m.CHANNELS_SURVEY)
                # the channel sentence states its totals with format_count (rounded): as the chart words them
                stated = [*weekly.attrs["totals"].values(), weekly.attrs["total"]]
                numbers = [*prog["responses"], *prog["cumulative"], *weekly["responses"],
                           *[None if v is None else d.round_count(v) for v in stated]]
                for value in numbers:
                    if value is not None and not pd.isna(value):
                        assert value % 5 == 0 and not 0 < value < 8, (sid, name, value)
                        seen += 1
        for name, _ in views(conn):
            months = responses_by_month(conn, Filters(name, start, as_at))
            assert months["published"].notna().all()  # no secondary suppression under the HES rule: rounding
            assert (months["published"] % 5 == 0).all()
        assert seen > 100
