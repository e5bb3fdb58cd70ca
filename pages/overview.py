"""Overview: the headline figures for the chosen area and period, with links to each page."""

import streamlit as st

from charts.theme import pct, signed
from data_access.cached import query
from data_access.geography import geography_status
from data_access.overview import headline_figures
from ui.context import current_filters
from ui.render import icp_caveat, synthetic_notice

filters = current_filters()
st.title(f"Patient and public engagement: {filters.area_label}")
st.markdown(f"**Period:** {filters.period_label}. Sizes are as at {filters.end:%-d %B %Y}.")
synthetic_notice(query(geography_status))

h = query(headline_figures, filters)

cols = st.columns(5)
cols[0].metric("Network members", f"{h.members:,}", f"{signed(h.growth_12m)} in 12 months",
               help="People in any engagement network on the last day of the period (a person in two networks "
                    "counts twice); change against the same day a year earlier.")
cols[1].metric("Survey responses", f"{h.responses:,}",
               help="Responses to any survey submitted in the period, from people in the chosen area.")
cols[2].metric("Open surveys", f"{h.open_surveys:,}",
               help="Surveys open on the last day of the period.")
cols[3].metric("Citizens' panel", f"{h.panel_members:,}", f"{signed(h.panel_members - h.panel_target)} against target",
               help=f"Panel members serving on the last day of the period, against the target of {h.panel_target:,} "
                    "(2,000 for Kent and Medway; an area's share of it by population).")
cols[4].metric("Core20 respondents", pct(h.core20_share_respondents),
               f"{pct(h.core20_share_residents)} of residents", delta_color="off", delta_arrow="off",
               help="Respondents in the period living in the most deprived 20% of small areas in England "
                    "(Core20, national IMD deciles 1-2), against the share of residents who live there.")

st.subheader("In plain English")
messages = [
    f"On {filters.end:%-d %B %Y} the engagement networks in {filters.area_label} had {h.members:,} members, "
    f"{signed(h.growth_12m)} on a year earlier ({h.members_year_before:,}).",
    f"{h.responses:,} survey responses came in between {filters.start:%-d %B %Y} and {filters.end:%-d %B %Y}; "
    f"{h.open_surveys:,} survey{'s were' if h.open_surveys != 1 else ' was'} open at the end of the period.",
    f"The citizens' panel had {h.panel_members:,} members against a target of {h.panel_target:,}.",
]
if h.core20_share_respondents is not None and h.core20_share_residents:
    ratio = h.core20_share_respondents / h.core20_share_residents
    messages.append(
        f"{pct(h.core20_share_residents)} of residents live in the most deprived areas (Core20), but only "
        f"{pct(h.core20_share_respondents)} of respondents whose area we know ({h.core20_respondents:,} of "
        f"{h.respondents_with_area:,}) do: a reach ratio of {ratio:.2f}, where 1.00 would be a fair share."
    )
for message in messages:
    st.markdown(f"- {message}")

st.subheader("Explore")
links = st.columns(4)
links[0].page_link("pages/network_growth.py", label="Network growth", icon=":material/trending_up:")
links[1].page_link("pages/survey_responses.py", label="Survey responses", icon=":material/assignment:")
links[2].page_link("pages/panel_coverage.py", label="Citizens' panel coverage", icon=":material/groups:")
links[3].page_link("pages/deprivation_map.py", label="Deprivation map", icon=":material/map:")
icp_caveat()
