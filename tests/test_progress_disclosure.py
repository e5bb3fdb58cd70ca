"""A survey's progress chart (responses per day and so far), its sentence and the Responses figure, checked by
the independent auditor (tests/audit.py): within one view, nothing they publish together gives a hidden day away."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from data_access import disclosure as d
from data_access import models as m
from data_access.filters import Filters
from data_access.geography import icp_names
from data_access.surveys import progress_against_target, responses_by_day, survey, target_verdict
from tests.audit import Release


@pytest.fixture(autouse=True)
def rule5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)


def release_of(per_day: list[int], prog: pd.DataFrame, verdict: dict, outside: int = 0) -> Release:
    """The days (and responses outside them) as cells; published: each day, the running total on each day shown,
    the number so far in the sentence (unless it says only 'at least'), and all responses (the Responses
    figure, as the page shows it)."""
    n = len(per_day)
    cells = pd.Series(per_day + [outside], index=list(range(n)) + ["outside"], dtype=float)
    release = Release(cells)
    for i in range(n):
        release.add(("day", i), [i], prog["responses"].iloc[i])
        release.add(("so far", i), range(i + 1), prog["cumulative"].iloc[i])
    happened = int((prog["day"] <= pd.Timestamp(verdict["as_at"])).sum())
    stated = None if "at least" in verdict["sentence"] or d.is_small(verdict["responses"]) else verdict["responses"]
    release.add("sentence", range(happened), stated)
    total = sum(per_day) + outside
    release.add("Responses", cells.index, None if prog.attrs.get("total_hidden") or d.is_small(total) else total)
    return release


def progress(per_day: list[int], as_at_day: int, target: int = 100):
    opens = dt.date(2025, 3, 1)
    days = pd.date_range(opens, periods=len(per_day), freq="D")
    daily = pd.DataFrame({"day": days, "channel": "Online", "responses": per_day})
    as_at = opens + dt.timedelta(days=as_at_day - 1)
    prog = progress_against_target(daily, opens, days[-1].date(), target, as_at)
    verdict = target_verdict(prog, target, as_at) | {"as_at": as_at}
    return prog, verdict


def test_old_running_total_rule_leaks_beside_the_daily_bars():
    # 10, 3, 6, 0: the old rule showed the bars 10 and 6 and the running total 10 and 19 (9 on from 10), so
    # 19 - 10 - 6 gave the hidden 3 away.
    per_day = [10, 3, 6, 0]
    old = pd.DataFrame({"day": pd.date_range("2025-03-01", periods=4), "responses": [10, None, 6, 0],
                        "cumulative": d.suppress_running_total(per_day)})
    assert d.suppress_running_total(per_day) == [10, None, 19, 19]
    verdict = {"as_at": dt.date(2025, 3, 4), "responses": 19, "sentence": "19 so far"}
    assert release_of(per_day, old, verdict).leaks() == [(("day", 1), 3.0)]
    prog, verdict = progress(per_day, 4)
    assert release_of(per_day, prog, verdict).leaks() == []


def test_so_far_sentence_no_more_precise_than_the_chart():
    # 10, 6, 2 to day 3: the old sentence said 18 so far while the chart's last point shown was 16 (day 2):
    # 18 - 16 gave the 2. Now the sentence says no more than the chart shows.
    per_day = [10, 6, 2]
    old = pd.DataFrame({"day": pd.date_range("2025-03-01", periods=3), "responses": [10, 6, None],
                        "cumulative": d.suppress_running_total(per_day)})
    assert d.suppress_running_total(per_day) == [10, 16, None]
    verdict = {"as_at": dt.date(2025, 3, 3), "responses": 18, "sentence": "Behind: 18 so far"}
    assert ("day", 2) in [name for name, _ in release_of(per_day, old, verdict).leaks()]
    prog, verdict = progress(per_day, 3)
    assert release_of(per_day, prog, verdict).leaks() == []
    # By hand: 18 - 10 - 6 gives the 2, so the 6 (the smallest other) goes; then 18 - 16 gives it, so the 16
    # goes too. Shown: the 10 (a day and its running total) and the 18 so far; 6 + 2 = 8 gives neither.
    assert [None if pd.isna(v) else int(v) for v in prog["responses"]] == [10, None, None]
    assert [None if pd.isna(v) else int(v) for v in prog["cumulative"]] == [10, None, 18]
    assert verdict["sentence"] == "Target missed: 18 responses against the target of 100."


def test_progress_publishes_nothing_determined_on_the_demo_store(demo7):
    end = dt.date(2026, 11, 15)
    checked = 0
    with demo7.connect() as conn:
        ids = list(conn.execute(select(m.Survey.id)))
        for icp in [None, *icp_names(conn)]:
            filters = Filters(icp, dt.date(2025, 11, 16), end)
            for (sid,) in ids:
                info = survey(conn, sid)
                if info["opens_on"] > end:
                    continue
                daily = responses_by_day(conn, sid, filters)
                days = pd.date_range(info["opens_on"], info["closes_on"], freq="D")
                per_day = [int(daily.loc[daily["day"] == day, "responses"].sum()) for day in days]
                outside = int(daily["responses"].sum()) - sum(per_day)
                prog = progress_against_target(daily, info["opens_on"], info["closes_on"],
                                               info["target_responses"], end)
                verdict = target_verdict(prog, info["target_responses"], end) | {"as_at": end}
                assert release_of(per_day, prog, verdict, outside).leaks() == [], (sid, icp)
                checked += 1
    assert checked >= 10
