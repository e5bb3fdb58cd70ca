"""Citizens' panel coverage: is the panel representative, where are the gaps, and whom must the next wave find?"""

import datetime as dt
from functools import partial
from html import escape

import streamlit as st

from charts.panel import (dimension_chart, gaps_data, gaps_sentence, heatmap_chart, joiners_chart, joint_pivot,
                          participation_chart, quota_sentence, quota_table, size_chart, summary_data,
                          summary_sentences, terms_chart, waves_data)
from charts.theme import hidden_words
from data_access.disclosure import describe, format_count, is_small
from data_access.geography import geography_status
from data_access.overview import panel_target
from data_access.panel import (PANEL_DIMENSIONS, coverage, design_effects, group_order, intersection, panel_by_wave,
                               panel_size, published_panel_size, published_waves, quota_inputs, resident_base)
from data_access.panel_history import (joiners_by_wave, panel_size_by_month, panel_surveys, participation,
                                       participation_total, terms_ending, terms_ending_total, wave_totals)
from data_access.profiles import DIMENSIONS
from data_access.quotas import plan_wave, to_xlsx
from data_access.representativeness import TOO_FEW, Tolerance, assess, for_display, gaps_to_close, summary_table
from ui.context import open_run
from ui.render import data_table, icp_caveat, show_chart, show_table, synthetic_notice

run = open_run()
filters = run.filters
as_at = filters.end


def assessed(tables: dict, tolerance: Tolerance) -> dict:
    """Each dimension's coverage table assessed against the tolerance."""
    return {dim: assess(t, tolerance) for dim, t in tables.items()}


def displayed(tables: dict) -> dict:
    """Each dimension's assessed table as shown (small counts hidden)."""
    return {dim: for_display(t, dim) for dim, t in tables.items()}


def summary_with_bases(summary, bases: dict):
    """The summary's rows as shown, with the residents each dimension is compared with."""
    rows = summary_data(summary)
    rows["Residents compared with"] = [bases.get(d, "—") for d in summary["dimension"]]
    return rows


def csv_bytes(table) -> bytes:
    """A table as CSV for a spreadsheet (UTF-8 with a byte-order mark)."""
    return table.to_csv(index=False).encode("utf-8-sig")

st.title("Citizens' panel coverage")
st.markdown(f"**{filters.area_label}**, the panel as at {as_at:%-d %B %Y} (the last day of the period).")
synthetic_notice(run.query(geography_status))

