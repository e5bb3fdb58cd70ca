"""Deprivation map: small areas by national IMD decile across the four ICP areas, with reach."""

import streamlit as st

from charts.maps import MEASURES, core20_by_icp_chart, decile_legend, deprivation_map_chart
from data_access.cached import query
from data_access.geography import geography_status, icp_boundaries, icp_deprivation_profile, lsoa_map_data
from ui.context import current_filters
from ui.render import icp_caveat, show_chart, synthetic_notice

filters = current_filters()
st.title("Deprivation map")
status = query(geography_status)
st.markdown(f"**{filters.area_label}**: English Indices of Deprivation ({status['edition']}), "
            "decile 1 = the most deprived 10% of small areas in England.")
synthetic_notice(status)

measure = st.selectbox("Colour small areas by", list(MEASURES), format_func=MEASURES.get, key="map_measure")
areas = query(lsoa_map_data, filters)
if areas.empty:
    st.info("No small areas are loaded for this area. Load reference data with `engagement import-reference PATH`.")
    st.stop()
legend = " ".join(
    f"<span style='display:inline-block;margin-right:8px'><span style='display:inline-block;width:18px;height:14px;"
    f"background:{colour};border:1px solid #425563;vertical-align:middle'></span> {label}</span>"
    for label, colour in decile_legend())
st.markdown(f"<div aria-label='Map legend: national decile'>{legend}</div>", unsafe_allow_html=True)
show_chart(deprivation_map_chart(areas, query(icp_boundaries), filters.area_label, measure), "imd_map")
show_chart(core20_by_icp_chart(query(icp_deprivation_profile)), "core20_by_icp", "Deprivation profile of the ICP areas")
icp_caveat()
