"""Citizens' panel coverage: is the panel representative, where are the gaps, and whom must the next wave find?"""

import datetime as dt

import streamlit as st

from charts.panel import (dimension_chart, gaps_data, gaps_sentence, heatmap_chart, joint_pivot, quota_sentence,
                          quota_table, summary_data, summary_sentences)
from data_access.cached import query
from data_access.geography import geography_status
from data_access.overview import panel_target
from data_access.panel import (PANEL_DIMENSIONS, coverage, design_effects, group_order, intersection, panel_by_wave,
                               panel_size, quota_inputs)
from data_access.profiles import DIMENSIONS
from data_access.quotas import plan_wave, to_xlsx
from data_access.representativeness import TOO_FEW, Tolerance, assess, for_display, gaps_to_close, summary_table
from ui.context import current_filters
from ui.render import icp_caveat, show_chart, show_table, synthetic_notice

filters = current_filters()
as_at = filters.end
st.title("Citizens' panel coverage")
st.markdown(f"**{filters.area_label}**, the panel as at {as_at:%-d %B %Y} (the last day of the period).")
synthetic_notice(query(geography_status))

size = query(panel_size, as_at, filters.icp)
target = query(panel_target, filters.icp)
c1, c2 = st.columns(2)
c1.metric("Panel members serving", f"{size:,}", f"{size - target:+,} against target",
          help="Members whose term had started and not ended on the as-at date.")
c2.metric("Target", f"{target:,}", help="2,000 for Kent and Medway; an ICP area's share of it by population.")
if size == 0:
    st.info(f"No panel members were serving in {filters.area_label} on {as_at:%-d %B %Y}. "
            "Choose a later period end in the sidebar.")
    st.stop()

st.subheader("Tolerance")
t1, t2, t3 = st.columns(3)
low = t1.number_input("Lowest acceptable ratio", 0.1, 1.0, 0.8, 0.05, key="tol_low",
                      help="Representation ratio = share of the panel ÷ share of residents.")
high = t2.number_input("Highest acceptable ratio", 1.0, 10.0, 1.25, 0.05, key="tol_high")
gap_pp = t3.number_input("Largest acceptable gap (percentage points)", 0.5, 100.0, 5.0, 0.5, key="tol_pp",
                         help="A group is outside tolerance when its ratio is outside the band OR its share "
                              "differs from residents' by more than this.")
tolerance = Tolerance(low, high, gap_pp)

tables = {dim: assess(t, tolerance) for dim, t in query(coverage, as_at, filters.icp).items()}
display = {dim: for_display(t) for dim, t in tables.items()}

st.subheader("Gaps to close")
gaps = gaps_to_close(display, DIMENSIONS)
too_few = sum(int((t["status"] == TOO_FEW).sum()) for t in tables.values())
st.markdown(f"<p class='chart-sentence'>{gaps_sentence(gaps, too_few, tolerance)}</p>", unsafe_allow_html=True)
if not gaps.empty:
    st.dataframe(gaps_data(gaps), hide_index=True, width="stretch", key="gaps_table")

st.subheader("How representative is the panel?")
summary = summary_table(tables, query(design_effects, as_at, filters.icp), DIMENSIONS)
for sentence in summary_sentences(summary.iloc[-1]):
    st.markdown(f"- {sentence}")
show_table(summary_data(summary), "panel_summary", label="Table: the measures for each dimension")

st.subheader("Panel against residents, by group")
tabs = st.tabs([DIMENSIONS[d] for d in display])
for tab, (dim, table) in zip(tabs, display.items()):
    with tab:
        show_chart(dimension_chart(table, DIMENSIONS[dim], filters.area_label, tolerance), f"panel_{dim}")

st.subheader("Intersections")
AGE_SEX_CAVEAT = ("Residents by age and sex are apportioned: the census does not publish age by sex for small "
                  "areas, so each small area's age counts are split by its female/male shares (themselves estimated "
                  "from the district).")
