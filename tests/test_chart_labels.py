"""Typed text (network names, channels, survey and activity titles, groups, areas, answer options, themes)
reaches plotly labels escaped: plotly draws some HTML in text, so it is shown exactly as typed."""

import datetime as dt

import pandas as pd
import pytest

from charts import maps, networks, questions, representation, surveys
from data_access.surveys import responses_by_week

TYPED = "<b>Bold</b> & <i>x</i>"
ESCAPED = "&lt;b&gt;Bold&lt;/b&gt; &amp; &lt;i&gt;x&lt;/i&gt;"  # what plotly turns back into the typed text
MONTHS = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"])
SHOWN = ("name", "x", "y", "text", "customdata", "hovertemplate", "hovertext")


def shown_strings(figure) -> list[str]:
    """Every string plotly may draw as a label, tick, legend entry, text or hover."""
    found = []

    def walk(value):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif hasattr(value, "tolist") or isinstance(value, (list, tuple)):
            for v in (value.tolist() if hasattr(value, "tolist") else value):
                walk(v)
    for trace in figure.to_plotly_json()["data"]:
        for key in SHOWN:
            walk(trace.get(key))
    layout = figure.to_plotly_json()["layout"]
    for annotation in layout.get("annotations", []):
        walk(annotation.get("text"))
    return found


def assert_escaped(figure):
    strings = shown_strings(figure)
    assert not any("<b>Bold" in s or "<i>x" in s for s in strings), [s for s in strings if "Bold" in s]
    assert any(ESCAPED in s for s in strings)


def test_network_names_in_member_lines_growth_and_projection(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    frame = pd.DataFrame({"network": [TYPED] * 3 + ["B"] * 3, "month": list(MONTHS) * 2,
                          "members": [10, 12, 15, 5, 5, 4]})
    chart = networks.members_over_time(frame, "Kent and Medway")
    assert [t.name for t in chart.figure.data] == [ESCAPED, "B"]
    assert_escaped(chart.figure)
    recent = pd.DataFrame({"network": [TYPED, "B"], "window_start": [dt.date(2025, 2, 1)] * 2,
                           "window_end": [dt.date(2025, 3, 31)] * 2, "members_before": [12, 6], "members_end": [15, 5],
                           "joiners": [5, 1], "leavers": [2, 2], "net": [3, -1]})
    assert_escaped(networks.recent_growth_chart(recent, "Kent and Medway").figure)
    complete = frame.assign(net=frame.groupby("network")["members"].diff().fillna(0))
    projection = networks.project_sizes(frame, complete, {TYPED: 30}, MONTHS[-1])
    assert_escaped(networks.projection_chart(frame, projection, MONTHS[-1], "Kent and Medway").figure)


def test_recruitment_channels_and_groups(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    frame = pd.DataFrame({"month": MONTHS, "channel": [TYPED, TYPED, "Website"], "joiners": [4, 5, 6]})
    assert_escaped(networks.channel_joiners_chart(frame, "Kent and Medway", "all networks").figure)
    mix = pd.DataFrame({"channel": [TYPED, "Website"], "group": [TYPED, "Female"], "stated": [True, True],
                        "ratio": [1.2, 0.8], "share": [0.5, 0.5], "count": [5, 5], "residents": [100, 100],
                        "resident_share": [0.4, 0.6], "gap_pp": [10, -10], "suppressed": [False, False]})
    figure = networks.channel_mix_chart(mix, "Sex", "Kent and Medway").figure
    assert list(figure.data[0].x) == [ESCAPED, "Female"] and list(figure.data[0].y) == [ESCAPED, "Website"]


def test_survey_titles_activities_and_channels(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    days = pd.to_datetime(["2025-03-01", "2025-03-02"])
    progress = pd.DataFrame({"day": days, "responses": [3, 1], "cumulative": [3, 4], "trajectory": [2, 4]})
    activities = pd.DataFrame({"held_on": [dt.date(2025, 3, 2)], "kind": [TYPED], "title": [TYPED]})
    chart = surveys.progress_chart(progress, {"sentence": "On track."}, "Survey", activities)
    assert list(chart.figure.data[-1].text) == [ESCAPED] and list(chart.figure.data[-1].customdata) == [ESCAPED]
    daily = pd.DataFrame({"day": days, "channel": [TYPED, TYPED], "responses": [6, 2]})
    weekly = responses_by_week(daily, dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 2), [TYPED])
    assert_escaped(surveys.channel_chart(weekly, [TYPED]).figure)
    reach = pd.DataFrame({"id": [1, 2], "title": [TYPED, "Winter"], "opens_on": [dt.date(2024, 1, 1), dt.date(2025, 1, 1)],
                          "core20_share": [0.2, 0.3], "under_35_share": [0.1, 0.2], "panel": [False, False],
                          "responses": [50, 60], "with_area": [50, 60], "core20": [10, 18], "with_age": [50, 60],
                          "under_35": [5, 12]})
    assert_escaped(surveys.reach_chart(reach, 0.25, 0.3).figure)


def test_groups_areas_options_and_themes(monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    rep = pd.DataFrame({"group": [TYPED, "Male"], "stated": [True, True], "count": [10, 10], "share": [0.5, 0.5],
                        "residents": [100, 100], "resident_share": [0.5, 0.5], "ratio": [1.0, 1.0],
                        "suppressed": [False, False]})
    assert_escaped(representation.representation_chart(rep, "members", "Sex", "Kent and Medway").figure)
    table = pd.DataFrame({"area": [TYPED], "core20_share": [0.2], **{f"{k}_{c}": [0.5 if c == "ratio" else 0.1]
                                                                      for k in maps.REACH_MEASURES for c in ("core20_share", "ratio")}})
    assert_escaped(maps.core20_reach_chart(table).figure)
    likert = pd.DataFrame({"option": [TYPED, "Agree"], "count": [5, 5], "share": [0.5, 0.5], "n": [10, 10],
                           "group": [TYPED, TYPED]})
    assert_escaped(questions.likert_chart(likert, [TYPED, "Agree"], "Q", row_col="group").figure)
    assert_escaped(questions.choice_group_chart(likert, "Q", "Sex").figure)
    themes = pd.DataFrame({"theme": [TYPED], "answers": [4], "share": [0.4], "suppressed": [False]})
    assert_escaped(questions.themes_chart({"themes": themes, "answers": 10}, "Q").figure)


def test_area_names_in_the_map_tooltip():
    import json

    from tests.factories import square
    areas = pd.DataFrame({
        "code": ["A1"], "name": [TYPED], "district": [TYPED], "icp": ["East Kent"], "imd_decile": [1],
        "local_rank": [1], "population": [1000], "longitude": [1.0], "latitude": [51.0],
        "geometry": [square(1.0, 51.0)], "members": [12], "members_per_1000": [12.0], "respondents": [40],
        "panel": [6],
    })
    chart = maps.deprivation_map_chart(areas, pd.DataFrame(columns=["icp", "geometry"]), "East Kent")
    spec = json.loads(chart.figure.to_json())
    props = next(lay for lay in spec["layers"] if lay["id"] == "small-areas")["data"]["features"][0]["properties"]
    assert props["name"] == ESCAPED and props["district"] == ESCAPED  # the tooltip is drawn as HTML
