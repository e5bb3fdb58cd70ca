"""Charts on small hand-made frames: the figure's data and the sentence's numbers."""

import datetime as dt
import json

import pandas as pd
import pytest

from charts.maps import core20_by_icp_chart, decile_colour, deprivation_map_chart
from charts.networks import joiners_and_leavers, members_over_time
from charts.representation import representation_chart
from charts.surveys import channel_chart, progress_chart
from charts.theme import SERIES_COLOURS, pct, signed
from data_access.profiles import representation
from data_access.surveys import progress_against_target, responses_by_week, target_verdict
from tests.factories import square

MONTHS = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"])


def test_members_over_time_one_line_per_network():
    frame = pd.DataFrame({
        "network": ["A"] * 3 + ["B"] * 3, "month": list(MONTHS) * 2, "members": [10, 12, 15, 5, 5, 4]})
    chart = members_over_time(frame, "Kent and Medway")
    assert [t.name for t in chart.figure.data] == ["A", "B"]
    assert list(chart.figure.data[0].y) == [10, 12, 15]
    assert chart.figure.data[0].line.dash != chart.figure.data[1].line.dash  # not colour alone
    assert "from 15 at the end of January 2025 to 19 by March 2025 (+4)" in chart.sentence
    assert "largest is the A with 15 members" in chart.sentence
    assert list(chart.data["month"]) == ["January 2025", "February 2025", "March 2025"] * 2


def test_joiners_and_leavers_bars_and_sentence():
    totals = pd.DataFrame({"month": MONTHS, "joiners": [5, 9, 2], "leavers": [1, 3, 4]})
    totals["net"] = totals["joiners"] - totals["leavers"]
    chart = joiners_and_leavers(totals, "East Kent")
    joined, left, net = chart.figure.data
    assert list(joined.y) == [5, 9, 2] and list(left.y) == [-1, -3, -4] and list(net.y) == [4, 6, -2]
    assert "16 people joined a network in East Kent and 8 left, a net change of +8" in chart.sentence
    assert "most joined in February 2025 (9)" in chart.sentence


def test_empty_network_frame_says_so():
    frame = pd.DataFrame(columns=["network", "month", "members"])
    frame["month"] = pd.to_datetime(frame["month"])
    assert "no network members" in members_over_time(frame, "West Kent").sentence


