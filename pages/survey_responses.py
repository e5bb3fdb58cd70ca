"""Survey responses: all surveys at a glance, one survey against its target, channels, and who responded."""

import streamlit as st

from charts.representation import representation_chart
from charts.surveys import channel_chart, progress_chart
from data_access.cached import query
from data_access.geography import geography_status
from data_access.models import CHANNELS_SURVEY
from data_access.profiles import DIMENSIONS, representation_for
from data_access.surveys import progress_against_target, responses_by_day, survey, survey_summary, target_verdict
from ui.context import current_filters
from ui.render import icp_caveat, show_chart, show_table, synthetic_notice

filters = current_filters()
st.title("Survey responses")
st.markdown(f"**{filters.area_label}**, surveys open between {filters.start:%-d %B %Y} and {filters.end:%-d %B %Y} "
            "or still to come.")
synthetic_notice(query(geography_status))

surveys = query(survey_summary, filters)
if surveys.empty:
    st.info("No surveys were open in this period in this area. Widen the period in the sidebar.")
    st.stop()

st.subheader("All surveys at a glance")
glance = surveys[["title", "status", "opens_on", "closes_on", "responses", "target", "days_left", "areas"]]
st.dataframe(glance.rename(columns={
    "title": "Survey", "status": "Status", "opens_on": "Opens", "closes_on": "Closes", "responses": "Responses",
    "target": "Target", "days_left": "Days left", "areas": "Areas covered"}), hide_index=True, width="stretch")

labels = {int(r.id): f"{r.title} ({r.status.lower()}, {r.opens_on:%b %Y})" for r in surveys.itertuples()}
open_now = surveys[surveys["status"] == "Open"]
default_id = int(open_now["id"].iloc[0]) if len(open_now) else int(surveys["id"].iloc[0])
survey_id = st.selectbox("Survey", list(labels), format_func=labels.get, index=list(labels).index(default_id),
                         key="survey_choice")
info = query(survey, survey_id)

daily = query(responses_by_day, survey_id, filters)
progress = progress_against_target(daily, info["opens_on"], info["closes_on"], info["target_responses"], filters.end)
verdict = target_verdict(progress, info["target_responses"], filters.end)
st.markdown(f"### {info['title']}")
st.markdown(f"Open {info['opens_on']:%-d %B %Y} to {info['closes_on']:%-d %B %Y}. "
            f"Areas covered: {', '.join(info['areas']) or 'all of Kent and Medway'}.")
if daily.empty:
    st.info("This survey has no responses from this area yet.")
else:
    show_chart(progress_chart(progress, verdict, info["title"]), "progress", "Responses against target")
    show_chart(channel_chart(daily, CHANNELS_SURVEY), "channels", "How people responded")
    st.subheader("Who responded, against who lives there")
    areas = info["areas"] if not filters.icp else [filters.icp]
    for dim in ("age_band", "imd_quintile"):
        rep = query(representation_for, "respondents", dim, filters, survey_id=survey_id, icp_names=areas or None)
        show_chart(representation_chart(rep, "respondents", DIMENSIONS[dim], filters.area_label), f"rep_{dim}",
                   DIMENSIONS[dim])
    st.caption("Age compares respondents with residents aged 16 and over, as at the date they responded. "
               "Groups with fewer than 5 respondents are not shown.")
icp_caveat()
