"""Overview: the headline figures with their Making Data Count verdicts and definitions, key messages in plain
English, the reach gaps to act on, and the one-click board pack."""

import streamlit as st

from board_pack import pack_zip
from charts.overview import (
    READING_EASE_TARGET, gap_sentence, growth_hidden, headline_figures, key_messages, overview_verdicts, reading_ease,
)
from charts.overview import growth as published_growth
from charts.spc import COLOURS
from charts.theme import signed
from data_access.disclosure import describe, format_count
from data_access.geography import geography_status
from data_access.overview import overview
from data_access.reach_gaps import PAGE_TITLES, reach_gaps
from ui.context import open_run
from ui.render import icp_caveat, synthetic_notice


def sentence(text: str, css: str = "chart-sentence") -> None:
    """A plain-English sentence (escaped) in the large style used under charts."""
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    st.markdown(f"<p class='{css}'>{safe}</p>", unsafe_allow_html=True)


run = open_run()
filters = run.filters
st.title(f"Patient and public engagement: {filters.area_label}")
st.markdown(f"**Period:** {filters.period_label}. Sizes are as at {filters.end:%-d %B %Y}.")
synthetic_notice(run.query(geography_status))

ov = run.query(overview, filters)
gaps = run.query(reach_gaps, filters)
verdicts = run.built(overview_verdicts, ov)
h = ov.headlines

st.subheader("Headline figures")
st.caption("Hover over the question mark beside a figure to see exactly what it counts. Verdicts are NHS England's Making Data "
           "Count statistical process control: ≈ no significant change; ▲ or ▼ a significant rise or fall.")
tiles = run.built(headline_figures, ov, verdicts)
for row in range(0, len(tiles), 3):
    cols = st.columns(3)
    for col, tile in zip(cols, tiles[row:row + 3]):
        growth = tile.key == "members" and not growth_hidden(h)
        col.metric(tile.label, tile.value, tile.note, help=tile.definition,
                   delta_color="normal" if growth else "off", delta_arrow="auto" if growth else "off")
        lines = []
        if growth:
            lines.append(f"{signed(published_growth(h))} on a year earlier ({format_count(h.members_year_before)}).")
        if tile.verdict is not None:
            colour = COLOURS.get(tile.verdict.result.variation, "#425563")
            lines.append(f"<span style='color:{colour}' aria-hidden='true'>●</span> <b>{tile.verdict.icon}</b> "
                         f"{tile.verdict.words} ({tile.verdict.series})")
        if lines:
            col.markdown("<p class='note'>" + "<br>".join(lines) + "</p>", unsafe_allow_html=True)

st.subheader("In plain English")
messages = run.built(key_messages, ov, gaps)
for message in messages:
    st.markdown(f"- {message}")
ease = run.built(reading_ease, " ".join(messages))
st.caption(f"Reading ease {ease:.0f} (Flesch; the target for public NHS information is {READING_EASE_TARGET:.0f} or "
           "more, a reading age of about 9 to 11).")

st.subheader("Reach gaps to act on")
if gaps.empty:
    sentence(f"No clear reach gaps were found in {filters.area_label}: every group's share is close to its share "
             "of residents, or there are too few people to tell.")
for i, g in enumerate(gaps.itertuples(), start=1):
    sentence(f"{i}. {gap_sentence(g, filters)}")
    st.page_link(g.page, label=f"See why on the {PAGE_TITLES[g.page]} page", icon=":material/arrow_forward:")
st.caption("The five biggest gaps across network members, survey respondents, the citizens' panel and the "
           "deprivation map, ranked by the shortfall: the group's share of residents minus its share of the people "
           "we reached, in percentage points. Only gaps too big to be chance are listed (the 95% range of the "
           "group's share lies below its share of residents).")

st.subheader("Board pack")
st.markdown("One download holds the pack for this area and period: a report that opens in any browser (it works "
            "offline, prints to PDF, and its charts are interactive) and a PowerPoint deck with one chart per slide.")
st.download_button("Download the board pack (HTML report and PowerPoint)",
                   lambda: pack_zip(run, filters), file_name=f"board-pack-{filters.start:%Y-%m-%d}-to-"
                   f"{filters.end:%Y-%m-%d}.zip", mime="application/zip", key="board_pack", type="primary",
                   icon=":material/download:", on_click="ignore")
st.caption(describe())

st.subheader("Explore")
links = st.columns(4)
links[0].page_link("pages/network_growth.py", label="Network growth", icon=":material/trending_up:")
links[1].page_link("pages/survey_responses.py", label="Survey responses", icon=":material/assignment:")
links[2].page_link("pages/panel_coverage.py", label="Citizens' panel coverage", icon=":material/groups:")
links[3].page_link("pages/deprivation_map.py", label="Deprivation map", icon=":material/map:")
icp_caveat()
