"""What every page needs: the engine's cached query runner and the current filters."""

from __future__ import annotations

import streamlit as st

from data_access.filters import Filters


def current_filters() -> Filters:
    """The filters set in the sidebar by app.py for this run."""
    filters = st.session_state.get("filters")
    if filters is None:  # only when a page file is run on its own, outside app.py
        st.error("Open this page through the dashboard (streamlit run app.py).")
        st.stop()
    return filters
