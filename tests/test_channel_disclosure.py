"""A survey's "How people responded" chart (responses per week and channel), its sentence (each channel's total and
all responses) and the progress chart beside it, checked by the independent auditor (tests/audit.py): nothing they
publish together gives a hidden count away, on the demo store in every view."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from charts.surveys import channel_chart
from data_access import models as m
from data_access.filters import Filters
from data_access.geography import icp_names
from data_access.models import CHANNELS_SURVEY
from data_access.surveys import progress_against_target, responses_by_day, responses_by_week, survey, target_verdict
from tests.audit import Release


@pytest.fixture(autouse=True)
def rule5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)


def week_of(day: pd.Timestamp) -> pd.Timestamp:
    """The Monday starting a day's week."""
    return (day - pd.Timedelta(days=day.weekday())).normalize()


def page_release(daily: pd.DataFrame, opens: dt.date, closes: dt.date, target: int | None, end: dt.date) -> Release:
    """Cells: responses per (day, channel). Published: each day's bar and the running total of the progress chart,
    the sentence's number so far (unless it says only 'at least'), the Responses figure; each week's bar per
    channel, each week's stack (taken as shown wherever its bars are: stricter than the page), each channel's total
    and all responses in the channel sentence."""
    cells = daily.groupby(["day", "channel"])["responses"].sum().astype(float)
    release = Release(cells)
    days = pd.date_range(opens, closes, freq="D")
    prog = progress_against_target(daily, opens, closes, target, end)
    verdict = target_verdict(prog, target, end)
    for i, day in enumerate(days):
        release.add(("day", day), [k for k in cells.index if k[0] == day], prog["responses"].iloc[i])
        if day <= pd.Timestamp(end):
            release.add(("so far", day), [k for k in cells.index if days[0] <= k[0] <= day], prog["cumulative"].iloc[i])
    happened = [k for k in cells.index if days[0] <= k[0] <= pd.Timestamp(end)]
    secret = "at least" in verdict["sentence"] or "fewer than" in verdict["sentence"]
    release.add("so far sentence", happened, None if secret else verdict["responses"])
    release.add("Responses figure", cells.index, None if prog.attrs["total_hidden"] else cells.sum())
    weekly = responses_by_week(daily, opens, closes, end, CHANNELS_SURVEY)
    chart = channel_chart(weekly, CHANNELS_SURVEY)
    for week, part in weekly.groupby("week"):
        for r in part.itertuples():
            release.add(("week", week, r.channel), [k for k in cells.index if week_of(k[0]) == week
                                                    and k[1] == r.channel], r.responses)
        release.add(("week", week), [k for k in cells.index if week_of(k[0]) == week],
                    None if part["responses"].isna().any() else part["responses"].sum())
    for channel, n in weekly.attrs["totals"].items():
        release.add(("channel", channel), [k for k in cells.index if k[1] == channel], n)
        if n is not None:
            assert f"{channel.lower()} {n:,}" in chart.sentence
    release.add("channel sentence total", cells.index, weekly.attrs["total"])
    return release


def test_channel_chart_and_progress_chart_publish_nothing_determined_on_the_demo_store(demo7):
    end = dt.date(2026, 11, 15)
    checked, hidden_any = 0, False
    with demo7.connect() as conn:
        ids = [sid for (sid,) in conn.execute(select(m.Survey.id))]
        for icp in [None, *icp_names(conn)]:
            for sid in ids:
                info = survey(conn, sid)
                daily = responses_by_day(conn, sid, Filters(icp, dt.date(2025, 11, 16), end))
                if info["opens_on"] > end or daily.empty:
                    continue
                release = page_release(daily, info["opens_on"], info["closes_on"], info["target_responses"], end)
                hidden_any |= any(value is None for _, _, value in release.numbers)
                assert release.leaks() == [], (sid, icp)
                checked += 1
    assert checked >= 10 and hidden_any


def test_a_channel_total_beside_the_days_gives_nothing_away():
    # Week 1: online 10 on Monday, paper 3 on Tuesday; week 2: online 10 and paper 10 on Monday. With online's total
    # (20) and the first Monday (10, online only), online in week 2 is 20 - 10 = 10, so paper in week 2 is the second
    # Monday's 20 - 10 = 10, and paper in week 1 is paper's total 13 - 10 = 3: these must not all be shown.
    daily = pd.DataFrame({"day": pd.to_datetime(["2025-03-03", "2025-03-04", "2025-03-10", "2025-03-10"]),
                          "channel": ["Online", "Paper", "Online", "Paper"], "responses": [10, 3, 10, 10]})
    release = page_release(daily, dt.date(2025, 3, 3), dt.date(2025, 3, 16), 100, dt.date(2025, 3, 16))
    assert release.leaks() == []
    weekly = responses_by_week(daily, dt.date(2025, 3, 3), dt.date(2025, 3, 16), dt.date(2025, 3, 16), CHANNELS_SURVEY)
    assert weekly.loc[(weekly["week"] == pd.Timestamp("2025-03-03")) & (weekly["channel"] == "Paper"),
                      "responses"].isna().all()
    assert "Figures of fewer than 5 responses are not shown" in channel_chart(weekly, CHANNELS_SURVEY).sentence
