"""Kent and Medway engagement dashboard: the entry point, shared filters and navigation.

Run with `streamlit run app.py` (or `engagement serve`). Every page, however it is opened
(from the menu or by its own URL), runs through this file first, so the sidebar filters
are always the same.
"""

import streamlit as st

from data_access.cached import date_bounds, engine
from ui.filters import sidebar_filters
from ui.render import page_css

st.set_page_config(page_title="Kent and Medway engagement dashboard", page_icon=":material/monitoring:", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("pages/network_growth.py", title="Network growth", icon=":material/trending_up:", url_path="network-growth"),
    st.Page("pages/survey_responses.py", title="Survey responses", icon=":material/assignment:", url_path="survey-responses"),
    st.Page("pages/panel_coverage.py", title="Citizens' panel coverage", icon=":material/groups:", url_path="panel-coverage"),
    st.Page("pages/deprivation_map.py", title="Deprivation map", icon=":material/map:", url_path="deprivation-map"),
]

page = st.navigation(PAGES, position="sidebar", expanded=True)
page_css()
try:
    engine()
    first, last = date_bounds()
except Exception as exc:  # noqa: BLE001 - a page must never show a traceback
    st.error(
        "The dashboard cannot read its data store. Check that DATABASE_URL points at a reachable "
        f"database, or remove it to use the built-in demo store. ({exc.__class__.__name__})"
    )
    st.stop()
st.session_state["filters"] = sidebar_filters(first, last)
with st.sidebar:
    st.caption("Counts of fewer than 5 people are not shown, to protect privacy.")
page.run()
