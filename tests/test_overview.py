"""Overview figures, reach gaps and key messages on the tiny hand-made store (tests/factories.py), on SQLite and
PostgreSQL. Every expected number is worked out by hand from the store's description."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import insert

from charts.overview import (
    READING_EASE_TARGET, gap_sentence, headline_figures, key_messages, overview_verdicts, reading_ease,
)
from data_access import models as m
from data_access.definitions import DEFINITIONS, help_text
from data_access.filters import Filters
from data_access.overview import last_months, overview
from data_access.reach_gaps import all_gaps, reach_gaps
from tests.factories import build_tiny_store

Q1 = Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
Q1_EAST = Filters("East Kent", dt.date(2025, 1, 1), dt.date(2025, 3, 31))
MID_SURVEY = Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 5))


@pytest.fixture
def store(engine):
    build_tiny_store(engine)
    return engine


@pytest.fixture
def no_suppression(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")


def add_respondents(engine, n: int = 40) -> None:
    """n more responses to survey 1 on 2 March 2025: women born in 1950 (aged 75) living in A2 (IMD decile 6)."""
    with engine.begin() as conn:
        conn.execute(insert(m.SurveyResponse.__table__), [
            dict(id=100 + i, survey_id=1, external_id=f"x{i}", submitted_at=dt.datetime(2025, 3, 2, 12), channel="Online",
                 lsoa_code="A2", birth_year=1950, sex="Female", ethnic_group="White", disability="Not disabled")
            for i in range(n)])


def test_last_three_months_are_whole_months():
    assert last_months(Q1) == Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    june = Filters(None, dt.date(2025, 1, 1), dt.date(2026, 6, 30))
    assert last_months(june).start == dt.date(2026, 4, 1)


def test_overview_figures(store):
    with store.connect() as conn:
        ov = overview(conn, Q1)
    # members on 31 March 2025: m1, m3, m5 (joined that day), m6, m7; m2 and m4 had left; none a year before
    assert (ov.headlines.members, ov.headlines.members_year_before) == (5, 0)
    assert ov.responses_quarter == 6 and ov.headlines.responses == 6
    # both surveys are shut on 31 March (one closed on 10 March, one opens in June)
    assert ov.tracking.empty and ov.headlines.open_surveys == 0
    assert ov.headlines.panel_members == 3
    # Core20: respondents 1 (A1) and 5 (B1) of 6 with an area; residents 2,500 of 6,000
    assert ov.core20_ratio == pytest.approx((2 / 6) / (2500 / 6000))
    assert len(ov.open_actions) == 0
    # monthly series: the 24 complete months to March 2025; joiners in Jan (m3, m4), Feb (m6, m7), Mar (m5)
    months = ov.network_months.set_index("month")
    assert len(months) == 24
    assert months.loc["2025-01-01", ["joiners", "leavers", "net"]].tolist() == [2, 0, 2]
    assert months.loc["2025-02-01", ["joiners", "leavers", "net"]].tolist() == [2, 1, 1]
    assert months.loc["2025-03-01", ["joiners", "leavers", "net"]].tolist() == [1, 1, 0]
    assert months.loc["2024-12-01", "joiners"] == 2
    assert ov.response_months.set_index("month").loc["2025-03-01", "responses"] == 6
    assert ov.response_months["responses"].sum() == 6


def test_open_survey_tracking(store):
    with store.connect() as conn:
        ov = overview(conn, MID_SURVEY)
        east = overview(conn, Filters("East Kent", MID_SURVEY.start, MID_SURVEY.end))
    # survey 1 runs 1-10 March with a target of 10: 5 are due by 5 March; 6 had come (5 from East Kent)
    row = ov.tracking.iloc[0]
    assert (row["title"], row["responses"], row["expected"], row["status"]) == ("Tiny survey", 6, 5, "on track")
    assert ov.headlines.open_surveys == 1 and (ov.surveys_on_track, ov.surveys_behind) == (1, 0)
    # East Kent had 5 of the 6, West Kent 1: all areas' 6 less East Kent's 5 would give West Kent's 1 away, so East
    # Kent's number so far (the smaller; the survey page's views are protected together) is not shown
    assert east.tracking.iloc[0]["responses"] is None
    assert "an unshown number of responses" in east.tracking.iloc[0]["sentence"]


def test_panel_dissimilarity_index(store):
    with store.connect() as conn:
        match = overview(conn, Q1).panel_match.set_index("dimension")
    # panel serving 31 March 2025: p1 25-34 (A1), p2 65+ (A2), p3 50-64 (B1); adults by band 800, 900, 1150, 1050,
    # 900 of 4,800: half the sum of |panel share - resident share| = 0.40625
    assert match.loc["age_band", "index"] == pytest.approx(0.5 * (800 / 4800 + abs(1 / 3 - 900 / 4800) + 1150 / 4800
                                                                  + abs(1 / 3 - 1050 / 4800) + abs(1 / 3 - 900 / 4800)))
    assert match.loc["age_band", "index"] == pytest.approx(0.40625)
    # IMD quintile 1 (A1 + B1 adults: 800 + 1,200), 3 (A2: 1,600), 5 (B2: 1,200); panel 2/3 in quintile 1, 1/3 in 3
    assert match.loc["imd_quintile", "index"] == pytest.approx(0.25)
    assert match.loc["age_band", "members"] == 3


def test_reach_gaps_ranked_by_shortfall(store):
    add_respondents(store)
    with store.connect() as conn:
        gaps = all_gaps(conn, Q1)
    resp = gaps[gaps["source"] == "respondents"].set_index(["dimension", "group"])
    # respondents with a known age: 5 + 40 = 45; nobody aged 25-34 (residents 900 of 4,800 adults) or 50-64 (1,050)
    assert resp.loc[("age_band", "25-34"), "shortfall_pp"] == pytest.approx(900 / 4800 * 100)
    assert resp.loc[("age_band", "50-64"), "shortfall_pp"] == pytest.approx(1050 / 4800 * 100)
    # 35-49: 2 of 45, hidden, so ranked as 4 of 45 (never overstated)
    row = resp.loc[("age_band", "35-49")]
    assert bool(row["hidden"]) and row["shortfall_pp"] == pytest.approx((1150 / 4800 - 4 / 45) * 100)
    # 16-24: 1 of 45 (ranked as 4) is within chance of 800 / 4,800, so it is not listed
    assert ("age_band", "16-24") not in resp.index
    # men: none of 46 respondents, 2,950 of 6,000 residents
    assert resp.loc[("sex", "Male"), "shortfall_pp"] == pytest.approx(2950 / 6000 * 100)
    assert list(gaps["shortfall_pp"]) == sorted(gaps["shortfall_pp"], reverse=True)
    with store.connect() as conn:
        top = reach_gaps(conn, Q1)
    assert len(top) == 5
    assert top.iloc[0]["group"] == "Male"
    # IMD quintile 1: respondents 1 (A1) and 5 (B1), hidden, ranked as 4 of 46 against 2,500 of 6,000 residents
    assert top.iloc[1]["group"] == "1 (most deprived)"
    assert top.iloc[1]["shortfall_pp"] == pytest.approx((2500 / 6000 - 4 / 46) * 100)


def test_gap_sentences_carry_the_numbers_and_hide_small_counts(store):
    add_respondents(store)
    with store.connect() as conn:
        gaps = reach_gaps(conn, Q1)
    text = [gap_sentence(g, Q1) for g in gaps.itertuples()]
    assert text[0] == ("Men are 49% of residents in Kent and Medway but 0% of survey respondents (0 of 46 whose sex "
                       "is known, from 1 January 2025 to 31 March 2025).")
    assert text[1] == ("People living in the most deprived fifth of areas are 42% of residents in Kent and Medway but "
                       "fewer than 5 of the 46 survey respondents whose home area is known (from 1 January 2025 to "
                       "31 March 2025).")
    assert "People aged 50 to 64 are 22% of residents aged 16 and over in Kent and Medway but 0% of survey " \
           "respondents (0 of 45 whose age is known" in " ".join(text)
    for sentence in text:
        assert " 2 of " not in sentence and "4%" not in sentence  # the hidden count (2 people) never shows


def test_key_messages_carry_the_figures_and_hide_small_counts(store):
    with store.connect() as conn:
        ov = overview(conn, Q1)
        gaps = reach_gaps(conn, Q1)
    text = " ".join(key_messages(ov, gaps))
    # 0 members a year before is shown (zero reveals no one), and so is the change to 5
    assert "On 31 March 2025, our networks in Kent and Medway had 5 members. That is 5 more than a year before (0)." \
        in text
    assert "We had 6 survey responses from 1 January 2025 to 31 March 2025. Of these, 6 came in the last 3 months." \
        in text
    assert "The citizens' panel had fewer than 5 members. The target is 2,000." in text
    assert "poorest areas" not in text  # Core20 respondents: 2 people, so the share is not shown
    assert "in every 100 panel members" not in text  # the panel's mix is not described from 3 people
    with store.connect() as conn:
        early = Filters(None, dt.date(2024, 12, 1), dt.date(2025, 1, 10))
        text = " ".join(key_messages(overview(conn, early), reach_gaps(conn, early)))
    # 10 January 2025: m1, m2 and m3 are members - a small count, so neither it nor the change is shown
    assert "our networks in Kent and Medway had fewer than 5 members." in text
    assert "more than a year before" not in text


def test_key_messages_without_suppression(store, no_suppression):
    with store.connect() as conn:
        ov = overview(conn, Q1)
        gaps = reach_gaps(conn, Q1)
    text = " ".join(key_messages(ov, gaps))
    assert "That is 5 more than a year before (0)." in text
    assert "The citizens' panel had 3 members. The target is 2,000." in text
    assert ("42% of people here live in the poorest areas of England. But only 33% of the people who gave their area "
            "in a survey live there (2 of 6).") in text
    tiles = {t.key: t for t in headline_figures(ov, overview_verdicts(ov))}
    assert tiles["core20_ratio"].value == f"{(2 / 6) / (2500 / 6000):.2f}" == "0.80"
    assert tiles["panel_members"].value == "3"


def test_headline_tiles_use_the_one_definition(store):
    with store.connect() as conn:
        ov = overview(conn, Q1)
    tiles = headline_figures(ov, overview_verdicts(ov))
    assert [t.key for t in tiles] == ["members", "responses", "responses_quarter", "open_surveys", "panel_members",
                                      "dissimilarity", "core20_share", "core20_ratio", "open_actions"]
    for t in tiles:
        assert t.definition == help_text(t.key) and t.label == DEFINITIONS[t.key].label
    by_key = {t.key: t for t in tiles}
    assert by_key["panel_members"].value == "fewer than 5"
    assert by_key["core20_ratio"].value == "hidden" and by_key["dissimilarity"].value == "hidden"
    assert by_key["members"].verdict is not None and by_key["responses_quarter"].verdict is not None
    # net change each month is 0 for 21 months then 2, 1, 0: the verdict is worked out, the numbers are hidden
    assert by_key["members"].verdict.hidden


def test_key_messages_are_plain_english(store):
    add_respondents(store)
    with store.connect() as conn:
        for f in (Q1, Q1_EAST, MID_SURVEY):
            messages = key_messages(overview(conn, f), reach_gaps(conn, f))
            assert reading_ease(" ".join(messages)) >= READING_EASE_TARGET, messages
            assert max(len(s.split()) for s in " ".join(messages).split(". ")) <= 25  # short sentences


def test_panel_gaps_are_hidden_as_the_panel_page_hides_them(engine, monkeypatch):
    """33 panel members, 3 of them men: the men's gap is listed with their count hidden (small), and the panel
    match is worked out from the published sex table (men and women both hidden, so counted together)."""
    from tests.test_page_small_numbers import build_panel_extras

    for name in ("DISCLOSURE_RULE", "SMALL_NUMBER_THRESHOLD", "SPECIAL_CATEGORY_MIN_BASE"):
        monkeypatch.delenv(name, raising=False)
    build_tiny_store(engine)
    build_panel_extras(engine)
    with engine.connect() as conn:
        gaps = all_gaps(conn, Q1)
        ov = overview(conn, Q1)
    men = gaps[(gaps["source"] == "panel") & (gaps["group"] == "Male")].iloc[0]
    assert men["hidden"] and men["small"] and pd.isna(men["count"]) and pd.isna(men["share"])
    assert men["base"] == 33
    assert "are 49% of residents in Kent and Medway but fewer than 5 of the 33 citizens' panel members whose sex" \
        in gap_sentence(men, Q1)
    # sex: both groups hidden (the women's 30 would give the men's 3 away), so there is nothing to compare
    match = ov.panel_match.set_index("dimension")
    assert match.loc["sex", "members"] == 33 and pd.isna(match.loc["sex", "index"])
    # age band in 2025: 16-24 none, 25-34 5, 35-49 8, 50-64 8, 65+ 12 (all shown) against residents aged 16+
    # of 800, 900, 1,150, 1,050 and 900 (of 4,800): half the sum of the differences in shares
    panel, res = [0, 5, 8, 8, 12], [800, 900, 1150, 1050, 900]
    by_hand = 0.5 * sum(abs(p / 33 - r / 4800) for p, r in zip(panel, res))
    assert match.loc["age_band", "members"] == 33 and match.loc["age_band", "index"] == pytest.approx(by_hand)
    # disability: 22 stated, below the special-category base of 25: no index, and no disability gap
    assert pd.isna(match.loc["disability", "index"])
    assert gaps[(gaps["source"] == "panel") & (gaps["dimension"] == "disability")].empty


def test_gap_sentence_for_a_count_hidden_so_a_small_one_cannot_be_worked_out():
    from types import SimpleNamespace

    gap = SimpleNamespace(kind="panel", dimension="sex", group="Female", area="Kent and Medway", resident_share=0.9,
                          adults=True, hidden=True, small=False, count=None, share=None, base=40)
    assert gap_sentence(gap, Q1) == ("Women are 90% of residents aged 16 and over in Kent and Medway but a number (not "
                                     "shown) of the 40 citizens' panel members whose sex is known (on 31 March 2025).")


def test_survey_titles_are_plain_text_in_the_tracking_chart():
    """Plotly draws some HTML in labels: a typed title shows as typed (escaped), and the table keeps it as is."""
    from charts.overview import tracking_chart

    title = "<b>Bold</b> & <a href='x'>link</a>"
    tracking = pd.DataFrame([dict(id=1, title=title, closes_on=dt.date(2025, 4, 30), target=100, responses=40,
                                  expected=50.0, status="behind", sentence="Behind.")])
    chart = tracking_chart(tracking, Q1)
    escaped = "&lt;b&gt;Bold&lt;/b&gt; &amp; &lt;a href='x'&gt;link&lt;/a&gt;"
    assert [list(trace.y) for trace in chart.figure.data] == [[escaped]] * 3
    assert chart.data["Survey"].tolist() == [title]


def test_verdict_tiles_say_which_series_they_judge():
    """The members tile shows a size but its verdict is on the monthly net change; both verdicts name their series
    and the tiles' hover text gives the verdict's definition."""
    from types import SimpleNamespace

    from charts.overview import overview_verdicts
    from charts.spc import spc, xmr_chart  # noqa: F401 - the verdicts come from the same SPC

    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    ov = SimpleNamespace(
        network_months=pd.DataFrame({"month": months, "joiners": [20] * 24, "leavers": [10] * 24, "net": [10] * 24}),
        response_months=pd.DataFrame({"month": months, "responses": [100 + (i % 3) for i in range(24)]}),
        measures={})
    verdicts = overview_verdicts(ov)
    assert verdicts["members"].label.endswith("(net change in members each month)")
    assert verdicts["responses"].label.endswith("(survey responses each month)")
    assert DEFINITIONS["members_verdict"].text.startswith("Making Data Count verdict on the net change in members")


def test_a_split_district_in_an_icp_area_gap_says_which_part(monkeypatch):
    """Swale is split between Medway and Swale and East Kent: in an East Kent view its Core20 gap is about the part
    of Swale in East Kent (Faversham), and says so; Canterbury, wholly in East Kent, is named as it is."""
    from data_access import reach_gaps

    frame = pd.DataFrame({
        "area": ["Swale", "Canterbury", "East Kent"], "core20_share": [0.40, 0.10, 0.20],
        "members": [50, 80, 130], "members_core20": [10, 6, 16],
        "respondents": [0, 0, 0], "respondents_core20": [0, 0, 0], "panel": [0, 0, 0], "panel_core20": [0, 0, 0]})
    monkeypatch.setattr(reach_gaps, "core20_reach", lambda conn, filters, by, cells=None, raw=False: frame)
    east = Filters("East Kent", Q1.start, Q1.end)
    rows = {r["area"]: r for r in reach_gaps._core20_candidates(None, east)}
    assert set(rows) == {"the part of Swale in East Kent", "Canterbury"}
    from types import SimpleNamespace

    gap = SimpleNamespace(**rows["the part of Swale in East Kent"], share=10 / 50, small=None)
    assert gap_sentence(gap, east) == (
        "In the part of Swale in East Kent, 40% of residents live in the most deprived 20% of areas in England "
        "(Core20), but only 20% of network members there do (10 of 50 whose home area is known, on 31 March 2025).")
    # With all of Kent and Medway chosen, Swale is the whole district.
    whole = {r["area"] for r in reach_gaps._core20_candidates(None, Q1)}
    assert "Swale" in whole
