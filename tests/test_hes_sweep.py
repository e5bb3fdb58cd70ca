"""The HES rule on every count (issue #14): with DISCLOSURE_RULE=hes, every count of people that reaches a reader -
sentences, metrics, tables (and so their CSV downloads), chart values, hovers and labels, map tooltips and the
board pack (HTML and PowerPoint) - is '*' or a multiple of 5.

The store is the demo store (seed 7), whose true counts are mostly not multiples of 5 (checked below), so an exact
count that slips through is caught. Each page is run once in AppTest (one store for the module) and everything
it renders is collected.

What is not a count of people, and so left out (by column name, metric label or the words around a number):
- reference data: residents (census), small areas, deciles, quintiles, ranks, years, dates, days, months;
- percentages, shares, rates per 1,000, ratios, gaps in percentage points, means, standard deviations,
  process limits and design effects (worked out from the rounded counts; tests/test_hes_everywhere.py and the
  checks below test that they are);
- targets and what is planned from them: targets, "needed by now", the quota planner's recruits, at least /
  at most and joint quotas, members short or over (a target share less the published count), projections and
  their 95% range (the published count carried on at the mean of published monthly changes) - each of these is
  worked out from published, rounded counts, which the tests below check for the planner;
- things that are not people: open surveys, open actions, surveys, networks, activities, groups, waves, cells.
The Data page is not swept: it counts the rows of a file being imported, for the staff who load it.
Sentences are scanned for the ways the pages write a count (see COUNT_IN_WORDS, itself tested below); a count
written some other way ("2,545 came in the last 3 months") is not seen, but the same number is in a metric or
table that is.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data_access.db import make_engine
from data_access.demo import seed_demo
from data_access.filters import Filters
from tests.conftest import app_store
from tests.test_page_small_numbers import run

# Table columns that are not counts of people (see the module docstring).
NOT_COUNTS = re.compile(
    r"resident|population|decile|quintile|rank|share|ratio|per 1,000|per_1000|gap|target|days|day$|lsoas|"
    r"small areas|quarter|year|median|trajectory|weighted|%|position|id$|mean|sd$|deviation|rate|interval|"
    r"months used|projected|low|high|design|effective|age band|group|score|short|^wave$|terms started|date|"
    r"^month$|opens|closes|opened|limit|recruits|at least|at most|^total$|^(16-24|25-34|35-49|50-64|65\+)$|"
    r"^[1-5]( \(.*\))?$|against|status|note|dimension|code|name|district|icp|area|survey|network|channel|"
    r"option|theme|activity|title|sex|ethnic|disability|counted|not stated|rule|variation|trial|similarity|"
    r"participation|largest|compared|you said|we did|week|promotion|from$|^to$|\bin$|\bcovered\b|needed",
    re.I)
# Metrics that are not counts of people.
NOT_COUNT_METRICS = re.compile(r"target|days left|per 1,000|design effect|open surveys|open actions|core20 small areas|"
                               r"reach gaps|reach ratio|mismatch|recruits needed|residents in core20", re.I)
PEOPLE = (r"people|person|members?|memberships|responses?|respondents?|joiners|joined|left|answered|answers|"
          r"invitations|recruited|replied|panel members|network members|survey responses")
NUMBER = r"\d{1,3}(?:,\d{3})+|\d+"
# A count of people in words: "1,234 members", "(n=23)", "(215, 20%)", "87% (2,045)", "1,835 invitations".
COUNT_IN_WORDS = [
    re.compile(rf"(?<![\d.,%:/+−-])({NUMBER}) (?:{PEOPLE})\b"),
    re.compile(rf"n=({NUMBER})\b"),
    re.compile(rf"(?<![\w.])\(({NUMBER}), \d+%\)"),
    re.compile(rf"\d%\s\(({NUMBER})\)"),
    re.compile(rf"(?<![\d.,%:/+−-])({NUMBER}) of ({NUMBER}) (?:whose|who)\b"),
    re.compile(rf"\(({NUMBER}) joiners\)|smallest shown [^()]*\(({NUMBER})\)"),
    # "online 1,835 (72%)", "December 2025 (170)", "a year earlier (5,325)" (a bare 4-digit number is a year)
    re.compile(r"(?<![\d.,%:/+−-])(\d{1,3}(?:,\d{3})+|\d{1,3}) \(\d+%\)"),
    re.compile(r"\((\d{1,3}(?:,\d{3})+|\d{1,3})\)"),
    # "685 within 6 and 685 within 12 months", "65 not known", "went from 5,340 at the end of ... to 5,750 by"
    re.compile(rf"(?<![\d.,%:/+−-])({NUMBER}) (?:within \d|not known|prefer not to say|more than|fewer than (?!\d))"),
    re.compile(rf"\bfrom ({NUMBER}) at\b|\bto ({NUMBER}) by\b"),
]
# Words right before a number that say it is not a count of people (or one worked out from a target).
NOT_PEOPLE_BEFORE = re.compile(r"(target(?: of)?|needed by now|about|range|limits?|mean|seed|brings the panel to|"
                               r"wave of|by|rate|reading ease|of a target of|of the survey's|\d to)\s*$", re.I)


def count_like(value: str) -> bool:
    """True where a printed count is '*', 0 or a multiple of 5 (commas allowed; a '+' or '-' sign allowed)."""
    text = str(value).strip().replace(",", "").lstrip("+-−")
    if text in ("*", "", "—", "-", "not shown", "not known", "None", "nan", "<NA>"):
        return True
    try:
        number = float(text)
    except ValueError:
        return True  # not a number (a label or a sentence): nothing to check
    return number == int(number) and int(number) % 5 == 0


def counts_in_words(text: str) -> list[str]:
    """Every count of people written in a sentence."""
    found = []
    for pattern in COUNT_IN_WORDS:
        for match in pattern.finditer(text):
            if NOT_PEOPLE_BEFORE.search(text[:match.start()]):
                continue
            found += [g for g in match.groups() if g]
    return found


TAG = re.compile(r"<[^>]*>")  # HTML tags and their attributes (colours such as rgb(49,104,142)) are not text


def bad_words(texts: list[str]) -> list[str]:
    texts = [TAG.sub(" ", t) for t in texts]
    return [f"{n!r} in: {t[:300]}" for t in texts for n in counts_in_words(t) if not count_like(n)]


def bad_tables(frames: list[pd.DataFrame]) -> list[str]:
    found = []
    for frame in frames:
        for col in frame.columns:
            if NOT_COUNTS.search(str(col)):
                continue
            values = [v for v in frame[col].tolist() if not count_like(v)]
            if values:
                found.append(f"{col}: {values[:5]}")
    return found


def _values(spec) -> list:
    """A plotly trace's values: a list, or plotly's typed-array form ({'dtype', 'bdata'})."""
    if isinstance(spec, dict) and "bdata" in spec:
        return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"])).tolist()
    if isinstance(spec, list):
        return [v for row in spec for v in (row if isinstance(row, list) else [row])]
    return []


PEOPLE_HOVER = re.compile(rf"%{{([xy]|customdata):,}}\s*(?:{PEOPLE}|so far|members on record)|"
                          rf"%{{y:,}}<extra>%{{fullData.name}}</extra>|%{{x}}: %{{y:,}}<br>", re.I)


def bad_traces(traces: list[dict]) -> list[str]:
    """Chart values shown as counts of people in a hover ('%{y:,} members') and count labels on the bars."""
    found = []
    for trace in traces:
        hover = str(trace.get("hovertemplate") or "")
        for match in PEOPLE_HOVER.finditer(hover):
            axis = match.group(1) or "y"
            values = [v for v in _values(trace.get(axis)) if v is not None and not pd.isna(v)]
            bad = [v for v in values if not count_like(v)]
            if bad:
                found.append(f"{trace.get('name')} {axis} ({hover}): {bad[:5]}")
        text = trace.get("text")
        labels = [str(v) for v in _values(text)] if isinstance(text, (list, dict)) else [str(text)] if text else []
        found += [f"{trace.get('name')} label: {b}" for b in bad_words(labels)]
    return found


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    def fill(engine):
        seed_demo(engine, seed=7)

    with app_store(tmp_path_factory.mktemp("hes_sweep"), fill) as engine:
        yield str(engine.url)


@pytest.fixture
def hes(demo_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.setenv("DISCLOSURE_RULE", "hes")
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)
    monkeypatch.delenv("SPECIAL_CATEGORY_MIN_BASE", raising=False)
    return demo_url


def test_the_store_has_counts_that_are_not_multiples_of_5(demo_url):
    """The check can fail: most true counts on the demo store are not multiples of 5 (the raw members per
    network, survey responses and panel members serving)."""
    from sqlalchemy import func, select

    from data_access import models as m

    engine = make_engine(demo_url)
    try:
        with engine.connect() as conn:
            per_survey = conn.execute(select(func.count()).select_from(m.SurveyResponse.__table__)
                                      .group_by(m.SurveyResponse.__table__.c.survey_id)).scalars().all()
    finally:
        engine.dispose()
    assert sum(n % 5 != 0 for n in per_survey) >= len(per_survey) // 2


def page_leaks(at: AppTest) -> list[str]:
    """Every count of people on the page that is not '*' or a multiple of 5."""
    assert not at.exception, [e.value for e in at.exception]
    texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    texts += [e.value for kind in ("info", "warning", "error", "success") for e in getattr(at, kind)]
    leaks = bad_words(texts)
    leaks += [f"metric {m.label}: {m.value}" for m in at.metric
              if not NOT_COUNT_METRICS.search(m.label) and "%" not in str(m.value) and not count_like(m.value)]
    leaks += bad_tables([d.value for d in at.dataframe])
    traces = [t for chart in at.get("plotly_chart") for t in json.loads(chart.proto.spec).get("data", [])]
    leaks += bad_traces(traces)
    for chart in at.get("deck_gl_json_chart"):
        for layer in json.loads(chart.proto.json).get("layers", []):
            data = layer.get("data")
            features = data.get("features", []) if isinstance(data, dict) else []
            for feature in features:
                props = feature.get("properties", {})
                leaks += [f"map {layer.get('id')} {k}: {props[k]}" for k in ("members", "panel", "respondents")
                          if k in props and not count_like(props[k])]
    return leaks


PAGES = ["pages/overview.py", "pages/network_growth.py", "pages/survey_responses.py", "pages/panel_coverage.py",
         "pages/deprivation_map.py"]


@pytest.mark.parametrize("page", PAGES)
def test_every_count_on_the_page_is_rounded_under_hes(hes, page):
    at = run(page)
    leaks = page_leaks(at)
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("page", PAGES)
def test_an_icp_area_under_hes(hes, page):
    """With an ICP area chosen (East Kent): the panel's target is that area's share (not a multiple of 5), and
    every page's counts of people are still '*' or multiples of 5."""
    at = run(page)
    at.sidebar.selectbox(key="flt_icp").select(next(o for o in at.sidebar.selectbox(key="flt_icp").options
                                                     if o.startswith("East Kent"))).run()
    leaks = page_leaks(at)
    assert not leaks, "\n".join(leaks)