def test_representation_chart_shares_and_sentence(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    engaged = pd.DataFrame({"group": ["16-24", "65+", "Not known"], "count": [10, 30, 5]})
    residents = pd.DataFrame({"group": ["16-24", "65+"], "residents": [500, 500]})
    rep = representation(engaged, residents, "age_band")
    chart = representation_chart(rep, "respondents", "Age band", "Kent and Medway")
    residents_bar, engaged_bar = chart.figure.data
    assert list(residents_bar.y) == ["16-24", "65+"]
    assert list(residents_bar.x) == pytest.approx([50, 50])
    assert list(engaged_bar.x) == pytest.approx([25, 75])
    assert list(engaged_bar.text) == ["×0.50", "×1.50"]
    assert ("16-24 are 50% of residents but 25% of respondents (ratio 0.50, the least well represented)"
            in chart.sentence)
    assert "5 respondents did not say" in chart.sentence


def test_progress_chart_uses_the_trajectory(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    daily = pd.DataFrame({"day": pd.to_datetime(["2025-03-01", "2025-03-02"]), "channel": ["Online", "Paper"],
                          "responses": [3, 1]})
    progress = progress_against_target(daily, dt.date(2025, 3, 1), dt.date(2025, 3, 4), 8, dt.date(2025, 3, 2))
    verdict = target_verdict(progress, 8, dt.date(2025, 3, 2))
    chart = progress_chart(progress, verdict, "Test survey")
    bars, cumulative, trajectory = chart.figure.data
    assert list(trajectory.y) == [2, 4, 6, 8]
    assert list(cumulative.y[:2]) == [3, 4] and all(pd.isna(cumulative.y[2:]))
    assert chart.sentence == "Test survey: On track: 4 responses against the 4 needed by now to reach the target of 8."


def test_channel_chart_hides_small_weeks_and_channels(monkeypatch):
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)
    daily = pd.DataFrame({"day": pd.to_datetime(["2025-03-03", "2025-03-04", "2025-03-11"]),
                          "channel": ["Online", "Paper", "Online"], "responses": [6, 2, 2]})
    weekly = responses_by_week(daily, dt.date(2025, 3, 3), dt.date(2025, 3, 16), dt.date(2025, 3, 16),
                               ["Online", "Paper", "Event", "Phone"])
    chart = channel_chart(weekly, ["Online", "Paper", "Event", "Phone"])
    # By hand: the cells are 6 (online, week 1), 2 (paper, week 1) and 2 (online, week 2); the 2s are hidden. The
    # numbers are offered largest first: all 10 is shown; online's 8 with the 10 gives paper's 2 (10 - 8) and week 1's
    # 8 gives week 2's 2, so both 8s are hidden; the 6 with the 10 leaves 2 + 2 = 4, which gives neither 2 away, so
    # online's week-1 bar is shown. Nothing else can be shown: every other bar is a 2.
    bars = {t.name: list(t.y) for t in chart.figure.data}
    assert bars["Online"][0] == 6 and pd.isna(bars["Online"][1]) and pd.isna(bars["Paper"][0])
    assert chart.sentence == ("Of 10 responses: online not shown, paper fewer than 5. Figures of fewer than 5 "
                              "responses are not shown, nor others from which they could be worked out.")
    from tests.test_channel_disclosure import page_release
    assert page_release(daily, dt.date(2025, 3, 3), dt.date(2025, 3, 16), 100, dt.date(2025, 3, 16)).leaks() == []


def test_channel_chart_shares(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    daily = pd.DataFrame({"day": pd.to_datetime(["2025-03-03", "2025-03-04", "2025-03-11"]),
                          "channel": ["Online", "Paper", "Online"], "responses": [6, 2, 2]})
    weekly = responses_by_week(daily, dt.date(2025, 3, 3), dt.date(2025, 3, 16), dt.date(2025, 3, 16),
                               ["Online", "Paper", "Event", "Phone"])
    chart = channel_chart(weekly, ["Online", "Paper", "Event", "Phone"])
    online = chart.figure.data[0]
    assert list(online.y) == [6, 2]  # two weeks
    assert chart.sentence == "Of 10 responses: online 8 (80%), paper 2 (20%)."


def test_decile_colours_run_dark_to_light():
    dark, light = decile_colour(1), decile_colour(10)
    assert sum(dark[:3]) < sum(light[:3])
    assert decile_colour(None)[:3] == [200, 200, 200]


def test_map_chart_features_tooltip_and_sentence():
    areas = pd.DataFrame({
        "code": ["A1", "A2"], "name": ["Area A1", "Area A2"], "district": ["Thanet", "Canterbury"],
        "icp": ["East Kent"] * 2, "imd_decile": [1, 6], "crime_decile": [3, 4], "local_rank": [1, 2],
        "population": [1000, 3000], "longitude": [1.0, 1.02], "latitude": [51.0, 51.0],
        "geometry": [square(1.0, 51.0), square(1.02, 51.0)],
        "members": [12, None], "members_per_1000": [12.0, None], "respondents": [None, 40], "panel": [6, 7],
    })
    chart = deprivation_map_chart(areas, pd.DataFrame({"icp": ["East Kent"], "geometry": [square(1, 51)]}),
                                  "East Kent")
    spec = json.loads(chart.figure.to_json())
    layer = next(lay for lay in spec["layers"] if lay["id"] == "small-areas")
    props = [f["properties"] for f in layer["data"]["features"]]
    assert [p["decile"] for p in props] == [1, 6]
    assert props[0]["fill"][:3] == decile_colour(1)[:3]
    assert props[1]["members"] == "not shown"  # suppressed upstream (small, or could be worked out), said plainly
    assert any(lay["id"] == "icp-outlines" for lay in spec["layers"])
    assert chart.sentence.startswith("East Kent has 2 small areas (LSOAs). 1 of them (50%) are among the most")
    assert "home to 1,000 of 4,000 residents (25%)" in chart.sentence
    crime = deprivation_map_chart(areas, pd.DataFrame(columns=["icp", "geometry"]), "East Kent", "crime_decile")
    crime_props = json.loads(crime.figure.to_json())["layers"][0]["data"]["features"]
    assert [f["properties"]["decile"] for f in crime_props] == [3, 4]


def test_core20_by_icp_chart():
    profile = pd.DataFrame({"icp": ["East Kent", "West Kent"], "lsoas": [2, 2], "population": [3000, 3000],
                            "core20_lsoas": [1, 1], "core20_population": [1000, 1500],
                            "core20_share": [1 / 3, 0.5], "decile_1_lsoas": [1, 0]})
    chart = core20_by_icp_chart(profile)
    assert list(chart.figure.data[0].x) == pytest.approx([100 / 3, 50])
    assert chart.sentence.startswith("West Kent has the highest share of residents living in Core20 areas: 50% "
                                     "(1,500 of 3,000). East Kent has the lowest: 33%.")


def test_palette_and_helpers():
    assert "#41B6E6" not in SERIES_COLOURS and "#FFB81C" not in SERIES_COLOURS  # under 3:1 on white
    assert pct(0.125) == "12%" and pct(None) == "not known" and signed(3) == "+3" and signed(0) == "0"


def test_panel_sentence_names_each_unstated_group_with_its_count_or_why_not_shown():
    import numpy as np

    from charts.panel import dimension_sentence
    from data_access.representativeness import WITHIN, Tolerance

    table = pd.DataFrame({
        "group": ["Female", "Male", "Not known", "Prefer not to say"],
        "stated": [True, True, False, False],
        "count": [40.0, 38.0, np.nan, 12.0],
        "small": [False, False, True, False],
        "share": [0.51, 0.49, np.nan, np.nan],
        "resident_share": [0.51, 0.49, np.nan, np.nan],
        "status": [WITHIN, WITHIN, None, None],
    })
    text = dimension_sentence(table, "Sex", "Kent and Medway", Tolerance())
    assert text.endswith("Left out of the shares (group not stated): not known, fewer than 5; "
                         "prefer not to say, 12.")
