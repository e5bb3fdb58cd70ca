"""Rendering helpers: a chart with its sentence and data table, notices, headline tiles."""

from __future__ import annotations

import io
from functools import partial

import pandas as pd
import streamlit as st

from charts.theme import Chart
from data_access.areas import ICP_CAVEAT
from data_access.cached import derived
from ui.tables import for_display


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _csv(frame: pd.DataFrame) -> bytes:
    """The table as CSV, with cells that a spreadsheet would run as a formula made inert."""
    safe = frame.copy()
    for col in safe.columns:
        # text columns (object, or pandas' string dtype): numbers are left alone
        if not (pd.api.types.is_numeric_dtype(safe[col]) or pd.api.types.is_datetime64_any_dtype(safe[col])):
            safe[col] = safe[col].astype(object).map(
                lambda v: "'" + v if isinstance(v, str) and v[:1] in FORMULA_STARTS else v)
    buffer = io.StringIO()
    safe.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8-sig")


def show_table(data: pd.DataFrame, key: str, label: str = "See the data behind this chart",
               shown: pd.DataFrame | None = None) -> None:
    """The data in an expander (shown: the table as shown, if already worked out), with a CSV download."""
    with st.expander(label):
        _dataframe(derived(for_display, data) if shown is None else shown)
        # made when the button is pressed, not on every run
        st.download_button("Download as CSV", partial(_csv, data), file_name=f"{key}.csv", mime="text/csv",
                           key=f"dl_{key}", on_click="ignore")


def data_table(data: pd.DataFrame, **kwargs) -> None:
    """st.dataframe without the index, full width, with missing values shown as a dash (worked out once for a
    kept table)."""
    _dataframe(derived(for_display, data), **kwargs)


def _dataframe(shown: pd.DataFrame, **kwargs) -> None:
    st.dataframe(shown, hide_index=True, width="stretch", **kwargs)


def chart_table(chart: Chart) -> pd.DataFrame:
    """A chart's data as shown."""
    return for_display(chart.data)


def plain(text) -> str:
    """Text (e.g. a survey title or question typed by someone) made safe to put inside st.markdown: HTML
    escaped, and every character Markdown would act on backslash-escaped, so it shows exactly as written."""
    out = _escape(" ".join(str(text).split()))
    return "".join("\\" + ch if ch in MARKDOWN_SPECIALS else ch for ch in out)


MARKDOWN_SPECIALS = set("\\`*_{}[]()#+-.!|~>$:")


def show_chart(chart: Chart, key: str, title: str | None = None) -> None:
    """A chart, the plain-English sentence under it, and its data one click away (the title is shown as
    plain text, never as Markdown)."""
    if title:
        st.subheader(plain(title), anchor=False)
    if chart.figure is not None:
        if hasattr(chart.figure, "to_json") and hasattr(chart.figure, "layers"):
            st.pydeck_chart(chart.figure, key=f"map_{key}", height=620)
        else:
            figure = chart.figure
            if st.session_state.get("presentation"):  # presentation mode (ui.shell): larger chart text
                from charts.theme import for_presentation

                figure = for_presentation(figure)
            st.plotly_chart(figure, key=f"chart_{key}", theme=None, config={"displaylogo": False})
    st.markdown(f"<p class='chart-sentence'>{_escape(' '.join(chart.sentence.split()))}</p>", unsafe_allow_html=True)
    show_table(chart.data, key, shown=derived(chart_table, chart))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def synthetic_notice(status: dict) -> None:
    """Say plainly when the areas and figures are synthetic demo data."""
    if status.get("synthetic"):
        st.warning(
            "**Demo data on a synthetic geography.** The small areas, deprivation deciles, populations "
            "and every figure on this page are made up for demonstration. Load the real reference data shipped "
            "with the dashboard with `engagement import-reference data/reference/` to see Kent and Medway's real "
            "small areas.",
            icon=":material/info:",
        )
    elif status.get("demo"):
        st.info(
            f"**Demonstration engagement data on Kent and Medway's real small areas.** The small areas, deprivation "
            f"figures and populations are real ({status.get('edition')}); the network members, survey responses and "
            "panel members are made up for demonstration.",
            icon=":material/info:",
        )


def icp_caveat() -> None:
    """The standing note that ICP areas are a best fit."""
    st.caption(ICP_CAVEAT)


def page_css() -> None:
    """Larger text for sentences under charts (readable on a projector)."""
    st.markdown(
        "<style>.chart-sentence{font-size:1.15rem;line-height:1.5;margin:0.2rem 0 0.6rem 0;color:#212B32}"
        # Captions in NHS mid grey: 6:1 on white. Streamlit draws captions at 60% opacity, which turns that
        # grey into #94A1AA (2.6:1), so the opacity goes back to 1.
        "[data-testid='stCaptionContainer'], [data-testid='stCaptionContainer'] p, .note{color:#4C6272 !important}"
        "[data-testid='stCaptionContainer']{opacity:1 !important}"
        ".note{font-size:0.9rem}"
        "</style>",
        unsafe_allow_html=True,
    )
