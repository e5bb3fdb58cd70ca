"""Network growth: size over time, SPC of joiners and net change, fair comparison between areas,
retention, recruitment channels, who the networks reach, and projections."""

import pandas as pd
import streamlit as st

from charts.networks import joiners_and_leavers, members_over_time
from charts.spc import spc, xmr_chart
from data_access.cached import query
from data_access.filters import Filters
from data_access.geography import geography_status
from data_access.networks import (
    complete_months, measure_settings, membership_by_icp, membership_by_month, membership_totals_by_month, networks,
)
from ui.context import current_filters
from ui.render import icp_caveat, show_chart, show_table, synthetic_notice

filters = current_filters()
st.title("Network growth")
st.markdown(f"**{filters.area_label}**, {filters.period_label}.")
synthetic_notice(query(geography_status))

nets = query(networks)
choice = st.selectbox("Network", ["All networks", *nets["name"]], key="network_choice")
network_id = None if choice == "All networks" else int(nets.loc[nets["name"] == choice, "id"].iloc[0])
which = "all networks" if network_id is None else f"the {choice}"

# --- Size over time, joiners and leavers ---------------------------------------------------
monthly = query(membership_by_month, filters, network_id=network_id)
show_chart(members_over_time(monthly, filters.area_label), "members_over_time", "Members over time")
show_chart(joiners_and_leavers(membership_totals_by_month(monthly), filters.area_label),
           "joiners_leavers", "Joiners and leavers each month")

# --- Statistical process control -----------------------------------------------------------
st.header("Is the change more than everyday variation?")
with st.expander("How these charts are worked out, and settings"):
    st.markdown(
        "Statistical process control in NHS England's *Making Data Count* style: the mean, process limits at "
        "the mean ± 2.66 × the mean moving range, and four rules for special cause: a point beyond a limit; "
        "7 points in a row on one side of the mean; 7 points in a row all rising or all falling; 2 of 3 points "
        "close to a limit. Grey circles are common cause, blue diamonds improvement, orange squares concern, "
        "purple triangles a change that is neither better nor worse. Only complete months are charted.")
    window = st.radio("Months charted", ["24 months to the period end", "The selected period"],
                      key="spc_window", horizontal=True)
    baseline = int(st.number_input("Fix the limits after this many points", min_value=1, max_value=60, value=12,
                                   key="spc_baseline",
                                   help="Fewer points than this since the limits were set gives trial limits."))
    screen = st.checkbox("Screen out very large moving ranges (3.267 × the mean or more)", value=True,
                         key="spc_screen", help="Off reproduces the NHS England Excel tool.")
spc_filters = filters
if window.startswith("24"):
    month_after = (pd.Timestamp(filters.end) + pd.Timedelta(days=1)).to_period("M").to_timestamp()
    spc_filters = Filters(filters.icp, (month_after - pd.DateOffset(months=24)).date(), filters.end)
series = complete_months(membership_totals_by_month(query(membership_by_month, spc_filters, network_id=network_id)),
                         spc_filters)
month_labels = [f"{mo:%B %Y}" for mo in series["month"]]
with st.expander("Recalculate the limits from a change (e.g. a new recruitment campaign)"):
    changes = st.multiselect("New limits from", month_labels[1:], key="spc_recalc")
recalc = [series["month"].iloc[month_labels.index(lab)] for lab in changes]
for key, column, y_title in (("network_joiners", "joiners", "People joining"),
                             ("network_net_change", "net", "Net change in members")):
    measure = query(measure_settings, key)
    result = spc(series[column], x=series["month"], improvement=measure["improvement"], target=measure["target"],
                 baseline=baseline, screen=screen, recalculate_from=recalc)
    label = f"{measure['label']} ({which}, {filters.area_label})"
    show_chart(xmr_chart(result, label, y_title), f"spc_{key}", measure["label"])
    for note in result.notes:
        st.caption(note)

# --- Fair comparison between areas ---------------------------------------------------------
st.header("Growth for the size of each area")
by_icp = query(membership_by_icp, filters)
best = by_icp.loc[by_icp["members_per_1000"].idxmax()] if len(by_icp) else None
if best is not None:
    st.markdown(
        f"<p class='chart-sentence'>All networks together: {best['icp']} has the most members for its size, "
        f"{best['members_per_1000']:.1f} per 1,000 residents ({int(best['members']):,} members).</p>",
        unsafe_allow_html=True)
show_table(by_icp.round(1).rename(columns={
    "icp": "ICP area", "members": "Members at period end", "joiners": "Joined in period", "residents": "Residents",
    "members_per_1000": "Members per 1,000 residents", "joiners_per_1000": "Joiners per 1,000 residents"}),
    "members_by_icp", label="Table: members by ICP area")
st.caption("Members whose small area is not known are counted in Kent and Medway totals but not in an ICP area.")
icp_caveat()