def test_the_wave_plan_works_from_published_counts(hes):
    """Recruits needed = the target less the members still serving as published (rounded), so the exact number
    still serving cannot be worked back from it."""
    at = run("pages/panel_coverage.py")
    metrics = {m.label: m.value for m in at.metric}
    target = int(metrics["Target"].replace(",", ""))
    serving = int(metrics["Still serving at the wave"].replace(",", ""))
    assert serving % 5 == 0
    assert int(metrics["Recruits needed"].replace(",", "")) == max(target - serving, 0)


def _pack_texts(html: str, pptx: bytes) -> tuple[list[str], list[pd.DataFrame]]:
    from pptx import Presentation

    from tests.test_page_small_numbers import _PackHtml

    parser = _PackHtml()
    parser.feed(html)
    frames = [pd.DataFrame([r + [""] * (len(t[0]) - len(r)) for r in t[1:]], columns=t[0])
              for t in parser.tables if t and t[0] and len(set(t[0])) == len(t[0])]
    texts = list(parser.texts)
    deck = Presentation(io.BytesIO(pptx))
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                rows = [[c.text for c in row.cells] for row in shape.table.rows]
                if rows and len(set(rows[0])) == len(rows[0]):
                    frames.append(pd.DataFrame(rows[1:], columns=rows[0]))
    return texts, frames


