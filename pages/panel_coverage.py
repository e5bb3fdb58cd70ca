"""Citizens' panel coverage: is the panel representative, and where are the gaps?"""

import pandas as pd
import streamlit as st

from charts.representation import TOLERANCE, representation_chart
from charts.theme import pct
from data_access.cached import query
from data_access.geography import geography_status
from data_access.overview import panel_target
from data_access.panel import panel_by_wave, panel_size
from data_access.profiles import DIMENSIONS, representation_for
from ui.context import current_filters
from ui.render import icp_caveat, show_chart, show_table, synthetic_notice

filters = current_filters()
st.title("Citizens' panel coverage")
st.markdown(f"**{filters.area_label}**, the panel as at {filters.end:%-d %B %Y}.")
synthetic_notice(query(geography_status))

size = query(panel_size, filters.end, filters.icp)
target = query(panel_target, filters.icp)
c1, c2 = st.columns(2)
c1.metric("Panel members serving", f"{size:,}", f"{size - target:+,} against target",
          help="Members whose term had started and not ended on the last day of the period.")
c2.metric("Target", f"{target:,}", help="2,000 for Kent and Medway; an ICP area's share of it by population.")

reps = {dim: query(representation_for, "panel", dim, filters)
        for dim in ("age_band", "sex", "ethnic_group", "disability", "icp_area", "imd_quintile")}

st.subheader("Gaps to close")
rows = []
for dim, rep in reps.items():
    known = rep[rep["stated"] & rep["ratio"].notna()]
    for r in known.itertuples():
        if r.ratio < TOLERANCE[0] or r.ratio > TOLERANCE[1]:
            rows.append({"Dimension": DIMENSIONS[dim], "Group": r.group, "Share of panel": pct(r.share, 1),
                         "Share of residents": pct(r.resident_share, 1), "Representation ratio": round(r.ratio, 2),
                         "Under or over": "under-represented" if r.ratio < 1 else "over-represented",
                         "_gap": abs(r.ratio - 1)})
gaps = pd.DataFrame(rows)
if gaps.empty:
    st.markdown("Every group is within tolerance (a representation ratio between 0.8 and 1.25).")
else:
    gaps = gaps.sort_values("_gap", ascending=False).drop(columns="_gap")
    worst = gaps.iloc[0]
    st.markdown(
        f"<p class='chart-sentence'>{len(gaps)} groups are outside tolerance (a ratio below 0.8 or above 1.25). "
        f"The biggest gap: {worst['Group']} ({worst['Dimension'].lower()}) are {worst['Share of residents']} of "
        f"residents but {worst['Share of panel']} of the panel (ratio {worst['Representation ratio']:.2f}).</p>",
        unsafe_allow_html=True)
    st.dataframe(gaps, hide_index=True, width="stretch")

st.subheader("Panel against residents, by group")
tabs = st.tabs([DIMENSIONS[d] for d in reps])
for tab, (dim, rep) in zip(tabs, reps.items()):
    with tab:
        show_chart(representation_chart(rep, "panel members", DIMENSIONS[dim], filters.area_label), f"panel_{dim}")

st.subheader("Recruitment waves")
waves = query(panel_by_wave, filters)
show_table(waves.rename(columns={"wave": "Wave", "started": "Terms started", "recruited": "Recruited",
                                 "serving": "Still serving"}), "panel_waves", label="Table: members by recruitment wave")
st.caption("Age bands are computed at the date viewed from the birth year recorded at joining. "
           "Residents' shares are of residents aged 16 and over for age; of all residents otherwise. "
           "Sex by small area is estimated from each district's census split.")
icp_caveat()
