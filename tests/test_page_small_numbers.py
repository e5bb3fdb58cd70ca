"""Every number about people that reaches the network growth, survey responses and deprivation map pages -
sentences, captions, metrics, tables (and so their CSV downloads), chart values and map tooltips - is
suppressed below the threshold.

The store is tests/factories.py's tiny store with the survey extras of tests/test_surveys.py: every group,
area, network, channel and month there holds 1 to 7 people, so with the default rule (threshold 5) no count
of 1 to 4 may appear anywhere. Each page is run in AppTest and everything it renders is collected.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data_access.db import init_db, make_engine
from data_access.filters import Filters
from tests.factories import build_tiny_store
from tests.test_app import APP
from tests.test_surveys import build_survey_extras

# Columns that are not counts of people (areas' residents come from the census, deciles are labels, ...).
NOT_COUNTS = re.compile(r"resident|population|decile|rank|share|ratio|per 1,000|per_1000|gap|target|days|lsoas|"
                        r"small areas|quarter|year|median|trajectory|weighted|%|position|id$|outside|mean|sd|rate|"
                        r"deviation|months used|projected|low|high|design|effective|quintile|age band|group|score|short|^wave$",
                       re.I)
SMALL = {1, 2, 3, 4}
# A small count in words: "3 people", "(n=2)", "4 responses", "of 3 who answered", ...
SMALL_IN_WORDS = re.compile(
    r"(?<![\d.,%:/-])[1-4] (people|person|members?|responses?|respondents?|joined|left|answered|answers|"
    r"network members|panel members|survey responses|who)\b|n=[1-4]\b|\(([1-4])(,(?!\d{3})|\))")


@pytest.fixture(scope="module")
def tiny_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "tiny.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_db(engine)
    build_tiny_store(engine)
    build_survey_extras(engine)
    engine.dispose()
    return url


@pytest.fixture
def tiny_app(tiny_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", tiny_url)
    for name in ("DISCLOSURE_RULE", "SMALL_NUMBER_THRESHOLD", "SPECIAL_CATEGORY_MIN_BASE"):
        monkeypatch.delenv(name, raising=False)


def run(page: str, query: dict | None = None) -> AppTest:
    """The page run through AppTest (with query parameters), with no exception."""
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def words(at: AppTest) -> list[str]:
    """Every sentence, caption, notice and metric on the page."""
    out = [m.value for m in at.markdown] + [c.value for c in at.caption]
    out += [e.value for kind in ("info", "warning", "error", "success") for e in getattr(at, kind)]
    out += [f"{m.label}: {m.value}" for m in at.metric]
    out += [h.value for kind in ("title", "header", "subheader") for h in getattr(at, kind)]
    return out


def small_counts_in_tables(at: AppTest) -> list[str]:
    """Cells of count columns holding 1 to 4 in any table on the page (the CSV download is the same table)."""
    found = []
    for df in at.dataframe:
        frame = df.value
        for col in frame.columns:
            if NOT_COUNTS.search(str(col)):
                continue
            values = pd.to_numeric(frame[col], errors="coerce")
            if values.notna().sum() == 0:
                continue
            hits = values[values.isin(SMALL)]
            if len(hits):
                found.append(f"{col}: {list(hits)}")
    return found


def chart_values(at: AppTest) -> list[str]:
    """Labels and hover data of every plotly chart (bar labels such as '40% (3)' or 'n=2')."""
    out = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []):
            for key in ("text", "name"):
                value = trace.get(key)
                out += [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
    return out


def check_page(at: AppTest) -> None:
    leaks = [w for w in words(at) + chart_values(at) if SMALL_IN_WORDS.search(w)]
    assert not leaks, leaks
    assert not small_counts_in_tables(at), small_counts_in_tables(at)


def test_network_growth_page_shows_no_small_count(tiny_app):
    at = run("pages/network_growth.py", {"from": "2025-01-01", "to": "2025-03-31"})
    check_page(at)
    text = " ".join(words(at))
    assert "fewer than 5" in text  # the counts are there, hidden
    # the per-network monthly table: every member count of the tiny networks is hidden
    for east in (None, "East Kent"):
        if east:
            at.sidebar.selectbox(key="flt_icp").select(east).run()
            assert not at.exception
            check_page(at)
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []):
            if trace.get("type") == "scatter" and str(trace.get("name", "")).endswith("Network"):
                ys = [v for v in trace.get("y", []) if v is not None]
                assert not [v for v in ys if v in SMALL], trace["name"]


def test_survey_page_shows_no_small_count(tiny_app):
    at = run("pages/survey_responses.py", {"from": "2025-01-01", "to": "2025-12-31"})
    at.selectbox(key="survey_choice").set_value(1).run()
    assert not at.exception
    check_page(at)
    text = " ".join(words(at))
    assert "Responses: 6" in text  # six responses: shown
    # daily bars and the running total of the progress chart: no day of 1-4
    progress = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    for trace in progress[:2]:
        assert not [v for v in trace.get("y", []) if v in SMALL], trace.get("name")
    # ethnic group is special-category data: with 6 respondents the breakdown is withheld, and says why
    at.selectbox(key="breakdown_dim").set_value("ethnic_group").run()
    assert "ethnic group is special-category personal data" in " ".join(i.value for i in at.info)
    check_page(at)


def test_deprivation_map_shows_no_small_count(tiny_app):
    at = run("pages/deprivation_map.py", {"from": "2025-01-01", "to": "2025-03-31"})
    check_page(at)
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    layer = next(lay for lay in deck["layers"] if lay["id"] == "small-areas")
    for feature in layer["data"]["features"]:
        props = feature["properties"]
        for kind in ("members", "panel", "respondents"):
            assert props[kind] in ("0", "not shown") or int(props[kind].replace(",", "")) >= 5, props
            if props[kind] == "not shown":
                assert props[f"{kind}_per_1000"] == "not shown"
    # the area detail of a small area with members
    at.selectbox(key="map_area").set_value("A1").run()
    assert not at.exception
    check_page(at)
    assert any("not shown" in w for w in words(at))


# --- The citizens' panel page, the overview page and the board pack ------------------------------------------

PANEL_DAY = "2025-03-31"


def build_panel_extras(engine) -> None:
    """30 more panel members serving on 31 March 2025 (33 with the tiny store's three): by sex 30 women and 3 men
    (so the women's count must be hidden too, or the men's 3 is the panel total less it); by ethnic group 30 White
    and 3 Asian; by disability 20 not disabled, 2 disabled and 11 who preferred not to say (22 stated: fewer than
    the 25 a special-category breakdown needs)."""
    from sqlalchemy import insert

    from data_access import models as m

    areas = ["A1", "A2", "B1", "B2"]
    rows = []
    for i in range(30):
        rows.append(dict(member_ref=f"px{i}", wave=2, term_start=dt.date(2025, 1, 1), term_end=dt.date(2027, 12, 31),
                         lsoa_code=areas[i % 4], birth_year=1940 + i * 2, sex="Male" if i < 3 else "Female",
                         ethnic_group="Asian" if i < 3 else "White",
                         disability="Disabled" if i < 2 else m.PREFER_NOT if i < 13 else "Not disabled"))
    with engine.begin() as conn:
        conn.execute(insert(m.PanelMember.__table__), rows)


@pytest.fixture(scope="module")
def panel_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("small_panel") / "panel.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_db(engine)
    build_tiny_store(engine)
    build_survey_extras(engine)
    build_panel_extras(engine)
    engine.dispose()
    return url


@pytest.fixture
def panel_app(panel_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", panel_url)
    for name in ("DISCLOSURE_RULE", "SMALL_NUMBER_THRESHOLD", "SPECIAL_CATEGORY_MIN_BASE"):
        monkeypatch.delenv(name, raising=False)


def table_with(at: AppTest, column: str, first: str) -> pd.DataFrame:
    """The table on the page whose first column is `first` and that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns and d.value.columns[0] == first)