@pytest.mark.parametrize("icp", [None, "East Kent"])
def test_board_pack_under_hes(hes, icp):
    from board_pack import pack_files

    engine = make_engine(hes)
    try:
        pack, html, pptx = pack_files(engine, Filters(icp, dt.date(2025, 11, 16), dt.date(2026, 11, 15)),
                                      images=False)
    finally:
        engine.dispose()
    texts, frames = _pack_texts(html, pptx)
    # the headline table: its rows are figures of different kinds; keep the counts of people
    not_people = {h.label for h in pack.headlines if h.key in ("open_surveys", "open_actions")}
    frames = [f[~f.iloc[:, 0].isin(not_people) & ~f.iloc[:, 0].str.contains(NOT_COUNT_METRICS)]
              if len(f.columns) else f for f in frames]
    leaks = bad_words(texts) + bad_tables(frames)
    traces = [t for s in pack.sections if s.chart.figure is not None
              for t in json.loads(s.chart.figure.to_json())["data"]]
    leaks += bad_traces(traces)
    assert not leaks, "\n".join(leaks)


def _percent(text: str) -> float:
    return float(str(text).rstrip("%"))


def test_panel_rates_are_worked_out_from_the_published_counts(hes):
    """The response rate to panel surveys and the share of terms ending are the published (rounded) counts
    divided, to the digits shown: not the exact counts (checked on every group of the page's tables)."""
    at = run("pages/panel_coverage.py")
    frames = [d.value for d in at.dataframe]
    rates = next(f for f in frames if "Response rate" in f.columns)
    shown = rates[rates["Response rate"] != "—"]
    assert len(shown) >= 3
    for r in shown.itertuples():
        answered, invited = (int(str(v).replace(",", "")) for v in (r.Answered, r.Invitations))
        assert _percent(r[rates.columns.get_loc("Response rate") + 1]) == round(100 * answered / invited, 1), r
    terms = next(f for f in frames if "Share ending within 12 months" in f.columns)
    shown = terms[terms["Share ending within 12 months"] != "—"]
    assert len(shown) >= 3
    for _, r in shown.iterrows():
        ending, serving = (int(str(v).replace(",", "")) for v in (r["Ending within 12 months"], r["Serving now"]))
        assert _percent(r["Share ending within 12 months"]) == round(100 * ending / serving), r
    # the whole panel: 'Of the N members serving ..., M within 12 months (P%)' and 'Of N invitations ..., M were
    # answered (P%)' - P from the rounded N and M
    text = " ".join(m.value for m in at.markdown)
    for pattern in (r"Of the ([\d,]+) members serving .*? ([\d,]+) within 12 months \((\d+)%\)",
                    r"Of ([\d,]+) invitations .*? ([\d,]+) were answered \((\d+)%\)"):
        found = re.search(pattern, text)
        assert found, pattern
        base, part, share = (int(g.replace(",", "")) for g in found.groups())
        assert base % 5 == 0 and part % 5 == 0 and share == round(100 * part / base), found.group(0)


