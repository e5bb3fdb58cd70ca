"""The frame every page shares: the store check, the sidebar filters and the privacy note."""

from __future__ import annotations

import streamlit as st

from data_access.cached import date_bounds, engine
from data_access.disclosure import threshold
from data_access.filters import Filters
from ui.filters import sidebar_filters
from ui.render import page_css


def draw_shell() -> Filters:
    """Check the store, draw the sidebar filters and return them; on failure say so and stop."""
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
    filters = sidebar_filters(first, last)
    with st.sidebar:
        st.caption(f"Counts of fewer than {threshold()} people are not shown, to protect privacy.")
    return filters
