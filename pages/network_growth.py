"""Network growth: size over time with activities, SPC of joiners and net change, growth for the size of
each area, recent growth, retention, recruitment channels, who the networks reach, and projections."""

import pandas as pd
import streamlit as st

from charts.networks import (
    channel_joiners_chart, channel_mix_chart, growth_per_1000_chart, growth_timeline, joiners_and_leavers,
    project_sizes, projection_chart, recent_growth_chart, retention_chart,
)
from charts.representation import representation_chart
from charts.spc import spc_with_chart
from data_access.filters import Filters
from data_access.geography import geography_status
from data_access.networks import (
    complete_months, growth_by_area, measure_settings, membership_by_month, membership_totals_by_month, networks,
    projection_base, recent_growth,
)
from data_access.profiles import DIMENSIONS, representation_tables
from data_access.disclosure import describe
from data_access.retention import (
    channel_mix, channel_totals, joiners_by_channel, network_activities, retention_by_quarter,
)
from ui.context import open_run
from ui.render import icp_caveat, show_chart, synthetic_notice

run = open_run()
filters = run.filters
st.title("Network growth")
st.markdown(f"**{filters.area_label}**, {filters.period_label}.")
synthetic_notice(run.query(geography_status))

nets = run.query(networks)
choice = st.selectbox("Network", ["All networks", *nets["name"]], key="network_choice")
network_id = None if choice == "All networks" else int(nets.loc[nets["name"] == choice, "id"].iloc[0])
which = "all networks" if network_id is None else f"the {choice}"
area = filters.area_label


def months_back(months: int) -> Filters:
    """The filters widened to the `months` whole months before the period end (and the part month to it)."""
    month_after = (pd.Timestamp(filters.end) + pd.Timedelta(days=1)).to_period("M").to_timestamp()
    return Filters(filters.icp, (month_after - pd.DateOffset(months=months)).date(), filters.end)


# --- Size over time, with activities; joiners and leavers --------------------------------------------
monthly = run.query(membership_by_month, filters, network_id=network_id)
totals = run.query(membership_totals_by_month, filters, network_id=network_id)
activities = run.query(network_activities, filters, network_id=network_id)
show_chart(run.built(growth_timeline, monthly, activities, area, totals), "members_over_time", "Members over time")
show_chart(run.built(joiners_and_leavers, totals, area), "joiners_leavers", "Joiners and leavers each month")
st.caption(describe() + " Nor are other figures from which a small number could be worked out by adding and "
           "subtracting: each network's line, all networks' totals, retention, recruitment channels, growth by area "
           "and recent growth are checked together, for every network and ICP area.")
show_chart(run.built(recent_growth_chart, run.query(recent_growth, filters), area), "recent_growth",
           "Growth in the last two months, by network")

# --- Statistical process control ---------------------------------------------------------------------
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
spc_filters = months_back(24) if window.startswith("24") else filters
series = run.built(complete_months, run.query(membership_totals_by_month, spc_filters, network_id=network_id), spc_filters)
month_labels = [f"{mo:%B %Y}" for mo in series["month"]]
with st.expander("Recalculate the limits from a change (e.g. a new recruitment campaign)"):
    changes = st.multiselect("New limits from", month_labels[1:], key="spc_recalc")
recalc = [series["month"].iloc[month_labels.index(lab)] for lab in changes]
for key, column, y_title in (("network_joiners", "joiners", "People joining"),
                             ("network_net_change", "net", "Net change in members")):
    measure = run.query(measure_settings, key)
    if series[column].isna().any():
        st.subheader(measure["label"])
        st.info(f"Some months had too few people joining or leaving {which} in {area} to show, so this chart "
                "cannot be drawn without revealing them. Choose a wider area or all networks.")
        continue
    result, chart = run.built(spc_with_chart, series[column].astype(float), series["month"],
                          f"{measure['label']} ({which}, {area})", y_title, improvement=measure["improvement"],
                          target=measure["target"], baseline=baseline, screen=screen, recalculate_from=tuple(recalc))
    show_chart(chart, f"spc_{key}", measure["label"])
    for note in result.notes:
        st.caption(note)

# --- Growth for the size of each area -----------------------------------------------------------------
st.header("Growth for the size of each area")
show_chart(run.built(growth_per_1000_chart, run.query(growth_by_area, filters, "icp", network_id=network_id),
                 "ICP area", "Kent and Medway", which, chosen=filters.icp), "growth_by_icp",
           "Per 1,000 residents, by ICP area")
show_chart(run.built(growth_per_1000_chart, run.query(growth_by_area, filters, "district", network_id=network_id),
                 "District", area, which), "growth_by_district", "Per 1,000 residents, by district")
st.caption("Members whose small area is not known are counted in the totals above but not in any area.")
icp_caveat()

# --- Retention ------------------------------------------------------------------------------------------
st.header("Do people stay?")
show_chart(run.built(retention_chart, run.query(retention_by_quarter, filters, network_id=network_id), area, which),
           "retention", "Still members 6 and 12 months after joining")

# --- Recruitment channels ---------------------------------------------------------------------------------
st.header("Recruitment channels")
show_chart(run.built(channel_joiners_chart, run.query(joiners_by_channel, filters, network_id=network_id), area, which,
                 run.query(channel_totals, filters, network_id=network_id)),
           "channel_joiners", "People joining by channel")
st.subheader("Who each channel brings, against who lives here")
for tab, dim in zip(st.tabs(["Age band", "Deprivation (IMD quintile)"]), ["age_band", "imd_quintile"]):
    with tab:
        show_chart(run.built(channel_mix_chart, run.query(channel_mix, filters, dim, network_id=network_id),
                         DIMENSIONS[dim], area), f"channel_mix_{dim}")

# --- Who the networks reach ----------------------------------------------------------------------------------
st.header("Who the networks reach")
dims = ["age_band", "sex", "ethnic_group", "imd_quintile"]
reps = run.query(representation_tables, "members", filters, dims, network_id=network_id)
for tab, dim in zip(st.tabs([DIMENSIONS[d] for d in dims]), dims):
    with tab:
        rep = reps[dim]
        show_chart(run.built(representation_chart, rep, "members", DIMENSIONS[dim], area), f"reach_{dim}")

# --- Projection ---------------------------------------------------------------------------------------------
st.header("Where each network is heading")
lookback = months_back(12)
# the history drawn is the SPC charts' 24 months (one release, protected together), cut to the last 12
recent = run.query(membership_by_month, months_back(24), network_id=network_id)
recent = recent[recent["month"] >= pd.Timestamp(lookback.start).to_period("M").to_timestamp()].reset_index(drop=True)
base = run.query(projection_base, lookback, network_id=network_id)
targets = dict(zip(nets["name"], nets["target_members"]))
projection = run.built(project_sizes, base, complete_months(base, lookback), targets, filters.end)
show_chart(run.built(projection_chart, recent, projection, filters.end, area, show_targets=filters.icp is None),
           "projection", "Size in 12 months at the current rate")
if filters.icp:
    st.caption("Membership targets are for whole networks, so target dates are shown for all of Kent and Medway only.")
st.caption("The projection carries on the mean monthly net change of the last 12 complete months; the shaded band "
           "is a 95% range from how much that change varied month to month. It is a guide, not a forecast.")
