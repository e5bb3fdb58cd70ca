"""The board pack from the tiny hand-made store: the HTML report and the PowerPoint deck carry the figures
data_access computes, hide small counts, and are built with or without a browser engine; the CLI command."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from pptx import Presentation

from board_pack import PackError, build_pack, pack_content, pack_zip, parse_filters, render_html, render_pptx
from board_pack.images import NO_ENGINE, browser_path
from data_access.cli import main
from data_access.db import init_db, make_engine
from data_access.definitions import help_text
from data_access.disclosure import describe
from data_access.filters import Filters
from tests.factories import build_tiny_store
from tests.test_overview import add_respondents

Q1 = Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
CHART_TITLES = ["Network members: change each month", "Survey responses each month", "Open surveys against target",
                "Reach gaps to act on", "Reaching the most deprived areas (Core20)",
                "Does the citizens' panel match residents?"]


@pytest.fixture
def store(sqlite_engine):
    build_tiny_store(sqlite_engine)
    add_respondents(sqlite_engine)
    return sqlite_engine


def slide_texts(slide) -> str:
    parts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if shape.has_table:
            parts += [cell.text for row in shape.table.rows for cell in row.cells]
    return " ".join(parts)


def test_pack_content_carries_the_store_figures(store):
    with store.connect() as conn:
        pack = pack_content(conn, Q1)
    assert [s.title for s in pack.sections] == CHART_TITLES
    tiles = {h.key: h for h in pack.headlines}
    # 46 responses in the quarter (6 + 40 added), 5 members on 31 March, a panel of 3 (hidden)
    assert (tiles["responses"].value, tiles["responses_quarter"].value, tiles["members"].value) == ("46", "46", "5")
    assert tiles["panel_members"].value == "fewer than 5"
    assert "We had 46 survey responses from 1 January 2025 to 31 March 2025." in " ".join(pack.messages)
    assert pack.gaps[0].sentence.startswith("Men are 49% of residents in Kent and Medway but 0% of survey respondents "
                                            "(0 of 46 whose sex is known")
    assert pack.gaps[0].page == "Survey responses"
    # Core20: respondents in Core20 areas are 1 (A1) + 1 (B1): hidden, so no share and no ratio in the chart
    core20 = next(s for s in pack.sections if s.title.startswith("Reaching"))
    assert "The respondents' share is hidden or not known" in core20.chart.sentence
    assert core20.chart.data.loc[core20.chart.data["Who"] == "Survey respondents", "In Core20 areas"].item() \
        == "fewer than 5"
    # monthly network changes are 1 or 2 people: the chart is left out, the verdict is said in words
    network = pack.sections[0]
    assert network.chart.figure is None and "not shown because some months have fewer than 5" in network.chart.sentence


def test_html_report_is_self_contained_and_carries_the_sentences(store):
    with store.connect() as conn:
        pack = pack_content(conn, Q1)
    html = render_html(pack)
    assert not re.search(r"<script[^>]*\ssrc=", html) and "<link" not in html  # nothing fetched: works offline
    assert "Plotly.newPlot" in html or "Plotly.react" in html
    assert html.count("<section class='chart'>") == len(CHART_TITLES)
    for title in CHART_TITLES:
        assert title.replace("'", "&#x27;") in html
    for message in pack.messages:
        assert message.replace("'", "&#x27;") in html
    for gap in pack.gaps:
        assert gap.sentence.replace("'", "&#x27;") in html
    assert help_text("members").replace("'", "&#x27;") in html
    assert describe().replace("'", "&#x27;") in html
    assert "@media print" in html
    # every chart section names its source and period
    assert len(re.findall(r"<p class='source'>Source: [^<]+\. Period: ", html)) == len(CHART_TITLES)


def test_deck_without_a_browser_engine_says_so(store, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    assert browser_path() is None
    with store.connect() as conn:
        pack = pack_content(conn, Q1)
    deck = Presentation(io.BytesIO(render_pptx(pack)))
    slides = list(deck.slides)
    assert len(slides) == 4 + len(CHART_TITLES)
    assert slides[0].shapes.title.text == "Patient and public engagement: Kent and Medway"
    assert [s.shapes.title.text for s in slides[1:4]] == ["Headline figures", "Key messages", "Reach gaps to act on"]
    assert [s.shapes.title.text for s in slides[4:]] == CHART_TITLES
    assert "fewer than 5" in slide_texts(slides[1]) and help_text("responses") in slide_texts(slides[1])
    assert all(m in slide_texts(slides[2]) for m in pack.messages)
    for slide, section in zip(slides[4:], pack.sections):
        text = slide_texts(slide)
        assert section.chart.sentence in text
        assert f"Source: {section.source}. Period: {section.period}." in text and describe() in text
        assert not any(sh.shape_type == 13 for sh in slide.shapes)  # 13 = picture
        if section.chart.figure is not None:
            assert NO_ENGINE in text


@pytest.mark.skipif(browser_path() is None, reason="no Chrome or Chromium for plotly's image export")
def test_deck_with_chart_images(store, tmp_path):
    paths = build_pack(store, Q1, tmp_path)
    assert [p.suffix for p in paths] == [".html", ".pptx"] and all(p.stat().st_size > 0 for p in paths)
    deck = Presentation(str(paths[1]))
    slides = list(deck.slides)
    with store.connect() as conn:
        pack = pack_content(conn, Q1)
    for slide, section in zip(slides[4:], pack.sections):
        pictures = [sh for sh in slide.shapes if sh.shape_type == 13]
        assert len(pictures) == (1 if section.chart.figure is not None else 0), section.title
        for pic in pictures:
            assert pic.image.content_type == "image/png" and len(pic.image.blob) > 5000
        assert NO_ENGINE not in slide_texts(slide)


def test_zip_holds_both_files(store):
    data = pack_zip(store, Q1, images=False)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["board-pack-kent-and-medway-2025-01-01-to-2025-03-31.html",
                     "board-pack-kent-and-medway-2025-01-01-to-2025-03-31.pptx"]


def test_parse_filters():
    assert parse_filters("East Kent", "2025-04-01", "2026-03-31") == Filters("East Kent", dt.date(2025, 4, 1),
                                                                            dt.date(2026, 3, 31))
    assert parse_filters("all", "2025-04-01", "2026-03-31").icp is None
    with pytest.raises(PackError, match="no ICP area called 'Nowhere'"):
        parse_filters("Nowhere", "2025-04-01", "2026-03-31")
    with pytest.raises(PackError, match="not a date"):
        parse_filters(None, "2025-13-01", "2026-03-31")
    with pytest.raises(PackError, match="starts .* after it ends"):
        parse_filters(None, "2026-04-01", "2025-03-31")


@pytest.fixture
def cli_store(tmp_path, monkeypatch):
    """The tiny store in a SQLite file, with DATABASE_URL pointing at it for the command line."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    init_db(engine)
    build_tiny_store(engine)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)