def test_projection_works_from_rounded_counts(hes):
    """The projection's mean monthly change is a mean of rounded monthly changes (a multiple of 5 divided by
    the months used), so twelve times it is not the exact change in membership."""
    at = run("pages/network_growth.py")
    table = next(d.value for d in at.dataframe if "Mean net change a month" in d.value.columns)
    assert len(table)
    for _, r in table.iterrows():
        total = float(r["Mean net change a month"]) * int(r["Months used"])
        # the mean is shown to 1 decimal place: 0.05 a month either way
        assert abs(total - 5 * round(total / 5)) <= 0.05 * int(r["Months used"]) + 1e-9, r.to_dict()
        assert float(r["Members now"]) % 5 == 0


def test_the_checks_find_exact_counts_and_leave_other_numbers():
    """The detectors themselves, on hand-written sentences: each exact count is found, and numbers that are
    not counts of people (ranges, targets, years, percentages, ratios, colours) are left alone."""
    found = counts_in_words(
        "We had 4,512 survey responses (n=23). Staff (213, 20%). 87% (2,047). "
        "(52 of 263 whose home area is known). Online 1,833 (72%). The most joined in December 2025 (171). "
        "+426 on a year earlier (5,326). 683 within 6 and 66 not known. Members went from 5,341 at the end to 5,752 by May.")
    assert set(found) == set(["4,512", "23", "213", "2,047", "52", "263", "1,833", "171", "5,326", "683",
                                    "66", "5,341", "5,752"])
    assert counts_in_words(TAG.sub(" ", "Counts of 1 to 7 people are shown as *. Survey (2016). The target of "
                                        "2,003 responses; about 2,407 members (95% range 2,145 to 2,669); "
                                        "ratio 0.44; <span style='background:rgb(49,104,142)'>1</span>")) == []
    assert bad_tables([pd.DataFrame({"Members": ["1,235", "*", "—"], "Residents": [1234, 1, 2]})]) == []
    assert bad_tables([pd.DataFrame({"Members": ["1,234"]})]) == ["Members: ['1,234']"]
    trace = {"name": "Event", "y": {"dtype": "i1", "bdata": base64.b64encode(np.array([10, 12], "i1").tobytes())
                                    .decode()}, "hovertemplate": "%{x|%B %Y}: %{y:,} joined<extra></extra>"}
    assert bad_traces([trace]) and not bad_traces([{**trace, "y": [10, 15]}])