def test_panel_page_shows_no_small_count(panel_app):
    at = run("pages/panel_coverage.py", {"from": "2025-01-01", "to": PANEL_DAY})
    check_page(at)
    text = " ".join(words(at))
    assert "Panel members serving: 33" in text
    assert "Counts of fewer than 5 people are not shown" in text  # the privacy caption from the policy
    # by sex: 3 men are hidden, and so are the 30 women (33 - 30 would give the men away)
    sex = table_with(at, "Panel members", "Sex").set_index("Sex")
    assert sex.loc["Male", "Panel members"] == "fewer than 5"
    assert sex.loc["Female", "Panel members"] == "not shown"
    assert sex["Share of panel"].tolist() == ["—", "—"]
    # disability: 22 stated, below the base of 25, so the whole breakdown is withheld and says why
    assert any("disability is special-category personal data" in w for w in words(at))
    disability = table_with(at, "Panel members", "Disability").set_index("Disability")
    assert disability.loc[["Disabled", "Not disabled"], "Panel members"].tolist() == ["not shown", "not shown"]
    # the age band x sex heatmap: the men's cells are hidden; no cell label is a small number
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec).get("data", []):
            if trace.get("type") == "heatmap":
                cells = [c for row in trace.get("text", []) for c in row]
                assert not [c for c in cells if c.strip() in {"1", "2", "3", "4"}], cells
    # the summary of how representative the panel is: worked out from published figures only
    summary = table_with(at, "Not stated", "Dimension").set_index("Dimension")
    assert summary.loc["Disability", "Proportional similarity"] == "not known"