size = run.query(panel_size, as_at, filters.icp)
shown_size = run.query(published_panel_size, as_at, filters.icp)  # None where hidden
target = run.query(panel_target, filters.icp)
c1, c2 = st.columns(2)
c1.metric("Panel members serving", format_count(shown_size),
          None if shown_size is None else f"{shown_size - target:+,} against target",
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

tables = run.built(assessed, run.query(coverage, as_at, filters.icp), tolerance)
display = run.built(displayed, tables)

st.subheader("Gaps to close")
gaps = run.built(gaps_to_close, display, DIMENSIONS)
too_few = sum(int((t["status"] == TOO_FEW).sum()) for t in display.values())
st.markdown(f"<p class='chart-sentence'>{escape(gaps_sentence(gaps, too_few, tolerance))}</p>", unsafe_allow_html=True)
if not gaps.empty:
    data_table(run.built(gaps_data, gaps), key="gaps_table")

st.subheader("How representative is the panel?")
summary = run.built(summary_table, tables, run.query(design_effects, as_at, filters.icp), DIMENSIONS, display)
for sentence in summary_sentences(summary.iloc[-1]):
    st.markdown(f"- {sentence}")
bases = {dim: run.query(resident_base, dim) for dim in PANEL_DIMENSIONS}
summary_rows = run.built(summary_with_bases, summary, bases)
show_table(summary_rows, "panel_summary", label="Table: the measures for each dimension")

st.subheader("Panel against residents, by group")
tabs = st.tabs([DIMENSIONS[d] for d in display])
for tab, (dim, table) in zip(tabs, display.items()):
    with tab:
        why = (" (the census does not publish this by age for small areas)"
               if dim in ("ethnic_group", "disability") else "")
        st.markdown(f"The panel (adults) is compared here with **{bases[dim]}**{why}.")
        show_chart(run.built(dimension_chart, table, DIMENSIONS[dim], filters.area_label, tolerance), f"panel_{dim}")

st.subheader("Intersections")
AGE_SEX_CAVEAT = ("Residents by age and sex are apportioned: the census does not publish age by sex for small "
                  "areas, so each small area's age counts are split by its female/male shares (themselves estimated "
                  "from the district).")
for row, col, caveat, title in (("age_band", "sex", AGE_SEX_CAVEAT, "Age band by sex"),
                                ("icp_area", "imd_quintile", "", "ICP area by deprivation (IMD quintile)")):
    cells = run.query(intersection, as_at, filters.icp, row, col)
    show_chart(run.built(heatmap_chart, cells, row, col, DIMENSIONS[row], DIMENSIONS[col], filters.area_label,
                             group_order(row), group_order(col), caveat), f"heat_{row}_{col}",
               f"{title}: representation ratio")

st.subheader("The panel over time")
show_chart(run.built(size_chart, run.query(panel_size_by_month, filters), int(target), filters.area_label), "panel_size",
           "Panel size by month")
time_dim = st.selectbox("Break joiners and leavers down by", PANEL_DIMENSIONS, format_func=DIMENSIONS.get,
                        key="time_dim")
show_chart(run.built(joiners_chart, run.query(joiners_by_wave, time_dim, filters), run.query(wave_totals, filters),
                 DIMENSIONS[time_dim], filters.area_label), "panel_joiners", "Joiners per recruitment wave")
waves = run.built(published_waves, run.query(panel_by_wave, filters))
show_table(run.built(waves_data, waves), "panel_waves", label="Table: members by recruitment wave")
show_chart(run.built(terms_chart, run.query(terms_ending, time_dim, as_at, filters.icp),
                 run.query(terms_ending_total, as_at, filters.icp), DIMENSIONS[time_dim], filters.area_label),
           "panel_terms",
           "Terms ending in the next 3, 6 and 12 months")

st.subheader("Panel participation")
surveys = run.query(panel_surveys, filters)
ALL_SURVEYS = "All panel surveys in the period"
options = [ALL_SURVEYS, *surveys["title"]]
picked = st.selectbox("Panel survey", options, key="part_survey",
                      help="Invitations sent to panel members to answer a panel survey.")
part_dim = st.selectbox("Response rate by", PANEL_DIMENSIONS, format_func=DIMENSIONS.get, key="part_dim")
survey_id = None if picked == ALL_SURVEYS else int(surveys.loc[surveys["title"] == picked, "survey_id"].iloc[0])
what = (f"{len(surveys)} panel {'survey' if len(surveys) == 1 else 'surveys'} sent {filters.period_label}"
        if survey_id is None else f"“{picked}”")
show_chart(run.built(participation_chart, run.query(participation, part_dim, filters, survey_id),
                               run.query(participation_total, filters, survey_id), DIMENSIONS[part_dim],
                               filters.area_label, what), "panel_participation",
           "Response rate to panel surveys, by group")

st.subheader("Recruitment quota planner")
p1, p2 = st.columns(2)
target_size = p1.number_input("Target panel size", 10, 200_000, int(target), 50, key="plan_target")
wave_day = p2.date_input("Date of the next wave", as_at + dt.timedelta(days=182), min_value=as_at,
                         key="plan_date", format="DD/MM/YYYY")
inputs = run.query(quota_inputs, wave_day, filters.icp, as_at)
plan = run.built(plan_wave, inputs, int(target_size), tolerance, {d: group_order(d) for d in PANEL_DIMENSIONS})
if is_small(plan.serving):  # the wave's size and every quota would give the small number away
    st.info(f"{hidden_words().capitalize()} members will still be serving in {filters.area_label} on "
            f"{wave_day:%-d %B %Y}: the next wave must recruit about the whole panel of {int(target_size):,}. The "
            "plan by group is not shown, as it would give that small number away.")
elif inputs.get("serving_hidden"):  # shown, the wave's size would give a hidden number away
    st.info(f"The number of members still serving in {filters.area_label} on {wave_day:%-d %B %Y} is not shown, "
            "so that no small number can be worked out from it; nor is the plan, which would give it away.")
else:
    plan_words = quota_sentence(plan, filters.area_label, wave_day, DIMENSIONS)
    st.markdown(f"<p class='chart-sentence'>{escape(plan_words)}</p>", unsafe_allow_html=True)
    q1, q2 = st.columns(2)
    q1.metric("Still serving at the wave", format_count(plan.serving))
    q2.metric("Recruits needed", f"{plan.wave:,}")
    quotas = run.built(quota_table, plan, DIMENSIONS)
    if plan.wave:
        st.markdown("**Recruits by group.** *Recruits* brings the panel after the wave as close to residents as "
                    "recruiting can; *at least* and *at most* keep each group within the tolerance set above.")
        data_table(quotas, key="quota_table")
        sheets = {"Quotas by group": quotas}
        if plan.joint is not None:
            cells = plan.joint.cells
            by_age = run.built(joint_pivot, cells, "icp_area", "age_band", "ICP area", group_order("age_band"))
            by_imd = run.built(joint_pivot, cells, "icp_area", "imd_quintile", "ICP area", group_order("imd_quintile"))
            st.markdown("**Joint quotas** (fitted from residents' own mix of area, deprivation and age; every "
                        "total matches the recruits by group above"
                        + ("" if plan.joint.met else ", except where noted") + ").")
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
        d1.download_button("Download the quotas as a spreadsheet (.xlsx)", partial(to_xlsx, sheets),
                           file_name=f"panel-quotas-{wave_day:%Y-%m-%d}.xlsx", key="dl_quotas_xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        d2.download_button("Download the quotas by group as CSV", partial(csv_bytes, quotas),
                           file_name=f"panel-quotas-{wave_day:%Y-%m-%d}.csv", mime="text/csv", key="dl_quotas_csv")

st.caption("Demographics are as recorded when members joined; age bands are computed in the year viewed from "
           "the recorded birth year. The panel is of adults, so it is compared with residents aged 16 and over "
           "for age band, sex, ICP area, district and deprivation; with residents of all ages for ethnic group and "
           "disability (the census does not publish these by age for small areas). Sex by small area is estimated "
           "from each district's census split, and residents' sex by age is apportioned. Bars show the panel share "
           f"with its 95% interval (Wilson). {describe()} Nor is any figure from which a hidden count could be "
           "worked out, and a breakdown by ethnic group or disability is shown only where enough people gave an "
           "answer.")
icp_caveat()