for row, col, caveat, title in (("age_band", "sex", AGE_SEX_CAVEAT, "Age band by sex"),
                                ("icp_area", "imd_quintile", "", "ICP area by deprivation (IMD quintile)")):
    cells = query(intersection, as_at, filters.icp, row, col)
    show_chart(heatmap_chart(cells, row, col, DIMENSIONS[row], DIMENSIONS[col], filters.area_label,
                             group_order(row), group_order(col), caveat), f"heat_{row}_{col}",
               f"{title}: representation ratio")

st.subheader("Recruitment waves")
waves = query(panel_by_wave, filters)
show_table(waves.rename(columns={"wave": "Wave", "started": "Terms started", "recruited": "Recruited",
                                 "serving": "Still serving"}), "panel_waves", label="Table: members by recruitment wave")

st.subheader("Recruitment quota planner")
p1, p2 = st.columns(2)
target_size = p1.number_input("Target panel size", 10, 200_000, int(target), 50, key="plan_target")
wave_day = p2.date_input("Date of the next wave", as_at + dt.timedelta(days=182), min_value=as_at,
                         key="plan_date", format="DD/MM/YYYY")
plan = plan_wave(query(quota_inputs, wave_day, filters.icp), int(target_size), tolerance,
                 {d: group_order(d) for d in PANEL_DIMENSIONS})
st.markdown(f"<p class='chart-sentence'>{quota_sentence(plan, filters.area_label, wave_day, DIMENSIONS)}</p>",
            unsafe_allow_html=True)
q1, q2 = st.columns(2)
q1.metric("Still serving at the wave", f"{plan.serving:,}")
q2.metric("Recruits needed", f"{plan.wave:,}")
quotas = quota_table(plan, DIMENSIONS)
if plan.wave:
    st.markdown("**Recruits by group.** *Recruits* brings the panel after the wave as close to residents as "
                "recruiting can; *at least* and *at most* keep each group within the tolerance set above.")
    st.dataframe(quotas, hide_index=True, width="stretch", key="quota_table")
    sheets = {"Quotas by group": quotas}
    if plan.joint is not None:
        cells = plan.joint.cells
        by_age = joint_pivot(cells, "icp_area", "age_band", "ICP area", group_order("age_band"))
        by_imd = joint_pivot(cells, "icp_area", "imd_quintile", "ICP area", group_order("imd_quintile"))
        st.markdown("**Joint quotas** (fitted from residents' own mix of area, deprivation and age; every total "
                    "matches the recruits by group above" + ("" if plan.joint.met else ", except where noted") + ").")
        for note in plan.joint.notes:
            st.info(note)
        j1, j2 = st.columns(2)
        j1.dataframe(by_age, hide_index=True, width="stretch", key="quota_icp_age")
        j2.dataframe(by_imd, hide_index=True, width="stretch", key="quota_icp_imd")
        joint = cells[cells["recruits"] > 0][["icp_area", "imd_quintile", "age_band", "recruits"]].rename(columns={
            "icp_area": "ICP area", "imd_quintile": "IMD quintile", "age_band": "Age band", "recruits": "Recruits"})
        sheets.update({"ICP area x age band": by_age, "ICP area x IMD quintile": by_imd,
                       "Joint quotas": joint})
    d1, d2 = st.columns(2)
    d1.download_button("Download the quotas as a spreadsheet (.xlsx)", to_xlsx(sheets),
                       file_name=f"panel-quotas-{wave_day:%Y-%m-%d}.xlsx", key="dl_quotas_xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    d2.download_button("Download the quotas by group as CSV", quotas.to_csv(index=False).encode("utf-8-sig"),
                       file_name=f"panel-quotas-{wave_day:%Y-%m-%d}.csv", mime="text/csv", key="dl_quotas_csv")

st.caption("Demographics are as recorded when members joined; age bands are computed in the year viewed from "
           "the recorded birth year. Residents are those aged 16 and over for age band, ICP area, district and "
           "deprivation; all ages for sex, ethnic group and disability (the census does not publish these by age "
           "for small areas). Sex by small area is estimated from each district's census split. Bars show the "
           "panel share with its 95% interval (Wilson).")
icp_caveat()
