"""The frame every page shares: the store check, the sidebar filters, the privacy note and the editor's sign-in,
and the run's query context made from them."""

from __future__ import annotations

import streamlit as st

from data_access.cached import QueryContext, engine
from data_access.disclosure import describe, rule_warning
from data_access.filters import data_bounds
from ui.auth import auth_sidebar
from ui.filters import sidebar_filters
from ui.render import page_css

PRESENT_PARAM = "present"
PRESENTATION_CSS = (
    "<style>"
    # Large text and high contrast for a projector: black on white, bigger headings, figures and sentences.
    "[data-testid='stMain'] p, [data-testid='stMain'] li, [data-testid='stMain'] label{font-size:1.45rem !important;"
    "line-height:1.45;color:#000 !important}"
    "[data-testid='stMain'] h1{font-size:3rem !important;color:#000 !important}"
    "[data-testid='stMain'] h2, [data-testid='stMain'] h3{font-size:2.2rem !important;color:#000 !important}"
    "[data-testid='stMain'] [data-testid='stMetricValue'] *{font-size:3.2rem !important;color:#000 !important;"
    "font-weight:700}"
    "[data-testid='stMetricLabel'] p{font-size:1.4rem !important;color:#000 !important;font-weight:700;"
    "white-space:normal !important}"
    "[data-testid='stMain'] [data-testid='stMetricDelta'] *{font-size:1.2rem !important;color:#000 !important;"
    "white-space:normal !important;overflow:visible !important}"
    ".chart-sentence{font-size:1.6rem !important;color:#000 !important}"
    "[data-testid='stMain'] [data-testid='stCaptionContainer'] *, [data-testid='stMain'] .note{color:#000 !important;"
    "font-size:1.2rem !important}"
    "[data-testid='stMain'] a{color:#003087 !important;text-decoration:underline !important}"
    "[data-testid='stMetric']{border:3px solid #000;border-radius:6px;padding:0.6rem}"
    "</style>"
)


def presentation_mode() -> bool:
    """True when presentation mode (large text, high contrast) is on for this session."""
    return bool(st.session_state.get("presentation", False))


def _presentation_switch() -> None:
    """The sidebar switch for presentation mode, started from the address (?present=1) and kept in it."""
    params = st.query_params
    start_on = params.get(PRESENT_PARAM) in ("1", "true", "yes")
    with st.sidebar:
        on = st.toggle("Presentation mode", value=start_on, key="presentation",
                       help="Large text and high contrast, for a projector or a big screen.")
    if on:
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)
        if params.get(PRESENT_PARAM) != "1":
            params[PRESENT_PARAM] = "1"
    elif PRESENT_PARAM in params:
        del params[PRESENT_PARAM]


def draw_shell() -> QueryContext:
    """Check the store, draw the sidebar and return the run's query context; on failure say so and stop."""
    page_css()
    try:
        store = QueryContext.open(engine())
        first, last = store.query(data_bounds)
    except Exception as exc:  # noqa: BLE001 - a page must never show a traceback
        st.error(
            "The dashboard cannot read its data store. Check that DATABASE_URL points at a reachable "
            f"database, or remove it to use the built-in demo store. ({exc.__class__.__name__})"
        )
        st.stop()
    wanted_present = st.query_params.get(PRESENT_PARAM)  # read before the filters rewrite the address
    filters = sidebar_filters(first, last)
    if wanted_present is not None and PRESENT_PARAM not in st.query_params:
        st.query_params[PRESENT_PARAM] = wanted_present
    _presentation_switch()
    with st.sidebar:
        st.caption(describe())
        warning = rule_warning()
        if warning:
            st.warning(warning, icon=":material/warning:")
    auth_sidebar()
    try:
        return store.with_filters(filters)
    except ValueError as exc:  # an ICP area the store does not hold
        st.error(str(exc))
        st.stop()
