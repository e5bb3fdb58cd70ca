"""Under DISCLOSURE_RULE=hes every count that reaches a sentence, hover, table or download is rounded to 5, and
1-7 is '*' (issue #14: some were still exact). Counts worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from charts.panel import size_chart
from charts.questions import likert_chart, themes_chart


@pytest.fixture(autouse=True)
def hes(monkeypatch):
    monkeypatch.setenv("DISCLOSURE_RULE", "hes")


def test_wrote_an_answer_is_rounded():
    summary = {"themes": pd.DataFrame({"theme": ["Parking"], "answers": [pd.NA], "share": [float("nan")]}),
               "answers": 23}
    sentence = themes_chart(summary, "What would help?").sentence
    assert "25 people wrote an answer" in sentence and "23" not in sentence
    summary["answers"] = 6
    assert "* people wrote an answer" in themes_chart(summary, "What would help?").sentence


def test_answered_column_of_the_download_is_rounded():
    # 23 answered (rounded to 25); a group of 6 (shown as * : missing in the download)
    frame = pd.DataFrame({"row": ["Q"] * 2, "option": ["Agree", "Disagree"], "count": [15, 10],
                          "n": [23, 23], "share": [15 / 23, 10 / 23]})
    table = likert_chart(frame, ["Disagree", "Agree"], "Q?").data
    assert table["answered"].tolist() == [25, 25]
    small = frame.assign(n=6)
    assert likert_chart(small, ["Disagree", "Agree"], "Q?").data["answered"].isna().all()


def test_members_serving_are_rounded_in_chart_hover_and_table():
    sizes = pd.DataFrame({"day": [dt.date(2026, 9, 30), dt.date(2026, 10, 31)], "members": [1_998, 2_003],
                          "recorded": [True, True]})
    chart = size_chart(sizes, 2_000, "Kent and Medway")
    assert list(chart.figure.data[0].y) == [2_000, 2_005]  # 1,998 -> 2,000; 2,003 -> 2,005
    assert chart.data["Panel members"].tolist() == ["2,000", "2,005"]
    assert chart.data["Against target"].tolist() == ["+0", "+5"]
    assert "1,998" not in chart.sentence and "2,003" not in chart.sentence


def test_panel_joiners_are_rounded(sqlite_engine):
    from data_access.demo import seed_demo
    from data_access.filters import Filters
    from data_access.panel_history import joiners_by_wave, wave_totals

    seed_demo(sqlite_engine, seed=7)
    filters = Filters(None, dt.date(2025, 11, 16), dt.date(2026, 11, 15))
    with sqlite_engine.connect() as conn:
        by_group = joiners_by_wave(conn, "age_band", filters)
        totals = wave_totals(conn, filters)
    shown = by_group["joiners"].dropna().astype(int)
    assert len(shown) and (shown % 5 == 0).all()
    assert len(totals) and (totals["joiners"] % 5 == 0).all()
