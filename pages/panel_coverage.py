"""Citizens' panel coverage: is the panel representative, where are the gaps, and whom must the next wave find?"""

import streamlit as st

from charts.panel import dimension_chart, gaps_data, gaps_sentence, summary_data, summary_sentences
from data_access.cached import query
from data_access.geography import geography_status
from data_access.overview import panel_target
from data_access.panel import coverage, design_effects, panel_size
from data_access.profiles import DIMENSIONS
from data_access.representativeness import TOO_FEW, Tolerance, assess, for_display, gaps_to_close, summary_table
from ui.context import current_filters
from ui.render import icp_caveat, show_chart, show_table, synthetic_notice

filters = current_filters()
as_at = filters.end
st.title("Citizens' panel coverage")
st.markdown(f"**{filters.area_label}**, the panel as at {as_at:%-d %B %Y} (the last day of the period).")
synthetic_notice(query(geography_status))

size = query(panel_size, as_at, filters.icp)
target = query(panel_target, filters.icp)
c1, c2 = st.columns(2)
c1.metric("Panel members serving", f"{size:,}", f"{size - target:+,} against target",
          help="Members whose term had started and not ended on the as-at date.")
c2.metric("Target", f"{target:,}", help="2,000 for Kent and Medway; an ICP area's share of it by population.")
if size == 0:
    st.info(f"No panel members were serving in {filters.area_label} on {as_at:%-d %B %Y}. "
            "Choose a later period end in the sidebar.")
    st.stop()

st.subheader("Tolerance")
t1, t2, t3 = st.columns(3)
low = t1.number_input("Lowest acceptable ratio", 0.1, 1.0, 0.8, 0.05, key="tol_low",
                      help="Representation ratio = share of the panel ÷ share of residents.")
high = t2.number_input("Highest acceptable ratio", 1.0, 10.0, 1.25, 0.05, key="tol_high")
gap_pp = t3.number_input("Largest acceptable gap (percentage points)", 0.5, 100.0, 5.0, 0.5, key="tol_pp",
                         help="A group is outside tolerance when its ratio is outside the band OR its share "
                              "differs from residents' by more than this.")
tolerance = Tolerance(low, high, gap_pp)

tables = {dim: assess(t, tolerance) for dim, t in query(coverage, as_at, filters.icp).items()}
display = {dim: for_display(t) for dim, t in tables.items()}

st.subheader("Gaps to close")
gaps = gaps_to_close(display, DIMENSIONS)
too_few = sum(int((t["status"] == TOO_FEW).sum()) for t in tables.values())
st.markdown(f"<p class='chart-sentence'>{gaps_sentence(gaps, too_few, tolerance)}</p>", unsafe_allow_html=True)
if not gaps.empty:
    st.dataframe(gaps_data(gaps), hide_index=True, width="stretch", key="gaps_table")

st.subheader("How representative is the panel?")
summary = summary_table(tables, query(design_effects, as_at, filters.icp), DIMENSIONS)
for sentence in summary_sentences(summary.iloc[-1]):
    st.markdown(f"- {sentence}")
show_table(summary_data(summary), "panel_summary", label="Table: the measures for each dimension")

st.subheader("Panel against residents, by group")
tabs = st.tabs([DIMENSIONS[d] for d in display])
for tab, (dim, table) in zip(tabs, display.items()):
    with tab:
        show_chart(dimension_chart(table, DIMENSIONS[dim], filters.area_label, tolerance), f"panel_{dim}")

st.caption("Demographics are as recorded when members joined; age bands are computed in the year viewed from "
           "the recorded birth year. Residents are those aged 16 and over for age band, ICP area, district and "
           "deprivation; all ages for sex, ethnic group and disability (the census does not publish these by age "
           "for small areas). Sex by small area is estimated from each district's census split. Bars show the "
           "panel share with its 95% interval (Wilson).")
icp_caveat()
