"""Kent and Medway engagement dashboard: the entry point, shared filters and navigation.

Run with `streamlit run app.py` (or `engagement serve`). Every page, however it is opened
(from the menu or by its own address), starts with ui.context.open_run(): it draws the same
sidebar filters and returns the run's query context, which the page passes to everything it
asks data_access for.
"""

import streamlit as st

from ui.auth import is_editor

st.set_page_config(page_title="Kent and Medway engagement dashboard", page_icon=":material/monitoring:",
                   layout="wide")

# Each url_path differs from its file name: where they match, Streamlit can treat a rerun as a
# run of the file alone (its older pages/ folder mode), skipping this entry point.
PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True, url_path="home"),
    st.Page("pages/network_growth.py", title="Network growth", icon=":material/trending_up:",
            url_path="network-growth"),
    st.Page("pages/survey_responses.py", title="Survey responses", icon=":material/assignment:",
            url_path="survey-responses"),
    st.Page("pages/panel_coverage.py", title="Citizens' panel coverage", icon=":material/groups:",
            url_path="panel-coverage"),
    st.Page("pages/deprivation_map.py", title="Deprivation map", icon=":material/map:",
            url_path="deprivation-map"),
    # In the menu for editors only; opened by its address, it tells anyone else "No access" (pages/data.py).
    st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data",
            visibility="visible" if is_editor() else "hidden"),
]

page = st.navigation(PAGES, position="sidebar", expanded=True)
page.run()
