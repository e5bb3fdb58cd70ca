"""Network growth: members over time, joiners and leavers, and reach per 1,000 residents."""

import streamlit as st

from charts.networks import joiners_and_leavers, members_over_time
from data_access.cached import query
from data_access.geography import geography_status
from data_access.networks import membership_by_icp, membership_by_month, membership_totals_by_month, networks
from ui.context import current_filters
from ui.render import icp_caveat, show_chart, show_table, synthetic_notice

filters = current_filters()
st.title("Network growth")
st.markdown(f"**{filters.area_label}**, {filters.period_label}.")
synthetic_notice(query(geography_status))

nets = query(networks)
choice = st.selectbox("Network", ["All networks", *nets["name"]], key="network_choice")
network_id = None if choice == "All networks" else int(nets.loc[nets["name"] == choice, "id"].iloc[0])

monthly = query(membership_by_month, filters, network_id=network_id)
show_chart(members_over_time(monthly, filters.area_label), "members_over_time", "Members over time")
show_chart(joiners_and_leavers(membership_totals_by_month(monthly), filters.area_label),
           "joiners_leavers", "Joiners and leavers each month")

st.subheader("Members per 1,000 residents, by ICP area")
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