def test_panel_page_check_fails_with_suppression_off(panel_app, monkeypatch):
    """The same check finds the small counts once the threshold is 1 (nothing hidden): it can fail."""
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    at = run("pages/panel_coverage.py", {"from": "2025-01-01", "to": PANEL_DAY})
    with pytest.raises(AssertionError):
        check_page(at)
    assert table_with(at, "Panel members", "Sex").set_index("Sex").loc["Male", "Panel members"] == "3"


def test_panel_page_under_the_hes_rule(panel_app, monkeypatch):
    """Under the HES rule counts of 1-7 are '*', others rounded to 5; no sentence speaks of 'fewer than 5'."""
    monkeypatch.setenv("DISCLOSURE_RULE", "hes")
    at = run("pages/panel_coverage.py", {"from": "2025-01-01", "to": PANEL_DAY})
    text = " ".join(words(at) + chart_values(at))
    assert "fewer than 5" not in text and "Panel members serving: 35" in text  # 33 rounded to the nearest 5
    assert "shown as *" in text  # the privacy caption says how
    sex = table_with(at, "Panel members", "Sex").set_index("Sex")
    assert sex.loc["Male", "Panel members"] == "*" and sex.loc["Female", "Panel members"] == "30"
    # shares are worked out from the rounded counts: 30 of 35
    assert sex.loc["Female", "Share of panel"] == "85.7%"


def check_overview(at: AppTest) -> None:
    """check_page, and the plain-English sentences of the reach gaps (escaped HTML paragraphs) too."""
    check_page(at)
    gaps = [w for w in words(at) if w.startswith("<p class='chart-sentence'>")]
    assert not [g for g in gaps if SMALL_IN_WORDS.search(g)], gaps


