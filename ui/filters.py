"""The shared sidebar filters (ICP area and period), kept in the page URL so a view can be shared."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from data_access.areas import ICP_AREAS
from data_access.filters import ALL_AREAS, DEFAULT_PERIOD_DAYS, Filters

SHORT_TO_NAME = {short: name for name, short in ICP_AREAS}
NAME_TO_SHORT = {name: short for name, short in ICP_AREAS}


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _icp_from_param(value: str | None) -> str:
    if not value:
        return ALL_AREAS
    value = value.strip()
    for name, short in ICP_AREAS:
        if value.lower() in (name.lower(), short.lower()):
            return name
    return ALL_AREAS


def sidebar_filters(first: dt.date, last: dt.date) -> Filters:
    """Draw the ICP area and period filters in the sidebar and return what they say.

    The widgets start from the URL (?icp=...&from=...&to=...), then keep what the user picks. The URL is updated every run, so the address bar always
    holds a link to the current view.
    """
    params = st.query_params
    options = [ALL_AREAS, *[n for n, _ in ICP_AREAS]]
    icp_default = _icp_from_param(params.get("icp"))
    end = _parse_date(params.get("to")) or last
    start = _parse_date(params.get("from")) or (end - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1))
    start, end = max(min(start, end), first), min(max(start, end), last)
    with st.sidebar:
        st.markdown("**Filters**")
        icp = st.selectbox("ICP area", options, index=options.index(icp_default), key="flt_icp",
                           help="Integrated care partnership area. Applies to every page.")
        period = st.date_input("Period", value=(start, end), key="flt_period", min_value=first, max_value=last,
                               format="DD/MM/YYYY",
                               help="Counts are for this period; sizes (members, panel) are as at its last day.")
    if isinstance(period, (tuple, list)) and len(period) == 2:
        start, end = period
    else:  # the user has picked only the first day so far
        start = period[0] if isinstance(period, (tuple, list)) and period else first
        end = last
    filters = Filters(icp=None if icp == ALL_AREAS else icp, start=start, end=end)
    wanted = {"from": start.isoformat(), "to": end.isoformat()}
    if filters.icp:
        wanted["icp"] = NAME_TO_SHORT[filters.icp]
    if dict(params) != wanted:
        params.from_dict(wanted)
    return filters