def test_map_medians_are_of_rates_from_rounded_counts(hes):
    """The Kent and Medway median of the small areas' rates (the map's benchmark, and its gap colouring) is the
    median of each area's count rounded to the nearest 5 per 1,000 residents: worked out here from the counts
    per small area and the census populations."""
    from data_access.geography import engagement_by_lsoa, lsoa_areas
    from data_access.reach import KENT_AND_MEDWAY, reach_benchmarks

    filters = Filters(None, dt.date(2025, 11, 16), dt.date(2026, 11, 15))
    engine = make_engine(hes)
    try:
        with engine.connect() as conn:
            counts = engagement_by_lsoa(conn, filters)
            areas = lsoa_areas(conn)[["code", "population"]]
            km = reach_benchmarks(conn, filters).set_index("area").loc[KENT_AND_MEDWAY]
    finally:
        engine.dispose()
    frame = areas.merge(counts, on="code", how="left").fillna(0)
    frame = frame[frame["population"] > 0]
    for kind in ("members", "panel", "respondents"):
        rounded = [5 * int(c / 5 + 0.5) for c in frame[kind]]  # halves up, as HES rounds
        expected = float(np.median(np.array(rounded) / frame["population"].to_numpy() * 1000))
        assert km[f"{kind}_median"] == pytest.approx(expected), kind