def test_cli_board_pack(tmp_path, cli_store, capsys):
    out = tmp_path / "pack"
    assert main(["board-pack", "--icp", "East Kent", "--from", "2025-01-01", "--to", "2025-03-31", "--out", str(out),
                 "--no-images"]) == 0
    printed = capsys.readouterr().out
    assert "Board pack for East Kent, 1 January 2025 to 31 March 2025" in printed
    files = sorted(p.name for p in out.iterdir())
    assert files == ["board-pack-east-kent-2025-01-01-to-2025-03-31.html",
                     "board-pack-east-kent-2025-01-01-to-2025-03-31.pptx"]
    deck = Presentation(str(out / files[1]))
    assert list(deck.slides)[0].shapes.title.text == "Patient and public engagement: East Kent"
    for args, words in ((["--icp", "Nowhere", "--from", "2025-01-01", "--to", "2025-03-31"], "no ICP area called"),
                        (["--from", "01/04/2025", "--to", "2025-03-31"], "is not a date"),
                        (["--from", "2025-04-01", "--to", "2025-03-31"], "after it ends")):
        assert main(["board-pack", *args, "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("Error: ") and words in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_cli_board_pack_without_dates_uses_the_pages_default_period(tmp_path, cli_store, capsys):
    """The tiny store's latest engagement data is a joining on 31 March 2025 (the latest response is 5 March), so
    the default period is the 365 days from 1 April 2024 to 31 March 2025, as the pages start."""
    out = tmp_path / "pack"
    assert main(["board-pack", "--out", str(out), "--no-images"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Board pack for Kent and Medway, 1 April 2024 to 31 March 2025 (the dashboard's default "
                              "period: the year to the latest engagement data; give --from and --to for another): ")
    assert sorted(p.name for p in out.iterdir()) == ["board-pack-kent-and-medway-2024-04-01-to-2025-03-31.html",
                                                     "board-pack-kent-and-medway-2024-04-01-to-2025-03-31.pptx"]
    assert main(["board-pack", "--to", "2025-02-28", "--out", str(out), "--no-images"]) == 0
    assert "Kent and Medway, 1 March 2024 to 28 February 2025 (only --to was given" in capsys.readouterr().out
    assert main(["board-pack", "--to", "28/02/2025", "--out", str(out)]) == 1
    assert capsys.readouterr().err.startswith("Error: ")