@pytest.mark.parametrize("store", ["tiny", "panel"])
def test_overview_page_shows_no_small_count(store, tiny_url, panel_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", tiny_url if store == "tiny" else panel_url)
    for name in ("DISCLOSURE_RULE", "SMALL_NUMBER_THRESHOLD", "SPECIAL_CATEGORY_MIN_BASE"):
        monkeypatch.delenv(name, raising=False)
    at = run("pages/overview.py", {"from": "2025-01-01", "to": PANEL_DAY})
    check_overview(at)
    text = " ".join(words(at))
    assert "Counts of fewer than 5 people are not shown" in text
    panel = next(m.value for m in at.metric if m.label == "Citizens' panel")
    assert panel == ("fewer than 5" if store == "tiny" else "33")
    for kind in ("East Kent", "West Kent"):
        at.sidebar.selectbox(key="flt_icp").select(next(o for o in at.sidebar.selectbox(key="flt_icp").options
                                                         if o.startswith(kind))).run()
        assert not at.exception
        check_overview(at)


def test_overview_check_fails_with_suppression_off(tiny_app, monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    at = run("pages/overview.py", {"from": "2025-01-01", "to": PANEL_DAY})
    with pytest.raises(AssertionError):
        check_overview(at)


class _PackHtml(HTMLParser):
    """The text of every sentence (p, li, td) and every table (header and rows) of the pack's HTML report."""

    def __init__(self):
        super().__init__()
        self.texts, self.tables, self._cell, self._in = [], [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        if tag in ("p", "li", "td", "th", "h1", "h2", "summary"):
            self._in, self._cell = tag, []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == self._in and self._cell is not None:
            text = "".join(self._cell).strip()
            self.texts.append(text)
            if tag in ("td", "th") and self.tables and self.tables[-1]:
                self.tables[-1][-1].append(text)
            self._in, self._cell = None, None


def pack_leaks(url: str) -> list[str]:
    """Every small count in the board pack's HTML report (sentences, tables, chart labels and hovers) and in its
    PowerPoint deck (every text box and table cell)."""
    from pptx import Presentation

    from board_pack import pack_files

    engine = make_engine(url)
    try:
        pack, html, pptx = pack_files(engine, Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
                                      images=False)
    finally:
        engine.dispose()
    parser = _PackHtml()
    parser.feed(html)
    leaks = [t for t in parser.texts if SMALL_IN_WORDS.search(t)]
    # headline figures that are not counts of people: open surveys and open actions
    not_people = {h.label for h in pack.headlines if h.key in ("open_surveys", "open_actions")}
    for table in parser.tables:
        header, *rows = table
        rows = [r for r in rows if not (r and r[0] in not_people)]
        for k, col in enumerate(header):
            if NOT_COUNTS.search(col):
                continue
            values = pd.to_numeric(pd.Series([r[k] for r in rows if k < len(r)]).str.replace(",", ""), errors="coerce")
            leaks += [f"{col}: {v}" for v in values if v in SMALL]
    for section in pack.sections:
        if section.chart.figure is None:
            continue
        for trace in json.loads(section.chart.figure.to_json())["data"]:
            for key in ("text", "name", "hovertemplate"):
                value = trace.get(key)
                for v in value if isinstance(value, list) else [value] if value else []:
                    if SMALL_IN_WORDS.search(str(v)) or str(v).strip() in {"1", "2", "3", "4"}:
                        leaks.append(f"{section.title} {key}: {v}")
    deck = Presentation(io.BytesIO(pptx))
    for slide in deck.slides:
        for shape in slide.shapes:
            texts = [shape.text_frame.text] if shape.has_text_frame else []
            if shape.has_table:
                texts += [cell.text for row in shape.table.rows for cell in row.cells
                          if row.cells[0].text not in not_people]
            leaks += [f"slide: {t}" for t in texts if SMALL_IN_WORDS.search(t) or t.strip() in {"1", "2", "3", "4"}]
    return leaks


@pytest.mark.parametrize("store", ["tiny", "panel"])
def test_board_pack_files_show_no_small_count(store, tiny_url, panel_url, monkeypatch):
    for name in ("DISCLOSURE_RULE", "SMALL_NUMBER_THRESHOLD", "SPECIAL_CATEGORY_MIN_BASE"):
        monkeypatch.delenv(name, raising=False)
    assert pack_leaks(tiny_url if store == "tiny" else panel_url) == []


def test_board_pack_check_fails_with_suppression_off(tiny_url, monkeypatch):
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    assert pack_leaks(tiny_url)


def test_panel_page_with_a_tiny_panel_hides_the_wave_plan(tiny_app):
    """Three members serving: the quota planner does not show the wave's size (the target less them)."""
    at = run("pages/panel_coverage.py", {"from": "2025-01-01", "to": PANEL_DAY})
    check_page(at)
    assert "Panel members serving: fewer than 5" in " ".join(words(at))
    assert not [m for m in at.metric if m.label == "Recruits needed"]
    assert any("plan by group is not shown" in i.value for i in at.info)


def test_overview_and_pack_under_the_hes_rule(panel_url, monkeypatch):
    """Under the HES rule no sentence speaks of 'fewer than 5'; hidden counts read '*' or '1 to 7', others are
    rounded to the nearest 5 (33 panel members are 35)."""
    monkeypatch.setenv("DATABASE_URL", panel_url)
    monkeypatch.setenv("DISCLOSURE_RULE", "hes")
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)
    at = run("pages/overview.py", {"from": "2025-01-01", "to": PANEL_DAY})
    text = " ".join(words(at) + chart_values(at))
    assert "fewer than 5" not in text and "fewer than 8" not in text
    assert next(m.value for m in at.metric if m.label == "Citizens' panel") == "35"
    assert "shown as *" in text
    engine = make_engine(panel_url)
    try:
        from board_pack import pack_files

        pack, html, _ = pack_files(engine, Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31)), images=False)
    finally:
        engine.dispose()
    assert "fewer than 5" not in html and "shown as *" in pack.rule
    assert " ".join(g.sentence for g in pack.gaps).count("1 to 7") >= 1  # the panel's 3 men, hidden
